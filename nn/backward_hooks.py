"""nn.Module's backward hooks, built as torch builds them (torch/utils/hooks.py, BackwardHook).

When a module has a full backward hook or a backward pre-hook, its call puts an identity op
on its tensor inputs before forward and on its tensor outputs after it. In the backward pass
the op on the outputs receives d loss / d output for every output (grad_output) and the one on
the inputs d loss / d input for every input (grad_input): exactly what the hooks are called
with, when both are complete. An identity's backward passes its gradient on unchanged, or
what a hook returned in its place.

tapegrad's Function records one node per output, and backward reaches each on its own; a
hook must see all of a module's gradients at once. So each side is a hub and its spokes:

    hub = _Gather(x_0, ..., x_n)           one node, a 0-d zero, whose inputs are the tensors
    y_k = BackwardHookFunction(hub, x_k)   y_k = x_k (the same array), recorded after the hub

Backward walks the tape in reverse recording order, so every spoke y_k that the loss reaches
runs before the hub: it files its gradient with the hub and passes only a zero on to it. The
hub runs next, with every gradient of the side in hand: it calls the hooks and sends each x_k
its gradient (or the hook's replacement). A module without these hooks gets none of this.

torch's rules, kept here:
- the hooks run in backward only if grad mode was on at the call and some tensor input or
  output required grad; grad_input holds only the positional arguments (None for those that
  are not tensors), and a tensor input that needs no gradient, or that forward did not use,
  gets zeros (torch materializes them: its identity is a Function); an output that received
  no gradient is None in grad_output;
- backward pre-hooks run first, on grad_output; a returned tuple replaces it;
- full hooks run when the inputs' gradients are complete; a returned tuple replaces
  grad_input. If no input requires grad they run at the outputs instead, with grad_input all
  None, after a UserWarning, and may return only None;
- the identity's outputs cannot be changed in place while recording (torch's error: the
  change would bypass the hook);
- under autograd.compile the hooks would not run at each call of the generated program, so a
  trace that would set them up is refused (CompileError), naming the hooks.
"""
import warnings
from weakref import ref as _weakref

import numpy as np

from autograd import Tensor
from autograd.engine import STATE, InPlace
from autograd.function import Function
from autograd.grad_fn import grad_fn_name, named

_NO_INPUT_GRAD = ("Full backward hook is firing when gradients are computed with respect to "
                  "module outputs since no inputs require gradients. See https://docs.pytorch."
                  "org/docs/main/generated/torch.nn.Module.html#torch.nn.Module."
                  "register_full_backward_hook for more details.")


class _Hub:
    """One side's meeting point: the gradients its spokes file during one backward pass, and
    what to do with them (`on_grads`) once they are all in."""
    __slots__ = ("on_grads", "n", "grads")

    def __init__(self, on_grads, n):
        self.on_grads = on_grads
        self.n = n                  # how many tensors of the side take a gradient
        self.grads = {}             # spoke k -> dL/dy_k, filed during a backward pass


class _Gather(Function):
    """The hub's node: y = 0 (0-d), from every tensor of one side. Its backward runs after
    every spoke's (it is recorded before them) and returns each tensor's gradient."""

    @staticmethod
    def forward(ctx, hub, *tensors):
        ctx.hub = hub
        return Tensor(np.zeros((), dtype=tensors[0]._data.dtype))

    @staticmethod
    def backward(ctx, grad):
        hub = ctx.hub
        grads = [hub.grads.pop(k, None) for k in range(hub.n)]
        hub.grads.clear()
        return (None,) + tuple(hub.on_grads(grads))


class BackwardHookFunction(Function):
    """A spoke: y = x, the same array (so y's grad_fn is BackwardHookFunctionBackward, as in
    torch). Its backward files dL/dy with the hub and sends the hub a zero, so that the hub is
    reached; x gets its gradient from the hub."""

    @staticmethod
    def forward(ctx, hub, k, hub_node, x):
        ctx.hub, ctx.k = hub, k
        return x

    @staticmethod
    def backward(ctx, grad):
        ctx.hub.grads[ctx.k] = grad
        return None, None, Tensor(np.zeros((), dtype=grad._data.dtype)), None


class _NoInPlace(InPlace):
    """The in-place record of a spoke's output (and of its views): a change recorded for
    backward is torch's error, since the hub would pass on the gradient of the old value."""
    __slots__ = ("k", "spoke")

    def __init__(self, k, spoke):
        super().__init__()
        self.k = k
        self.spoke = _weakref(spoke)

    def stamp(self, tensor=None, old=None):
        if old is not None:         # recorded for backward; under no_grad torch allows it
            if tensor is self.spoke():
                what = f"Output {self.k} of BackwardHookFunction"
            else:
                name = grad_fn_name(tensor) or "a view"
                what = f"Output 0 of {name.removesuffix('0').removesuffix('Backward')}"
            raise RuntimeError(
                f"{what} is a view and is being modified inplace. This view was created inside "
                f"a custom Function (or because an input was returned as-is) and the autograd "
                f"logic to handle view+inplace would override the custom backward associated "
                f"with the custom Function, leading to incorrect gradients. This behavior is "
                f"forbidden. You can fix this by cloning the output of the custom Function.")
        super().stamp(tensor, old)


def _check_replacement(grads, shapes):
    """What a hook returned for the tensors that take a gradient, checked as torch's engine
    checks a hook's result."""
    for g, shape in zip(grads, shapes):
        if g is None:
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"expected Variable, but hook returned '{type(g).__name__}'")
        if g._data.shape != shape:
            raise RuntimeError("hook 'hook' has changed the size of value")
    return grads


def _shapes(args):
    """(shape, dtype) of each tensor among args, None for the rest: what the hubs need, kept
    instead of the tensors (the graph refers to the hubs, which must not refer back to it)."""
    return [(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args]


def _hook_names(hooks):
    return ", ".join(getattr(h, "__qualname__", None) or repr(h) for h in hooks)


class BackwardHook:
    """One call of a module with backward hooks: puts the hubs on its inputs and outputs and
    calls the hooks from them (torch.utils.hooks.BackwardHook)."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = -1
        self.input_index = None
        self.n_outputs = -1
        self.output_index = None

    # ------------------------------------------------------------------ forward
    def _apply_on_tensors(self, args, on_grads):
        """(args with a spoke in place of each tensor that requires grad, the positions of
        all tensors, the positions of those that require grad); index None when there is
        nothing to hook (no tensor requires grad, or grad mode is off)."""
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        taking = [i for i in index if args[i].requires_grad]
        if not (taking and STATE.grad_enabled):
            return args, None, taking
        if STATE.trace is not None:
            self._refuse_compile()
        hub = _Hub(on_grads, len(taking))
        hub_node = _Gather.apply(hub, *[args[i] for i in taking])
        out = list(args)
        for k, i in enumerate(taking):
            spoke = BackwardHookFunction.apply(hub, k, hub_node, args[i])
            spoke._version = _NoInPlace(index.index(i), spoke)
            # grad_fn shows torch's node: BackwardHookFunctionBackward over x's, not the hub
            named(spoke, "BackwardHookFunctionBackward", args[i])
            out[i] = spoke
        return tuple(out), index, taking

    def _refuse_compile(self):
        """autograd.compile is tracing: its program computes the gradients in generated code,
        which these hooks would never see, so the trace is refused rather than the hooks
        skipped."""
        from autograd.compile import CompileError, _name
        hooks = list(self.user_pre_hooks) + list(self.user_hooks)
        raise CompileError(
            f"compile: {_name(STATE.trace.fn)} calls a {type(self.module).__name__} that has "
            f"backward hooks ({_hook_names(hooks)}); the compiled program computes gradients "
            f"in generated code, where a module's backward hooks would not run at each call. "
            f"Remove them (handle.remove()) before compiling, or call the model without "
            f"autograd.compile while the hooks inspect its gradients (hooks on the module "
            f"autograd.compile returns run: they see its inputs and outputs)")

    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        self.inputs = _shapes(args)
        args, self.input_index, self.input_taking = self._apply_on_tensors(
            args, self._on_input_grads)
        return args

    def setup_output_hook(self, result):
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        self.outputs = _shapes(outputs)
        outputs, self.output_index, self.output_taking = self._apply_on_tensors(
            outputs, self._on_output_grads)
        return outputs[0] if single else outputs

    # ------------------------------------------------------------------ backward
    def _pack(self, index, values, size):
        res = [None] * size
        for i, v in zip(index, values):
            res[i] = v
        return tuple(res)

    def _on_output_grads(self, grads):
        """The outputs' hub: grads are d loss / d output for the outputs that require grad
        (None where none arrived). Runs the pre-hooks; if no input requires grad, the full
        hooks too. Returns the gradients the module's own outputs receive."""
        taking = self.output_taking
        full = dict(zip(taking, grads))
        self.grad_outputs = tuple(full.get(i) for i in range(self.n_outputs))
        expected = len(self.grad_outputs)
        for pre in self.user_pre_hooks:
            result = pre(self.module, self.grad_outputs)
            if result is None:
                continue
            if len(result) != expected:
                raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                   f"grad_output, got {len(result)}, but expected {expected}")
            self.grad_outputs = result
        local = self.grad_outputs
        if self.input_index is None:
            warnings.warn(_NO_INPUT_GRAD, UserWarning, stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                result = hook(self.module, grad_inputs, self.grad_outputs)
                if result is not None and not (isinstance(result, tuple)
                                               and all(r is None for r in result)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return _check_replacement([local[i] for i in taking],
                                  [self.outputs[i][0] for i in taking])

    def _on_input_grads(self, grads):
        """The inputs' hub: grads are d loss / d input for the inputs that require grad. Runs
        the full hooks and returns what each input receives."""
        taking = self.input_taking
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through the outputs (torch:
            # double backward); the hooks are not called
            return grads
        full = dict(zip(taking, grads))
        res = []
        for i in range(self.n_inputs):
            if i in full:
                g = full[i]
                res.append(g if g is not None else Tensor(np.zeros(*self.inputs[i])))
            elif i in self.input_index:             # a tensor that takes no gradient: zeros
                res.append(Tensor(np.zeros(*self.inputs[i])))
            else:
                res.append(None)
        res = tuple(res)
        for hook in self.user_hooks:
            result = hook(self.module, res, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(result)}, but expected {len(res)}")
            res = result
        self.grad_outputs = None
        return _check_replacement([res[i] for i in taking], [self.inputs[i][0] for i in taking])
