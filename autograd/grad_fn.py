"""`tensor.grad_fn`: the graph as torch shows it, read from tapegrad's recorded nodes.

torch names each node of its graph after the function that made it (`AddBackward0`,
`MmBackward0`, `NllLossBackward0` ...) and links it to the nodes of its inputs through
`next_functions`: pairs `(node, 0)`, an `AccumulateGrad` for a leaf that requires grad, `None`
for an input that does not. Programs print these (`print(loss.grad_fn)`,
`loss.grad_fn.next_functions[0][0]`) to show what autograd recorded.

tapegrad records rows of its op table instead, and builds some of torch's functions from
several rows (a - b is add and mul; mean is sum and mul). So a grad_fn is a view of a recorded
node, made when asked for:

- its name comes from the row (and, where torch's name depends on it, from the inputs' shapes
  or the row's ctx: `sum` over every axis is SumBackward0, over some SumBackward1; `matmul` is
  DotBackward0, MvBackward0, MmBackward0, ...);
- a composite names its result itself (tensor._named: `a - b` is SubBackward0 whose inputs are
  a and b, not the add and mul it was built from), so the view shows the op the user called;
- where torch's node has a step tapegrad folds into one row, the view shows that step as a
  node of its own: cross_entropy is NllLossBackward0 over LogSoftmaxBackward0, linear's weight
  enters AddmmBackward0 through TBackward0.

Backward never reads any of this: names and next_functions are for people. The objects are
views, made anew at each access: `y.grad_fn == y.grad_fn` holds (equality is by node), but
`is` does not, and they cannot be called.
"""
import numpy as np

from .engine import _FREED

_CLASSES = {}


class GradFn:
    """torch's graph node, seen from a recorded tensor (a class per name: `type(fn).__name__` is
    `fn.name()`, as in torch). name(), next_functions, metadata (a dict), requires_grad."""
    __slots__ = ("_node", "_name", "_inputs", "metadata")

    def __init__(self, node, name, inputs):
        self._node = node           # the recorded Tensor, or None for a step torch shows apart
        self._name = name
        self._inputs = inputs       # Tensors, None (numbers and constants) or GradFn
        self.metadata = {}

    def name(self):
        return self._name

    @property
    def next_functions(self):
        return tuple((_next(x), 0) for x in self._inputs)

    @property
    def requires_grad(self):
        return True

    def __eq__(self, other):
        if not isinstance(other, GradFn):
            return NotImplemented
        return self._name == other._name and (
            self._node is other._node if self._node is not None else self is other)

    def __hash__(self):
        return hash((self._name, id(self._node)))

    def __repr__(self):
        return f"<{self._name} object at {hex(id(self))}>"

    def __getattr__(self, attr):
        # an autograd.Function's node is its ctx, as in torch: saved_tensors, attributes
        ctx = _function_ctx(object.__getattribute__(self, "_node"))
        if ctx is None:
            raise AttributeError(f"'{self._name}' object has no attribute '{attr}'")
        return getattr(ctx, attr)


class AccumulateGrad:
    """The node that stores a leaf's gradient into its .grad: `variable` is the leaf."""
    __slots__ = ("variable", "metadata")

    def __init__(self, variable):
        self.variable = variable
        self.metadata = {}

    def name(self):
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __eq__(self, other):
        if not isinstance(other, AccumulateGrad):
            return NotImplemented
        return self.variable is other.variable

    def __hash__(self):
        return hash(id(self.variable))

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def named(out, name, *inputs):
    """A composite's result, shown by grad_fn as torch's node for the op the user called
    (`name`, e.g. "SubBackward0") whose inputs are `inputs` (Tensors, or None for numbers),
    instead of the last primitive the composite was built from. Backward is unchanged."""
    if out._op is not None:
        out._fn = (name, inputs)
    return out


def _fn_class(name):
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls


def _function_ctx(node):
    ctx = getattr(node, "_ctx", None)
    return ctx if getattr(ctx, "_is_function_ctx", False) else None


def _next(x):
    if x is None or isinstance(x, GradFn):
        return x
    if not x.requires_grad:
        return None
    if x._op is None:
        return AccumulateGrad(x)
    return grad_fn(x)


def grad_fn(node):
    """The grad_fn of a recorded tensor: None for a leaf and a constant."""
    if node._op is None:
        return None
    named = getattr(node, "_fn", None)
    if named is not None:
        name, inputs = named
    else:
        name, inputs = _row_view(node)
    return _fn_class(name)(node, name, tuple(_view_input(x) for x in inputs))


def grad_fn_name(node):
    """Only the name of node's grad_fn (what a tensor's repr prints), or None."""
    if node._op is None:
        return None
    named = getattr(node, "_fn", None)
    return named[0] if named is not None else _row_view(node)[0]


def _view_input(x):
    if isinstance(x, tuple):            # a step torch shows apart: (name, inputs)
        name, inputs = x
        return _fn_class(name)(None, name, tuple(_view_input(i) for i in inputs))
    return x


# ---------------------------------------------------------------------------------------------
# torch's names for the rows of the op table
def _plain(torch_name):
    return lambda node: (torch_name, _differentiable(node))


def _differentiable(node):
    """node's inputs that gradients can flow to: a row with no VJP for an input (where's
    condition, cross_entropy's targets) reads it as data, and torch does not list it."""
    if node._op.nin is None:                # variadic (concatenate): every input
        return node._parents
    return tuple(x for x, vjp in zip(node._parents, node._op.vjps) if vjp is not None)


def _ndim(x):
    return np.ndim(x._data)


def _pow(node):
    base, exponent = node._parents
    if not exponent.requires_grad and _ndim(exponent) == 0 and exponent._op is None:
        return "PowBackward0", (base,)              # x ** 2
    if not base.requires_grad and _ndim(base) == 0 and base._op is None:
        return "PowBackward2", (exponent,)          # 2 ** x
    return "PowBackward1", node._parents


def _matmul(node):
    a, b = node._parents
    na, nb = _ndim(a), _ndim(b)
    if na == 1 and nb == 1:
        name = "DotBackward0"
    elif na == 2 and nb == 2:
        name = "MmBackward0"
    elif na == 2 and nb == 1:
        name = "MvBackward0"
    elif na == 1 and nb == 2:
        return "SqueezeBackward4", (("MmBackward0", (("UnsqueezeBackward0", (a,)), b)),)
    elif na == 3 and nb == 3:
        name = "BmmBackward0"
    else:
        return "UnsafeViewBackward0", (("MmBackward0", node._parents),)
    return name, node._parents


def _linear(node):
    x, w, b = node._parents
    addmm = ("AddmmBackward0", (b, x, ("TBackward0", (w,))))
    if _ndim(x) == 2:
        return addmm
    return "ViewBackward0", (addmm,)


def _ctx(node):
    """The node's ctx, or None once backward has freed it (names then follow from shapes)."""
    ctx = node._ctx
    return None if ctx is _FREED else ctx


def _reduced_all(node):
    """Whether a reduction node reduced over every axis (ctx axis None): from its ctx, or after
    backward freed it, from the output being 0-d."""
    ctx = _ctx(node)
    if ctx is not None:
        return ctx[0] is None
    return _ndim(node) == 0


def _sum(node):
    return ("SumBackward0" if _reduced_all(node) else "SumBackward1"), node._parents


def _getitem(node):
    index = _ctx(node)
    if index is None:
        # freed by backward: fewer dims is an int index, more a None, else a slice
        change = _ndim(node) - _ndim(node._parents[0])
        name = ("SelectBackward0" if change < 0 else "UnsqueezeBackward0" if change > 0
                else "SliceBackward0")
        return name, node._parents
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (np.ndarray, list)) for i in items):
        return "IndexBackward0", node._parents
    if any(isinstance(i, (int, np.integer)) for i in items):
        return "SelectBackward0", node._parents
    if any(i is None for i in items):
        return "UnsqueezeBackward0", node._parents
    return "SliceBackward0", node._parents


def _amax(name_all, name_dims):
    def view(node):
        return (name_all if _reduced_all(node) else name_dims), node._parents
    return view


def _scalar_or_tensor(node, name):
    """torch's x.op(2.0) is <name>0 over x alone, x.op(y) <name>1 over both."""
    a, b = node._parents
    if not b.requires_grad and b._op is None and _ndim(b) == 0:
        return name + "0", (a,)
    return name + "1", node._parents


def _cross_entropy(node):
    return "NllLossBackward0", (("LogSoftmaxBackward0", _differentiable(node)),)


_ROW_NAMES = {
    "add": _plain("AddBackward0"), "mul": _plain("MulBackward0"), "pow": _pow,
    "exp": _plain("ExpBackward0"), "log": _plain("LogBackward0"),
    "tanh": _plain("TanhBackward0"), "sigmoid": _plain("SigmoidBackward0"),
    "relu": _plain("ReluBackward0"), "leaky_relu": _plain("LeakyReluBackward0"),
    "sqrt": _plain("SqrtBackward0"), "abs": _plain("AbsBackward0"),
    "sin": _plain("SinBackward0"), "cos": _plain("CosBackward0"),
    "matmul": _matmul, "linear": _linear, "sum": _sum,
    "reshape": _plain("ViewBackward0"), "transpose": _plain("PermuteBackward0"),
    "broadcast_to": _plain("ExpandBackward0"), "where": _plain("WhereBackward0"),
    "getitem": _getitem, "scatter": _plain("IndexPutBackward0"),
    "setitem": _plain("torch::autograd::CopySlices"), "astype": _plain("ToCopyBackward0"),
    "clip": _plain("ClampBackward1"), "maximum": _plain("MaximumBackward0"),
    "minimum": _plain("MinimumBackward0"), "amax": _amax("AmaxBackward0", "AmaxBackward0"),
    "amin": _amax("AminBackward0", "AminBackward0"),
    "logsumexp": _plain("LogsumexpBackward0"), "log_softmax": _plain("LogSoftmaxBackward0"),
    "concatenate": _plain("CatBackward0"), "pad": _plain("ConstantPadNdBackward0"),
    "im2col": _plain("Im2ColBackward0"), "col2im": _plain("Col2ImBackward0"),
    "conv2d": _plain("ConvolutionBackward0"),
    "max_pool2d": _plain("MaxPool2DWithIndicesBackward0"),
    "avg_pool2d": _plain("AvgPool2DBackward0"),
    "cross_entropy": _cross_entropy,
    "binary_cross_entropy": _plain("BinaryCrossEntropyBackward0"),
    "erf": _plain("ErfBackward0"), "expm1": _plain("Expm1Backward0"),
    "log2": _plain("Log2Backward0"), "log10": _plain("Log10Backward0"),
    "log1p": _plain("Log1PBackward0"), "sign": _plain("SignBackward0"),
    "floor": _plain("FloorBackward0"), "ceil": _plain("CeilBackward0"),
    "trunc": _plain("TruncBackward0"),
    "round": lambda node: ("RoundBackward1" if _ctx(node) else "RoundBackward0", node._parents),
    "prod": _amax("ProdBackward0", "ProdBackward1"), "cumsum": _plain("CumsumBackward0"),
    # torch's einsum is a chain of views, permutes and bmm; tapegrad's one node
    "einsum": _plain("EinsumBackward0"),
    "remainder": lambda node: _scalar_or_tensor(node, "RemainderBackward"),
    "fmod": lambda node: _scalar_or_tensor(node, "FmodBackward"),
    "solve": _plain("LinalgSolveExBackward0"),
}
_BY_ROW = {}


def register(row, view):
    """Name the nodes of op-table row `row`: view(node) -> (torch's name, inputs)."""
    _BY_ROW[row] = view


def _row_view(node):
    view = _BY_ROW.get(node._op)
    if view is None:
        view = _default_view
    return view(node)


def _default_view(node):
    # a row without a torch counterpart (a user's Op): its own name
    return f"{node._op.name}Backward", node._parents


def _register_table():
    from .ops import OPS
    for name, view in _ROW_NAMES.items():
        register(OPS[name], view)


_register_table()

__all__ = ["GradFn", "AccumulateGrad", "grad_fn", "grad_fn_name", "named", "register"]
