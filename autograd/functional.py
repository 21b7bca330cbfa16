"""Tensor functions that are not methods: joining, padding, convolution and pooling.

All are vectorized over batch, channels and pixels. conv2d, max_pool2d and avg_pool2d are rows
of the op table with VJPs of their own, written over the `im2col` / `col2im` rows (one strided
window copy and one batched matmul), so they also support create_graph.
Layouts follow PyTorch: images are NCHW, conv weights (out_channels, in_channels, kH, kW).
"""
import numpy as np

from . import dtypes as _dt
from .engine import Node
from .grad_fn import named
from .ops import OPS
from .tensor import Tensor, _one_axis, _ShapeError


def _as_tensor(x, like, opname):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(f"{opname}: got a {type(x).__name__}; only Tensors, numbers and arrays "
                        f"can be combined with Tensors")
    t = like._lift(x, opname) if like is not None else None
    return t if t is not None else Tensor(x)


def _tensors(tensors, opname):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{opname}: expected a non-empty sequence of tensors")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [_as_tensor(t, like, opname) for t in tensors]


def _joined(tensors, opname):
    """The tensors to join, in the dtype torch's promotion gives them together (cat of an
    int64 and a float32 tensor is float32)."""
    tensors = _tensors(tensors, opname)
    d = tensors[0]._data.dtype
    if any(t._data.dtype is not d for t in tensors[1:]):
        common = _dt.result_type(*tensors)._np
        tensors = [t if t._data.dtype == common else t.astype(common) for t in tensors]
    return tensors


def concatenate(tensors, dim=0, *, axis=None, out=None):
    """Join tensors along an existing dim (torch.cat; numpy's axis is an alias): shapes must
    agree except along dim. Each input's gradient is its slice of the output's gradient."""
    if out is not None:
        raise TypeError("cat(): out= is not supported")
    dim = dim if axis is None else axis
    tensors = _joined(tensors, "concatenate")
    first = tensors[0]
    if first.ndim == 0:
        raise _ShapeError("concatenate: zero-dimensional tensors cannot be concatenated "
                          "(use stack)")
    dim = _one_axis(dim, first.ndim, "concatenate")
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
                n != m for i, (n, m) in enumerate(zip(t._data.shape, first._data.shape))
                if i != dim):
            shapes = ", ".join(str(x._data.shape) for x in tensors)
            raise _ShapeError(f"concatenate: shapes {shapes} must agree except along axis "
                              f"{dim}")
    return Tensor._apply(OPS["concatenate"], dim, *tensors)


cat = concat = concatenate


def stack(tensors, dim=0, *, axis=None, out=None):
    """Join same-shape tensors along a new dim (each is unsqueezed, then concatenated)."""
    if out is not None:
        raise TypeError("stack(): out= is not supported")
    dim = dim if axis is None else axis
    tensors = _joined(tensors, "stack")
    shape = tensors[0]._data.shape
    for t in tensors[1:]:
        if t._data.shape != shape:
            shapes = ", ".join(str(x._data.shape) for x in tensors)
            raise _ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    ndim = len(shape) + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    dim %= ndim
    new = shape[:dim] + (1,) + shape[dim:]
    out = Tensor._apply(OPS["concatenate"], dim, *[t.reshape(new) for t in tensors])
    return named(out, "StackBackward0", *tensors)


def _pad_widths(pad, ndim):
    """numpy-style (int, or (before, after) per axis) or torch-style (a flat sequence of ints,
    last axis first: (left, right, top, bottom, ...)) widths as ((before, after),) * ndim."""
    if isinstance(pad, (int, np.integer)):
        widths = [(int(pad), int(pad))] * ndim
    else:
        pad = list(pad)
        if pad and all(isinstance(p, (int, np.integer)) for p in pad):
            if len(pad) % 2 or len(pad) // 2 > ndim:
                raise ValueError(f"pad: torch-style widths {tuple(pad)} need an even length "
                                 f"of at most {2 * ndim} for a {ndim}-d tensor")
            last = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
            widths = [(0, 0)] * (ndim - len(last)) + last[::-1]
        else:
            widths = [tuple(int(x) for x in p) for p in pad]
            if len(widths) == 1 and ndim > 1:
                widths = widths * ndim
            if len(widths) != ndim or any(len(w) != 2 for w in widths):
                raise ValueError(f"pad: numpy-style widths {pad} need one (before, after) "
                                 f"pair per axis of a {ndim}-d tensor")
    if any(x < 0 for w in widths for x in w):
        raise ValueError(f"pad: negative widths are not supported, got {widths}")
    return tuple(widths)


def pad(x, pad, value=0.0):
    """x surrounded by `value` (constant mode). `pad` is an int (all sides of every axis),
    numpy-style ((before, after) per axis) or torch-style (flat, last axis first:
    (left, right, top, bottom, ...)). The gradient is the inner slice of the output's."""
    x = _as_tensor(x, None, "pad")
    return Tensor._apply(OPS["pad"], (_pad_widths(pad, x.ndim), value), x)


def _pair(v, name, opname):
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise ValueError(f"{opname}: {name} must be an int or a pair, got {v}")
    return v


def _check_nchw(x, opname):
    if x.ndim != 4:
        raise ValueError(f"{opname}: expected an NCHW input of 4 dims, got shape {x._data.shape}")


def _check_window(x, kernel, stride, padding, opname):
    """Positive kernel and stride, non-negative padding, and a window that fits the input."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"{opname}: kernel {kernel} and stride {stride} must be positive, "
                         f"padding {padding} non-negative")
    h, w = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
    if h < kh or w < kw:
        raise ValueError(f"{opname}: kernel {kh}x{kw} is larger than the padded input "
                         f"{h}x{w} (input shape {x._data.shape})")


def linear(x, weight, bias=None):
    """x W^T + b with W of shape (out_features, in_features), b of shape (out_features,);
    x of shape (..., in_features). With a bias it is one fused node of the op table."""
    # every Linear layer runs this: the checks read .data.shape (no properties) and convert
    # only what is not a Tensor (or Parameter) already (0.9 us -> 0.3 us)
    if not isinstance(x, Tensor):
        x = _as_tensor(x, None, "linear")
    if not isinstance(weight, Tensor):
        weight = _as_tensor(weight, x, "linear")
    xs, ws = x._data.shape, weight._data.shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {xs} does not match weight of shape "
                         f"{ws} (expected (out_features, {xs[-1] if xs else '?'})"
                         f" and an input whose last dimension is in_features)")
    if bias is None:
        return x @ weight.mT
    if not isinstance(bias, Tensor):
        bias = _as_tensor(bias, x, "linear")
    if bias._data.shape != ws[:1]:
        raise ValueError(f"linear: bias must have shape ({ws[0]},) for a weight of "
                         f"shape {ws}, got {bias._data.shape}")
    return Tensor._apply(_LINEAR, None, x, weight, bias)


_LINEAR = OPS["linear"]


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """out[n, o, p, q] = bias[o] + sum_{c,i,j} weight[o, c, i, j] x[n, c, p*sh + i, q*sw + j]
    (cross-correlation, as torch), x zero-padded by `padding`. x: (N, C, H, W); weight:
    (out_channels, C, kH, kW); bias: (out_channels,). One im2col and ONE batched matmul."""
    x = _as_tensor(x, None, "conv2d")
    weight = _as_tensor(weight, x, "conv2d")
    _check_nchw(x, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be (out_channels, in_channels, kH, kW), got "
                         f"shape {weight._data.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x._data.shape}) but the "
                         f"weight expects {weight.shape[1]} (shape {weight._data.shape})")
    out_ch, in_ch, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride, "stride", "conv2d"), _pair(padding, "padding", "conv2d")
    _check_window(x, (kh, kw), (sh, sw), (ph, pw), "conv2d")
    if bias is None:
        bias = Tensor(np.zeros(out_ch, dtype=x.dtype))
    else:
        bias = _as_tensor(bias, x, "conv2d")
        if bias.shape != (out_ch,):
            raise ValueError(f"conv2d: bias must have shape ({out_ch},) for a weight of shape "
                             f"{weight._data.shape}, got {bias._data.shape}")
    return Tensor._apply(OPS["conv2d"], (sh, sw, ph, pw), x, weight, bias)


def _pool_args(x, kernel_size, stride, padding, opname):
    _check_nchw(x, opname)
    kernel = _pair(kernel_size, "kernel_size", opname)
    stride = kernel if stride is None else _pair(stride, "stride", opname)
    padding = _pair(padding, "padding", opname)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"{opname}: padding {padding} must be at most half the kernel "
                         f"{kernel} (as in torch)")
    return kernel, stride, padding


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """out[n, c, p, q] = max over the kernel window at (p*sh, q*sw) of x padded with -inf;
    stride defaults to kernel_size. A tie sends the gradient to ONE element, the first maximum
    of the window in row-major order (as torch)."""
    x = _as_tensor(x, None, "max_pool2d")
    kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    _check_window(x, kernel, stride, padding, "max_pool2d")
    return Tensor._apply(OPS["max_pool2d"], kernel + stride + padding, x)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """out[n, c, p, q] = mean over the kernel window of x zero-padded (padded zeros count, as
    torch's default count_include_pad=True); stride defaults to kernel_size."""
    x = _as_tensor(x, None, "avg_pool2d")
    kernel, stride, padding = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    _check_window(x, kernel, stride, padding, "avg_pool2d")
    return Tensor._apply(OPS["avg_pool2d"], kernel + stride + padding, x)


def softmax(x, axis=-1):
    """e^x / sum e^x along axis (stable)."""
    return _as_tensor(x, None, "softmax").softmax(axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along axis (stable)."""
    return _as_tensor(x, None, "log_softmax").log_softmax(axis)


def logsumexp(x, axis=None, keepdims=False):
    """log sum e^x over axis (stable)."""
    return _as_tensor(x, None, "logsumexp").logsumexp(axis, keepdims)


def maximum(a, b):
    """max(a, b) elementwise; ties split the gradient 0.5 / 0.5."""
    if not isinstance(a, Tensor):
        return _as_tensor(b, None, "maximum").maximum(a)
    return a.maximum(b)


def minimum(a, b):
    """min(a, b) elementwise; ties split the gradient 0.5 / 0.5."""
    if not isinstance(a, Tensor):
        return _as_tensor(b, None, "minimum").minimum(a)
    return a.minimum(b)


__all__ = ["concatenate", "cat", "stack", "pad", "linear", "conv2d", "max_pool2d", "avg_pool2d",
           "softmax", "log_softmax", "logsumexp", "maximum", "minimum"]
