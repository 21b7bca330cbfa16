"""torch's module-level functions: `torch.exp(x)`, `torch.sum(x, dim=1)`, `torch.max(a, b)`...

Most are the Tensor method of the same name called on the first argument, with torch's check
that it is a tensor (`torch.exp(2.0)` is torch's TypeError). The ones whose first argument may
be a number or a list of tensors are written out: pow, add, mul, sub, div, maximum, minimum,
max, min (with a second tensor: elementwise), cat, stack, einsum, meshgrid, broadcast_tensors.

The functions take the names of Python builtins (sum, max, abs, pow ...), as torch's do: inside
this module the builtins are reached as `builtins.<name>`.
"""
import builtins

import numpy as np

from . import dtypes as _dt
from .factories import tensor as _new_tensor
from .engine import STATE, InPlace
from .functional import concatenate, stack
from .grad_fn import named
from .ops import OPS
from .ops_torch import parse_einsum
from .tensor import Tensor, _promoted_pair, where


def _input(x, fn):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                    f"{type(x).__name__}")


def _method_function(name):
    def function(input, *args, out=None, **kwargs):
        result = getattr(_input(input, name), name)(*args, **kwargs)
        return result if out is None else _write_out(out, result, name)
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = (f"torch.{name}(input, ...): input.{name}(...) "
                        f"(see Tensor.{name}).")
    return function


_METHODS = """
abs absolute exp exp2 expm1 log log2 log10 log1p sqrt rsqrt square sin cos tanh sigmoid relu
erf sign sgn floor ceil round trunc fix frac neg negative reciprocal clamp clip clamp_min
clamp_max fmod remainder true_divide floor_divide matmul mm bmm mv dot inner vdot outer ger
sum mean prod std var std_mean var_mean amax amin aminmax argmax argmin logsumexp softmax
log_softmax norm cumsum cumprod all any count_nonzero nonzero argwhere sort argsort
topk kthvalue median unique bincount histc nansum nanmean flatten unflatten reshape squeeze
unsqueeze transpose swapaxes swapdims permute movedim t flip fliplr flipud roll repeat_interleave
tile narrow select index_select gather take_along_dim masked_select masked_fill scatter
scatter_add chunk split tensor_split unbind diag diagonal triu tril isnan isinf isfinite
isposinf isneginf isreal isclose allclose equal eq ne lt le gt ge greater less greater_equal
less_equal not_equal logical_and logical_or logical_not logical_xor bitwise_and bitwise_or
bitwise_xor bitwise_not nan_to_num lerp addcmul addcdiv clone detach numel is_floating_point
is_complex leaky_relu
""".split()

for _name in _METHODS:
    globals()[_name] = _method_function(_name)

concat = concatenate
cat = concatenate


def _write_out(out, result, name):
    """torch's out=: the result written into the tensor `out` (resized to the result's shape
    if it differs), which is returned. Not differentiable, as in torch."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if isinstance(result, tuple):
        raise TypeError(f"{name}(): out= of a function with several results is not supported")
    if STATE.grad_enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    data = result._data
    if data.dtype != out._data.dtype and not _dt.can_cast(result.dtype, out.dtype):
        raise _dt.cast_error(result.dtype, out.dtype)
    InPlace.changing(out)
    if data.shape == out._data.shape:
        np.copyto(out._data, data, casting="unsafe")
    else:
        out._data = data.astype(out._data.dtype)
    InPlace.of(out).stamp()
    return out


def _out(out, result, name):
    return result if out is None else _write_out(out, result, name)


def _operand(x):
    """A first argument that may be a number (torch.pow(2, x), torch.add(1, x))."""
    return x if isinstance(x, Tensor) else _new_tensor(x) if isinstance(
        x, (list, tuple, np.ndarray)) else x


def pow(input, exponent, *, out=None):
    """input ** exponent; either may be a number (not both)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("pow() received an invalid combination of arguments: one of input "
                        "and exponent must be a Tensor")
    return _out(out, _operand(input) ** exponent, "pow")


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other."""
    return _out(out, _operand(input) + (other if alpha == 1 else other * alpha), "add")


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    return _out(out, _operand(input) - (other if alpha == 1 else other * alpha), "sub")


subtract = sub


def mul(input, other, *, out=None):
    """input * other."""
    return _out(out, _operand(input) * other, "mul")


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """input / other; rounding_mode 'trunc' or 'floor' as Tensor.div."""
    if rounding_mode is None:
        return _out(out, _operand(input) / other, "div")
    return _out(out, _input(input, "div").div(other, rounding_mode=rounding_mode), "div")


divide = div


def maximum(input, other):
    """max(input, other) elementwise (torch's promotion); ties split the gradient evenly."""
    return Tensor._apply(OPS["maximum"], None, *_promoted_pair("maximum", input, other))


def minimum(input, other):
    """min(input, other) elementwise; ties split the gradient evenly."""
    return Tensor._apply(OPS["minimum"], None, *_promoted_pair("minimum", input, other))


def max(input, dim=None, keepdim=False, *, out=None):
    """max(input): the largest value; max(input, dim, keepdim=False): (values, indices);
    max(input, other): the elementwise maximum."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return _input(input, "max").max(dim, keepdim, out=out)


def min(input, dim=None, keepdim=False, *, out=None):
    """min(input), min(input, dim) -> (values, indices), min(input, other): as max."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return _input(input, "min").min(dim, keepdim, out=out)


def einsum(equation, *operands):
    """Einstein summation (torch.einsum): `einsum("ij,jk->ik", a, b)` is a @ b. Operands may
    also come as one list. One row of the op table whatever the equation; its gradient is
    einsum again, onto each operand's subscripts."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_input(x, "einsum") for x in operands]
    d = tensors[0]._data.dtype
    if builtins.any(t._data.dtype is not d for t in tensors[1:]):
        dtypes = ", ".join(str(t.dtype) for t in tensors)
        raise RuntimeError(f"einsum(): operands do not have the same dtype ({dtypes})")
    ctx = parse_einsum(equation, [t.ndim for t in tensors])
    for t, term in zip(tensors, ctx.inputs):
        sizes = {}
        for c, n in zip(term, t._data.shape):
            if sizes.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand but the "
                                   f"sizes don't match, {sizes[c]} != {n}")
    return Tensor._apply(OPS["einsum"], ctx, *tensors)


def hstack(tensors):
    tensors = list(tensors)
    return concatenate(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return concatenate([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


def broadcast_shapes(*shapes):
    """The shape the shapes broadcast to (torch.Size)."""
    from .size import Size
    try:
        return Size(np.broadcast_shapes(*[tuple(s) if isinstance(s, (tuple, list)) else (s,)
                                          for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{[list(s) for s in shapes]}") from None


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; indexing 'ij' (torch's default) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and len(shape) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        axis = i
        if indexing == "xy" and i < 2 and len(tensors) >= 2:
            axis = 1 - i
        view = [1] * len(shape)
        view[axis] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def cdist(x1, x2, p=2.0):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return named(diff.norm(p, dim=-1), "CdistBackward0", x1, x2)


def is_tensor(obj):
    """Whether obj is a Tensor."""
    return isinstance(obj, Tensor)


def is_nonzero(input):
    return bool(_input(input, "is_nonzero"))


def numel(input):
    return _input(input, "numel").numel()


def result_type(tensor1, tensor2):
    """The dtype an op on the two would compute in (torch.result_type)."""
    return _dt.result_type(tensor1, tensor2)


__all__ = _METHODS + ["concatenate", "concat", "cat", "stack", "where", "pow", "add", "sub", "subtract", "mul", "multiply",
                      "div", "divide", "maximum", "minimum", "max", "min",
                      "einsum", "hstack", "vstack", "broadcast_shapes", "broadcast_tensors",
                      "meshgrid", "cdist", "is_tensor", "is_nonzero", "numel", "result_type"]
