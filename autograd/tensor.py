"""`Tensor`: a numpy array that records the ops applied to it, on the same tape as `Value`."""
import math
import numbers
import operator

import numpy as np

from .backends import ARRAY
from .engine import HOOKED, STATE, InPlace, Node, _next_index, run_post_hooks
from .fast import FAST_ARRAY, adopt, backpropagate_arrays
from .ops import OPS

from . import dtypes as _dt
from . import grad_fn as _grad_fn
from .grad_fn import named as _named
from . import return_types as _return_types
from .size import Size
from .tensor_api import _NUMPY, TensorAPI, _copy
from . import tensor_str as _tensor_str
from .dtypes import get_default_dtype, set_default_dtype  # noqa: F401 (one default-dtype state)

_BY_NUMPY = _dt._BY_NUMPY       # numpy dtype -> torch dtype object


def _default_np():
    """The default float dtype as a numpy dtype (float32 unless set_default_dtype changed it)."""
    return _dt._DEFAULT[0]._np


def _binary(name, commutative=False):
    """The method and its reflected twin for the binary row `name` (add, mul, pow), with
    torch's type promotion (autograd/dtypes.py).

    Fast path, no promotion call: a float tensor meets a tensor of its own dtype, or a Python
    float or int (a number never changes a float tensor's dtype). Everything else goes through
    _promoted."""
    op = OPS[name]

    def forward(self, other):
        d = self._data.dtype
        if d.kind == "f":
            kind = type(other)
            if kind is float or kind is int:
                return Tensor._apply(op, None, self, Tensor._node(np.asarray(other, dtype=d)))
            if isinstance(other, Tensor) and other._data.dtype is d:
                try:
                    return Tensor._apply(op, None, self, other)
                except ValueError as e:
                    raise _pair_error(name, self, other, e) from None
        return _apply_promoted(op, name, self, other)

    def reflected(self, other):
        d = self._data.dtype
        if d.kind == "f":
            kind = type(other)
            if kind is float or kind is int:
                return Tensor._apply(op, None, Tensor._node(np.asarray(other, dtype=d)), self)
        return _apply_promoted(op, name, other, self)

    def reflected_commutative(self, other):
        # 2 * x is recorded as x * 2, as torch records it (grad_fn's inputs in that order)
        d = self._data.dtype
        if d.kind == "f":
            kind = type(other)
            if kind is float or kind is int:
                return Tensor._apply(op, None, self, Tensor._node(np.asarray(other, dtype=d)))
        return _apply_promoted(op, name, other, self)

    if commutative:
        reflected = reflected_commutative
    forward.__doc__ = reflected.__doc__ = f"{op.name}: {op.formula}"
    return forward, reflected


def _apply_promoted(op, name, a, b):
    """Row `op` on a and b cast to the dtype torch promotes them to (NotImplemented when one
    is not an operand), with a shape error naming the op."""
    pair = _promoted(name, a, b)
    if pair is None:
        return NotImplemented
    try:
        return _exact_dtype(Tensor._apply(op, None, *pair), pair)
    except ValueError as e:
        raise _pair_error(name, *pair, e) from None


def _exact_dtype(out, pair):
    """out in the dtype its operands promote to: numpy computes a few integer and bool ops in
    another (bool ** bool is int8 there, bool in torch). Float results are always right."""
    d = np.promote_types(pair[0]._data.dtype, pair[1]._data.dtype)
    if out._data.dtype != d and d.kind in "biu":
        return out.astype(d)
    return out


def _as_operand(x, opname):
    """An operand of a binary op as dtypes.result_type takes it: a Tensor as it is, a Python
    number or numpy scalar as a number, an array or a list as a constant Tensor; None for
    anything else (the operator then returns NotImplemented). A Value is refused by name."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, Node):
        return x
    if isinstance(x, Node):
        raise TypeError(
            f"'{opname}' between a Tensor and a {type(x).__name__}: a Value is a scalar "
            f"graph node and cannot mix with Tensor. Use Tensor(value._data) (a constant) "
            f"or build both sides as Tensors.")
    if isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"'{opname}': cannot use an array of dtype {arr.dtype} as an "
                            f"operand")
        if arr.dtype not in _BY_NUMPY:
            arr = arr.astype(np.int64 if arr.dtype.kind in "iu" else np.float64)
        return Tensor._node(arr)
    return None


def _cast(x, np_dtype):
    """Operand x (a Tensor or a number) as a Tensor of numpy dtype np_dtype: a number stored
    as torch converts a wrapped number (dtypes.cast_scalar), a tensor cast (differentiably,
    when both dtypes are float)."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == np_dtype else x.astype(np_dtype)
    return Tensor._node(_dt.cast_scalar(x, _BY_NUMPY[np_dtype]))


def _promoted(rule, a, b):
    """(a, b) as Tensors ready for a binary row, in the dtype torch computes `rule` in
    (dtypes.binary_dtypes: promotion, true division's float, torch's errors); None when an
    operand is no tensor, number or array.

    Two tensors whose dtypes numpy already promotes to that dtype are left as they are (a
    float32 and a float64 tensor: numpy computes in float64 too), so that no cast node comes
    between them and their op."""
    a, b = _as_operand(a, rule), _as_operand(b, rule)
    if a is None or b is None:
        return None
    compute = _dt.binary_dtypes(rule, a, b)[0]._np
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if np.promote_types(a._data.dtype, b._data.dtype) == compute:
            return a, b
    return _cast(a, compute), _cast(b, compute)


def _unary(name):
    """The method of the unary row `name`; an integer or bool tensor is first cast as torch's
    rule says (dtypes.unary_dtype: exp of int64 is float32, relu of bool an error)."""
    op = OPS[name]

    def forward(self):
        if self._data.dtype.kind != "f":
            self = _unary_input(name, self)
        return Tensor._apply(op, None, self)

    forward.__name__ = name
    forward.__doc__ = f"{name}: {op.formula}"
    return forward


def _unary_input(name, t):
    """t in the dtype torch computes the unary op `name` in (its errors for bool and ints)."""
    d = _dt.unary_dtype(name, t.dtype)._np
    return t if d == t._data.dtype else t.astype(d)


def _composite(opname, a, b, build):
    """build(a, b) from primitives; a shape mismatch is reported under the composite's own name
    (a - b is built from add, but the user wrote sub)."""
    try:
        return build(a, b)
    except ValueError:
        try:
            np.broadcast_shapes(a._data.shape, b._data.shape)
        except ValueError:
            raise _pair_error(opname, a, b, "they cannot be broadcast together") from None
        raise


def _pair_error(opname, a, b, detail):
    """A binary op's shape error: torch's sentence first, then tapegrad's (op, shapes, why)."""
    sa, sb = a._data.shape, b._data.shape
    first = _broadcast_message(sa, sb)
    if opname == "matmul":
        first = _matmul_message(sa, sb)
    ours = str(detail)
    if not ours.startswith(f"{opname}:"):
        ours = f"{opname}: invalid input shapes {sa} and {sb}: {ours}"
    return _ShapeError(ours if first is None else f"{first}\n{ours}")


def _broadcast_message(sa, sb):
    """torch's message for shapes that do not broadcast (None if they do)."""
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return (f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) "
                    f"at non-singleton dimension {i}")
    return None


def _matmul_message(sa, sb):
    """torch's message for matmul operands whose inner sizes differ, by the kernel the shapes
    lead to (dot, mv, mm, bmm), or for batch dims that do not broadcast."""
    if len(sa) == 1 and len(sb) == 1:
        return (f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to "
                f"have the same number of elements, but got {sa[0]} and {sb[0]} elements "
                f"respectively")
    if len(sb) == 1:
        rows = math.prod(sa[:-1])
        return (f"size mismatch, got input ({rows}), mat ({rows}x{sa[-1]}), vec ({sb[0]})"
                if len(sa) == 2 else
                f"mat1 and mat2 shapes cannot be multiplied ({rows}x{sa[-1]} and {sb[0]}x1)")
    if len(sb) == 2:
        rows = math.prod(sa[:-1]) if len(sa) > 1 else 1
        return (f"mat1 and mat2 shapes cannot be multiplied ({rows}x{sa[-1]} and "
                f"{sb[0]}x{sb[1]})")
    if sa[-1] != sb[-2]:
        batch = math.prod(np.broadcast_shapes(sa[:-2], sb[:-2])) if len(sa) > 1 else 1
        return (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, "
                f"{sa[-1]}] but got: [{batch}, {sb[-2]}].")
    return _broadcast_message(sa[:-2], sb[:-2])


def _add_negated(a, b):
    return a + (-b)


def _move_hooks(tensor, old):
    """An in-place op made `old` stand for tensor's value before it: the hooks registered so
    far see the gradient of that value, as torch's do; tensor, now the op's result, starts
    without."""
    if tensor._hooks is not None:
        old._hooks, tensor._hooks = tensor._hooks, None
        HOOKED[id(old)] = old           # the engine's "some tensor has hooks"


def _copy_name(src, dst):
    """dst takes over src's node (an in-place op): its grad_fn name goes along."""
    named = getattr(src, "_fn", None)
    if named is not None:
        dst._fn = named
    elif getattr(dst, "_fn", None) is not None:
        del dst._fn


def _tensor_or_none(x):
    return x if isinstance(x, Tensor) else None


def _divide(a, b):
    """a / b for tensors whose dtypes promote to a float one: a * b ** -1, or with a constant
    b, a times its reciprocal taken once, unrecorded (in the result dtype: the reciprocal of a
    bool or integer b would be taken in its own dtype)."""
    d = np.promote_types(a._data.dtype, b._data.dtype)
    if b._data.dtype != d:
        b = b.astype(d)
    if b.requires_grad or (STATE.trace is not None and STATE.trace.is_traced(b)):
        # b takes a gradient, or autograd.compile is tracing a value b comes from: recorded
        return _composite("div", a, b, lambda a, b: a * b ** -1.0)
    with np.errstate(divide="ignore"):
        inverse = Tensor._node(np.reciprocal(b._data))
    return _composite("div", a, b, lambda a, b: a * inverse)


def _norm_axis(axis, ndim, opname):
    """axis as a sorted tuple of non-negative ints (None stays None); bad axes named."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(_dim_error(a, ndim))
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


class _ShapeError(ValueError, RuntimeError):
    """A shape torch refuses, with torch's message: a RuntimeError as in torch, and a
    ValueError as tapegrad's shape errors have always been. It prints as torch's does
    (`RuntimeError: ...`, and type(e).__name__ is 'RuntimeError'), since programs print it."""


_ShapeError.__name__ = _ShapeError.__qualname__ = "RuntimeError"
_ShapeError.__module__ = "builtins"


def _shape_arg(shape, t, opname):
    """torch's shape argument (ints, or one tuple / list / Size) as a tuple of ints, -1 resolved
    against t's size (t None: left as -1); torch's error when it cannot hold t's elements."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(operator.index(n) for n in shape)
    except TypeError:
        bad = next(n for n in shape if not hasattr(n, "__index__"))
        raise TypeError(f"{opname}(): argument 'shape' must be tuple of ints, but found element "
                        f"of type {type(bad).__name__}") from None
    if t is None:
        return shape
    size = t._data.size
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = math.prod(n for n in shape if n != -1)
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(n < -1 for n in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    if unknown and known and size % known == 0:
        shape = shape[:unknown[0]] + (size // known,) + shape[unknown[0] + 1:]
    elif unknown or known != size:
        raise _ShapeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def _viewable(arr, shape):
    """Whether numpy can give arr in `shape` as a view (no copy): torch's view() condition."""
    if arr.flags.c_contiguous:
        return True
    v = arr.view()
    try:
        v.shape = shape
    except AttributeError:
        return False
    return True


def _dim_error(dim, ndim):
    """torch's message for a dim outside [-ndim, ndim) (a 0-d tensor takes -1 and 0)."""
    n = max(ndim, 1)
    return (f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
            f"{dim})")


def _zero_dim_size(dim):
    raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")


def _one_axis(axis, ndim, opname):
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{opname}: axis must be one int, got {axis!r}")
    return _norm_axis(axis, ndim, opname)[0] if ndim else 0


def _operand(x, like, opname):
    """The other operand of a named binary method as a Tensor (a number takes like's float
    dtype, as _lift says)."""
    t = like._lift(x, opname)
    if t is None:
        raise TypeError(f"{opname}: cannot combine a Tensor with a {type(x).__name__}")
    return t


def _promoted_pair(rule, a, b):
    """_promoted, with a TypeError naming the op when an operand is not a tensor or number."""
    pair = _promoted(rule, a, b)
    if pair is None:
        bad = b if _as_operand(a, rule) is not None else a
        raise TypeError(f"{rule}(): expected a Tensor or a number, got {type(bad).__name__}")
    return pair


def _add(a, b):
    return a + b


def _sub(a, b):
    return a - b


def _mul(a, b):
    return a * b


def _div(a, b):
    return a / b


def _pow(a, b):
    return a ** b


# Fast path: an untracked update of a float tensor by a number or a tensor (an optimizer step
# written by hand, `p.data -= lr * p.grad`) as one numpy call into its array: 2.5 us instead
# of 12 on a (64, 128) float32 parameter.
_UPDATE_UFUNCS = {_add: np.add, _sub: np.subtract, _mul: np.multiply, _div: np.true_divide}


_UFUNC_OPERATORS = {np.add: _add, np.subtract: _sub, np.multiply: _mul, np.true_divide: _div,
                    np.power: _pow, np.matmul: lambda a, b: a @ b}

def _raw_index(index):
    """An index with Tensors replaced by their arrays, lists by arrays (numpy semantics)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _dim_alias(dim, keepdim, axis, keepdims, out, opname):
    """torch's dim / keepdim from either spelling (numpy's axis / keepdims are aliases, so that
    numpy's functions work on tensors); numpy's out= is accepted only as None."""
    if out is not None:
        raise TypeError(f"{opname}: out= is not supported on tensors")
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{opname}: got both dim and axis")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def _reduction_input(t, op, dtype):
    """t in the dtype the reduction `op` computes in (dtypes.reduction_dtype: int64 for the
    sum of integers, torch's errors for the mean of integers...), cast as `dtype=` asks."""
    if dtype is None and t._data.dtype.kind == "f":
        return t
    d = _dt.reduction_dtype(op, t.dtype, dtype)._np
    return t if d == t._data.dtype else t.astype(d)


def _count(t, axes):
    """How many elements a reduction over `axes` (sorted tuple or None) combines."""
    shape = t._data.shape
    return t._data.size if axes is None else int(np.prod([shape[a] for a in axes]))


def _correction(unbiased, correction, ddof, opname):
    """var's and std's correction from torch's unbiased= or correction= or numpy's ddof=."""
    given = [v for v in (unbiased, correction, ddof) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{opname}(): give only one of unbiased, correction and ddof")
    if unbiased is not None:
        return 1 if unbiased else 0
    if correction is not None:
        return correction
    return 1 if ddof is None else ddof


def _extreme_along(t, dim, keepdim, name):
    """max(dim) / min(dim): (values, indices) as torch.return_types; values are t at the
    indices (the first extreme along dim), so the gradient goes to that element only."""
    ax = _one_axis(dim, t.ndim, name)
    d = t._data
    if t.ndim and d.shape[ax] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {ax} to have non-zero size.")
    arg = np.argmax if name == "max" else np.argmin
    if t.ndim == 0:
        indices = Tensor._node(np.zeros((), dtype=np.int64))
        values = t[()]
    else:
        # the indices as an op (the classic `_, predicted = torch.max(outputs, 1)` in a
        # compiled function); the values index t with their array
        indices = _indices_of(t, arg, ax, keepdim)
        idx = indices._data
        out_shape = idx.shape
        index = []
        for i, n in enumerate(d.shape):
            if i == ax:
                index.append(idx)
                continue
            where = i if keepdim else (i if i < ax else i - 1)
            shape = [1] * len(out_shape)
            shape[where] = n
            index.append(np.arange(n).reshape(shape))
        values = t[tuple(index)]
    values = _named(values, "MaxBackward0" if name == "max" else "MinBackward0", t)
    return _return_types.make(name, values, indices)


def _with_operand(a, fn, operand):
    """fn(a, operand): a binary numpy function with its second operand (a Python number,
    kept weakly typed as numpy keeps it) as a keyword of the numpy row."""
    return fn(a, operand)


def _clamp_by_tensors(x, lo, hi):
    """min(max(x, lo), hi) with tensor bounds (torch's clamp.Tensor), as selects that give
    the gradient where torch's clamp_backward does: to x where lo <= x <= hi, to lo where
    x < lo < hi, to hi where x > hi or hi < lo; where none holds (a nan, lo == hi below x)
    the value is the max and min themselves (nan propagated), without a gradient. The
    masks are ops, so a compiled function reads each call's bounds."""
    lo = lo if lo is None or isinstance(lo, Node) else x._lift(lo, "clamp")
    hi = hi if hi is None or isinstance(hi, Node) else x._lift(hi, "clamp")
    value = x.detach()
    if lo is not None:
        value = value.maximum(lo.detach())
    if hi is not None:
        value = value.minimum(hi.detach())
    if lo is None:
        return where(x <= hi, x, where(x > hi, hi, value))
    if hi is None:
        return where(x >= lo, x, where(x < lo, lo, value))
    return where((x >= lo) & (x <= hi), x,
                 where((x < lo) & (lo < hi), lo, where((x > hi) | (hi < lo), hi, value)))


def _as_dtype(a, dtype):
    """a's entries as `dtype` (an integer or bool cast: a constant of the numpy row)."""
    return a.astype(dtype)


def _indices_of(t, fn, dim, keepdim):
    """fn(t, axis=dim, keepdims=keepdim) (np.argmax, np.argmin) as int64 indices, an op of
    the numpy row (no gradient): a compiled function computes them at each call (an accuracy
    in a training step) rather than keeping the trace's."""
    out = Tensor._apply(_NUMPY, (fn, {"axis": dim, "keepdims": keepdim}), t)
    return out if out._data.dtype == np.int64 else out.astype(np.int64)    # an op too


def _arg_extreme(t, fn, dim, keepdim):
    if t._data.dtype.kind != "f":
        _dt.reduction_dtype(fn.__name__, t.dtype)       # torch's error for bool
    return _indices_of(t, fn, dim, keepdim)


def _requires_grad_error():
    return RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def _to_array(data, dtype):
    if isinstance(data, Node):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    arr = np.array(data)
    if arr.dtype.kind in "iufb" or arr.dtype == object and arr.size == 0:
        arr = arr.astype(_default_np())
    return arr


_MATMUL = OPS["matmul"]


class Tensor(TensorAPI, Node):
    """An n-dimensional array node: `.data` is a numpy array, `.grad` an array or None.

    Ops are numpy ops with broadcasting; each records itself so that `backward()` can run the
    chain rule. As in PyTorch, only leaves (tensors you create with requires_grad=True) keep
    `.grad`; call `retain_grad()` on an intermediate to keep its gradient too. Python numbers and
    lists become float32 unless `dtype` is given (`set_default_dtype(np.float64)` switches);
    numpy arrays keep their dtype.
    """
    # _fn: set only on the result of a composite (see _named): what grad_fn shows for it
    __slots__ = ("_fn",)
    _empty_grad = None
    _forward_name = "array"
    _reference_backend = ARRAY
    _array_valued = True
    _fast_backpropagate = staticmethod(backpropagate_arrays)

    def __init__(self, data, requires_grad=False, dtype=None, label=""):
        arr = _to_array(data, dtype)
        if arr.dtype == object:
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} "
                            f"(numpy gives it dtype object)")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a tensor of dtype {arr.dtype} (numbers only: "
                            f"bool, int, uint or float)")
        if arr.dtype not in _BY_NUMPY:
            _dt._numpy_dtype_of(arr.dtype)      # uint16, uint32, uint64: torch's TypeError
        if requires_grad and arr.dtype.kind != "f":
            raise _requires_grad_error()
        self._data = arr
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._index = _next_index()
        self._version = None
        self._retains_grad = False
        self._hooks = None
        self.label = label

    # ------------------------------------------------------------------ .data and .grad
    @property
    def data(self):
        """The same array as a tensor that autograd does not see: changes made through it
        (`p.data -= lr * p.grad`) change this tensor and are not recorded, nor checked at
        backward, as in PyTorch (prefer `with no_grad(): p -= ...`, which is checked).
        Assigning a tensor replaces this one's data, shape and dtype included."""
        return Tensor._node(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        InPlace.changing(self)
        self._data = value._data

    @property
    def grad(self):
        """d(root)/d(self) accumulated by backward passes: a Tensor, or None before any (and
        for an intermediate result unless retain_grad() was called)."""
        if STATE.trace is not None:
            STATE.trace.refuse("a read of .grad")
        return self._grad

    @grad.setter
    def grad(self, value):
        if STATE.trace is not None:
            STATE.trace.refuse("an assignment to .grad")
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the "
                    f"gradient and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype._cpp_name}' to a "
                    f"tensor with grad_dtype '{self.dtype._scalar_name}'. The gradient must "
                    f"match the tensor's grad_dtype (defaults to the tensor's dtype).")
        self._grad = value

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
                f"graph node and cannot mix with Tensor. Use Tensor(value._data) (a constant) "
                f"or build both sides as Tensors.")
        own = self._data.dtype if self._data.dtype.kind == "f" else _default_np()
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
        """The shape as torch.Size (a tuple of ints)."""
        return Size(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        """torch's dtype object (autograd.float32, ...); it equals the numpy dtype of the data,
        so `x.dtype == np.float32` holds too."""
        return _BY_NUMPY[self._data.dtype]

    def size(self, dim=None):
        """The shape as torch.Size, or the length of dimension `dim` (torch; numpy's `.size`,
        the number of elements, is numel())."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_one_axis(dim, self._data.ndim, "size")] if self._data.ndim \
            else _zero_dim_size(dim)

    def numel(self):
        """The number of elements."""
        return self._data.size

    nelement = numel

    def dim(self):
        """The number of dimensions (ndim)."""
        return self._data.ndim

    ndimension = dim

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def item(self):
        """The one value as a Python number (torch's error for another count of elements)."""
        return self._number("item()")

    def _number(self, what):
        if STATE.trace is not None:         # inside autograd.compile's trace: see Trace.number
            STATE.trace.number(self, what)
        if self._data.size != 1:
            raise _ShapeError(f"a Tensor with {self._data.size} elements cannot be converted "
                              f"to Scalar")
        return self._data.item()

    def __float__(self):
        return float(self._number("float()"))

    def __int__(self):
        return int(self._number("int()"))

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.item())

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """True where every entry (along dim) is nonzero; a bool tensor. (axis, keepdims: numpy's
        names, so that np.all(t, axis=0) works.)"""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "all")
        return Tensor._apply(_NUMPY, (np.all, {"axis": dim, "keepdims": keepdim}), self)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """True where some entry (along dim) is nonzero; a bool tensor."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "any")
        return Tensor._apply(_NUMPY, (np.any, {"axis": dim, "keepdims": keepdim}), self)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """The index of the first maximum (of the flattened tensor when dim is None), int64."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "argmax")
        return _arg_extreme(self, np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """The index of the first minimum (of the flattened tensor when dim is None), int64."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "argmin")
        return _arg_extreme(self, np.argmin, dim, keepdim)

    def tolist(self):
        """The values as (nested) Python lists of numbers; a 0-d tensor gives a number."""
        if STATE.trace is not None:
            STATE.trace.number(self, "tolist()")
        return self._data.tolist()

    def clone(self):
        """A copy with its own (row-major) memory; differentiable (the gradient passes
        through)."""
        if not self.requires_grad:
            # an op of the numpy row: a compiled function copies each call's values
            return Tensor._apply(_NUMPY, (_copy, {}), self)
        out = self * 1
        if not out._data.flags.c_contiguous:
            out._data = np.ascontiguousarray(out._data)     # a fresh node: nothing saw it yet
        return _named(out, "CloneBackward0", self)

    def numpy(self, *, force=False):
        """The numpy array itself (shared memory: a change to either is a change to both). As
        in PyTorch, a tensor that requires grad must be detached first (or force=True)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        """numpy's view of a tensor (np.asarray(t) shares memory; np.array(t) copies, as numpy
        2 asks its protocol to)."""
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy on tensors: `array (op) tensor` is the Tensor op, recorded like `tensor (op)
        array`; other ufuncs (np.exp(t), np.abs(t)) run on the arrays of tensors that do not
        require grad and give a Tensor, as in PyTorch."""
        op = _UFUNC_OPERATORS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            # arrays become constant Tensors and numpy scalars Python numbers (torch's wrapped
            # numbers), so that the Tensor operator, not numpy again, takes them
            a, b = (x.item() if isinstance(x, np.generic) else
                    x if isinstance(x, (Tensor, numbers.Number)) else
                    _as_operand(x, ufunc.__name__) for x in inputs)
            if a is None or b is None:
                return NotImplemented
            return op(a, b)
        arrays = [x.numpy() if isinstance(x, Tensor) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.numpy() if isinstance(x, Tensor) else x
                                  for x in kwargs["out"])
        result = getattr(ufunc, method)(*arrays, **kwargs)
        if isinstance(result, tuple):
            return tuple(Tensor._node(np.asarray(r)) for r in result)
        return Tensor._node(np.asarray(result)) if result is not None else None

    def detach(self):
        """The same array as a constant: gradients stop here. A change in place through either
        is a change of both (and backward checks it), as in PyTorch."""
        t = Tensor._node(self._data)
        t._version = InPlace.of(self)
        return t

    def retain_grad(self):
        """Keep `.grad` on this intermediate tensor after backward."""
        self._retains_grad = True
        return self

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on a leaf, in place; returns self. Only float tensors can require
        gradients; a recorded result keeps requiring them (torch's errors)."""
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if self._op is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        self.requires_grad = bool(requires_grad)
        return self

    def _seed(self, grad):
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs\n(this output has "
                    f"shape {self._data.shape}); pass backward(gradient=...) of the same shape, "
                    f"or reduce it first, e.g. out.sum().backward()")
            seed = np.empty(self._data.shape, self._data.dtype)
            seed.fill(1)                # np.ones, without its Python wrapper (0.7 us)
            return seed
        g = grad._data if isinstance(grad, Node) else np.asarray(grad, dtype=self._data.dtype)
        if g.shape != self._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                               f"{Size(g.shape)} and output[0] has a shape of "
                               f"{Size(self._data.shape)}.\nbackward: grad has shape {g.shape} "
                               f"but the output has shape {self._data.shape}")
        return g

    def _const_like(self, x):
        return x if isinstance(x, Tensor) else Tensor._node(np.asarray(x, dtype=self._data.dtype))

    def _sum_all(self):
        return self.sum()

    @staticmethod
    def _keep_grad(node, g):
        """backward()'s `take`: leaves, and tensors after retain_grad(), add g to .grad."""
        if node._op is not None and not node._retains_grad:
            return
        if isinstance(g, Node):
            g = g._data
        if node._grad is None:
            # .grad must be this tensor's own array: the pass may have handed the same array
            # to another node (add's VJP gives g to both inputs), so it keeps a copy
            node._grad = Tensor._node(adopt(g) if STATE.fast else np.array(g, order="K"))
        else:
            node._grad._data += g           # in place, as PyTorch accumulates
        if node._hooks is not None:
            run_post_hooks(node, False)     # register_post_accumulate_grad_hook's

    # ------------------------------------------------------------------ in place
    def _in_place(self, opname, compute, *operands, cast_check=True):
        """This tensor's data becomes compute(self, *operands) (an out-of-place Tensor
        expression), written into its own array, as PyTorch's x.op_() does:

        - with grad enabled, on a leaf that requires grad: PyTorch's error (its gradient would
          lose track of the value it belongs to);
        - when something involved requires grad (grad enabled): recorded. The old value moves
          to a new node, and this tensor becomes the result of the op applied to it, so that
          backward runs through the op. Ops recorded earlier that used this tensor see it
          changed, and backward refuses them (PyTorch's version counter);
        - otherwise (no_grad, or plain data): the array is overwritten, and backward refuses
          the ops recorded earlier that used the old values.
        The result keeps this tensor's shape and dtype: a float result cannot go into an
        integer tensor, nor a broadcast one into a smaller shape (PyTorch's errors)."""
        # numbers stay numbers: `int_tensor += 1` computes in int64 (torch's promotion), not in
        # a float a lifted 1 would bring
        operands = [_as_operand(o, opname) if not isinstance(o, Tensor) else o
                    for o in operands]
        if any(o is None for o in operands):
            raise TypeError(f"{opname}: cannot combine a Tensor with "
                            f"{', '.join(type(o).__name__ for o in operands)}")
        InPlace.changing(self)
        tracked = STATE.grad_enabled and (
            self.requires_grad or any(getattr(o, "requires_grad", False) for o in operands))
        trace = STATE.trace
        if not tracked and trace is not None and any(
                isinstance(o, Node) and trace.computed(o) for o in [self, *operands]):
            # autograd.compile is tracing, and a value of the program takes part (a count
            # kept by index_add_ into zeros made inside fn, a mask set in place): recorded,
            # so that the program repeats the change (an overwrite would be a constant)
            tracked = True
        if not tracked:
            if self._update(compute, operands):
                return self
            self._overwrite(compute(self, *operands)._data, opname, cast_check)
            return self
        if self._op is None and self.requires_grad:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation "
                f"({opname}); update parameters inside `with no_grad():`")
        old = self._old_value(self._data.copy())
        self._stamp_change(old)
        result = compute(old, *[old if o is self else o for o in operands])
        if result._data.dtype != old._data.dtype:
            if cast_check:
                self._overwrite(result._data, opname, cast_check, stamp=False)   # its check
            result = result.astype(old._data.dtype)  # the node is of this tensor's dtype
        self._overwrite(result._data, opname, cast_check, stamp=False)
        self._op, self._parents, self._ctx = result._op, result._parents, result._ctx
        self._index, self.requires_grad = result._index, result.requires_grad
        _copy_name(result, self)
        self._grad = None
        return self

    def _old_value(self, data):
        """The node that stands for this tensor's value before an in-place op, on `data` (a
        copy, or the array itself when nothing reads the old values): this tensor's op, inputs,
        recording index, label, module, hooks and grad_fn name go to it."""
        old = Tensor._node(data, self._op, self._parents, self._ctx)
        old._index, old._retains_grad, old.label = self._index, self._retains_grad, self.label
        old._module = getattr(self, "_module", None)
        old.requires_grad = self.requires_grad
        _move_hooks(self, old)
        _copy_name(self, old)
        return old

    def _stamp_change(self, old):
        """The change recorded (before the op's new node, whose index is later): an op whose
        VJPs read the old value is refused by backward, as torch's version counter does."""
        record = InPlace.of(self)
        record.stamp(self, old)
        old._version = InPlace()
        old._version.changed_at = record.changed_at

    def _in_place_row(self, opname, op, compute):
        """self = compute(self) in place, compute(a) being `op`'s row applied to a (no ctx),
        a row whose fast_array takes out= (relu's): what _in_place(opname, compute) gives,
        errors and refusals included. When the change is recorded and the row's VJP reads its
        output only (relu's: out != 0), the row writes into this tensor's array, and the node
        that stands for the old value shares it instead of keeping a copy: nothing reads its
        old values (the row's VJP does not, and an earlier op whose VJP would is refused by
        the version check). So relu_ after a linear layer costs what relu does, as torch's
        relu_, which saves its result, costs what torch's relu does (small MLP step with
        nn.ReLU(inplace=True): 202 us through _in_place, 180 here, 178 with nn.ReLU()).
        Anything else (a leaf,
        no_grad, the reference path, autograd.compile's trace, anomaly mode or an open Tape,
        whose bookkeeping _in_place does) takes _in_place."""
        own = self._data
        if not (STATE.grad_enabled and self.requires_grad and self._op is not None) or \
                not STATE.fast or STATE.trace is not None or STATE.hooks or \
                own.dtype.kind != "f" or not own.flags.writeable or op.reads(0, (0,)):
            return self._in_place(opname, compute)
        fresh = _next_index()               # the result's index, unless stamped below
        old = self._old_value(own)
        if getattr(self, "_fn", None) is not None:
            del self._fn                    # grad_fn's name went with the old value's node
        # Nothing made since self (relu_ right after the linear layer that made it, the common
        # case) means no recorded op, view or detached alias has read self yet; if self's
        # array is its own (no view, no shared record) and self's op does not read its output
        # either, there is nothing for the version check to refuse: the change is left
        # unstamped, and backward takes no in-place checks. (Every input's VJP is asked, not
        # only those backward will run: fewer Python steps, and at worst a stamp too many.)
        if fresh != self._index + 1 or self._version is not None or own.base is not None or \
                old._op.reads("out", range(len(old._parents)), old._ctx):
            self._stamp_change(old)
            fresh = _next_index()
        op.fast_array(None, own, out=own)
        self._op, self._parents, self._ctx = op, (old,), None
        self._index, self._module, self._grad = fresh, STATE.module, None
        return self

    def _update(self, compute, operands):
        """The fast path above; False when it does not apply (the general path then gives
        PyTorch's result, or its error)."""
        ufunc = _UPDATE_UFUNCS.get(compute)
        own = self._data
        if ufunc is None or len(operands) != 1 or own.dtype.kind != "f" or \
                not own.flags.writeable:
            return False
        other = operands[0]
        if not isinstance(other, Tensor):
            if type(other) not in (float, int):
                return False
            ufunc(own, other, out=own)
            InPlace.of(self).stamp()
            return True
        other = other._data
        if other.dtype.kind not in "fiub" or (
                other.shape != own.shape and other.ndim and
                np.broadcast_shapes(own.shape, other.shape) != own.shape):
            return False
        # a 0-d tensor counts as a number in torch's promotion: float32 stays float32
        ufunc(own, other.item() if other.ndim == 0 else other, out=own, casting="unsafe")
        InPlace.of(self).stamp()
        return True

    def _overwrite(self, values, opname, cast_check=True, stamp=True):
        """Copy `values` into this tensor's array (its views see the change), checking what
        PyTorch checks, and note the change for backward's check."""
        own = self._data
        if np.shape(values) != own.shape:
            try:
                np.broadcast_to(values, own.shape)
            except ValueError:
                raise RuntimeError(f"{opname}: output with shape {list(own.shape)} doesn't "
                                   f"match the broadcast shape {list(np.shape(values))}") from None
        vdt = np.asarray(values).dtype
        if cast_check and vdt != own.dtype:
            src, dst = _dt.as_dtype(vdt), _BY_NUMPY[own.dtype]
            if not _dt.can_cast(src, dst):
                raise _dt.cast_error(src, dst)      # int64 tensor += 1.5, as in torch
        if not own.flags.writeable:
            raise RuntimeError(f"{opname}: this tensor's data cannot be written in place (it "
                               f"is a broadcast view or read-only); clone() it first")
        np.copyto(own, values, casting="unsafe")
        if stamp:
            InPlace.of(self).stamp()

    def __iadd__(self, other):
        return self._in_place("add_", _add, other)

    def __isub__(self, other):
        return self._in_place("sub_", _sub, other)

    def __imul__(self, other):
        return self._in_place("mul_", _mul, other)

    def __itruediv__(self, other):
        return self._in_place("div_", _div, other)

    def __ipow__(self, other):
        return self._in_place("pow_", _pow, other)

    def add_(self, other, *, alpha=1):
        """self += alpha * other, in place."""
        return self._in_place("add_", _add if alpha == 1 else lambda a, b: a + b * alpha, other)

    def sub_(self, other, *, alpha=1):
        """self -= alpha * other, in place."""
        return self._in_place("sub_", _sub if alpha == 1 else lambda a, b: a - b * alpha, other)

    def mul_(self, other):
        return self._in_place("mul_", _mul, other)

    def div_(self, other):
        return self._in_place("div_", _div, other)

    def pow_(self, exponent):
        return self._in_place("pow_", _pow, exponent)

    def neg_(self):
        return self._in_place("neg_", lambda a: -a)

    def zero_(self):
        """Every entry 0, in place; recorded, the gradient to the old value is 0."""
        return self.fill_(0)

    def fill_(self, value):
        """Every entry `value`, in place; recorded, the gradient to the old value is 0."""
        full = np.ones(self.shape, dtype=bool)
        return self._in_place("fill_", lambda a: where(full, value, a))

    def copy_(self, src):
        """The values of src (broadcast to this shape, cast to this dtype), in place."""
        full = np.ones(self.shape, dtype=bool)
        return self._in_place("copy_", lambda a, b: where(full, b, a), src, cast_check=False)

    def masked_fill_(self, mask, value):
        """value where mask (a bool tensor or array broadcastable to this shape), in place."""
        mask = np.broadcast_to(np.asarray(mask._data if isinstance(mask, Node) else mask,
                                          dtype=bool), self.shape)
        return self._in_place("masked_fill_", lambda a: where(mask, value, a))

    def clamp_(self, min=None, max=None):
        return self._in_place("clamp_", lambda a: a.clamp(min, max))

    clip_ = clamp_

    def __setitem__(self, index, value):
        """self[index] = value: in place (see _in_place), as PyTorch; recorded as the op
        `setitem` when value or this tensor requires grad."""
        index = _raw_index(index)
        InPlace.changing(self)
        value = value if isinstance(value, Tensor) else self._lift(value, "setitem")
        if value is None:
            raise TypeError(f"setitem: cannot assign a {type(value).__name__} to a Tensor")
        if STATE.grad_enabled and (self.requires_grad or value.requires_grad):
            self._in_place("setitem", lambda a, v: Tensor._apply(OPS["setitem"], index, a, v),
                           value)
            return
        # plain data: written straight into the array, as numpy does
        vdt = value._data.dtype
        own = self._data.dtype
        if own.kind in "iu" and vdt.kind == "f" or own.kind == "b" and vdt.kind != "b":
            value = value._data.astype(own)     # torch casts an assigned value to the dtype
        try:
            self._data[index] = value._data if isinstance(value, Tensor) else value
        except IndexError as e:
            raise IndexError(f"index into a tensor of shape {self._data.shape}: {e}") from None
        InPlace.of(self).stamp()

    @staticmethod
    def _select(cond, a, b):
        """where(cond, a, b): the GRAPH backend's select."""
        if STATE.trace is not None and isinstance(cond, np.ndarray):
            # a create_graph VJP inside autograd.compile's trace selects by the values (relu's
            # mask): see Trace.selects_by_data
            STATE.trace.selects_by_data()
        return where(cond, a, b)

    @staticmethod
    def _concatenate(tensors, axis):
        return Tensor._apply(OPS["concatenate"], axis, *tensors)

    def __repr__(self):
        """torch's text, character for character (autograd/tensor_str.py): values, then
        dtype= unless implied, grad_fn=<...> or requires_grad=True."""
        return _tensor_str.format_tensor(
            self._data, dtype_name=_BY_NUMPY[self._data.dtype]._name,
            default_dtype_name=_dt._DEFAULT[0]._name, requires_grad=self.requires_grad,
            grad_fn=_grad_fn.grad_fn_name(self), dtype_prefix=_dt._REPR_PREFIX[0] + ".")

    def __format__(self, spec):
        """A 0-d tensor formats as its number (f"{loss:.4f}"); others as object does."""
        if self._data.ndim == 0:
            return _tensor_str.format_scalar(self._data, spec)
        return object.__format__(self, spec)

    @property
    def grad_fn(self):
        """torch's view of the node that made this tensor (name(), next_functions), or None
        for a leaf or a constant (autograd/grad_fn.py)."""
        return _grad_fn.grad_fn(self)

    # ------------------------------------------------------------------ elementwise
    __add__, __radd__ = _binary("add", commutative=True)
    __mul__, __rmul__ = _binary("mul", commutative=True)
    __pow__, __rpow__ = _binary("pow")

    def __matmul__(self, other):
        """a @ b (the matmul row); torch promotes nothing here: both dtypes must be equal."""
        if isinstance(other, Tensor):
            d = self._data.dtype
            if other._data.dtype is d and d.kind == "f" and self._data.ndim and \
                    other._data.ndim:
                try:
                    return Tensor._apply(_MATMUL, None, self, other)
                except ValueError as e:
                    raise _pair_error("matmul", self, other, e) from None
        other = _as_operand(other, "matmul")
        if other is None:
            return NotImplemented
        _dt.matmul_dtype(self, other)           # torch's errors: 0-d, mixed dtypes, bool
        other = _cast(other, self._data.dtype)
        try:
            return Tensor._apply(_MATMUL, None, self, other)
        except ValueError as e:
            raise _pair_error("matmul", self, other, e) from None

    def __rmatmul__(self, other):
        other = _as_operand(other, "matmul")
        if other is None:
            return NotImplemented
        other = _cast(other, self._data.dtype) if not isinstance(other, Tensor) else other
        return other @ self

    def __neg__(self):
        """-a = a * -1; an integer tensor is negated as data (it cannot require grad), a bool
        one refused as in torch."""
        if self._data.dtype.kind != "f":
            _dt.unary_dtype("neg", self.dtype)
            return Tensor._apply(_NUMPY, (np.negative, {}), self)
        return _named(self * -1.0, "NegBackward0", self)

    def __sub__(self, other):
        """a - b = a + (-b)"""
        d = self._data.dtype
        if d.kind == "f":
            if type(other) is float or type(other) is int:
                return _named(self + (-other), "SubBackward0", self, None)
            if isinstance(other, Tensor) and other._data.dtype is d:
                return _named(_composite("sub", self, other, _add_negated), "SubBackward0",
                              self, other)
        pair = _promoted("sub", self, other)
        if pair is None:
            return NotImplemented
        out = _composite("sub", *pair, _add_negated)
        return _named(out, "SubBackward0", self, _tensor_or_none(other))

    def __rsub__(self, other):
        pair = _promoted("sub", other, self)
        if pair is None:
            return NotImplemented
        out = _composite("sub", *pair, _add_negated)
        if isinstance(other, Tensor):
            return _named(out, "SubBackward0", other, self)
        return _named(out, "RsubBackward1", self)

    def __truediv__(self, other):
        """a / b = a * b ** -1 (a constant b is inverted once, unrecorded). True division:
        integer tensors give the default float dtype, as in torch."""
        if self._data.dtype.kind == "f" and (type(other) is float or type(other) is int):
            with np.errstate(divide="ignore"):
                inverse = np.reciprocal(np.asarray(other, dtype=self._data.dtype))
            return _named(self * Tensor._node(inverse), "DivBackward0", self, None)
        pair = _promoted("div", self, other)
        if pair is None:
            return NotImplemented
        return _named(_divide(*pair), "DivBackward0", self, _tensor_or_none(other))

    def __rtruediv__(self, other):
        pair = _promoted("div", other, self)
        if pair is None:
            return NotImplemented
        a, b = pair
        if isinstance(other, Tensor):
            return _named(_divide(a, b), "DivBackward0", other, self)
        # a number over a tensor: torch's graph is reciprocal, then mul by the number
        inverse = _named(b ** -1.0, "ReciprocalBackward0", self)
        return _composite("div", a, b, lambda _, __: inverse * a)

    def matmul(self, other):
        """a @ b (torch.matmul)."""
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
        if isinstance(negative_slope, Node) and np.ndim(negative_slope._data) == 0:
            negative_slope = float(negative_slope)      # a 0-d tensor is read as a number
        elif not isinstance(negative_slope, numbers.Number):
            raise TypeError(f"leaky_relu(): argument 'negative_slope' (position 2) must be "
                            f"Number, not {type(negative_slope).__name__}")
        return Tensor._apply(OPS["leaky_relu"], negative_slope, self)

    def clip(self, min=None, max=None):
        """min(max(a, min), max), either bound None; gradient 1 inside [min, max] inclusive,
        0 outside (torch.clamp)."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        if isinstance(min, Node) or isinstance(max, Node):
            return _named(_clamp_by_tensors(self, min, max), "ClampBackward0", self)
        return Tensor._apply(OPS["clip"], (min, max), self)

    clamp = clip

    def maximum(self, other):
        """max(a, b) elementwise with broadcasting and torch's promotion; a tie gives each side
        half the gradient."""
        return Tensor._apply(OPS["maximum"], None, *_promoted_pair("maximum", self, other))

    def minimum(self, other):
        """min(a, b) elementwise with broadcasting; a tie gives each side half the gradient."""
        return Tensor._apply(OPS["minimum"], None, *_promoted_pair("minimum", self, other))

    # ------------------------------------------------------------------ dtype
    def astype(self, dtype):
        """The data as `dtype`. To a float dtype it is differentiable (the gradient comes back
        in this tensor's dtype); to an integer or bool dtype the result is a constant."""
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            # an op of the numpy row (no gradient): a compiled function casts at each call
            # (y.long() of a batch's targets) rather than keeping the trace's values
            return Tensor._apply(_NUMPY, (_as_dtype, {"dtype": dtype}), self)
        return Tensor._apply(OPS["astype"], dtype, self)

    # comparisons: constant boolean tensors, not differentiable
    def _compare(self, other, fn):
        if not isinstance(other, (Node, numbers.Number, np.ndarray, np.generic, list, tuple)):
            return NotImplemented       # e.g. pytest.approx, which compares itself
        if isinstance(other, (numbers.Number, np.generic)) and not isinstance(other, Node):
            # a number is torch's wrapped number: compared in the promoted dtype (a float32
            # tensor with 0.7 in float32, where 0.7 as float64 is larger than float32(0.7))
            other = _cast(other, _dt.result_type(self, other)._np)
        other = other if isinstance(other, Tensor) else Tensor._node(np.asarray(
            other._data if isinstance(other, Node) else other))
        return Tensor._apply(_NUMPY, (fn, {}), self, other)

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

    # logical and bitwise operators of bool and integer tensors: constants, as in torch
    def _bitwise(self, other, fn, opname):
        if self._data.dtype.kind not in "biu" or (
                isinstance(other, Tensor) and other._data.dtype.kind not in "biu"):
            raise TypeError(f"{opname}: only integer and bool tensors support bitwise "
                            f"operators, got {self.dtype}")
        # an op of the numpy row: a compiled function computes it at each call
        if isinstance(other, Tensor):
            return Tensor._apply(_NUMPY, (fn, {}), self, other)
        if isinstance(other, Node):
            other = other._data
        return Tensor._apply(_NUMPY, (_with_operand, {"fn": fn, "operand": other}), self)

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "bitwise_and")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "bitwise_or")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"bitwise_not: only integer and bool tensors, got {self.dtype}")
        return Tensor._apply(_NUMPY, (np.invert, {}), self)
    __hash__ = Node.__hash__

    def __bool__(self):
        if STATE.trace is not None:         # a branch on the data: see Trace.number
            STATE.trace.number(self, "bool()")
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {self._data.shape}); use .any(), .all() or .item()")
        return bool(self._data.item())

    # ------------------------------------------------------------------ reductions
    # torch's keywords dim / keepdim; numpy's axis / keepdims are aliases (numpy's functions
    # call them so, and torch accepts them too)
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None, out=None):
        """sum over dim (an int, a tuple, or None for every axis). An integer or bool tensor
        sums to int64, as in torch; `dtype=` casts first."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "sum")
        x = _reduction_input(self, "sum", dtype)
        return Tensor._apply(OPS["sum"], (_norm_axis(dim, x.ndim, "sum"), keepdim), x)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None,
             out=None):
        """sum / count over dim; float tensors only (or `dtype=` a float dtype), as in torch.
        Over no elements: nan."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "mean")
        x = _reduction_input(self, "mean", dtype)
        axes = _norm_axis(dim, x.ndim, "mean")
        n = _count(x, axes)
        out = x.sum(axes, keepdim) * (1.0 / n if n else np.nan)      # empty: nan, as torch
        return _named(out, "MeanBackward0" if axes is None else "MeanBackward1", x)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """torch's three forms:
        - max(): the largest value, 0-d; tied maxima share the gradient evenly;
        - max(dim, keepdim=False): the named tuple (values, indices) along dim; the gradient
          goes to the returned index (the first maximum), as in torch;
        - max(other): the elementwise maximum (torch.maximum)."""
        if isinstance(dim, (Tensor, np.ndarray)):
            return self.maximum(dim)
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "max")
        if dim is None:
            return _named(Tensor._apply(OPS["amax"], (None, False), self), "MaxBackward1", self)
        return _extreme_along(self, dim, keepdim, "max")

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """min(), min(dim, keepdim=False) -> (values, indices), min(other): as max."""
        if isinstance(dim, (Tensor, np.ndarray)):
            return self.minimum(dim)
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "min")
        if dim is None:
            return _named(Tensor._apply(OPS["amin"], (None, False), self), "MinBackward1", self)
        return _extreme_along(self, dim, keepdim, "min")

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """max over dim (an int or a tuple; () or None: every axis); tied maxima share the
        gradient evenly (torch.amax)."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "amax")
        axes = None if dim is None or dim == () else _norm_axis(dim, self.ndim, "amax")
        return Tensor._apply(OPS["amax"], (axes, keepdim), self)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """min over dim; tied minima share the gradient evenly (torch.amin)."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "amin")
        axes = None if dim is None or dim == () else _norm_axis(dim, self.ndim, "amin")
        return Tensor._apply(OPS["amin"], (axes, keepdim), self)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None, ddof=None, out=None):
        """sum (a - mean a)^2 / (n - correction) over dim. correction defaults to 1, torch's
        unbiased estimate (numpy's default is ddof=0); unbiased=False means correction 0 and
        `ddof` is numpy's name for correction. var(False) is var(unbiased=False), as in torch.
        n - correction <= 0 gives inf or nan, as in torch."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "var")
        correction = _correction(unbiased, correction, ddof, "var")
        _dt.reduction_dtype("var", self.dtype)
        axes = _norm_axis(dim, self.ndim, "var")
        n = _count(self, axes)
        d = self - self.mean(axes, keepdim=True)
        scale = 1.0 / (n - correction) if n > correction else np.inf
        return _named((d * d).sum(axes, keepdim) * scale, "VarBackward0", self)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None, ddof=None, out=None):
        """sqrt(var), with var's arguments and the same default correction (1) as torch."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "std")
        correction = _correction(unbiased, correction, ddof, "std")
        out = self.var(dim, keepdim=keepdim, correction=correction).sqrt()
        return _named(out, "StdBackward0", self)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """log sum exp over dim, stable: m + log sum e^(a - m) with m = max a; its gradient
        is softmax(a). (torch requires dim; here None means every axis.)"""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "logsumexp")
        x = self if self._data.dtype.kind == "f" else _unary_input("exp", self)
        return Tensor._apply(OPS["logsumexp"], (_norm_axis(dim, x.ndim, "logsumexp"), keepdim),
                             x)

    def log_softmax(self, dim=-1, dtype=None, *, axis=None):
        """a - logsumexp(a, dim, keepdim=True), one stable primitive."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            x = _unary_input("exp", x)
        dim = dim if axis is None else axis
        return Tensor._apply(OPS["log_softmax"], _one_axis(dim, x.ndim, "log_softmax"), x)

    def softmax(self, dim=-1, dtype=None, *, axis=None):
        """e^a / sum e^a along dim, as exp(log_softmax(a)): stable for any logits."""
        dim = dim if axis is None else axis
        out = self.log_softmax(_one_axis(dim, self.ndim, "softmax"), dtype).exp()
        return _named(out, "SoftmaxBackward0", self)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        """The same values in another shape (ints or one tuple; one -1 is inferred); a view of
        the data where numpy can make one."""
        return Tensor._apply(OPS["reshape"], _shape_arg(shape, self, "reshape"), self)

    def view(self, *shape):
        """reshape, refused as torch refuses it where the data's layout cannot give the new
        shape without a copy (a transpose viewed flat): use reshape() or contiguous() then."""
        shape = _shape_arg(shape, self, "view")
        if not _viewable(self._data, shape):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return Tensor._apply(OPS["reshape"], shape, self)

    def ravel(self):
        """The entries as one dimension (a view where the layout allows)."""
        return self.reshape(-1)

    def flatten(self, start_dim=0, end_dim=-1):
        """Dimensions start_dim..end_dim merged into one."""
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        s, e = _one_axis(start_dim, len(shape), "flatten"), _one_axis(end_dim, len(shape),
                                                                        "flatten")
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(shape[:s] + (-1,) + shape[e + 1:])

    def permute(self, *dims):
        """The axes in the order dims (ints or one tuple)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        nd = self.ndim
        if len(dims) != nd:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of "
                               f"dimensions i.e. input.dim() = {nd} is not equal to "
                               f"len(dims) = {len(dims)}")
        axes = tuple(_one_axis(a, nd, "permute") for a in dims)
        if len(set(axes)) != nd:
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return Tensor._apply(OPS["transpose"], axes, self)

    def transpose(self, dim0=None, dim1=None):
        """transpose(d0, d1) swaps two axes (torch); transpose() reverses all (numpy)."""
        nd = self.ndim
        if dim0 is None:
            return self.permute(tuple(range(nd))[::-1])
        axes = list(range(nd))
        a, b = _one_axis(dim0, nd, "transpose"), _one_axis(dim1, nd, "transpose")
        if not nd:
            return self
        axes[a], axes[b] = axes[b], axes[a]
        return _named(self.permute(axes), "TransposeBackward0", self)

    swapaxes = swapdims = transpose

    @property
    def T(self):
        """All axes reversed."""
        return self.permute(tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        """The last two axes swapped (a batch of matrices transposed)."""
        return self.transpose(-2, -1)

    def expand(self, *sizes):
        """A view repeating size-1 axes (and new leading ones) to `sizes`; -1 keeps a size."""
        shape = _shape_arg(sizes, None, "expand")
        own = self._data.shape
        lead = len(shape) - len(own)
        if lead < 0:
            raise RuntimeError(f"expand({self.dtype}{{{list(own)}}}, size={list(shape)}): the "
                               f"number of sizes provided ({len(shape)}) must be greater or "
                               f"equal to the number of dimensions in the tensor ({len(own)})")
        shape = tuple(own[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        for i, n in enumerate(own):
            if n != 1 and n != shape[i + lead]:
                raise _ShapeError(
                    f"The expanded size of the tensor ({shape[i + lead]}) must match the "
                    f"existing size ({n}) at non-singleton dimension {i + lead}.  Target sizes: "
                    f"{list(shape)}.  Tensor sizes: {list(own)}")
        return Tensor._apply(OPS["broadcast_to"], shape, self)

    broadcast_to = expand

    def unsqueeze(self, dim):
        """A new axis of size 1 at dim (dim in [-ndim - 1, ndim])."""
        shape = self._data.shape
        d = _one_axis(dim, len(shape) + 1, "unsqueeze")
        return _named(self.reshape(shape[:d] + (1,) + shape[d:]), "UnsqueezeBackward0", self)

    def squeeze(self, dim=None):
        """Size-1 axes removed: all of them, or those among dim (an int or a tuple)."""
        shape = self._data.shape
        if dim is None:
            out = self.reshape(tuple(n for n in shape if n != 1))
            return _named(out, "SqueezeBackward0", self)
        axes = _norm_axis(dim, self.ndim, "squeeze") if shape else ()
        out = self.reshape(tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1)))
        return _named(out, "SqueezeBackward1" if isinstance(dim, (int, np.integer))
                      else "SqueezeBackward2", self)

    def __getitem__(self, index):
        index = _raw_index(index)
        if type(index) is tuple and len(index) == self._data.ndim and \
                all(type(i) is int for i in index):
            # x[i, j]: numpy gives a copy of the element; `...` makes it a 0-d view, which
            # torch's x[i, j] is (x[i, j] += 1 changes x)
            index = index + (Ellipsis,)
        try:
            return Tensor._apply(OPS["getitem"], index, self)
        except IndexError as e:
            raise IndexError(f"index into a tensor of shape {self._data.shape}: {e}") from None

    def where(self, cond, other):
        """self where cond else other (cond is a constant mask)"""
        return where(cond, self, other)


def where(condition, input=None, other=None):
    """input where condition else other, elementwise (torch.where): the result has the dtype
    of torch's promotion of input and other (numbers take part as numbers: where(c, x, 0.0)
    keeps x's dtype). condition is a constant: a bool Tensor (torch's error for another
    dtype), or a numpy array or list read as bools. where(condition) alone is
    condition.nonzero(as_tuple=True)."""
    if input is None and other is None:
        return _as_tensor_arg(condition, "where").nonzero(as_tuple=True)
    if isinstance(condition, Tensor):
        if condition._data.dtype.kind != "b" and condition._data.dtype != np.uint8:
            _dt.where_dtype(condition, input, other)        # torch's RuntimeError
        cond = condition if condition._data.dtype.kind == "b" else condition != 0
    else:
        cond = Tensor._node(np.asarray(
            condition._data if isinstance(condition, Node) else condition, dtype=bool))
    if isinstance(input, Tensor) and input._data.dtype.kind == "f":
        d = input._data.dtype
        kind = type(other)
        if kind is float or kind is int:
            return Tensor._apply(_WHERE, None, cond, input, Tensor._node(np.asarray(other, dtype=d)))
        if isinstance(other, Tensor) and other._data.dtype is d:
            return Tensor._apply(_WHERE, None, cond, input, other)
    a, b = _as_operand(input, "where"), _as_operand(other, "where")
    if a is None or b is None:
        bad = input if a is None else other
        raise TypeError(f"where(): expected a Tensor or a number, got {type(bad).__name__}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor._node(_dt.tensor_data(a))            # two numbers: a 0-d tensor each
        b = Tensor._node(_dt.tensor_data(b))
    compute = _dt.result_type(a, b)._np
    return Tensor._apply(_WHERE, None, cond, _cast(a, compute), _cast(b, compute))


def _as_tensor_arg(x, opname):
    if isinstance(x, Tensor):
        return x
    operand = _as_operand(x, opname)
    if not isinstance(operand, Tensor):
        raise TypeError(f"{opname}(): expected a Tensor, got {type(x).__name__}")
    return operand


_WHERE = OPS["where"]


Tensor._kind = Tensor
