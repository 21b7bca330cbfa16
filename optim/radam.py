"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""
import math

from .adam import decayed, moments
from .adamax import _check_betas
from .optimizer import Optimizer, _check_nonneg, _with_flags


class RAdam(Optimizer):
    """PyTorch's RAdam (Liu et al., 2019). With gradient g of p at step t = 1, 2, ...:

        g = g + weight_decay * p            (p = p * (1 - lr * weight_decay) if decoupled)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  p = p - lr m / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t,
                    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:  p = p - lr m / (1 - beta1^t)         (SGD with momentum, early steps)

    State: "step", "exp_avg" (m), "exp_avg_sq" (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon value")
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        defaults = _with_flags(dict(lr=lr, betas=tuple(betas), eps=eps,
                                    weight_decay=weight_decay,
                                    decoupled_weight_decay=decoupled_weight_decay,
                                    maximize=maximize),
                               foreach=foreach, capturable=capturable,
                               differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
        step = state["step"] + 1.0
        state["step"] = step
        g = decayed(p, g, group, lr)
        m, v = moments(state, g, beta1, beta2)
        bias_correction2 = 1 - beta2 ** step
        corrected = m / (1 - beta1 ** step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias_correction2 ** 0.5 / (xp.sqrt(v) + group["eps"])
            p._data -= corrected * lr * adaptive * rect
        else:
            p._data -= corrected * lr
