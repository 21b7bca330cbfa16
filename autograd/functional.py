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
           "softmax", "log_softmax", "logsumexp", "maximum", "minimum", "jacobian", "hessian",
           "vjp", "jvp", "hvp", "vhp"]


# ---------------------------------------------------------------------------------------------
# torch.autograd.functional: derivatives of whole functions (a program's
# `torch.autograd.functional.hessian` finds them here after the rewrite to `autograd.`)
def _tuple_inputs(inputs):
    single = isinstance(inputs, Tensor)
    xs = (inputs,) if single else tuple(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"The inputs given to jacobian/hessian must be a Tensor or a tuple of "
                            f"Tensors, but element {i} is a {type(x).__name__}")
    # fresh leaves that require grad, so that the caller's tensors are left alone
    return single, tuple(Tensor._node(x._data).requires_grad_(x._data.dtype.kind == "f")
                         for x in xs)


def _as_outputs(out, fn):
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{fn}: the function must return a Tensor or a tuple of Tensors, got "
                            f"{type(o).__name__}")
    return single, outs


def _rows(out, xs, create_graph):
    """d out / d x for each x in xs, as tensors of shape out.shape + x.shape: one backward
    pass per element of out."""
    from .engine import grad as _grad
    n = out.numel()
    if not out.requires_grad:
        return [Tensor._node(np.zeros(out._data.shape + x._data.shape, x._data.dtype))
                for x in xs]
    flat = out.reshape(-1)
    rows = [[] for _ in xs]
    for j in range(n):
        gs = _grad(flat[j], list(xs), retain_graph=True, create_graph=create_graph,
                   allow_unused=True)
        for i, (g, x) in enumerate(zip(gs, xs)):
            rows[i].append(g if g is not None else
                           Tensor._node(np.zeros(x._data.shape, x._data.dtype)))
    return [stack(r, 0).reshape(out._data.shape + x._data.shape) if r else
            Tensor._node(np.zeros(out._data.shape + x._data.shape, x._data.dtype))
            for r, x in zip(rows, xs)]


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of func at inputs (a Tensor or a tuple of them): d out_i / d x_j as a
    tensor of shape out.shape + x.shape, nested in tuples as torch's (per output, per input),
    by one backward pass per output element."""
    if strategy != "reverse-mode":
        raise NotImplementedError("jacobian: only strategy='reverse-mode' is supported")
    single_in, xs = _tuple_inputs(inputs)
    from .grad_mode import enable_grad
    with enable_grad():
        single_out, outs = _as_outputs(func(*xs), "jacobian")
        result = [_rows(o, xs, create_graph) for o in outs]
    if not create_graph:
        result = [[r.detach() for r in row] for row in result]
    if single_in:
        result = [row[0] for row in result]
    else:
        result = [tuple(row) for row in result]
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar func at inputs: d^2 f / dx_i dx_j of shape x_i.shape +
    x_j.shape (a tuple of tuples for several inputs), the Jacobian of its gradient."""
    from .engine import grad as _grad
    single_in, _ = _tuple_inputs(inputs)

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single element "
                               "Tensor")
        gs = _grad(out.reshape(()), list(xs), create_graph=True, allow_unused=True)
        gs = [g if g is not None else Tensor._node(np.zeros(x._data.shape, x._data.dtype))
              for g, x in zip(gs, xs)]
        return gs[0] if single_in else tuple(gs)
    return jacobian(gradient, inputs, create_graph=create_graph)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the outputs (detached) and the vector-Jacobian product."""
    from .engine import grad as _grad
    from .grad_mode import enable_grad
    single_in, xs = _tuple_inputs(inputs)
    with enable_grad():
        out = func(*xs)
        single_out, outs = _as_outputs(out, "vjp")
        vs = (None,) * len(outs) if v is None else ((v,) if single_out else tuple(v))
        total = None
        for o, w in zip(outs, vs):
            term = o.sum() if w is None else (o * w).sum()
            total = term if total is None else total + term
        gs = _grad(total, list(xs), create_graph=create_graph, allow_unused=True)
    gs = tuple((g if create_graph else g.detach()) if g is not None else
               Tensor._node(np.zeros(x._data.shape, x._data.dtype)) for g, x in zip(gs, xs))
    outs = tuple(o.detach() for o in outs)
    return (outs[0] if single_out else outs), (gs[0] if single_in else gs)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the outputs (detached) and the Jacobian-vector product."""
    single_in, xs = _tuple_inputs(inputs)
    vs = (v,) if single_in else tuple(v)
    jac = jacobian(func, inputs, create_graph=create_graph)
    out = func(*xs)
    single_out, outs = _as_outputs(out, "jvp")
    jacs = (jac,) if single_out else jac
    result = []
    for o, row in zip(outs, jacs):
        row = (row,) if single_in else row
        total = None
        for j, w in zip(row, vs):
            term = (j.reshape(o.numel(), -1) @ w.reshape(-1)).reshape(o.shape)
            total = term if total is None else total + term
        result.append(total)
    outs = tuple(o.detach() for o in outs)
    return (outs[0] if single_out else outs), (result[0] if single_out else tuple(result))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v): the scalar output and the Hessian-vector product, by double
    backward (Pearlmutter's trick), never forming H."""
    from .engine import grad as _grad
    from .grad_mode import enable_grad
    single_in, xs = _tuple_inputs(inputs)
    vs = (v,) if single_in else tuple(v)
    with enable_grad():
        out = func(*xs)
        gs = _grad(out.reshape(()), list(xs), create_graph=True, allow_unused=True)
        dot = None
        for g, w in zip(gs, vs):
            if g is not None:
                term = (g * w).sum()
                dot = term if dot is None else dot + term
        hv = _grad(dot, list(xs), create_graph=create_graph, allow_unused=True)
    hv = tuple((h if create_graph else h.detach()) if h is not None else
               Tensor._node(np.zeros(x._data.shape, x._data.dtype)) for h, x in zip(hv, xs))
    return out.detach(), (hv[0] if single_in else hv)


vhp = hvp      # v^T H = (H v)^T: the Hessian is symmetric
