"""NAdam: Adam with Nesterov momentum."""
from .adam import decayed, moments
from .adamax import _check_betas
from .optimizer import Optimizer, _check_nonneg, _with_flags


class NAdam(Optimizer):
    """PyTorch's NAdam (Dozat, 2016). With gradient g of p at step t = 1, 2, ...:

        g = g + weight_decay * p            (p = p * (1 - lr * weight_decay) if decoupled)
        mu_t = beta1 (1 - 0.96^(t psi) / 2), psi = momentum_decay; P_t = mu_1 ... mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - P_t) g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d

    State: "step", "mu_product" (P_t), "exp_avg" (m), "exp_avg_sq" (v).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon value")
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        _check_nonneg("momentum_decay", momentum_decay, "momentum_decay value")
        defaults = _with_flags(dict(lr=lr, betas=tuple(betas), eps=eps,
                                    weight_decay=weight_decay, momentum_decay=momentum_decay,
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
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
        step = state["step"] + 1.0
        state["step"] = step
        g = decayed(p, g, group, lr)
        psi = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = state["mu_product"] * mu
        state["mu_product"] = mu_product
        m, v = moments(state, g, beta1, beta2)
        denom = xp.sqrt(v / (1 - beta2 ** step)) + group["eps"]
        p._data -= (lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        p._data -= (lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
