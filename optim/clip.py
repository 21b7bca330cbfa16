"""Gradient clipping, in place, for Value and Tensor parameters alike."""
import functools
import math

import numpy as np

from autograd.engine import STATE

from .optimizer import _xp


def _parameter_list(parameters):
    if hasattr(parameters, "data") and hasattr(parameters, "grad"):
        return [parameters]
    return list(parameters)


def _with_grads(parameters):
    return [p for p in _parameter_list(parameters) if p.grad is not None]


def _as_effect(clip, parameters, *args):
    """Inside a function autograd.compile traces: the clipping is an effect, called again at
    each call after the gradients are in .grad, as zero_grad() and step() are (the parameters
    listed once: a generator such as model.parameters() would be spent)."""
    return STATE.trace.run_effect(f"{clip.__name__}()", functools.partial(
        clip, _parameter_list(parameters), *args))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most max_norm.

    total = || (||g_1||, ..., ||g_n||) ||  with the same norm_type (2, 1, inf, any p > 0), i.e.
    the norm of all gradients concatenated; each g_i is multiplied by
    min(1, max_norm / (total + 1e-6)) (as PyTorch, also when that factor is 1).
    parameters: one parameter or an iterable; those whose grad is None are ignored.
    Returns the total norm before clipping, as a float (0.0 when there are no gradients).
    """
    if STATE.trace is not None:
        return _as_effect(clip_grad_norm_, parameters, max_norm, norm_type, error_if_nonfinite)
    params = _with_grads(parameters)
    if not params:
        return 0.0
    norm_type = float(norm_type)
    norms = [_xp(p).norm(_xp(p).grad_of(p), norm_type) for p in params]
    total = float(np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):         # an inf norm gives nan gradients, as in torch
        for p in params:
            _xp(p).scale_grad(p, coef)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient entry to [-clip_value, clip_value], in place.

    parameters: one parameter or an iterable; those whose grad is None are ignored."""
    if STATE.trace is not None:
        return _as_effect(clip_grad_value_, parameters, clip_value)
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        _xp(p).clip_grad(p, -clip_value, clip_value)
