"""Tensor factories with torch's signatures and dtype inference (torch.tensor, zeros, arange...).

    autograd.tensor([1, 2])            # int64, as torch: Python ints give int64
    autograd.tensor([1, 2.0])          # float32 (the default dtype)
    autograd.zeros(2, 3)               # size as ints ...
    autograd.zeros((2, 3))             # ... or one tuple; dtype=, requires_grad=, device=
    autograd.arange(5)                 # int64; arange(0, 1, 0.1) float32
    autograd.from_numpy(a)             # shares a's memory

Every factory takes torch's keywords: `dtype=` (a torch dtype or any numpy spelling),
`requires_grad=` (float dtypes only, torch's error otherwise), `device=` (the CPU; another
device is autograd.devices.DeviceError). The dtype rules are autograd/dtypes.py's, written
against torch 2.13: tensor_data (tensor), full_dtype, arange_dtype, linspace_dtype,
factory_dtype. `empty` gives zeros: torch leaves the memory as it was, any content is right.
"""
import math
import warnings

import numpy as np

from . import dtypes as _dt
from .devices import as_device
from .engine import Node
from .tensor import Tensor

_FACTORY_KEYWORDS = ("dtype", "device", "requires_grad", "layout", "pin_memory",
                     "memory_format", "out", "generator")


def _leaf(arr, requires_grad):
    """arr as a new leaf Tensor (no copy), requiring grad if asked and allowed."""
    t = Tensor._node(arr)
    if requires_grad:
        if arr.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t.requires_grad = True
    return t


def _size(args, size, fn):
    """torch's size argument: ints, one tuple/list/Size of ints, or size=."""
    if size is not None:
        if args:
            raise TypeError(f"{fn}() got multiple values for argument 'size'")
        args = (size,)
    if not args:
        raise TypeError(f'{fn}() missing 1 required positional arguments: "size"')
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    dims = []
    for i, n in enumerate(args):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (
                isinstance(n, Tensor) and n.ndim == 0 and n._data.dtype.kind in "iu"):
            raise TypeError(f"{fn}(): argument 'size' (position {i + 1}) must be tuple of ints, "
                            f"not {type(n).__name__}")
        dims.append(int(n))
    if any(n < 0 for n in dims):
        raise RuntimeError(f"{fn}: Dimension size must be non-negative.")
    return tuple(dims)


def _dtype(dtype, default):
    return default if dtype is None else _dt.as_dtype(dtype)


def _check(device, fn, kwargs=None):
    as_device(device, fn)
    if kwargs:
        unknown = [k for k in kwargs if k not in _FACTORY_KEYWORDS]
        if unknown:
            raise TypeError(f"{fn}() got an unexpected keyword argument '{unknown[0]}'")
        if kwargs.get("out") is not None:
            raise TypeError(f"{fn}(): out= is not supported")


# ---------------------------------------------------------------------------------------------
# from data
def _plain(data):
    """data for dtypes.tensor_data: one-element Tensors inside lists become numpy scalars (so
    that none that requires grad is read through numpy, which refuses it); others are torch's
    errors."""
    if isinstance(data, Tensor):
        if data._data.size == 1:
            return data._data.reshape(())[()]
        if data._data.dtype.kind in "biu":       # torch reads them through __index__
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        raise ValueError("only one element tensors can be converted to Python scalars")
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf tensor holding a copy of data (a number, a nested list or tuple, a numpy
    array, a tensor). Without dtype the dtype is torch's inference: Python ints -> int64,
    floats -> the default dtype (float32), bools -> bool, a mix promotes ([1, 2.0] ->
    float32); a numpy array or a tensor keeps its dtype. A tensor as data is copied, detached,
    with torch's warning."""
    _check(device, "tensor")
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        arr = np.array(data._data, dtype=None if dtype is None else _dt.as_dtype(dtype)._np)
    else:
        arr = _dt.tensor_data(_plain(data), dtype)
    return _leaf(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing memory where it can: a tensor of the dtype asked for is
    returned itself, a numpy array of a supported dtype is wrapped without a copy (as
    from_numpy); anything else is copied as tensor() does."""
    _check(device, "as_tensor")
    want = None if dtype is None else _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        return data if want is None or data.dtype is want else data.to(want)
    if isinstance(data, np.ndarray) and data.dtype in _dt._BY_NUMPY:
        if want is None or want._np == data.dtype:
            return Tensor._node(data)
        return Tensor._node(data.astype(want._np))
    return tensor(data, dtype=dtype)


def from_numpy(ndarray):
    """A tensor sharing ndarray's memory (a change to either is a change to both), of its
    dtype; torch's TypeError for a non-array or an unsupported dtype."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dt._numpy_dtype_of(ndarray.dtype)
    return Tensor._node(ndarray)


# ---------------------------------------------------------------------------------------------
# filled
def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, **kwargs):
    """A tensor of zeros of shape size (ints, or one tuple), the default dtype unless given."""
    fn = "zeros"
    shape = _size(size, kwargs.pop("size", None), fn)
    _check(device, fn, dict(kwargs, out=out))
    return _leaf(np.zeros(shape, _dt.factory_dtype(dtype)._np), requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, **kwargs):
    """A tensor of ones of shape size, the default dtype unless given."""
    fn = "ones"
    shape = _size(size, kwargs.pop("size", None), fn)
    _check(device, fn, dict(kwargs, out=out))
    return _leaf(np.ones(shape, _dt.factory_dtype(dtype)._np), requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None, **kwargs):
    """A tensor of shape size whose values are unspecified (torch leaves memory as it was;
    here they are zeros)."""
    fn = "empty"
    shape = _size(size, kwargs.pop("size", None), fn)
    _check(device, fn, dict(kwargs, out=out))
    return _leaf(np.zeros(shape, _dt.factory_dtype(dtype)._np), requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """A tensor of shape size filled with fill_value; without dtype, torch's inference: bool
    for a bool, int64 for an int, the default dtype for a float."""
    fn = "full"
    shape = _size((size,), None, fn)
    _check(device, fn, {"out": out})
    d = _dt.full_dtype(fill_value) if dtype is None else _dt.as_dtype(dtype)
    return _leaf(np.full(shape, _fill(fill_value, d), d._np), requires_grad)


def _fill(value, d):
    """A fill value stored into dtype d as torch stores it (a float into an integer dtype is
    truncated, and must fit)."""
    if isinstance(value, Tensor):
        value = value.item()
    return _dt.tensor_data([value], d)[0]


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    """The n x m identity (m = n by default): ones on the diagonal, zeros elsewhere."""
    _check(device, "eye", {"out": out})
    for name, v in (("n", n), ("m", m)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(v).__name__}")
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _leaf(np.eye(n, m, dtype=_dt.factory_dtype(dtype)._np), requires_grad)


# ---------------------------------------------------------------------------------------------
# ranges
def _number(v, name, fn):
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise RuntimeError(f"{fn}(): argument '{name}' must be a number, got a tensor of "
                               f"{v.numel()} elements")
        return v._data.reshape(())[()]
    if isinstance(v, Node) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}(): argument '{name}' must be Number, not {type(v).__name__}")
    return v


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """start, start + step, ... up to end (excluded); arange(end) starts at 0. int64 when
    start, end and step are all integers, else the default dtype (arange(0, 1, 0.1) is
    float32): values start + i * step, computed in float64 and rounded once."""
    fn = "arange"
    _check(device, fn, {"out": out})
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, n, fn) for v, n in ((start, "start"), (end, "end"),
                                                      (step, "step")))
    d = _dt.arange_dtype(start, end, step) if dtype is None else _dt.as_dtype(dtype)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    for v in (start, end, step):
        if not math.isfinite(float(v)):
            raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if ints:
        n = max(0, -((start - end) // step))          # ceil((end - start) / step)
        values = start + step * np.arange(n, dtype=np.int64)
    else:
        n = max(0, math.ceil((float(end) - float(start)) / float(step)))
        values = float(start) + float(step) * np.arange(n, dtype=np.float64)
    with np.errstate(over="ignore"):
        return _leaf(values.astype(d._np), requires_grad)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """torch.range (deprecated in torch): like arange but end included; the default dtype."""
    if end is None:
        start, end = 0, start
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    n = int(math.floor((float(end) - float(start)) / float(step))) + 1
    d = _dt.factory_dtype(dtype)
    _check(device, "range")
    return _leaf((float(start) + float(step) * np.arange(max(n, 0))).astype(d._np), requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """steps values evenly spaced from start to end (both included), the default dtype even
    for integer ends. As torch's kernel: step = (end - start) / (steps - 1) in the result
    dtype, the first half start + i step and the second half end - (steps - 1 - i) step, so
    that both ends are exact."""
    fn = "linspace"
    _check(device, fn, {"out": out})
    start, end = _number(start, "start", fn), _number(end, "end", fn)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt.linspace_dtype(start, end) if dtype is None else _dt.as_dtype(dtype)
    return _leaf(_linspace(start, end, int(steps), d), requires_grad)


def _linspace(start, end, steps, d):
    if d._np.kind in "iub":
        # integer results: computed in float64 and truncated, as torch does
        return _linspace(start, end, steps, _dt.float64).astype(d._np)
    np_d = d._np
    if steps == 0:
        return np.empty(0, np_d)
    if steps == 1:
        return np.full(1, start, np_d)
    a, b = np_d.type(start), np_d.type(end)
    step = (b - a) / np_d.type(steps - 1)
    # torch's kernel fuses start + step * i into one multiply-add (one rounding): a wider type
    # holds step * i exactly, so rounding once from it gives the same bits
    wide = np.float64 if np_d.itemsize < 8 else np.longdouble
    i = np.arange(steps)
    half = steps // 2
    out = np.empty(steps, np_d)
    out[:half] = wide(a) + wide(step) * i[:half].astype(wide)
    out[half:] = wide(b) - wide(step) * (steps - 1 - i[half:]).astype(wide)
    return out


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """base ** linspace(start, end, steps): steps values from base^start to base^end."""
    fn = "logspace"
    _check(device, fn, {"out": out})
    start, end = _number(start, "start", fn), _number(end, "end", fn)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"logspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt.linspace_dtype(start, end) if dtype is None else _dt.as_dtype(dtype)
    exponents = _linspace(start, end, int(steps), _dt.float64)
    with np.errstate(over="ignore"):
        values = np.power(float(base), exponents)
    return _leaf(values.astype(d._np), requires_grad)


# ---------------------------------------------------------------------------------------------
# *_like
def _like(input, dtype, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input._data.shape, (input.dtype if dtype is None else _dt.as_dtype(dtype))


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """zeros of input's shape and dtype (or dtype=)."""
    shape, d = _like(input, dtype, "zeros_like")
    _check(device, "zeros_like")
    return _leaf(np.zeros(shape, d._np), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """ones of input's shape and dtype (or dtype=)."""
    shape, d = _like(input, dtype, "ones_like")
    _check(device, "ones_like")
    return _leaf(np.ones(shape, d._np), requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """unspecified values (zeros here) of input's shape and dtype."""
    shape, d = _like(input, dtype, "empty_like")
    _check(device, "empty_like")
    return _leaf(np.zeros(shape, d._np), requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """fill_value in input's shape and dtype (or dtype=): 2.7 into an int64 tensor is 2."""
    shape, d = _like(input, dtype, "full_like")
    _check(device, "full_like")
    return _leaf(np.full(shape, _fill(fill_value, d), d._np), requires_grad)


# ---------------------------------------------------------------------------------------------
# Tensor.new_*: the dtype (and device) of the tensor they are called on
def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of data, of this tensor's dtype unless dtype is given."""
    d = self.dtype if dtype is None else _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than tensor.new_tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        return _leaf(np.array(data._data, dtype=d._np), requires_grad)
    _check(device, "new_tensor")
    return _leaf(_dt.tensor_data(_plain(data), d), requires_grad)


def _new_filled(name, fill):
    def method(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False, **kwargs):
        shape = _size(size, kwargs.pop("size", None), name)
        _check(device, name, kwargs)
        d = self.dtype if dtype is None else _dt.as_dtype(dtype)
        return _leaf(fill(shape, d._np), requires_grad)
    method.__name__ = name
    method.__doc__ = f"{name}(*size): a new tensor of this tensor's dtype (or dtype=)."
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
              layout=None, pin_memory=False):
    """A tensor of shape size filled with fill_value, of this tensor's dtype (or dtype=)."""
    shape = _size((size,), None, "new_full")
    _check(device, "new_full")
    d = self.dtype if dtype is None else _dt.as_dtype(dtype)
    return _leaf(np.full(shape, _fill(fill_value, d), d._np), requires_grad)


TENSOR_METHODS = {
    "new_tensor": _new_tensor,
    "new_zeros": _new_filled("new_zeros", np.zeros),
    "new_ones": _new_filled("new_ones", np.ones),
    "new_empty": _new_filled("new_empty", np.zeros),
    "new_full": _new_full,
}

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye",
           "arange", "linspace", "logspace", "zeros_like", "ones_like", "empty_like",
           "full_like"]
