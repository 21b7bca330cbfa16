"""Adagrad: per-coordinate step sizes from the sum of squared gradients."""
from .optimizer import Optimizer, _check_nonneg, _with_flags, _xp


class Adagrad(Optimizer):
    """PyTorch's Adagrad (Duchi et al., 2011). With gradient g of parameter p at step t = 1, 2, ...:

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                        (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    State (created with the optimizer, as in PyTorch): "step", "sum" (s).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("lr_decay", lr_decay, "lr_decay value")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        _check_nonneg("initial_accumulator_value", initial_accumulator_value,
                      "initial_accumulator_value value")
        _check_nonneg("eps", eps, "epsilon value")
        defaults = _with_flags(dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                    initial_accumulator_value=initial_accumulator_value,
                                    maximize=maximize),
                               foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a group; its state starts now (so it is in state_dict before any step)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = {"step": 0.0, "sum": _xp(p).full_like(
                p._data, group["initial_accumulator_value"])}

    def _update(self, p, g, group, xp):
        state = self.state[p]
        step = state["step"] + 1.0
        state["step"] = step
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        state["sum"] = s
        p._data -= clr * g / (xp.sqrt(s) + group["eps"])
