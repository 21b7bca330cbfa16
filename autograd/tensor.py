"""`Tensor`: a numpy array that records the ops applied to it, on the same tape as `Value`."""
import numbers

import numpy as np

from .backends import ARRAY
from .engine import STATE, InPlace, Node, _next_index
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

# numpy's dtype names as PyTorch prints them in its messages
_TORCH_NAME = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
               "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
               "bool": "Bool"}


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


def _arg_extreme(t, fn, dim, keepdim):
    if dim is None:
        out = fn(t._data)
        if keepdim:
            out = np.reshape(out, (1,) * t.ndim)
    else:
        out = fn(t._data, axis=dim, keepdims=keepdim)
    return Tensor._node(np.asarray(out, dtype=np.int64))


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
    _array_valued = True

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
        self._data = arr
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._index = _next_index()
        self._version = None
        self._retains_grad = False
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
        self._data = value._data

    @property
    def grad(self):
        """d(root)/d(self) accumulated by backward passes: a Tensor, or None before any (and
        for an intermediate result unless retain_grad() was called)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: the tensor "
                                   f"has shape {self.shape}, the grad {value.shape}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: the tensor "
                                   f"is {self.dtype}, the grad {value.dtype}")
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
        own = self._data.dtype if self._data.dtype.kind == "f" else _DEFAULT[0]
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
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def size(self):
        return self._data.size

    def numel(self):
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python "
                             f"number, this one has shape {self.shape}")
        return self._data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.item())

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """True where every entry (along dim) is nonzero; a bool tensor. (axis, keepdims: numpy's
        names, so that np.all(t, axis=0) works.)"""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "all")
        return Tensor._node(np.asarray(np.all(self._data, axis=dim, keepdims=keepdim)))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """True where some entry (along dim) is nonzero; a bool tensor."""
        dim, keepdim = _dim_alias(dim, keepdim, axis, keepdims, out, "any")
        return Tensor._node(np.asarray(np.any(self._data, axis=dim, keepdims=keepdim)))

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
        return self._data.tolist()

    def clone(self):
        """A copy with its own memory; differentiable (the gradient passes through)."""
        return self * 1 if self.requires_grad else Tensor._node(self._data.copy())

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
            a, b = (x if isinstance(x, Tensor) else self._lift(x, ufunc.__name__)
                    for x in inputs)
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

    def requires_grad_(self, flag=True):
        if flag and self._data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating point tensors can require "
                            f"gradients, got dtype {self._data.dtype}")
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad")
        self.requires_grad = bool(flag)
        return self


    def _seed(self, grad):
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (this output has "
                    f"shape {self.shape}); pass backward(grad=...) of the same shape, or reduce "
                    f"it first, e.g. out.sum().backward()")
            return np.ones(self._data.shape, self._data.dtype)
        g = grad._data if isinstance(grad, Node) else np.asarray(grad, dtype=self._data.dtype)
        if g.shape != self.shape:
            raise RuntimeError(f"backward: grad has shape {g.shape} but the output has shape "
                               f"{self.shape}")
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
        operands = [self._lift(o, opname) if not isinstance(o, Tensor) else o
                    for o in operands]
        if any(o is None for o in operands):
            raise TypeError(f"{opname}: cannot combine a Tensor with "
                            f"{', '.join(type(o).__name__ for o in operands)}")
        tracked = STATE.grad_enabled and (
            self.requires_grad or any(o.requires_grad for o in operands))
        if not tracked:
            if self._update(compute, operands):
                return self
            self._overwrite(compute(self, *operands)._data, opname, cast_check)
            return self
        if self._op is None and self.requires_grad:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation "
                f"({opname}); update parameters inside `with no_grad():`")
        old = Tensor._node(self._data.copy(), self._op, self._parents, self._ctx)
        old._index, old._retains_grad, old.label = self._index, self._retains_grad, self.label
        old.requires_grad = self.requires_grad
        InPlace.of(self).stamp()            # before the new node, whose index is later
        result = compute(old, *[old if o is self else o for o in operands])
        self._overwrite(result._data, opname, cast_check, stamp=False)
        self._op, self._parents, self._ctx = result._op, result._parents, result._ctx
        self._index, self.requires_grad = result._index, True
        self._grad = None
        return self

    def _update(self, compute, operands):
        """The fast path above; False when it does not apply (the general path then gives
        PyTorch's result, or its error)."""
        ufunc = _UPDATE_UFUNCS.get(compute)
        own = self._data
        if ufunc is None or len(operands) != 1 or own.dtype.kind != "f" or \
                not own.flags.writeable:
            return False
        other = operands[0]._data
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
        if cast_check and (own.dtype.kind in "iu" and vdt.kind == "f"
                           or own.dtype.kind == "b" and vdt.kind != "b"):
            raise RuntimeError(f"{opname}: result type {_TORCH_NAME.get(vdt.name, vdt.name)} "
                               f"can't be cast to the desired output type "
                               f"{_TORCH_NAME.get(own.dtype.name, own.dtype.name)}")
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
            raise IndexError(f"index into a tensor of shape {self.shape}: {e}") from None
        InPlace.of(self).stamp()

    @staticmethod
    def _select(cond, a, b):
        """where(cond, a, b): the GRAPH backend's select."""
        return where(cond, a, b)

    @staticmethod
    def _concatenate(tensors, axis):
        return Tensor._apply(OPS["concatenate"], axis, *tensors)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", precision=4, prefix="Tensor(")
        extra = ""
        if self._op is not None:
            extra = f", op={self._op.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self._data.dtype != _DEFAULT[0]:
            extra += f", dtype={self._data.dtype}"
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
            inverse = Tensor._node(np.reciprocal(other._data))
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
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor._node(self._data.astype(dtype))
        return Tensor._apply(OPS["astype"], dtype, self)

    def double(self):
        return self.astype(np.float64)

    def float(self):
        return self.astype(np.float32)

    # comparisons: constant boolean tensors, not differentiable
    def _compare(self, other, fn):
        if not isinstance(other, (Node, numbers.Number, np.ndarray, np.generic, list, tuple)):
            return NotImplemented       # e.g. pytest.approx, which compares itself
        other = other if isinstance(other, Tensor) else Tensor._node(np.asarray(
            other._data if isinstance(other, Node) else other))
        return Tensor._apply(OPS["numpy"], (fn, {}), self, other)

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
        if isinstance(other, Node):
            other = other._data
        return Tensor._node(np.asarray(fn(self._data, other)))

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
        return Tensor._node(np.invert(self._data))
    __hash__ = Node.__hash__

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with more than one value is ambiguous "
                               f"(shape {self.shape}); use .any() or .all() on ._data, or .item()")
        return bool(self._data.item())

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        """sum over axis (int, tuple, or None for all)"""
        return Tensor._apply(OPS["sum"], (_norm_axis(axis, self.ndim, "sum"), keepdims), self)

    def mean(self, axis=None, keepdims=False):
        """sum / count over axis"""
        axes = _norm_axis(axis, self.ndim, "mean")
        n = self._data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
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
        n = self._data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
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

    def ravel(self):
        """The entries as one dimension (a view where the layout allows)."""
        return self.reshape(-1)

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
        index = _raw_index(index)
        try:
            return Tensor._apply(OPS["getitem"], index, self)
        except IndexError as e:
            raise IndexError(f"index into a tensor of shape {self.shape}: {e}") from None

    def where(self, cond, other):
        """self where cond else other (cond is a constant mask)"""
        return where(cond, self, other)


def where(cond, a, b):
    """a where cond else b, elementwise (cond a bool Tensor or array; no gradient flows to
    it)."""
    if not isinstance(cond, Tensor):
        cond = Tensor._node(np.asarray(cond, dtype=bool))
    elif cond._data.dtype != np.bool_:
        cond = cond != 0
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        like = Tensor(np.asarray(a))
    a = _operand(a, like, "where")
    b = _operand(b, like, "where")
    return Tensor._apply(OPS["where"], None, cond, a, b)


Tensor._kind = Tensor
