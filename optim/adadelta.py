"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from .optimizer import Optimizer, _check_nonneg, _with_flags


class Adadelta(Optimizer):
    """PyTorch's Adadelta (Zeiler, 2012), the optimizer of PyTorch's MNIST example. With
    gradient g of p:

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g^2
        d = sqrt(a + eps) / sqrt(v + eps) * g
        a = rho * a + (1 - rho) * d^2
        p = p - lr * d

    State: "step", "square_avg" (v), "acc_delta" (a).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_nonneg("lr", lr, "learning rate")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg("eps", eps, "epsilon value")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        defaults = _with_flags(dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                    maximize=maximize),
                               foreach=foreach, capturable=capturable,
                               differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        rho, eps = group["rho"], group["eps"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["square_avg"] = xp.zeros_like(p._data)
            state["acc_delta"] = xp.zeros_like(p._data)
        state["step"] += 1.0
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        v = state["square_avg"]
        v *= rho
        v += (1 - rho) * g * g
        state["square_avg"] = v
        a = state["acc_delta"]
        delta = xp.sqrt(a + eps) / xp.sqrt(v + eps) * g
        a *= rho
        a += (1 - rho) * delta * delta
        state["acc_delta"] = a
        p._data -= group["lr"] * delta
