"""Helpers shared by the distributions (torch.distributions.utils)."""
import numbers

from .. import dtypes as _dt
from ..grad_mode import enable_grad
from ..tensor import Tensor, get_default_dtype

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]

_Number = (numbers.Number,)


def broadcast_all(*values):
    """The values as tensors of one broadcast shape. Numbers become tensors of the first
    tensor's dtype (the default dtype when there is none)."""
    if not all(isinstance(v, (Tensor, *_Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        dtype = next((v.dtype for v in values if isinstance(v, Tensor)), get_default_dtype())
        values = [v if isinstance(v, Tensor) else _scalar(v, dtype) for v in values]
    from .. import broadcast_tensors
    return broadcast_tensors(*values)


def _scalar(v, dtype):
    from ..factories import tensor
    return tensor(v, dtype=dtype)


def _sum_rightmost(value, dim):
    """value summed over its last `dim` dims (value itself for dim 0)."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) for a binary event, softmax over the last dim otherwise."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs):
    """probs clamped to [eps, 1 - eps], eps the dtype's machine epsilon."""
    eps = _dt.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """log p (log p - log(1 - p) for a binary event), of p clamped to [eps, 1 - eps] so that
    p = 0 gives a finite logit."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:
    """A value computed on first access (with grad enabled, so it joins the graph) and then
    kept on the instance: Categorical(logits=...).probs is softmax(logits), once."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
