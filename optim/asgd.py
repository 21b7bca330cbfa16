"""ASGD: SGD with a decaying step size, and a running average of the iterates."""
import numpy as np

from .optimizer import Optimizer, _check_nonneg, _with_flags


def _scalar(x):
    """x rounded as torch keeps ASGD's eta and mu: in a 0-d tensor of the default dtype's
    precision (float32 unless set_default_dtype(float64)), read back as a Python float."""
    from autograd import float64, get_default_dtype
    return float(x) if get_default_dtype() == float64 else float(np.float32(x))


class ASGD(Optimizer):
    """PyTorch's ASGD (Polyak & Juditsky, 1992). With gradient g of p at step t = 1, 2, ...,
    step size eta (lr at first) and averaging weight mu (1 at first):

        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = p                    if mu == 1       (no averaging before step t0)
        ax = ax + mu * (p - ax)   otherwise        (the running average of the iterates)
        eta = lr / (1 + lambd * lr * t) ^ alpha
        mu = 1 / max(1, t - t0)

    ax is the averaged parameter (the answer ASGD offers); p itself follows plain decayed SGD.
    eta and mu are rounded to float32 as torch stores them (float64 under
    autograd.set_default_dtype(float64)), so trajectories match torch's.
    State: "step", "eta", "mu", "ax".
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        defaults = _with_flags(dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                    weight_decay=weight_decay, foreach=foreach,
                                    maximize=maximize),
                               differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, p, g, group, xp):
        lr, lambd = group["lr"], group["lambd"]
        state = self.state[p]
        if not state:
            state["step"] = 0.0
            state["eta"] = _scalar(lr)
            state["mu"] = 1.0
            state["ax"] = xp.zeros_like(p._data)
        step = state["step"] + 1.0
        state["step"] = step
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        eta = state["eta"]
        p._data *= 1 - lambd * eta
        p._data -= eta * g
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (p._data - ax) * state["mu"]
        else:
            ax = xp.copy(p._data)
        state["ax"] = ax
        state["eta"] = _scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = _scalar(1 / max(1, step - group["t0"]))
