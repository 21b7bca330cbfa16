"""`Value`: a scalar that records the ops applied to it, to see backpropagation weight by weight."""
import numbers

from .backends import SCALAR
from .engine import STATE, Node, _next_index
from .fast import backpropagate_floats
from .ops import OPS


def _binary(name):
    op = OPS[name]
    forward = op.scalar

    # Value._apply(op, None, a, b) written out for two floats: micrograd's demo step makes
    # 65,000 of these, and the generic call (any arity, a list of inputs) costs twice as much.
    def method(self, other):
        other = self._lift(other, name)
        if other is None:
            return NotImplemented
        if STATE.trace is not None:          # autograd.compile is watching: the full path
            return Value._apply(op, None, self, other)
        data = forward(None, self._data, other._data)
        if STATE.grad_enabled and (self.requires_grad or other.requires_grad):
            return Value._node(data, op, (self, other))
        return Value._node(data)

    def reflected(self, other):
        other = self._lift(other, name)
        if other is None:
            return NotImplemented
        return method(other, self)

    method.__doc__ = reflected.__doc__ = f"{name}: {op.formula}"
    return method, reflected


def _unary(name):
    op = OPS[name]
    forward = op.scalar

    def method(self):
        if STATE.trace is not None:
            return Value._apply(op, None, self)
        data = forward(None, self._data)
        if STATE.grad_enabled and self.requires_grad:
            return Value._node(data, op, (self,))
        return Value._node(data)

    method.__name__ = name
    method.__doc__ = f"{name}: {op.formula}"
    return method


def _compared(a, b, symbol):
    if STATE.trace is not None:
        for x in (a, b):
            if isinstance(x, Node):
                STATE.trace.number(x, f"a comparison ({symbol})")


class Value(Node):
    """A scalar node: `.data` and `.grad` are floats.

    Every op on a Value returns a new Value that remembers its op and inputs, so `backward()`
    can apply the chain rule from the output back to every input. Python numbers mix freely:
    `2 * v + 1` works. Every node keeps its `.grad` after backward (not only leaves, as in
    PyTorch) so that a drawn graph shows the gradient at each step.
    """
    __slots__ = ("_pending",)     # backward's in-flight gradient (fast.backpropagate_floats)
    _empty_grad = 0.0
    _forward_name = "float"
    _retains_every_grad = True
    _fast_backpropagate = staticmethod(backpropagate_floats)
    __array_ufunc__ = None      # numpy defers to our reflected ops: np.float64(2) * v is a Value

    def __init__(self, data, label="", requires_grad=True):
        if isinstance(data, Node):
            raise TypeError(f"Value(data) needs a number, got a {type(data).__name__}")
        try:
            data = float(data)
        except (TypeError, ValueError):
            raise TypeError(
                f"Value(data) needs a real number, got {type(data).__name__} {data!r}") from None
        self._data = data
        self._grad = 0.0
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._index = _next_index()
        self._version = None
        self._retains_grad = True
        self._hooks = None
        self.label = label

    # micrograd's habits: .data and .grad are plain floats, `p.data += -lr * p.grad`
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = float(value)

    @property
    def grad(self):
        if STATE.trace is not None:
            STATE.trace.refuse("a read of .grad")
        return self._grad

    @grad.setter
    def grad(self, value):
        if STATE.trace is not None:
            STATE.trace.refuse("an assignment to .grad")
        self._grad = float(value)

    @staticmethod
    def _forward(op):
        return op.scalar

    @staticmethod
    def _backend():
        return SCALAR

    _reference_backend = SCALAR

    def _lift(self, x, opname):
        """The other operand of an op: a Value as it is, a Python number as a constant Value,
        None (NotImplemented) for anything else; a Tensor is refused by name."""
        if isinstance(x, Value):
            return x
        if isinstance(x, (float, int)) or isinstance(x, numbers.Real):
            return Value._node(float(x))
        if isinstance(x, Node):
            raise TypeError(
                f"'{opname}' between a Value and a {type(x).__name__}: Value is a scalar graph "
                f"node and cannot mix with Tensor. Use Tensor for both, or take a Value from "
                f"float(tensor.item()).")
        return None

    # arithmetic: add, mul, pow are primitives; neg, sub, div are built from them
    __add__, __radd__ = _binary("add")
    __mul__, __rmul__ = _binary("mul")
    __pow__, __rpow__ = _binary("pow")

    def __neg__(self):
        """-a = a * -1"""
        return self * -1.0

    def __sub__(self, other):
        """a - b = a + (-b)"""
        other = self._lift(other, "sub")
        if other is None:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        """a / b = a * b ** -1; a / 0 is +-inf (or nan for 0 / 0), as in PyTorch."""
        # The number is lifted first: Python's own `0.0 ** -1.0` raises ZeroDivisionError.
        other = self._lift(other, "div")
        if other is None:
            return NotImplemented
        return self * other ** -1.0

    def __rtruediv__(self, other):
        return other * self ** -1.0

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
        return Value._apply(OPS["leaky_relu"], negative_slope, self)

    # comparisons look at the data: handy for max(values) and if-statements
    # comparisons give Python bools (max(0, v), if v > 0): a branch on the data, which a trace
    # of autograd.compile would keep as it went; it refuses them (see Trace.number)
    def __lt__(self, other):
        _compared(self, other, "<")
        return self._data < _data_of(other)

    def __le__(self, other):
        _compared(self, other, "<=")
        return self._data <= _data_of(other)

    def __gt__(self, other):
        _compared(self, other, ">")
        return self._data > _data_of(other)

    def __ge__(self, other):
        _compared(self, other, ">=")
        return self._data >= _data_of(other)

    __hash__ = Node.__hash__

    def __float__(self):
        return self._data

    def item(self):
        return self._data

    def detach(self):
        """A constant with the same data: gradients stop here."""
        return Value._node(self._data)

    def zero_grad(self):
        self._grad = 0.0

    def _seed(self, grad):
        return 1.0 if grad is None else float(grad)

    def _const_like(self, x):
        return x if isinstance(x, Value) else Value._node(float(x))

    def _sum_all(self):
        return self

    @staticmethod
    def _keep_grad(node, g):
        """backward()'s `take`: every Value keeps its gradient, leaf or not (for drawing)."""
        node._grad += g._data if isinstance(g, Node) else g

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data:.6g}, grad={self._grad:.6g}{label})"

    def _repr_svg_(self):
        """Jupyter shows a Value as the drawing of its graph (None without Graphviz's dot)."""
        from .draw import _svg_or_none
        return _svg_or_none(self)


Value._kind = Value


def _data_of(x):
    return x._data if isinstance(x, Value) else x

