"""Adam and AdamW: moment estimates with bias correction; L2 or decoupled weight decay."""
from .optimizer import Optimizer, _check_nonneg, _with_flags


class Adam(Optimizer):
    """PyTorch's Adam (Kingma & Ba, 2015). With gradient g of parameter p at step t = 1, 2, ...:

        g = g + weight_decay * p                       (Adam: L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)                (AdamW: decoupled decay, instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)                          (amsgrad only; then v_max replaces v)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    decoupled_weight_decay=True makes Adam AdamW. foreach, fused and capturable are torch's
    implementation switches: accepted, same arithmetic.
    State: "step", "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon value")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        defaults = _with_flags(dict(lr=lr, betas=tuple(betas), eps=eps,
                                    weight_decay=weight_decay, amsgrad=amsgrad,
                                    maximize=maximize,
                                    decoupled_weight_decay=decoupled_weight_decay),
                               foreach=foreach, capturable=capturable,
                               differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p._data)
        step = state["step"] + 1.0
        state["step"] = step
        g = decayed(p, g, group, lr)
        m, v = moments(state, g, beta1, beta2)
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v)
            state["max_exp_avg_sq"] = v
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        denom = xp.sqrt(v) / bias_correction2 ** 0.5 + group["eps"]
        p._data -= (lr / bias_correction1) * m / denom


def decayed(p, g, group, lr):
    """The gradient after weight decay: g + weight_decay * p (an L2 penalty), or g as it is
    with p shrunk by the factor 1 - lr * weight_decay (decoupled, AdamW's form)."""
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if group.get("decoupled_weight_decay", False):
            p._data *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p._data
    return g


def moments(state, g, beta1, beta2):
    """Adam's moment estimates updated with g, in place where they are arrays:
    m = beta1 m + (1 - beta1) g (torch's lerp form), v = beta2 v + (1 - beta2) g^2."""
    m = state["exp_avg"]
    m += (1 - beta1) * (g - m)
    state["exp_avg"] = m
    v = state["exp_avg_sq"]
    v *= beta2
    v += (1 - beta2) * g * g
    state["exp_avg_sq"] = v
    return m, v


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): p *= 1 - lr * weight_decay
    before the Adam step, instead of adding weight_decay * p to the gradient. Default
    weight_decay is 1e-2, as in PyTorch."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
