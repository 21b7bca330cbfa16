"""RMSprop: steps scaled by a running average of squared gradients."""
from .optimizer import Optimizer, _check_nonneg, _with_flags


class RMSprop(Optimizer):
    """PyTorch's RMSprop (Hinton's lecture 6e). With gradient g of parameter p:

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2
        a = alpha * a + (1 - alpha) * g    and  d = sqrt(v - a^2) + eps     (centered)
        d = sqrt(v) + eps                                                  (otherwise)
        b = momentum * b + g / d   and  p = p - lr * b                      (momentum > 0)
        p = p - lr * g / d                                                 (otherwise)

    State: "step", "square_avg" (v), "momentum_buffer" (b, momentum > 0), "grad_avg" (a,
    centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon value")
        _check_nonneg("momentum", momentum, "momentum value")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        _check_nonneg("alpha", alpha, "alpha value")
        defaults = _with_flags(dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                    momentum=momentum, centered=centered, maximize=maximize),
                               capturable=capturable, foreach=foreach,
                               differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        alpha = group["alpha"]
        momentum = group["momentum"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["square_avg"] = xp.zeros_like(p._data)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p._data)
        state["step"] += 1.0
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        state["square_avg"] = v
        if group["centered"]:
            a = state["grad_avg"]
            a += (1 - alpha) * (g - a)      # torch's lerp
            state["grad_avg"] = a
            avg = xp.sqrt(v - a * a) + group["eps"]
        else:
            avg = xp.sqrt(v) + group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            state["momentum_buffer"] = buf
            p._data -= group["lr"] * buf
        else:
            p._data -= group["lr"] * g / avg
