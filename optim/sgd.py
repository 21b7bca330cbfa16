"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay."""
import numpy as np

from autograd.engine import STATE, InPlace, _next_index

from .optimizer import Optimizer, _check_nonneg, _with_flags


class SGD(Optimizer):
    """PyTorch's SGD. With gradient g of parameter p at step t:

        g = g + weight_decay * p                       (L2 penalty folded into the gradient)
        b = g                        at the first step (momentum != 0)
        b = momentum * b + (1 - dampening) * g         afterwards
        g = g + momentum * b  if nesterov  else  b
        p = p - lr * g

    `maximize=True` ascends (g is negated first). Batch, mini-batch and stochastic gradient
    descent are the same update: they differ only in how many samples the loss averages.
    foreach and fused are torch's implementation switches: accepted, same arithmetic.
    State: "momentum_buffer" (only when momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("momentum", momentum, "momentum value")
        _check_nonneg("weight_decay", weight_decay, "weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = _with_flags(dict(lr=lr, momentum=momentum, dampening=dampening,
                                    weight_decay=weight_decay, nesterov=nesterov,
                                    maximize=maximize),
                               foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_group(self, group):
        if (group["momentum"] != 0 or group["weight_decay"] != 0 or group["maximize"]
                or not STATE.fast):
            return super()._step_group(group)
        # fast path, plain SGD: p -= lr g in one loop and one stamp for the group, the numbers
        # of _update (the general loop's calls per parameter cost as much as the arithmetic of
        # a small model's update)
        lr = group["lr"]
        now = None          # every updated Tensor changed at one recording index
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            data = p._data
            if type(data) is not np.ndarray:
                p._data = data - lr * g         # a Value: its float is rebound
                continue
            data -= lr * g._data
            if now is None:
                now = STATE.last_in_place = _next_index()
            version = p._version
            if version is None:
                version = p._version = InPlace()
            version.changed_at = now

    def _update(self, p, g, group, xp):
        weight_decay = group["weight_decay"]
        momentum = group["momentum"]
        if weight_decay != 0:
            g = g + weight_decay * p._data
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = xp.copy(g)        # a copy: buf is updated in place later, g may be p.grad
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        p._data -= group["lr"] * g
