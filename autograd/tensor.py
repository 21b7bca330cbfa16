"""`Tensor`: a numpy array that records the ops applied to it, on the same tape as `Value`."""
import numbers

import numpy as np

from .backends import ARRAY
from .engine import STATE, Node, _next_index
from .fast import FAST_ARRAY, adopt
from .ops import OPS

_DEFAULT = [np.dtype(np.float32)]


def set_default_dtype(dtype):
    """The float dtype of Tensors made from Python numbers and lists (float32 unless changed)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only float dtypes are allowed, got {dtype}")
    _DEFAULT[0] = dtype


def get_default_dtype():
    return _DEFAULT[0]


def _binary(name):
    op = OPS[name]

    def forward(self, other):
        other = self._lift(other, name)
        if other is None:
            return NotImplemented
        return Tensor._apply(op, None, self, other)

    def reflected(self, other):
        other = self._lift(other, name)
        if other is None:
            return NotImplemented
        return Tensor._apply(op, None, other, self)

    forward.__doc__ = reflected.__doc__ = f"{op.name}: {op.formula}"
    return forward, reflected


def _unary(name):
    op = OPS[name]

    def forward(self):
        return Tensor._apply(op, None, self)

    forward.__name__ = name
    forward.__doc__ = f"{name}: {op.formula}"
    return forward


def _composite(opname, a, b, build):
    """build(a, b) from primitives; a shape mismatch is reported under the composite's own name
    (a - b is built from add, but the user wrote sub)."""
    try:
        return build(a, b)
    except ValueError:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{opname}: invalid input shapes {a.shape} and {b.shape}: they "
                             f"cannot be broadcast together") from None
        raise


def _norm_axis(axis, ndim, opname):
    """axis as a sorted tuple of non-negative ints (None stays None); bad axes named."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"{opname}: axis {a} is out of range for a tensor of {ndim} dims")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def _one_axis(axis, ndim, opname):
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{opname}: axis must be one int, got {axis!r}")
    return _norm_axis(axis, ndim, opname)[0] if ndim else 0


def _operand(x, like, opname):
    """The other operand of a named binary method (maximum, minimum) as a Tensor."""
    t = like._lift(x, opname)
    if t is None:
        raise TypeError(f"{opname}: cannot combine a Tensor with a {type(x).__name__}")
    return t


def _to_array(data, dtype):
    if isinstance(data, Node):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    arr = np.array(data)
    if arr.dtype.kind in "iufb" or arr.dtype == object and arr.size == 0:
        arr = arr.astype(_DEFAULT[0])
    return arr


class Tensor(Node):
    """An n-dimensional array node: `.data` is a numpy array, `.grad` an array or None.

    Ops are numpy ops with broadcasting; each records itself so that `backward()` can run the
    chain rule. As in PyTorch, only leaves (tensors you create with requires_grad=True) keep
    `.grad`; call `retain_grad()` on an intermediate to keep its gradient too. Python numbers and
    lists become float32 unless `dtype` is given (`set_default_dtype(np.float64)` switches);
    numpy arrays keep their dtype.
    """
    __slots__ = ()
    _empty_grad = None
    _forward_name = "array"
    _reference_backend = ARRAY
    __array_ufunc__ = None      # numpy defers to our reflected ops: ndarray * tensor is a Tensor

    def __init__(self, data, requires_grad=False, dtype=None, label=""):
        arr = _to_array(data, dtype)
        if arr.dtype == object:
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} "
                            f"(numpy gives it dtype object)")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor of dtype {arr.dtype} (numbers only: "
                            f"bool, int, uint or float)")
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating point tensors can require gradients, got dtype "
                f"{arr.dtype}; pass dtype=np.float32 or np.float64")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._index = _next_index()
        self._retains_grad = False
        self.label = label

    @staticmethod
    def _forward(op):
        return op.fast_forward if STATE.fast else op.array

    @staticmethod
    def _backend():
        return FAST_ARRAY if STATE.fast else ARRAY

    def _lift(self, x, opname):
        """The other operand of an op as a Tensor: a Tensor as it is, a Python number or an
        array as a constant; None (NotImplemented) for anything else, and a Value refused by
        name. A Python number takes the dtype of the Tensor it meets (as in PyTorch, `x * 2.0`
        keeps x's float32); a numpy array keeps its own float dtype, and an integer or bool
        array takes this Tensor's float dtype."""
        if isinstance(x, Tensor):
            return x
        if isinstance(x, Node):
            raise TypeError(
                f"'{opname}' between a Tensor and a {type(x).__name__}: a Value is a scalar "
                f"graph node and cannot mix with Tensor. Use Tensor(value.data) (a constant) "
                f"or build both sides as Tensors.")
        own = self.data.dtype if self.data.dtype.kind == "f" else _DEFAULT[0]
        if isinstance(x, (float, int)) or (isinstance(x, numbers.Number)
                                           and not isinstance(x, np.ndarray)):
            return Tensor._node(np.asarray(x, dtype=own))
        if isinstance(x, (np.ndarray, list, tuple)):
            arr = np.asarray(x)
            if arr.dtype.kind not in "fiub":
                raise TypeError(f"'{opname}': cannot use an array of dtype {arr.dtype} as an "
                                f"operand")
            return Tensor._node(arr if arr.dtype.kind == "f" else arr.astype(own))
        return None

    # ------------------------------------------------------------------ array facts
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def numel(self):
        return self.data.size

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python "
                             f"number, this one has shape {self.shape}")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def numpy(self):
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def detach(self):
        """The same data as a constant: gradients stop here."""
        return Tensor._node(self.data)

    def retain_grad(self):
        """Keep `.grad` on this intermediate tensor after backward."""
        self._retains_grad = True
        return self

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating point tensors can require "
                            f"gradients, got dtype {self.data.dtype}")
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self):
        self.grad = None

    def _seed(self, grad):
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (this output has "
                    f"shape {self.shape}); pass backward(grad=...) of the same shape, or reduce "
                    f"it first, e.g. out.sum().backward()")
            return np.ones(self.data.shape, self.data.dtype)
        g = grad.data if isinstance(grad, Node) else np.asarray(grad, dtype=self.data.dtype)
        if g.shape != self.shape:
            raise RuntimeError(f"backward: grad has shape {g.shape} but the output has shape "
                               f"{self.shape}")
        return g

    def _const_like(self, x):
        return x if isinstance(x, Tensor) else Tensor._node(np.asarray(x, dtype=self.data.dtype))

    def _sum_all(self):
        return self.sum()

    @staticmethod
    def _keep_grad(node, g):
        """backward()'s `take`: leaves, and tensors after retain_grad(), add g to .grad."""
        if node._op is not None and not node._retains_grad:
            return
        if isinstance(g, Node):
            g = g.data
        if node.grad is None:
            # .grad must be this tensor's own array: the pass may have handed the same array
            # to another node (add's VJP gives g to both inputs), so it keeps a copy
            node.grad = adopt(g) if STATE.fast else np.array(g, order="K")
        else:
            node.grad = node.grad + g

    @staticmethod
    def _concatenate(tensors, axis):
        return Tensor._apply(OPS["concatenate"], axis, *tensors)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(")
        extra = ""
        if self._op is not None:
            extra = f", op={self._op.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.data.dtype != _DEFAULT[0]:
            extra += f", dtype={self.data.dtype}"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------------------ elementwise
    __add__, __radd__ = _binary("add")
    __mul__, __rmul__ = _binary("mul")
    __pow__, __rpow__ = _binary("pow")
    __matmul__, __rmatmul__ = _binary("matmul")

    def __neg__(self):
        """-a = a * -1"""
        return self * -1.0

    def __sub__(self, other):
        """a - b = a + (-b)"""
        other = self._lift(other, "sub")
        if other is None:
            return NotImplemented
        return _composite("sub", self, other, lambda a, b: a + (-b))

    def __rsub__(self, other):
        other = self._lift(other, "sub")
        if other is None:
            return NotImplemented
        return _composite("sub", other, self, lambda a, b: a + (-b))

    def __truediv__(self, other):
        """a / b = a * b ** -1 (a constant b is inverted once, unrecorded)"""
        other = self._lift(other, "div")
        if other is None:
            return NotImplemented
        if other.requires_grad:
            return _composite("div", self, other, lambda a, b: a * b ** -1.0)
        with np.errstate(divide="ignore"):
            inverse = Tensor._node(np.reciprocal(other.data))
        return _composite("div", self, other, lambda a, b: a * inverse)

    def __rtruediv__(self, other):
        other = self._lift(other, "div")
        if other is None:
            return NotImplemented
        return _composite("div", other, self, lambda a, b: a * b ** -1.0)

    def matmul(self, other):
        return self @ other

    exp = _unary("exp")
    log = _unary("log")
    tanh = _unary("tanh")
    sigmoid = _unary("sigmoid")
    relu = _unary("relu")
    sqrt = _unary("sqrt")
    abs = _unary("abs")
    __abs__ = abs
    sin = _unary("sin")
    cos = _unary("cos")
    erf = _unary("erf")
    expm1 = _unary("expm1")

    def leaky_relu(self, negative_slope=0.01):
        """a if a > 0 else negative_slope * a; gradient negative_slope at 0 (as PyTorch)."""
        return Tensor._apply(OPS["leaky_relu"], negative_slope, self)

    def clip(self, min=None, max=None):
        """min(max(a, min), max), either bound None; gradient 1 inside [min, max] inclusive,
        0 outside (torch.clamp)."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        return Tensor._apply(OPS["clip"], (min, max), self)

    clamp = clip

    def maximum(self, other):
        """max(a, b) elementwise with broadcasting; a tie gives each side half the gradient."""
        return Tensor._apply(OPS["maximum"], None, self, _operand(other, self, "maximum"))

    def minimum(self, other):
        """min(a, b) elementwise with broadcasting; a tie gives each side half the gradient."""
        return Tensor._apply(OPS["minimum"], None, self, _operand(other, self, "minimum"))

    # ------------------------------------------------------------------ dtype
    def astype(self, dtype):
        """The data as `dtype`. To a float dtype it is differentiable (the gradient comes back
        in this tensor's dtype); to an integer or bool dtype the result is a constant."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor._node(self.data.astype(dtype))
        return Tensor._apply(OPS["astype"], dtype, self)

    def double(self):
        return self.astype(np.float64)

    def float(self):
        return self.astype(np.float32)

    # comparisons: constant boolean tensors, not differentiable
    def _compare(self, other, fn):
        o = other.data if isinstance(other, Node) else other
        return Tensor._node(fn(self.data, o))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        """Elementwise a == b as a constant bool Tensor (as torch); hashing stays by identity."""
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    eq, ne = __eq__, __ne__
    __hash__ = Node.__hash__

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with more than one value is ambiguous "
                               f"(shape {self.shape}); use .any() or .all() on .data, or .item()")
        return bool(self.data.item())

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        """sum over axis (int, tuple, or None for all)"""
        return Tensor._apply(OPS["sum"], (_norm_axis(axis, self.ndim, "sum"), keepdims), self)

    def mean(self, axis=None, keepdims=False):
        """sum / count over axis"""
        axes = _norm_axis(axis, self.ndim, "mean")
        n = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims) * (1.0 / n if n else np.nan)    # empty: nan, as torch

    def max(self, axis=None, keepdims=False):
        """max over axis (int, tuple or None). Values only, like numpy and torch.amax: tied
        maxima share the gradient evenly (torch.max(dim) would pick one; max_pool2d does)."""
        return Tensor._apply(OPS["amax"], (_norm_axis(axis, self.ndim, "max"), keepdims), self)

    def min(self, axis=None, keepdims=False):
        """min over axis; tied minima share the gradient evenly (torch.amin)."""
        return Tensor._apply(OPS["amin"], (_norm_axis(axis, self.ndim, "min"), keepdims), self)

    def var(self, axis=None, keepdims=False, correction=1, ddof=None):
        """sum (a - mean a)^2 / (n - correction) over axis. The default correction=1 is
        torch.var's unbiased estimate (numpy's default is ddof=0); `ddof` is numpy's name for
        `correction`. n - correction <= 0 gives inf or nan, as in torch."""
        if ddof is not None:
            correction = ddof
        axes = _norm_axis(axis, self.ndim, "var")
        n = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        d = self - self.mean(axes, keepdims=True)
        scale = 1.0 / (n - correction) if n > correction else np.inf
        return (d * d).sum(axes, keepdims) * scale

    def std(self, axis=None, keepdims=False, correction=1, ddof=None):
        """sqrt(var); same `correction` default (1) as torch.std."""
        return self.var(axis, keepdims, correction, ddof).sqrt()

    def logsumexp(self, axis=None, keepdims=False):
        """log sum exp over axis, stable: m + log sum e^(a - m) with m = max a; its gradient
        is softmax(a)."""
        return Tensor._apply(OPS["logsumexp"], (_norm_axis(axis, self.ndim, "logsumexp"), keepdims),
                      self)

    def log_softmax(self, axis=-1):
        """a - logsumexp(a, axis, keepdims=True), one stable primitive."""
        return Tensor._apply(OPS["log_softmax"], _one_axis(axis, self.ndim, "log_softmax"), self)

    def softmax(self, axis=-1):
        """e^a / sum e^a along axis, as exp(log_softmax(a)): stable for any logits."""
        return self.log_softmax(_one_axis(axis, self.ndim, "softmax")).exp()

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Tensor._apply(OPS["reshape"], shape, self)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.shape
        if not shape:
            return self.reshape(1)
        s, e = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(shape[:s] + (-1,) + shape[e + 1:])

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes "
                             f"of a tensor of shape {self.shape}")
        return Tensor._apply(OPS["transpose"], tuple(a % self.ndim for a in axes), self)

    def transpose(self, dim0=None, dim1=None):
        """transpose() reverses all axes (numpy); transpose(d0, d1) swaps two (PyTorch)."""
        if dim0 is None:
            return self.permute(tuple(range(self.ndim))[::-1])
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(axes)

    @property
    def T(self):
        return self.permute(tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def expand(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}") from None
        return Tensor._apply(OPS["broadcast_to"], shape, self)

    broadcast_to = expand

    def unsqueeze(self, axis):
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _norm_axis(axis, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in axes and n == 1)))

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        if isinstance(index, list):
            index = np.asarray(index)
        try:
            return Tensor._apply(OPS["getitem"], index, self)
        except IndexError as e:
            raise IndexError(f"index into a tensor of shape {self.shape}: {e}") from None

    def where(self, cond, other):
        """self where cond else other (cond is a constant mask)"""
        return where(cond, self, other)


def where(cond, a, b):
    """a where cond else b, elementwise; cond is a constant (a bool array or Tensor)."""
    cond = np.asarray(cond.data if isinstance(cond, Node) else cond, dtype=bool)
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        like = Tensor(np.asarray(a))
    a = _operand(a, like, "where")
    b = _operand(b, like, "where")
    return Tensor._apply(OPS["where"], cond, a, b)


Tensor._kind = Tensor
