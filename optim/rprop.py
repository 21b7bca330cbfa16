"""Rprop: per-coordinate step sizes that grow while the gradient keeps its sign."""
import numpy as np

from .optimizer import Optimizer, _check_nonneg, _with_flags


class Rprop(Optimizer):
    """PyTorch's Rprop (Riedmiller & Braun, 1993). Per coordinate, with gradient g and the
    gradient kept from the last step g_prev (0 at first), step size s (lr at first):

        s = min(s * etaplus, step_max)     where g * g_prev > 0   (same sign: speed up)
        s = max(s * etaminus, step_min)    where g * g_prev < 0   (overshot: slow down,
            g = 0                                                   and skip this step)
        p = p - sign(g) * s
        g_prev = g

    Only the gradient's sign is used, so Rprop suits full-batch training, not mini-batches.
    `maximize=True` negates g first. A nan in g * g_prev leaves nan in s, as torch does.
    State: "step", "prev" (g_prev), "step_size" (s).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_nonneg("lr", lr, "learning rate")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = _with_flags(dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                    foreach=foreach, maximize=maximize),
                               differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["prev"] = xp.zeros_like(p._data)
            state["step_size"] = xp.full_like(g, group["lr"])
        state["step"] += 1.0
        # numpy for floats too (a Value's entries are turned back into floats below)
        sign = np.sign(g * state["prev"])
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus,
                                                      np.where(sign == 0, 1.0, sign)))
        # np.clip, as torch's clamp, keeps a nan
        step_size = np.clip(state["step_size"] * factor, step_min, step_max)
        g = np.where(factor == etaminus, 0.0, g)
        update = np.sign(g) * step_size
        if not isinstance(p._data, np.ndarray):         # a Value: its state stays floats
            step_size, g, update = float(step_size), float(g), float(update)
        else:
            step_size, g = step_size.astype(p._data.dtype), g.astype(p._data.dtype)
        state["step_size"] = step_size
        state["prev"] = g
        p._data -= update
