"""`Value`: a scalar that records the ops applied to it, to see backpropagation weight by weight."""
import numbers

from .engine import STATE, Node, _next_index, _record
from .ops import OPS, SCALAR

_new = object.__new__


def _make(data, op, parents, ctx=None):
    """A recorded Value: the hot path of every Value op, so slots are set directly."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.requires_grad = True
    v._op = op
    v._parents = parents
    v._ctx = ctx
    v._index = _next_index()
    v._g = None
    v.label = ""
    if STATE.hooks:
        _record(v)
    return v


def _constant(data):
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.requires_grad = False
    v._op = None
    v._parents = ()
    v._ctx = None
    v._index = _next_index()
    v._g = None
    v.label = ""
    return v


def _apply_scalar(op, ctx, *ins):
    """Run a table row's float forward on Values and record it (any arity)."""
    data = op.scalar(ctx, *[v.data for v in ins])
    if STATE.grad_enabled and any(v.requires_grad for v in ins):
        return _make(data, op, ins, ctx)
    return _constant(data)


def _lift(x, opname):
    """A Python number as a constant Value; anything else is refused by name."""
    # float and int first: the numbers.Real ABC check costs 1.4 us here, and a scalar MLP's
    # first layer lifts every input (3,400 lifts in the scalar bench's step)
    if isinstance(x, (float, int)) or isinstance(x, numbers.Real):
        return _constant(float(x))
    if isinstance(x, Node):
        raise TypeError(
            f"'{opname}' between a Value and a {type(x).__name__}: Value is a scalar graph node "
            f"and cannot mix with Tensor. Use Tensor for both, or take a Value from "
            f"float(tensor.item()).")
    return None


def _binary(op):
    f = op.scalar

    def forward(self, other):
        if other.__class__ is not Value:
            other = _lift(other, op.name)
            if other is None:
                return NotImplemented
        data = f(None, self.data, other.data)
        if STATE.grad_enabled and (self.requires_grad or other.requires_grad):
            return _make(data, op, (self, other))
        return _constant(data)

    def reflected(self, other):
        other = _lift(other, op.name)
        if other is None:
            return NotImplemented
        data = f(None, other.data, self.data)
        if STATE.grad_enabled and self.requires_grad:
            return _make(data, op, (other, self))
        return _constant(data)

    forward.__doc__ = reflected.__doc__ = f"{op.name}: {op.doc}"
    return forward, reflected


def _unary(op):
    f = op.scalar

    def forward(self):
        data = f(None, self.data)
        if STATE.grad_enabled and self.requires_grad:
            return _make(data, op, (self,))
        return _constant(data)

    forward.__name__ = op.name
    forward.__doc__ = f"{op.name}: {op.doc}"
    return forward


class Value(Node):
    """A scalar node: `.data` and `.grad` are floats.

    Every op on a Value returns a new Value that remembers its op and inputs, so `backward()`
    can apply the chain rule from the output back to every input. Python numbers mix freely:
    `2 * v + 1` works. Every node keeps its `.grad` after backward (not only leaves, as in
    PyTorch) so that a drawn graph shows the gradient at each step.
    """
    __slots__ = ()
    _raw = SCALAR
    _keep_all_grads = True
    __array_ufunc__ = None      # numpy defers to our reflected ops: np.float64(2) * v is a Value

    def __init__(self, data, label="", requires_grad=True):
        if isinstance(data, Node):
            raise TypeError(f"Value(data) needs a number, got a {type(data).__name__}")
        try:
            data = float(data)
        except (TypeError, ValueError):
            raise TypeError(
                f"Value(data) needs a real number, got {type(data).__name__} {data!r}") from None
        self.data = data
        self.grad = 0.0
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._index = _next_index()
        self._g = None
        self.label = label

    # arithmetic: add, mul, pow are primitives; neg, sub, div are built from them
    __add__, __radd__ = _binary(OPS["add"])
    __mul__, __rmul__ = _binary(OPS["mul"])
    __pow__, __rpow__ = _binary(OPS["pow"])

    def __neg__(self):
        """-a = a * -1"""
        return self * -1.0

    def __sub__(self, other):
        """a - b = a + (-b)"""
        if other.__class__ is not Value:
            other = _lift(other, "sub")
            if other is None:
                return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        """a / b = a * b ** -1; a / 0 is +-inf (or nan for 0 / 0), as in PyTorch."""
        # The number is lifted first: Python's own `0.0 ** -1.0` raises ZeroDivisionError.
        if other.__class__ is not Value:
            other = _lift(other, "div")
            if other is None:
                return NotImplemented
        return self * other ** -1.0

    def __rtruediv__(self, other):
        return other * self ** -1.0

    exp = _unary(OPS["exp"])
    log = _unary(OPS["log"])
    tanh = _unary(OPS["tanh"])
    sigmoid = _unary(OPS["sigmoid"])
    relu = _unary(OPS["relu"])
    sqrt = _unary(OPS["sqrt"])
    abs = _unary(OPS["abs"])
    __abs__ = abs
    sin = _unary(OPS["sin"])
    cos = _unary(OPS["cos"])

    def leaky_relu(self, negative_slope=0.01):
        """a if a > 0 else negative_slope * a; gradient negative_slope at 0 (as PyTorch)."""
        op = OPS["leaky_relu"]
        data = op.scalar(negative_slope, self.data)
        if STATE.grad_enabled and self.requires_grad:
            return _make(data, op, (self,), negative_slope)
        return _constant(data)

    # comparisons look at the data: handy for max(values) and if-statements
    def __lt__(self, other):
        return self.data < _data_of(other)

    def __le__(self, other):
        return self.data <= _data_of(other)

    def __gt__(self, other):
        return self.data > _data_of(other)

    def __ge__(self, other):
        return self.data >= _data_of(other)

    __hash__ = Node.__hash__

    def __float__(self):
        return self.data

    def item(self):
        return self.data

    def detach(self):
        """A constant with the same data: gradients stop here."""
        return _constant(self.data)

    def zero_grad(self):
        self.grad = 0.0

    def _seed(self, grad):
        return 1.0 if grad is None else float(grad)

    def _const_like(self, x):
        return x if isinstance(x, Value) else _constant(float(x))

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def _repr_svg_(self):
        """Jupyter shows a Value as the drawing of its graph (None without Graphviz's dot)."""
        from .draw import _svg_or_none
        return _svg_or_none(self)


def _data_of(x):
    return x.data if isinstance(x, Value) else x
