"""Adamax: Adam with the infinity norm in place of the second moment."""
from .optimizer import Optimizer, _check_nonneg, _with_flags


def _check_betas(betas):
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


class Adamax(Optimizer):
    """PyTorch's Adamax (Kingma & Ba, 2015, section 7). With gradient g of p at step t:

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    State: "step", "exp_avg" (m), "exp_inf" (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon value")
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        defaults = _with_flags(dict(lr=lr, betas=tuple(betas), eps=eps,
                                    weight_decay=weight_decay, maximize=maximize),
                               foreach=foreach, differentiable=differentiable,
                               capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        beta1, beta2 = group["betas"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_inf"] = xp.zeros_like(p._data)
        step = state["step"] + 1.0
        state["step"] = step
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        m = state["exp_avg"]
        m += (1 - beta1) * (g - m)          # torch's lerp
        state["exp_avg"] = m
        u = xp.maximum(state["exp_inf"] * beta2, abs(g) + group["eps"])
        state["exp_inf"] = u
        p._data -= (group["lr"] / (1 - beta1 ** step)) * m / u
