"""`autograd.Function`: an op with a hand-written backward, as torch.autograd.Function.

    class LegendrePolynomial3(autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    y = LegendrePolynomial3.apply(x)

Each Function class is a row of the op table (`Op`, made once per class and output): its
forward runs the user's forward, its VJPs call the user's backward. So backward, gradcheck,
Tapes, drawings, anomaly mode and the compiled tape treat it as any built-in row. The row is
not entered in `OPS` (it belongs to the user's program, not to the table the generated tests
sweep); `Function.row(k)` gives it.

As in torch:
- forward runs under no_grad, on the tensors apply() was given; non-tensor arguments (and
  keyword arguments) pass through. It returns a tensor or a tuple of them.
- ctx.save_for_backward(*tensors) / ctx.saved_tensors; any other attribute set on ctx is kept
  for backward; ctx.needs_input_grad says which arguments need a gradient.
- backward(ctx, *grad_outputs) returns one gradient per forward argument (None for an argument
  that gets none: a non-tensor, or no gradient); the input's shape must broadcast to its
  gradient's, which is summed down to it (torch's error otherwise: a gradient smaller than its
  input is rejected, never broadcast up). Outputs that were not used get zeros.
- Under create_graph (autograd.grad(..., create_graph=True)) backward runs with recording on,
  on the recorded inputs (saved_tensors are the inputs themselves), so its result can be
  differentiated again.
- setup_context: a Function may write forward(*args) without ctx and a static
  setup_context(ctx, inputs, output) instead (torch 2's style).
- The output's grad_fn is named `<Class>Backward`, and its attributes are ctx's.

Differences: a Function with several outputs calls backward once per output that receives a
gradient (the results add up to torch's single call, backward being linear in its gradients);
mark_dirty and once_differentiable are accepted and change nothing.
"""
import numpy as np

from .engine import STATE, Node, no_grad
from .optable import REAL, Op, PerInput
from .tensor import Tensor


class FunctionCtx:
    """What forward and backward share for one call of a Function: saved tensors, the user's
    attributes, needs_input_grad. It is the ctx of the recorded output node(s)."""
    _is_function_ctx = True

    def __init__(self, function, args, kwargs, positions):
        self._function = function
        self._args = args              # the call's arguments, tensors included
        self._kwargs = kwargs
        self._positions = positions    # where the tensor arguments are among args
        self._saved = ()
        self._graph_inputs = None      # under create_graph: the recorded inputs, by position
        self._graph_outputs = {}       # ... and the recorded output, by its forward tensor
        self._outputs = ()             # the forward's output tensors (constants)
        self._cache = None             # (output index, g, gradients): one backward per node
        self.needs_input_grad = tuple(
            isinstance(a, Tensor) and a.requires_grad and STATE.grad_enabled for a in args)
        self.materialize_grads = True
        self.non_differentiable = ()

    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for backward, where ctx.saved_tensors gives them back."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument "
                                f"{i} is of type {type(t).__name__}")
        self._saved = tensors

    @property
    def saved_tensors(self):
        """The tensors given to save_for_backward. Under create_graph, an input among them is
        the recorded input itself, so that what backward computes from it is recorded too."""
        if self._graph_inputs is None:
            return tuple(self._saved)
        swap = {id(self._args[p]): node for p, node in self._graph_inputs.items()}
        swap.update(self._graph_outputs)
        return tuple(swap.get(id(t), t) if t is not None else None for t in self._saved)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors):
        """These outputs are not differentiable: they come back as constants."""
        self.non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Accepted for torch's programs; tapegrad's outputs are always new tensors."""

    def set_materialize_grads(self, value):
        """Whether backward receives zeros (True, the default) or None for an unused output."""
        self.materialize_grads = bool(value)


class _FunctionMeta(type):
    """Gives each Function subclass its rows, made on first use."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._rows = {}


class Function(metaclass=_FunctionMeta):
    """Base class of ops written with their own backward: subclass it with static forward and
    backward methods (see the module docstring), call Subclass.apply(*args)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not overridden")

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: https://pytorch.org/docs/stable/autograd"
                           ".html#torch.autograd.Function)")

    @classmethod
    def row(cls, k=0):
        """The op-table row of output k of this Function (made once)."""
        row = cls._rows.get(k)
        if row is None:
            row = cls._rows[k] = Op(
                cls.__name__, array=_forward_of(k), vjps=PerInput(_vjp_of(k)),
                domains=PerInput(lambda i: REAL),
                formula=f"autograd.Function {cls.__qualname__}: the user's forward and backward"
                        + (f" (output {k})" if k else ""))
        return row

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward under no_grad on args, and record its output(s) as the result of this
        Function's row when an input tensor requires grad (and grad mode is on)."""
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        ctx = FunctionCtx(cls, args, kwargs, positions)
        outputs, single = _run_forward(cls, ctx, args, kwargs)
        inputs = tuple(args[p] for p in positions)
        if not (STATE.grad_enabled and any(x.requires_grad for x in inputs)):
            return outputs[0] if single else outputs
        ctx._outputs = outputs
        recorded = []
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor) or id(out) in ctx.non_differentiable or \
                    out._data.dtype.kind != "f":
                recorded.append(out)
                continue
            recorded.append(Tensor._node(out._data, cls.row(k), inputs, ctx))
        return recorded[0] if single else tuple(recorded)


def _run_forward(cls, ctx, args, kwargs):
    """The user's forward under no_grad: (outputs as a tuple, whether it returned one)."""
    own_setup = cls.setup_context is not Function.setup_context
    with no_grad():
        if own_setup:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outputs = (out,) if single else tuple(out)
    if not any(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple holding one, "
                        f"got {type(out).__name__}")
    return outputs, single


def _forward_of(k):
    """The row's array forward (for replays: the compiled tape, a direct call of the row):
    the user's forward again, on constants holding the arrays, output k's array."""
    def forward(ctx, *arrays):
        args = list(ctx._args)
        for p, arr in zip(ctx._positions, arrays):
            args[p] = Tensor._node(arr)
        outputs, _ = _run_forward(ctx._function, ctx, tuple(args), ctx._kwargs)
        ctx._outputs = outputs
        return outputs[k]._data
    return forward


def _vjp_of(k):
    """The VJP of output k for input i: input i's entry of the user's backward."""
    def make(i):
        def vjp(xp, g, out, ctx, *inputs):
            grads = _backward(xp, k, g, out, ctx, inputs)
            return grads[i]
        return vjp
    return make


def _backward(xp, k, g, out, ctx, inputs):
    """The user's backward for output k receiving g, as one gradient per tensor input (in the
    backend's form: arrays, or recorded Tensors under create_graph); computed once per node
    and pass (the engine asks input by input)."""
    cached = ctx._cache
    if cached is not None and cached[0] == k and cached[1] is g:
        return cached[2]
    graph = isinstance(g, Node)
    grad_outputs = []
    for j, o in enumerate(ctx._outputs):
        if j == k:
            grad_outputs.append(g if graph else Tensor._node(np.asarray(g)))
        elif isinstance(o, Tensor) and ctx.materialize_grads:
            grad_outputs.append(Tensor._node(np.zeros_like(o._data)))
        else:
            grad_outputs.append(None)
    fn = ctx._function
    if graph:
        ctx._graph_inputs = dict(zip(ctx._positions, inputs))
        ctx._graph_outputs = {id(ctx._outputs[k]): out}
        try:
            result = fn.backward(ctx, *grad_outputs)
        finally:
            ctx._graph_inputs = None
    else:
        with no_grad():
            result = fn.backward(ctx, *grad_outputs)
    grads = _check_gradients(fn, ctx, result, inputs, graph)
    ctx._cache = (k, g, grads)
    return grads


def _check_gradients(fn, ctx, result, inputs, graph):
    """backward's result as one gradient per tensor input, checked as torch checks it."""
    result = result if isinstance(result, tuple) else (result,)
    n = len(ctx._args)
    if len(result) < n or any(r is not None for r in result[n:]):
        raise RuntimeError(f"function {fn.__name__}Backward returned an incorrect number of "
                           f"gradients (expected {n}, got {len(result)})")
    grads = []
    for p, x in zip(ctx._positions, inputs):
        r = result[p]
        xd = x._data if graph else x            # the engine gives arrays, or nodes (graph)
        shape = xd.shape
        if r is None:
            grads.append(None)          # no gradient flows to this input (torch: .grad None)
            continue
        if not isinstance(r, Tensor):
            # torch's words: its C++ engine calls a tensor a Variable
            raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
        rshape = r._data.shape
        # torch's rule: the input must broadcast to the gradient's shape; a larger gradient
        # is then summed down to the input's (the engine's unbroadcast, after each VJP). A
        # smaller one is an error, not broadcast up: backward lost a dimension it should keep.
        try:
            ok = np.broadcast_shapes(shape, rshape) == rshape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"Function {fn.__name__}Backward returned an invalid gradient at "
                               f"index {p} - got {list(rshape)} but expected shape compatible "
                               f"with {list(shape)}")
        grads.append(r if graph else r._data)
    return grads


def once_differentiable(fn):
    """torch's decorator for a backward that is not differentiable itself: accepted, and
    changes nothing."""
    return fn


class InplaceFunction(Function):
    """torch's legacy base of in-place Functions: a Function."""


__all__ = ["Function", "FunctionCtx", "once_differentiable", "InplaceFunction"]
