"""`autograd.compile`: the tape of a function, as a program.

    step = autograd.compile(loss_fn)     # loss_fn(*args) returns a Tensor (or a Value), or
                                         # tensors in tuples and lists
    loss = step(x, y)                    # the same value as loss_fn(x, y)
    loss.backward()                      # gradients reach every leaf loss_fn used
    print(step.source)                   # the forward and backward code it runs

The first call traces `fn`: it runs once, eagerly, and every op applied to a value that comes
from the arguments, or that requires grad, is recorded in order: a Wengert list, as the tape of
backward is. That list is then written out as Python: one line per op for the forward, and the
chain rule run backwards over it for the backward, each VJP written out from the op table (the
same functions eager backward runs, applied to symbols that write code: see source.py). From
then on a call runs that code: no nodes, no tape, no dispatch, only numpy (or float
arithmetic, for Value programs). The code is then made cheaper where the result stays the
same, bit for bit: an elementwise result goes into an array of the call's own that nothing
reads again (`np.maximum(z, 0, out=z)`: source.reuse_dead_arrays); a transposed matrix read by
many products is copied to C order once; gradient sums grow in place; a relu read only by a
max-pool gets one gradient with the pool's (ops_tensor.max_pool2d_after_relu_vjp). In a
training step, whose values all die within the call, a matrix product that nothing outside
the step can hold (not returned, not a gradient, not handed to a function that could keep
it) is written into a buffer the program keeps from step to step
(`np.matmul(x, w.T, out=v1_buffer)`: source.keep_buffers), as a numpy programmer
preallocates; so a compiled step must not run in two threads at once. tapegrad's switches
(grad mode, the trace of autograd.compile) are the process's, not a thread's: traces run one
at a time (a lock), and while one runs, tapegrad work in another thread is seen by it; trace
a compiled function before other threads use tapegrad.

The compiled call is one node on the tape: its inputs are the arguments and every leaf `fn`
reached without taking it as an argument (a model's parameters, read afresh at each call, so an
optimizer's step is seen); its VJPs come from the generated backward. So it composes with eager
code around it, and backward(), autograd.grad, optimizers and no_grad() work as usual. A
function returning several tensors in tuples and lists (logits and loss; an LSTM's output,
(h, c)) returns them in the same structure: those that take a gradient are slices of the
node's value, which the forward returns end to end (one dtype), and the backward takes the
gradients of all of them at once; the others (a count of correct answers) are constants.

A training step compiles too, as torch.compile users write it:

    @autograd.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()                  # once, on the loss, which fn returns
        opt.step()                       # after the backward
        return loss

Each call then runs the generated forward and backward, adds the gradients to .grad as
backward() does, and calls zero_grad(), a clipping of the gradients (clip_grad_norm_,
clip_grad_value_), step(), an lr scheduler's step() and model.train() where fn called them;
it returns what fn returns, as tensors without a graph (eager backward() has used and freed
it): the loss, a tuple (`logits, loss, accuracy`), values backward() was not called on
(d2l's `l.mean().backward(); return l`), or the norm nn.utils.clip_grad_norm_ returned (each
call's own). Its trace was the first call's step. A step reads values of this call's
backward only: fn may not read or set .grad, call backward() twice,
with retain_graph, create_graph or inputs, step a schedule on a metric or an epoch, or take
an argument computed by a graph outside it that requires grad; each is an error at trace
time. The check at trace time (and check=True) runs eager fn and the program from the same
parameters, gradients, optimizer and schedule state, buffers and random generator, compares
all of them, then puts them back.

What a trace freezes. Tracing runs Python once; what the arguments decide beyond their types,
shapes and dtypes is fixed at that run:
- values computed with numpy from a tensor's array inside fn (`x.numpy() > 0`), and Python
  branches on them; reading a value of the program as a Python number or bool
  (`loss.item()`, float(), int(), bool(): `if x.sum() > 0:`, tolist(), a Value compared:
  `max(0, v)`) is refused at trace time: the branch would stay as traced, a log of losses
  kept that way would stop growing;
- Python numbers and other non-tensor arguments (-0.0 and nan each their own), numbers and
  strings fn reads from its closure or its globals or one level inside them under a name its
  code spells (cfg["temperature"], args.temperature), and the attributes of the nn modules it
  calls (a KL weight model.beta, Dropout's p, an activation function, a reduction's name, a
  Conv's padding, a tensor kept as a plain attribute): a change of any retraces, and so does
  another object bound to a name fn reads (`model, opt = get_model()` for a second run); a
  value read deeper, or by a function fn calls from its own globals, is frozen;
- tensors made inside fn from anything but the arguments (they are constants of the program;
  values computed from the arguments or parameters under no_grad(), such as a target
  network's output, are ops of the program, computed at each call, without a gradient);
- Python state that fn changes outside the ops. Refused at trace time where a trace can see
  it: fn assigning a global or an enclosing function's variable, a value fn computes left in
  an object fn reads (an attribute such as a hand-written running mean, a list of logged
  losses, up to four levels deep) or set on an nn module, a forward hook that returns None
  (it runs for such effects), and random numbers drawn from Python's random module or
  numpy's global generator. Draws from autograd's other factories (randint, normal,
  randperm) are frozen. BatchNorm's running statistics are updated by an op at each call
  (kept in the program though the output does not read it). Dropout's masks, autograd.randn
  and autograd.rand (a GAN's noise), and randn_like / rand_like of a tensor are ops that
  draw at each call, from the generator as eager code does: from one seed, compiled and
  eager calls give the same numbers (the checks at trace time and with check=True run both
  on the same draws).
A new combination of argument types, shapes and dtypes, or of grad mode (a call under
no_grad() is traced in it), traces again (a small cache, as jax.jit keeps), and so does a
leaf read afresh that has a new shape, dtype or requires_grad, a forward hook added or removed,
or an nn module fn called that is now in another training mode (model.eval(): the trace of
each mode is kept) or has had a parameter, buffer or child replaced, added or removed. A
mode fn sets itself (model.train() opening a training step) is an effect replayed at each
call, and not a reason to trace again. A compiled function called while another is traced
runs inline (its ops are the outer program's); on a method, `@autograd.compile` binds the
instance, a non-tensor first argument. Under detect_anomaly() a compiled training step runs
eagerly, so that a nan gradient is named by its op before the optimizer's step. So does a
training step whose leaves (tensor arguments, parameters fn reads) have tensor hooks
(register_hook, register_post_accumulate_grad_hook), and a first call whose leaves in reach
have some (the arguments, and the tensors, modules and optimizers fn names): the hooks run
as in eager mode. A compiled loss's gradients reach its leaves through the engine, which
runs their hooks. Registering a hook inside fn, or a hooked leaf reached only through a
function fn calls, is an error at trace time. A deep copy (or a pickle) of a compiled
function or module keeps no trace: it traces on its first call.
At each trace the compiled code is run against eager mode on other values of the same shapes
(the arguments' entries moved, then scaled), and a difference is an error at trace time;
compile(fn, check=True) compares with eager mode at every call. In-place changes of the
arguments inside fn (or of values autograd does not track), of any tensor made before the
trace (an EMA of the weights, p.data -= ..., a counter in a buffer; refused before the
change is made), ops with no source form (a custom autograd.Function), and a gradient taken
with create_graph=True inside fn through an op whose derivative selects by the values
(relu, clamp, where, max: a gradient penalty through a ReLU critic), are errors at trace
time; through smooth ops such a gradient compiles. Code that builds a mask from a
tensor's array (x.numpy() > 0) computes outside the ops, and the verification refuses it;
the same mask as a comparison (x > 0) is an op and compiles (every nn function is written so).
Indices are read at each call when ops make them: an argument, a column of one (i[:, 0]), an
integer cast (i.long()), argmax, sort, topk, max(dim) and one_hot; an index taken through
Python (i.tolist(), int(i[0])) is refused at trace time, as any Python number read from a
value of the program is. An op whose result's shape depends on the data
(x[mask] with a computed boolean mask, masked_select, nonzero, unique, bincount,
repeat_interleave by a tensor) is refused at trace time, by name: a program's shapes are its
trace's. Checks of the values that eager mode raises on (probabilities outside [0, 1], a
class target or an index out of range, an integer division by 0) are ops of the program
(tensor_api._check_values): a compiled call raises as eager mode does.
"""
import builtins
import copy
import dis
import functools
import inspect
import itertools
import math
import random
import re
import threading
import types
from collections import Counter, OrderedDict

import numpy as np

from .engine import HOOKED, STATE, Hooks, InPlace, Node, _next_index, enable_grad, no_grad
from .optable import Op
from .ops_tensor import max_pool2d_after_relu_vjp
from .fast import give_gradients, is_basic
from .random import default_generator
from .source import (SOURCE_ARRAY, SOURCE_SCALAR, Sym, Writer, _value_index, keep_buffers,
                     per_call_state, reuse_dead_arrays, write_forward, write_vjp)


class CompileError(RuntimeError):
    """fn cannot be compiled as it is (the message says why and what to do)."""


class Trace:
    """The ops of one run of fn applied to values that come from its arguments or require
    grad, in the order they ran: (result, op, ctx, inputs).

    A value is known by its recording index, not by its node: an in-place op on an
    intermediate (y += 1) moves y's old value to a new node with y's old index and makes y
    the result (Tensor._in_place), so the same node object stands for two values in turn."""

    def __init__(self, proxies, fn=None, args=()):
        self.fn = fn
        self.args = args                   # the arguments the proxies stand for
        self.root = None                   # the value fn called backward() on, if it did
        self.seed = None
        self.effects = []                  # [(what, replay, after the backward)]
        self.effect_results = {}           # id(value an effect returned) -> its effect
        self.stateful = {}                 # id(module) -> (module, its buffers before)
        self.modules = {}                  # id(module) -> every nn module fn called
        self.entries = []                  # [out, op, ctx, inputs, the inputs' indices]
        self.made = {}                     # recording index -> position in entries
        self.traced = {id(p) for p in proxies}
        # the arrays of the traced values: x.detach() (or x.data) is a new node on x's array,
        # which stands for x without its gradient, and ops on it are part of the program too
        # (a stop-gradient max, x + (q - x).detach())
        self.arrays = {id(p._data) for p in proxies if isinstance(p._data, np.ndarray)}
        self.keep = list(proxies)          # holds every traced object, so ids stay unique
        self.no_grad = set()               # recording indices of values made under no_grad()
        self.modes_set = set()             # id(module) of the modules whose mode fn sets
        self.outside = set()               # id of the arrays of tensors made before the trace
                                           # that recorded ops read (parameters, buffers)
        self.start = _next_index()

    def record(self, out, op, ctx, inputs):
        # an op is part of the program when it reads an argument, a value that requires grad,
        # a value the trace made, or a tensor made before the trace (a buffer such as
        # BatchNorm's running statistics, a batch refilled in place): those are read afresh
        # at each call; only values fn makes from nothing of these are constants
        for x in inputs:
            if x._index < self.start and id(x) not in self.traced:
                self.outside.add(id(x._data))
        for x in inputs:
            if self.reads(x):
                break
        else:
            # an op on constants whose ctx holds a traced value's array (eye(3)[labels], an
            # index_add of ones at the labels) is the program's too: a constant would be the
            # trace's labels
            if not any(id(a) in self.arrays for a in _arrays_in(ctx)) and (
                    inputs or not _draws(op, ctx)):
                return
        if op.name == "getitem" and any(a.dtype == bool and id(a) in self.arrays
                                        for a in _arrays_in(ctx)):
            self.refuse_data_shape("x[mask] with a boolean mask")
        for x in inputs:
            if id(x) in self.traced and x._version is not None and \
                    x._version.changed_at > x._index:
                what = "an argument" if x._index < self.start else (
                    "a value where autograd does not track it (nothing in the change requires "
                    "grad, or it is seen through a view)")
                raise CompileError(f"compile: the traced function changes {what} in place; "
                                   f"compiled code cannot replay that: change a copy instead")
        for x in inputs:
            k = self.made.get(x._index)
            if k is not None and self.entries[k][0] is not x:
                self.entries[k][0] = x         # the node that now holds that value's data
                self.traced.add(id(x))
                self.keep.append(x)
        self.made[out._index] = len(self.entries)
        self.traced.add(id(out))
        if isinstance(out._data, np.ndarray):
            self.arrays.add(id(out._data))
        self.keep.append(out)
        self.entries.append([out, op, ctx, inputs, tuple(x._index for x in inputs)])
        if not STATE.grad_enabled and op.vjps is not None:
            # computed under no_grad() (a target network's output): a value of the program,
            # through which no gradient flows, as in eager mode
            self.no_grad.add(out._index)

    def reads(self, x):
        """Whether an op on x is part of the program (see record): x comes from the
        arguments, requires grad, was made by a recorded op, is a traced value's array seen
        through another node, or was made before the trace."""
        return (id(x) in self.traced or x.requires_grad or x._index in self.made
                or x._index < self.start or id(x._data) in self.arrays)

    def number(self, x, what):
        """x read as a Python number, bool or list inside fn (x.item(), float(x), bool(x),
        x.tolist(), a Value compared): refused when x is a value of the program. The trace
        would read it once; compiled calls run no Python, so a branch on it would stay as
        traced and a log of it would stop."""
        if self.reads(x):
            raise CompileError(
                f"compile: {_name(self.fn)} reads a value it computes as a Python number "
                f"({what}) inside the compiled function; a trace reads it once, and compiled "
                f"calls do not run that Python again (a list of logged losses would stop "
                f"growing, a branch would stay as traced). Return the value from the compiled "
                f"function and read it outside; write a branch on the data with ops (where, "
                f"relu, clamp, maximum); or run it eagerly")

    def assigned(self, what, value):
        """`what` (a module's attribute) set to value inside fn: refused when value is an
        argument or a value the trace computed, which compiled calls would not set again."""
        if self.computed(value):
            raise CompileError(
                f"compile: {_name(self.fn)} sets {what} to a tensor computed inside the "
                f"compiled function; compiled calls run the generated code, not this Python, "
                f"so {what} would keep the trace's value. For running statistics use "
                f"nn.BatchNorm1d/2d or F.batch_norm, which update theirs at each call; "
                f"otherwise return the value from the compiled function, or set it outside it")

    def computed(self, x):
        """Whether x is an argument or a value fn computed (x.detach() of one too)."""
        return id(x) in self.traced or x._index in self.made or (
            x._index >= self.start and id(x._data) in self.arrays)

    def selects_by_data(self):
        """A VJP of a backward pass with create_graph=True inside fn chooses between values by
        a mask of the trace's data (relu, clamp, where, max, abs at 0...): the mask would be a
        constant of the program."""
        raise CompileError(
            f"compile: {_name(self.fn)} takes a gradient with create_graph=True through an op "
            f"whose derivative selects by the values (relu, leaky_relu, clamp, where, max, "
            f"pooling...); the compiled code would keep the trace's selection. Compute that "
            f"gradient (a gradient penalty) outside the compiled function, or through smooth "
            f"ops only (tanh, sigmoid, softplus)")

    def refuse_data_shape(self, what):
        """An op whose result's shape depends on the data (nonzero, x[mask]): a program's
        shapes are those of its trace."""
        raise CompileError(
            f"compile: {_name(self.fn)} calls {what} on values it computes from its arguments; "
            f"the result's shape depends on the data, and a compiled program's shapes are "
            f"fixed by its trace. Keep it outside the compiled function, or write it with a "
            f"fixed shape: where(mask, x, 0) or x * mask instead of x[mask], and a sum over "
            f"the mask (mask.sum()) for a count")

    def refuse(self, what, advice=None):
        """An effect that compiled code would not repeat (.grad written, parameters updated,
        gradients as plain arrays): it happens once, at the trace, and later calls would train
        on the trace's numbers. An error at trace time instead; `advice` replaces the general
        remedy when the caller knows a better one."""
        raise CompileError(
            f"compile: {_name(self.fn)} calls {what} inside the compiled function; a trace runs "
            f"it once, and the compiled code would not repeat it. " + (advice or
            "A compiled training step "
            "may call zero_grad(), loss.backward() once and the optimizer's step() after it, "
            "and return the loss; or compile the loss alone and call those outside: "
            "loss = step(x, y); loss.backward(); opt.step()"))

    def refuse_hook(self, kind):
        """Tensor.register_hook (kind "grad") or register_post_accumulate_grad_hook ("post")
        called inside fn: compiled code calls no Python hook."""
        name = "register_hook" if kind == "grad" else "register_post_accumulate_grad_hook"
        raise CompileError(
            f"compile: {_name(self.fn)} calls {name} inside the compiled function; compiled "
            f"code calls no Python hook, so it would run at the trace only. Register the hook "
            f"outside, on a parameter or an argument (a call whose leaves have hooks runs "
            f"eagerly, hooks included), or call {_name(self.fn)} without compiling it")

    def hooked(self, node):
        """The engine is about to run a tensor hook of node inside the trace: a leaf with
        hooks that the check before tracing did not see (reached through a function fn calls).
        Refused: the generated code would not call the hook."""
        raise CompileError(
            f"compile: {_name(self.fn)} reaches a tensor of shape {tuple(node._data.shape)} "
            f"with hooks (register_hook, register_post_accumulate_grad_hook) through code "
            f"other than its own names; compiled code calls no Python hook. Pass the model "
            f"(or the tensor) to the compiled function or name it in its code (a call whose "
            f"leaves have hooks then runs eagerly), remove the hooks, or call "
            f"{_name(self.fn)} without compiling it")

    def backward(self, root, seed, retain_graph, create_graph, take):
        """A backward pass inside fn (engine.run_backward tells). autograd.grad with
        create_graph records its VJPs as ops, which the trace keeps; a plain loss.backward()
        on a value of the trace makes fn a training step, whose compiled code runs the
        generated backward into .grad at each call; anything else is refused."""
        accumulates = take is root._keep_grad or take is getattr(root, "_keep_grad_graph", None)
        if not accumulates and create_graph:
            return
        if getattr(take, "returns_gradients", False):
            raise CompileError(
                f"compile: {_name(self.fn)} calls autograd.grad without create_graph=True "
                f"inside the compiled function; its gradients would be arrays of the trace, "
                f"constants of the program. Pass create_graph=True (its VJPs are then ops of "
                f"the program) and .detach() the gradients that eager code would not "
                f"differentiate through: the same values and gradients")
        if not accumulates or create_graph or retain_graph:
            self.refuse("backward() with inputs=, create_graph= or retain_graph=")
        if self.root is not None:
            self.refuse("backward() twice")
        if not isinstance(root._data, np.ndarray):
            self.refuse("backward() of a Value (a Value graph keeps .grad on every node)")
        if not self.is_traced(root) or not np.all(seed == 1):
            self.refuse("backward() of a value not computed inside it, or with gradient=")
        for a in self.args:
            if isinstance(a, Node) and a.requires_grad and a._op is not None:
                raise CompileError(_outside_graph(self.fn))
        self.root, self.seed = root, np.array(seed)

    def uses_module(self, module):
        """fn called module (nn.Module.__call__ tells): its training mode is part of what the
        trace assumes (dropout draws or not, BatchNorm's statistics)."""
        self.modules.setdefault(id(module), module)

    def changes_state_of(self, module):
        """An op of fn is about to change module's buffers (BatchNorm's running statistics):
        they are saved first, so that the checks after the trace can put them back."""
        if id(module) not in self.stateful:
            self.stateful[id(module)] = (module, _Buffers([module]))

    def run_effect(self, what, replay):
        """Record `replay` as an effect and run it now with the trace paused, so that what it
        calls (a chained scheduler's steps) is not recorded again."""
        self.effect(what, replay)
        prev, STATE.trace = STATE.trace, None
        try:
            result = replay()
        finally:
            STATE.trace = prev
        if isinstance(result, Node):
            # a value the effect returns (clip_grad_norm_'s total norm): fn may return it, and
            # each compiled call returns the one its own call of the effect gives
            self.effect_results[id(result)] = len(self.effects) - 1
            self.keep.append(result)
        return result

    def written(self, x):
        """x is changed in place inside fn: refused when x is a tensor made before the trace
        (an EMA of the weights, a counter in a buffer, p.data -= ...), a change the compiled
        code would not repeat; a value fn makes may change (y[mask] = 0), and an argument's
        change is refused when the trace ends."""
        data = x._data
        base = data.base if isinstance(data, np.ndarray) and data.base is not None else data
        outside = id(data) in self.outside or id(base) in self.outside   # a view of one too
        if outside or (x._index < self.start and id(x) not in self.traced):
            self.refuse("an in-place change of a tensor made outside it (an EMA of the "
                        "weights, a counter kept in a buffer, p.data -= ...)")

    def set_mode(self, module, mode):
        """module.train(mode) inside fn: run now and at each call; the modes it sets are fn's
        own, so the program does not guard them (a step that opens with model.train() is
        not traced again when an evaluation left the model in eval mode)."""
        self.modes_set.update(id(m) for m in module.modules())
        self.run_effect(f"{type(module).__name__}.train({mode})",
                        functools.partial(module.train, mode))

    def effect(self, what, replay):
        """zero_grad() or an optimizer's step() inside fn: the compiled code calls `replay`
        at each call, in the same place relative to the backward. A step reads the gradients
        of fn's own backward(), so it must come after it."""
        if what.endswith("step()") and self.root is None:
            self.refuse(f"{what} before backward() (or without one)")
        self.effects.append((what, replay, self.root is not None))

    def finish(self, outs):
        """The entries as (out, op, ctx, inputs) with each value's node resolved, and the
        nodes of fn's outputs."""
        node_of = {index: self.entries[k][0] for index, k in self.made.items()}
        entries = [(o, op, ctx, tuple(node_of.get(i, x) for x, i in zip(ins, keys)))
                   for o, op, ctx, ins, keys in self.entries]
        return entries, [node_of.get(o._index, o) for o in outs]

    def is_traced(self, node):
        return id(node) in self.traced


class _ProgramOp(Op):
    """The row of a compiled call: one VJP per input, as every row has (the first that a
    backward pass asks for runs the generated backward), and `gradients`, all of them from one
    run, which fast.py's backward takes when the call is all there is to differentiate."""
    __slots__ = ("program",)

    def __init__(self, program, name, **fields):
        super().__init__(name, **fields)
        self.program = program

    def gradients(self, ctx, g):
        """The gradient of every input (None where none is needed), as a list the caller may
        empty: each array is then held by its new owner only."""
        return list(self.program.backward(ctx, g))


class _Call:
    """ctx of one call of a compiled node: what the forward saved for the backward, and the
    gradients of one run of the generated backward, input index -> gradient, each removed
    as the engine takes it; `extra`, the outputs without a gradient of a structured output;
    `backward_reads`, the inputs and output its backward reads (Op.reads asks)."""
    __slots__ = ("saved", "grads", "extra", "backward_reads")

    def __init__(self, backward_reads=True):
        self.saved = None
        self.grads = {}
        self.extra = ()
        self.backward_reads = backward_reads


class Program:
    """One trace, written out and ready to run: `source` is its code."""

    def __init__(self, fn, args, names):
        self.fn = fn
        proxies = [_proxy(a) for a in args if _is_traced_arg(a)]
        self._trace(fn, args, proxies)
        self._write(names)
        for proxy, name in zip(proxies, names):     # the drawing of .graph names arguments
            proxy.label = proxy.label or name
        # the trace's graph is not needed to run the code: let it go (a Value program's trace
        # is some 250,000 objects, which every full garbage collection would walk)
        self.ops = [op for _, op, _, _ in self.entries]     # the rows, one per line
        del self.entries, self.out, self.outputs, self.constants, self.aliases

    # ------------------------------------------------------------------ tracing
    def _trace(self, fn, args, proxies):
        it = iter(proxies)
        call_args = [next(it) if _is_traced_arg(a) else a for a in args]
        self.call_args = call_args          # for Compiled.graph
        _refuse_assignments(fn)
        trace = Trace(proxies, fn, args)
        drawn = _python_draws()
        prev, STATE.trace = STATE.trace, trace
        try:
            out = fn(*call_args)            # in the caller's grad mode, part of the key
        finally:
            STATE.trace = prev
        if _python_draws() != drawn:
            raise CompileError(
                f"compile: {_name(fn)} draws random numbers from Python's random module or "
                f"numpy's global np.random while it is traced; compiled calls would repeat the "
                f"trace's draws. Draw them outside and pass them as arguments (another value "
                f"of a Python number argument traces again), or use autograd.rand / "
                f"autograd.randn, which compiled code draws at each call")
        multiple = isinstance(out, (tuple, list)) and trace.root is not None
        outs = list(out) if multiple else [out]
        # a function (not a step) returning tensors in tuples and lists (logits and loss; an
        # LSTM's output, (h, c)): one node whose value holds those that take a gradient, end to
        # end, and the others beside it; each call returns them in fn's structure
        self.rebuild = None
        if trace.root is None and isinstance(out, (tuple, list)):
            outs, self.rebuild = _flatten_outputs(out)
            if not outs or any(isinstance(o, Node) and not isinstance(o._data, np.ndarray)
                               for o in outs):
                raise CompileError(
                    f"compile: {_name(fn)} must return a Tensor, tensors in tuples and lists, "
                    f"or a Value (one), got {type(out).__name__} "
                    f"{'of Values' if outs else 'without a tensor'}")
        for o in outs:
            if not isinstance(o, Node):
                raise CompileError(
                    f"compile: {_name(fn)} must return a Tensor, tensors in tuples and lists, "
                    f"or a Value (a training step: its loss, or a tuple of tensors), got "
                    f"{type(o).__name__}{'' if o is out else ' in a ' + type(out).__name__}")
        out = outs[0]
        self.draws_after_trace = default_generator.get_state()
        self.stateful = [m for m, _ in trace.stateful.values()]
        self.no_grad = trace.no_grad
        # another training mode of a module fn called (model.eval()) traces again, and so
        # does a parameter, buffer or child of one replaced, added or removed (its
        # registries count their changes in `_structure`)
        self.modules = list(trace.modules.values())
        self.modes = [(None if id(m) in trace.modes_set else m.training, m._structure,
                       m._structure[0]) for m in self.modules]
        self.module_changes = STATE.module_changes
        self.module_attributes = []         # set by Compiled._trace, once fn has run
        # Python numbers fn reads from its closure or its globals (a KL weight annealed over
        # epochs) are constants of the code: another value traces again; so does another
        # object bound to a name fn reads (a new model or optimizer)
        self.reads = _python_reads(fn)
        self.buffers_before_trace = [saved for _, saved in trace.stateful.values()]
        self.buffers_after_trace = [_Buffers(self.stateful)]
        self.kind = out._kind
        self.scalar = self.kind._forward_name == "float"
        # a training step: fn called backward() on its loss (and zero_grad(), an optimizer's
        # step()): the program's backward runs at each call, its gradients go to .grad, and
        # the effects are called again around it, in their order
        self.replays = [(replay, after) for _, replay, after in trace.effects]
        self.before = [replay for replay, after in self.replays if not after]
        self.after = [replay for replay, after in self.replays if after]
        self.seed = trace.seed
        self.is_step = trace.root is not None
        # fn computed its output under no_grad() (an evaluation): so does each call
        self.differentiable = self.is_step or any(o.requires_grad for o in outs)
        # what a call returns: one value, or a training step's tuple (a constant each)
        self.multiple = multiple
        # fn's outputs that an effect returned (clip_grad_norm_'s norm), by their position:
        # each call returns that call's value, in the place of the k-th effect after backward
        after = [k for k, (_, _, is_after) in enumerate(trace.effects) if is_after]
        self.from_effects = {i: after.index(trace.effect_results[id(o)])
                             for i, o in enumerate(outs) if id(o) in trace.effect_results
                             and trace.effect_results[id(o)] in after}
        if self.is_step:
            # the backward's root need not be returned (d2l: l.mean().backward(); return l)
            out = trace.root
            self.first_outputs = [np.array(o._data) for o in outs]
            self.n_outputs = len(outs)
            outs = [o for i, o in enumerate(outs) if i not in self.from_effects]
        for p in proxies:
            if p._kind is not self.kind:
                raise CompileError(f"compile: {_name(fn)} mixes Values and Tensors")
        for p in proxies:
            if p._version is not None and p._version.changed_at >= trace.start:
                raise CompileError(f"compile: {_name(fn)} changes an argument in place; "
                                   f"compiled code cannot replay that: change a copy instead")
        where = _left_behind(fn, trace)
        if where is not None:
            raise CompileError(
                f"compile: {_name(fn)} leaves a tensor it computes in {where}; compiled calls "
                f"run the generated code, not fn's Python, so {where} would keep the trace's "
                f"value (a hand-written running mean, a list of logged losses). Return the "
                f"value from the compiled function and store it outside; running statistics: "
                f"nn.BatchNorm1d/2d or F.batch_norm, which update theirs at each call")
        entries, resolved = trace.finish([out] + outs)
        out, outs = resolved[0], resolved[1:]
        self.proxies, self.out, self.outputs = proxies, out, outs
        made = {id(o): k for k, (o, _, _, _) in enumerate(entries)}
        # x.detach() and x.data inside fn are new nodes on the array of a traced value: they
        # stand for that value (with no gradient), not for a constant of the trace
        traced = list(proxies) + [o for o, _, _, _ in entries]
        self.aliases = {}
        for ins in [(out,), tuple(outs)] + [e[3] for e in entries]:
            for x in ins:
                if id(x) not in made and x._op is not None and x._index >= trace.start:
                    raise CompileError(
                        f"compile: '{x._op.name}' inside {_name(fn)} is recorded outside "
                        f"tapegrad's ops (a custom autograd.Function), so it has no source "
                        f"form: call it outside the compiled function")
                if id(x) not in made and not trace.is_traced(x) and x._index >= trace.start:
                    source = _same_array(x, traced)
                    if source is not None:
                        self.aliases[id(x)] = source
        # the output's ops, and those that change a module's state (with what they read)
        roots = [out] + outs + [o for o, op, ctx, _ in entries if _changes_state(op, ctx)]
        # an op's ctx may hold another traced value's array (x[i[:, 0]]: the index, read at
        # each call): that value's op is needed too, as its inputs are
        by_array = {id(o._data): o for o, _, _, _ in entries if isinstance(o._data, np.ndarray)}
        keep, stack, seen = [], list(roots), {id(o) for o in roots}
        while stack:                          # the entries the output depends on
            node = stack.pop()
            node = self.aliases.get(id(node), node)
            k = made.get(id(node))
            if k is None:
                continue
            keep.append(k)
            read = list(entries[k][3]) + [by_array[id(a)] for a in _arrays_in(entries[k][2])
                                          if id(a) in by_array]
            for x in read:
                if id(x) not in seen:
                    seen.add(id(x))
                    stack.append(x)
        self.entries = [entries[k] for k in sorted(set(keep))]
        produced = {id(e[0]) for e in self.entries}
        proxy_ids = {id(p) for p in proxies}
        self.free, self.constants, seen = [], [], set()
        self.made_inside = set()
        for _, _, _, ins in self.entries:
            for x in ins:
                if id(x) in produced or id(x) in proxy_ids or id(x) in seen or \
                        id(x) in self.aliases:
                    continue
                seen.add(id(x))
                if x.requires_grad or x._index < trace.start:
                    self.free.append(x)     # parameters and outside values: read each call
                    if x._index >= trace.start:
                        # made by fn, and requiring grad: a lazy module's new parameter, or
                        # a Value(2.0) inside fn (eager makes a new one at every call, and
                        # its gradient goes nowhere); read each call, as parameters are
                        self.made_inside.add(id(x))
                else:
                    self.constants.append(x)    # made by fn from no argument: fixed
        # what the program assumes of the leaves it reads afresh: another shape, dtype or
        # requires_grad (p.data = ..., model.double(), p.requires_grad_(False)) retraces
        self.free_key = [_leaf_key(x) for x in self.free]
        reads = {id(x) for _, _, _, ins in self.entries for x in ins}
        if id(out) not in proxy_ids and not any(id(p) in reads for p in proxies) and \
                not any(x.requires_grad for x in self.free) and \
                not any(a in reads for a in self.aliases):
            raise CompileError(f"compile: the output of {_name(fn)} does not depend on its "
                               f"arguments or on any tensor that requires grad")
        if self.is_step:
            for x in self.free:
                if x.requires_grad and x._op is not None:
                    raise CompileError(_outside_graph(fn))

    # ------------------------------------------------------------------ writing
    def _write(self, names):
        ns = {"np": np}
        fw = Writer(ns, taken=("ctx", "g", "np"))
        inputs = self.proxies + self.free
        parameter_names = _parameter_names(self.fn)
        input_names = [fw.claim(_identifier(n)) for n in names] + [
            fw.claim(_leaf_name(x, k, parameter_names)) for k, x in enumerate(self.free)]
        sym = {}
        for x, name in zip(inputs, input_names):
            sym[id(x)] = Sym(fw, name, x._data)
            fw.protected.append(x._data)
        aliases_of = {}                     # x.detach() of a value: the value's variable
        for alias, source in self.aliases.items():
            aliases_of.setdefault(id(source), []).append(alias)
            if id(source) in sym:
                sym[alias] = sym[id(source)]
        arrays = {}                         # a traced value's array, as a ctx may hold it
        for x in inputs:
            if isinstance(x._data, np.ndarray):
                arrays[id(x._data)] = sym[id(x)]
        for k, c in enumerate(self.constants):
            text = fw.render(c._data)           # a literal when it has one: 2.0, np.float32(1.0)
            if text not in fw.namespace or fw.namespace[text] is not c._data:
                if not (isinstance(c._data, float) or text.startswith("np.")):
                    text = fw.constant(c._data, stem=_const_stem(c, k))
            sym[id(c)] = Sym(fw, text, c._data)
        # a transposed matrix that several matrix products take as their right operand (an
        # LSTM's W_hh^T, read at every time step; W_ih^T, read by a stack of 50 products) is
        # copied to C order once, for the forward only: OpenBLAS multiplies by a C-ordered right
        # operand about twice as fast (32x64 @ 64x256: 10 us against 20 us; (50, 32, 16) @
        # (16, 256): 135 us against 245). The backward reads the transpose itself, whose .mT is
        # C-ordered.
        right_uses = Counter()
        for _, op, _, ins in self.entries:
            if op.name == "matmul" and _f_ordered(ins[1]._data):
                right_uses[id(ins[1])] += int(np.prod(np.shape(ins[0]._data)[:-2]))
        c_ordered = {}                      # id(node) -> its C-ordered copy, a variable
        # forward: one line per op
        state = {}                          # entry -> its per-call ctx, a variable
        for k, (out, op, ctx, ins) in enumerate(self.entries):
            fw.comment(_forward_comment(op))
            name = _value_name(out, k)
            if not self.scalar:
                state[k] = per_call_state(fw, ctx, f"ctx_{name}")
            if state.get(k) is None:
                # an index array in ctx that is an argument's array (x[idx]): read at each call
                ctx = _ctx_reading(ctx, arrays)
                if ctx is not self.entries[k][2]:
                    state[k] = ctx
            args = [sym[id(x)] for x in ins]
            if op.name == "matmul" and right_uses[id(ins[1])] > 1:
                if id(ins[1]) not in c_ordered:
                    b = args[1]
                    fw.comment(f"{fw.render(b)} copied to C order once: {right_uses[id(ins[1])]} "
                               f"matrix products read it")
                    c_ordered[id(ins[1])] = fw.assign(
                        f"np.ascontiguousarray({fw.render(b)})", np.ascontiguousarray(b.value),
                        name=f"{b.text}_c" if b.text.isidentifier() else None)
                args[1] = c_ordered[id(ins[1])]
            if not ins:
                # a draw that reads nothing (autograd.randn(64, 8) inside fn): called anew at
                # each call, as eager code draws anew
                function, keywords = ctx
                value = fw.assign(fw.call_text(fw.function_name(function), [], keywords),
                                  out._data, cse=False)
            else:
                value = write_forward(op, ctx if state.get(k) is None else state[k], args,
                                      scalar=self.scalar)
            sym[id(out)] = fw.materialize(value, name=name)
            for alias in aliases_of.get(id(out), ()):
                sym[alias] = sym[id(out)]
            if isinstance(out._data, np.ndarray):
                arrays.setdefault(id(out._data), sym[id(out)])
        results = []
        for o in self.outputs:
            if id(o) not in sym:
                raise CompileError(f"compile: {_name(self.fn)} returns a value that is computed "
                                   f"from none of its arguments and parameters")
            results.append(sym[id(o)])
        if self.rebuild is not None:
            packed = self._pack(results)
        # backward: the chain rule, last op first
        needs = {id(x): x.requires_grad for x in inputs}
        for out, op, ctx, ins in self.entries:
            needs[id(out)] = op.vjps is not None and out._index not in self.no_grad and any(
                needs.get(id(x), False) for x in ins)
        bw = Writer(ns, taken=set(fw.taken))
        bw.share(fw)
        xp = SOURCE_SCALAR if self.scalar else SOURCE_ARRAY
        rebound = {key: Sym(bw, s.text, s.value) for key, s in sym.items()}
        if self.rebuild is None:
            seed = self.out._data
            grads = {id(self.out): Sym(bw, "g", seed)}
        else:
            # g holds the gradients of the outputs that take one, end to end, as the forward
            # returned them: each output's gradient is its slice, in its shape
            seed = np.zeros(self.layout_size, dtype=self.layout_dtype)
            grads = {}
            for o, (kind, a, b, shape) in zip(self.outputs, self.layout):
                if kind == "packed":
                    piece = Sym(bw, f"g[{a}:{b}].reshape({shape!r})", seed[a:b].reshape(shape))
                    grads[id(o)] = piece if id(o) not in grads else Sym(
                        bw, f"{grads[id(o)].text} + {piece.text}", piece.value * 2)
        # x's gradient buffer while terms are added into it in place, by id(x): its own, never
        # one a VJP passed on from another node (an add's g_a = g, which that node may still
        # read)
        accumulators = {}
        folded = _relus_before_max_pools(self.entries, [self.out] + self.outputs) \
            if not self.scalar else set()
        for k in range(len(self.entries) - 1, -1, -1):
            out, op, ctx, ins = self.entries[k]
            if state.get(k) is not None:
                ctx = _rebind(bw, state[k])
            g = grads.pop(id(out), None)
            if g is None or not needs[id(out)]:
                continue
            name = rebound[id(out)].text
            g = bw.materialize(g, name=f"g_{name}")
            if id(out) in folded:
                # relu's mask, already applied before the max-pool: its gradient passes as is
                bw.comment("relu: its mask applied above, with the max-pool's gradient")
                grads[id(ins[0])] = g
                continue
            if op.name == "max_pool2d" and id(ins[0]) in folded:
                # The relu before this max-pool: each window's gradient goes to its maximum,
                # an entry of relu's output, and relu's mask there is (maximum != 0): the
                # windows whose maximum is 0 take nothing, and relu's VJP is then the
                # identity (ops_tensor.max_pool2d_after_relu_vjp; the same numbers)
                bw.comment("max_pool2d and relu's mask: to each window's first maximum if not 0")
                x = ins[0]
                fname = bw.constant(max_pool2d_after_relu_vjp, stem="max_pool2d_after_relu_vjp")
                grads[id(x)] = bw.call(fname, [g, rebound[id(out)], ctx, rebound[id(x)]], {},
                                       max_pool2d_after_relu_vjp(g.value, out._data, ctx,
                                                                 x._data))
                continue
            bw.comment(_backward_comment(op))
            ins_sym = [rebound[id(x)] for x in ins]
            for i, x in enumerate(ins):
                if not needs.get(id(x), False):
                    continue
                if op.name == "getitem" and not self.scalar and is_basic(ctx):
                    # g added into its slice of x's gradient, as SparseGrad does in eager
                    # mode: one buffer for all the slices (the time steps of a sequence)
                    total = grads.get(id(x))
                    own = total is not None and accumulators.get(id(x)) == total.text
                    total = _add_at(bw, total, own, ctx, g, rebound[id(x)])
                    grads[id(x)] = total
                    accumulators[id(x)] = total.text
                    continue
                # the chain rule: d out/d x times g, summed back over broadcast axes
                c = write_vjp(op, i, xp, g, rebound[id(out)], ctx, ins_sym)
                c = xp.unbroadcast(c, rebound[id(x)])
                total = grads.get(id(x))
                if total is None:
                    grads[id(x)] = c
                elif accumulators.get(id(x)) == total.text:
                    # in place: the buffer is this gradient's own, and nothing reads it before
                    # its last term is in (written directly: Sym's += checks the whole program
                    # for readers of the buffer, quadratic in the program's length)
                    total.value += c.value
                    bw.line(f"{total.text} += {bw.render(c)}")
                    grads[id(x)] = total
                elif self.scalar or not isinstance(total.value, np.ndarray):
                    grads[id(x)] = total + c
                else:
                    # a variable at once, and later terms added in place: not one long sum at
                    # the end that keeps every term alive until then (an LSTM's W_hh gradient:
                    # 49 products of 64x256)
                    total = bw.materialize(total + c, name=f"g_{rebound[id(x)].text}")
                    # the sum's own new array (not when an earlier line computed the same sum:
                    # then it is that line's variable); a sum is no view of another value
                    if total.text in bw.owned and total.text not in bw.reused:
                        accumulators[id(x)] = total.text
                        bw.known.pop(bw.text_of.pop(total.text, None), None)    # it will change
                    grads[id(x)] = total
        returned = []
        for x in inputs:
            g = grads.get(id(x))
            returned.append(None if g is None else bw.materialize(
                g, name=f"g_{rebound[id(x)].text}"))
        self.needs = [needs[id(x)] for x in inputs]
        # the two functions
        bw_body = list(bw.lines)
        used = _names_in(bw_body)
        # only names travel from forward to backward: literals and namespace constants are
        # spelled the same in both functions
        saved = [name for name in dict.fromkeys(input_names + list(fw.assigned)) if name in used]
        self.backward_reads = _kept_for_backward(
            saved, dict(fw.value_of, **{n: x._data for n, x in zip(input_names, inputs)}),
            inputs, None if self.rebuild is not None or self.is_step else results[0].value)
        ret = ", ".join(r.text if r is not None else "None" for r in returned)
        fw_body = reuse_dead_arrays(fw.lines, fw, set(saved) | {r.text for r in results})
        bw_body = reuse_dead_arrays(bw_body, bw, {r.text for r in returned if r is not None},
                                    protect=[seed])      # g's stand-in
        if self.is_step and not self.scalar:
            fw_body, bw_body = keep_buffers(fw_body, bw_body, fw, bw, {r.text for r in (
                results + returned) if r is not None})
        fw_lines = [f"def forward(ctx, {', '.join(input_names)}):"] + [
            "    " + line for line in fw_body]
        if saved:
            fw_lines.append(f"    ctx.saved = ({', '.join(saved)},)")
        if self.rebuild is not None:
            fw_lines += ["    " + line for line in packed]
        else:
            fw_lines.append(f"    return {', '.join(r.text for r in results)}"
                            f"{',' if self.multiple and len(results) == 1 else ''}")
        bw_lines = ["def backward(ctx, g):"]
        if saved:
            bw_lines.append(f"    {', '.join(saved)}, = ctx.saved")
        bw_lines += ["    " + line for line in bw_body]
        bw_lines.append(f"    return ({ret}{',' if len(returned) == 1 else ''})")
        self.source = "\n".join(fw_lines) + "\n\n\n" + "\n".join(bw_lines) + "\n"
        code = builtins.compile(self.source, f"<compiled {_name(self.fn)}>", "exec")
        exec(code, ns)
        self.forward, self.backward, self.namespace = ns["forward"], ns["backward"], ns
        self.op = self._node_op(len(inputs))

    def _pack(self, results):
        """The forward's last lines for a structured output: the values that take a gradient
        raveled into one array (the node's value, whose slices are the outputs), the others
        in ctx.extra. Sets self.layout: per output ("packed", start, stop, shape) or
        ("extra", index, None, None)."""
        grad_outputs = [o for o in self.outputs if o.requires_grad]
        dtypes = sorted({str(o._data.dtype) for o in grad_outputs})
        if len(dtypes) > 1:
            raise CompileError(
                f"compile: {_name(self.fn)} returns tensors that require grad in different "
                f"dtypes ({', '.join(dtypes)}); compiled code returns them as one array: cast "
                f"them to one dtype, or compile the parts separately")
        self.layout, packed, extra, start = [], [], [], 0
        for o, r in zip(self.outputs, results):
            if o.requires_grad:
                size = int(np.size(o._data))
                self.layout.append(("packed", start, start + size, np.shape(o._data)))
                packed.append(f"np.ravel({r.text})")
                start += size
            else:
                self.layout.append(("extra", len(extra), None, None))
                extra.append(r.text)
        self.layout_size = start
        self.layout_dtype = grad_outputs[0]._data.dtype if grad_outputs else np.float32
        lines = [f"ctx.extra = ({', '.join(extra)},)"] if extra else []
        if packed:
            lines.append(f"return np.concatenate(({', '.join(packed)},))")
        else:
            lines.append(f"return np.empty(0, np.{np.dtype(self.layout_dtype).name})")
        return lines

    def _node_op(self, n):
        program = self

        def vjp_for(i):
            def vjp(xp, g, out, ctx, *ins):
                if isinstance(g, Node):
                    raise RuntimeError(
                        f"a compiled function ({_name(program.fn)}) cannot be differentiated "
                        f"twice: its backward is generated code, not recorded ops. Call the "
                        f"function itself (not compiled) under create_graph=True")
                if i not in ctx.grads:
                    # the first VJP a backward pass asks for runs the whole generated
                    # backward; a later pass (retain_graph) runs it again, with its own g
                    ctx.grads = dict(enumerate(program.backward(ctx, g)))
                # handed over, not kept: the leaf can adopt the array, and it is freed with it.
                # None where fn's output does not depend on the input through a gradient (x
                # detached inside fn): no gradient along this edge
                return ctx.grads.pop(i)
            return vjp
        forward = self.forward
        fields = dict(formula=f"the compiled code of {_name(self.fn)} (see .source)",
                      vjps=tuple(vjp_for(i) for i in range(n)), domains=None)
        if self.scalar:
            return _ProgramOp(self, f"compiled {_name(self.fn)}", scalar=forward, **fields)
        return _ProgramOp(self, f"compiled {_name(self.fn)}", array=forward, **fields)

    # ------------------------------------------------------------------ running
    def inputs_of(self, args):
        return [_as_input(a, self.kind) for a in args if _is_traced_arg(a)] + self.free

    def fits(self):
        """Whether the leaves read afresh still have the shapes, dtypes and requires_grad the
        trace saw, and the modules and numbers fn read are as they were."""
        if self.scalar:
            if not all(_leaf_key(x) == key for x, key in zip(self.free, self.free_key)):
                return False
        else:
            # the same comparison as _leaf_key's, in one loop: it runs at every call (6 leaves
            # of a small MLP: 2.1 -> 0.9 us)
            for x, (shape, dtype, requires_grad) in zip(self.free, self.free_key):
                data = x._data
                if data.shape != shape or data.dtype != dtype or \
                        x.requires_grad != requires_grad:
                    return False
        if STATE.module_changes != self.module_changes:
            # some module changed since this program last looked: one of its own?
            for m, (training, cell, count) in zip(self.modules, self.modes):
                if (training is not None and m.training is not training) or cell[0] != count:
                    return False
            for read, value in self.module_attributes:
                if not _same_value(read(), value):
                    return False
            self.module_changes = STATE.module_changes
        for read, value in self.reads:
            if not _same_value(read(), value):
                return False
        return True

    def run(self, args):
        if self.is_step:
            return self._run_step(args)
        for replay in self.before:          # zero_grad() inside a compiled loss
            replay()
        ctx = _Call(self.backward_reads)
        if not self.differentiable:
            with no_grad():
                out = self.kind._apply(self.op, ctx, *self.inputs_of(args))
        else:
            out = self.kind._apply(self.op, ctx, *self.inputs_of(args))
        if self.rebuild is None:
            return out
        # fn's structured output: slices of the node's value (their gradients flow back into
        # it), and the values without a gradient
        values = [out[a:b].reshape(shape) if kind == "packed" else
                  self.kind._node(ctx.extra[a]) for kind, a, b, shape in self.layout]
        return self.rebuild(values)

    def _run_step(self, args):
        """A training step: the generated forward and backward, the gradients added to .grad
        as backward() adds them (engine: Tensor._keep_grad), and zero_grad() and the
        optimizer's step() called where fn called them. Returns the loss, a constant (its
        graph was used and freed, as after eager backward())."""
        if STATE.trace is not None:
            STATE.trace.refuse(f"the compiled training step {_name(self.fn)}")
        if not STATE.grad_enabled:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               f"a grad_fn: the training step {_name(self.fn)} was called "
                               f"under no_grad()")
        # the arguments' arrays, then the free leaves' (parameters: leaves, fits() checked
        # their shapes). An array argument takes no gradient (its slot in `grads` is None),
        # so it stands in `leaves` as itself, not wrapped in a tensor
        leaves, arrays = [], []
        for a in args:
            if isinstance(a, Node):
                if a.requires_grad and a._op is not None:
                    raise RuntimeError(_outside_graph(self.fn))
                leaves.append(a)
                arrays.append(a._data)
            elif isinstance(a, np.ndarray):
                leaves.append(a)
                arrays.append(a)
        free = self.free
        leaves += free
        arrays += [x._data for x in free]
        for replay in self.before:       # zero_grad(): the old gradients go before the
            replay()                     # forward allocates
        ctx = _Call()
        outs = self.forward(ctx, *arrays)
        grads = list(self.backward(ctx, self.seed.copy()))
        del ctx
        give_gradients(leaves, grads, self.kind._keep_grad)
        values = [replay() for replay in self.after]
        if self.from_effects:
            return self._with_effect_values(outs, values)
        if self.multiple:
            return tuple(self.kind._node(o) for o in outs)
        return self.kind._node(outs)

    def _with_effect_values(self, outs, values):
        """fn's outputs: the generated forward's (outs), with the effects' values in their
        places."""
        made = iter(outs if self.multiple else [outs] if outs is not None else [])
        full = [values[self.from_effects[i]] if i in self.from_effects else
                self.kind._node(next(made)) for i in range(self.n_outputs)]
        return tuple(full) if self.multiple else full[0]


_NUMBER_TYPES = (bool, int, float)


def _module_attributes(modules):
    """[(read, value)] for each public attribute of a module fn called: its own (a number, a
    string, a tuple such as a Conv's padding, a function such as an activation, a tensor
    kept as a plain attribute), the numbers its class sets (a class default), and its
    forward hooks and pre-hooks (added or removed after the trace); training is guarded with
    the module's mode. Compared with _same_value."""
    attributes = []
    for m in modules:
        seen = {"training"}
        for name, value in m.__dict__.items():
            if name not in seen and not name.startswith("_"):
                seen.add(name)
                attributes.append((functools.partial(getattr, m, name, None), value))
        for owner in [vars(c) for c in type(m).__mro__ if c is not object]:
            for name, value in owner.items():
                if name not in seen and not name.startswith("_"):
                    seen.add(name)
                    if type(value) in _NUMBER_TYPES:
                        attributes.append((functools.partial(getattr, m, name, None),
                                           getattr(m, name)))
        attributes.append((functools.partial(_hooks_of, m), _hooks_of(m)))
    return attributes


def _hooks_of(module):
    """The hooks a module's call runs, in order, of each kind (forward pre-hooks and hooks,
    backward hooks and pre-hooks: a backward hook added after the trace traces again, which
    refuses it), or None."""
    table = module.__dict__.get("_hooks")
    if table is None:
        return None
    return tuple(tuple(hook for hook, _ in kind.values()) for kind in table.values())


def _same_value(now, value):
    """Whether a value read again is the traced one: the same object; or an equal number,
    string or tuple of them (-0.0 is not 0.0, a nan is a nan)."""
    if now is value:
        return True
    if type(now) is not type(value) and not (type(now) in _NUMBER_TYPES
                                             and type(value) in _NUMBER_TYPES):
        return False
    if isinstance(value, float) or isinstance(now, float):
        if now != now and value != value:
            return True
        return now == value and math.copysign(1.0, now) == math.copysign(1.0, value)
    if isinstance(value, tuple):
        return len(now) == len(value) and all(_same_value(a, b) for a, b in zip(now, value))
    if isinstance(value, (int, str, bytes, frozenset)):
        return now == value
    return False


def _python_reads(fn):
    """[(read, value)]: each object in fn's closure or among the globals its code names (not
    Python modules), with a function that reads it again, compared with _same_value: a
    number (bool, int, float) or string is a constant of the code, and another value traces
    again; any other object is compared by identity (`model, opt = get_model()` after
    compiling a step that reads them binds new ones, which the program traced on the old
    ones must not train). So is a value one level down that fn's code names: an attribute
    of such an object (args.temperature, a tensor H.w) or an item of a dict
    (cfg["temperature"]).
    The attributes of the modules fn calls are guarded by _module_attributes; values read
    deeper, or by functions fn calls, are not seen."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    roots = [(read, value) for _, read, value in _names_read(fn)
             if not isinstance(value, types.ModuleType)]
    reads = list(roots)
    keys = [c for c in code.co_consts if type(c) is str]
    for _, value in roots:
        if isinstance(value, dict):
            inside, names, get = value, keys, value.get
        elif isinstance(getattr(value, "__dict__", None), dict) and not isinstance(
                value, (type, types.FunctionType, types.MethodType, Node)):
            inside, names = vars(value), code.co_names
            get = functools.partial(_attribute_of, value)
        else:
            continue
        for name in names:
            if name in inside:
                reads.append((functools.partial(get, name), inside[name]))
    return reads


def _attribute_of(obj, name):
    return vars(obj).get(name)


def _names_read(fn):
    """[(name, read, value)] for each variable of an enclosing function fn reads (its closure's
    cells, not empty) and each global its code names, with a function that reads it again."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    names = []
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            names.append((name, functools.partial(getattr, cell, "cell_contents"),
                          cell.cell_contents))
        except ValueError:              # an empty cell
            continue
    globals_ = getattr(fn, "__globals__", {})
    names += [(name, functools.partial(globals_.get, name), globals_[name])
              for name in code.co_names if name in globals_]
    return names


def _flatten_outputs(out):
    """The tensors of a structured output (tuples and lists, nested, None allowed: an LSTM's
    (output, (h, c)), MultiheadAttention's (output, None)) in order, and a function that
    builds the same structure from new values in their places."""
    leaves = []

    def spec_of(o):
        if isinstance(o, (tuple, list)):
            return type(o), [spec_of(x) for x in o]
        if o is None:
            return None
        leaves.append(o)
        return len(leaves) - 1

    spec = spec_of(out)

    def rebuild(values, spec=spec):
        if spec is None:
            return None
        if isinstance(spec, int):
            return values[spec]
        kind, parts = spec
        items = [rebuild(values, part) for part in parts]
        return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a named tuple

    return leaves, rebuild


def _refuse_assignments(fn):
    """A CompileError if fn's own code assigns a global or a variable of an enclosing
    function (`global n; n += 1`): compiled calls do not run fn's Python."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    for ins in dis.get_instructions(code):
        if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL") or (
                ins.opname in ("STORE_DEREF", "DELETE_DEREF") and ins.argval in code.co_freevars):
            kind = "global" if "GLOBAL" in ins.opname else "nonlocal variable"
            raise CompileError(
                f"compile: {_name(fn)} assigns the {kind} '{ins.argval}'; compiled calls run "
                f"the generated code, not fn's Python, so the assignment would happen once, "
                f"at the trace. Return the value from the compiled function and assign it "
                f"outside")


_SCAN_LIMIT = 20000          # objects _left_behind looks at, at most (a few ms)
_NOT_SCANNED = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
                types.MethodType, np.ndarray, str, bytes, int, float, bool, complex)
_SIZED = (dict, list, tuple, set, frozenset)


def _left_behind(fn, trace):
    """Where fn left a value the trace computed, in the objects it reads from its closure
    and globals (up to 4 levels of attributes and items): "bn.running_mean", "losses[3]"; None
    when nowhere. A value stored there for later (a hand-written running statistic, a log)
    would be the trace's forever."""
    stack = [(name, value, 0) for name, _, value in _names_read(fn)]
    seen, count = set(), 0
    while stack and count < _SCAN_LIMIT:
        where, value, depth = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        count += 1
        if not isinstance(where, str):
            parent, form, key = where       # the place's name, made when it is looked at
            where = form.format(parent, key)
        if isinstance(value, Node):
            if trace.computed(value):
                return where
            continue
        if depth == 4 or isinstance(value, _NOT_SCANNED):
            continue
        if isinstance(value, dict):
            items, form = value.items(), "{}[{!r}]"
        elif isinstance(value, (list, tuple, set, frozenset)):
            items, form = enumerate(value), "{}[{}]"
        else:
            attributes = getattr(value, "__dict__", None)
            if not isinstance(attributes, dict):
                continue
            items, form = attributes.items(), "{}.{}"
        # the last items, looked at first (a log appended to), and no more than the limit
        skip = max(0, len(value if isinstance(value, _SIZED) else attributes) - _SCAN_LIMIT)
        stack += [((where, form, k), v, depth + 1)
                  for k, v in itertools.islice(items, skip, None)]
    return None


def _python_draws():
    """The states of Python's random module and of numpy's global generator: a trace that
    changes them drew numbers that compiled code would not draw again."""
    state = np.random.get_state(legacy=False)
    return random.getstate(), state["state"]["key"].tobytes(), state["state"]["pos"], \
        state["has_gauss"], state["gauss"]


def _outside_graph(fn):
    return (f"compile: the training step {_name(fn)} reads a tensor that requires grad and was "
            f"computed outside it; its backward() would go on through that graph, which the "
            f"compiled code does not hold: pass a leaf (x.detach()), or compile the loss alone")


def _relus_before_max_pools(entries, outs):
    """id of each relu result whose only reader is a max_pool2d (and that is not an output):
    the relus whose mask the backward applies to the max-pool's smaller gradient."""
    returned = {id(o) for o in outs}
    readers = Counter(id(x) for _, _, _, ins in entries for x in ins)
    relus = {id(o) for o, op, _, _ in entries if op.name == "relu"}
    return {id(ins[0]) for _, op, _, ins in entries
            if op.name == "max_pool2d" and id(ins[0]) in relus and readers[id(ins[0])] == 1
            and id(ins[0]) not in returned}


def _leaf_key(x):
    return (np.shape(x._data), getattr(x._data, "dtype", None), x.requires_grad)


def _f_ordered(a):
    """Whether a is a matrix in Fortran order only (a transposed C-ordered one)."""
    return isinstance(a, np.ndarray) and a.ndim == 2 and not a.flags.c_contiguous and \
        a.flags.f_contiguous


def _same_array(x, traced):
    """The traced node, recorded before x, whose array x's array is, or None."""
    found = None
    for node in traced:
        if node._data is x._data and node._index < x._index:
            if found is None or node._index > found._index:
                found = node
    return found


def _draws(op, ctx):
    """Whether op is the numpy row calling a function that draws random numbers."""
    return op.name == "numpy" and getattr(ctx[0], "draws_random_numbers", False)


def _arrays_in(ctx):
    """The numpy arrays in a ctx (an index: an array, or a tuple of arrays, slices, ints)."""
    if isinstance(ctx, np.ndarray):
        return [ctx]
    if type(ctx) is tuple:
        return [a for c in ctx for a in _arrays_in(c)]
    return []


def _ctx_reading(ctx, arrays):
    """ctx with each array that is a traced value's array replaced by that value's Sym."""
    if isinstance(ctx, np.ndarray):
        return arrays.get(id(ctx), ctx)
    if type(ctx) is tuple:
        parts = tuple(_ctx_reading(c, arrays) for c in ctx)
        if any(a is not b for a, b in zip(parts, ctx)):
            return parts
    return ctx


def _rebind(writer, ctx):
    """A ctx of the forward's Syms as the backward's (the same names, the same values)."""
    if isinstance(ctx, Sym):
        return Sym(writer, ctx.text, ctx.value)
    if type(ctx) is tuple:
        return tuple(_rebind(writer, c) for c in ctx)
    return ctx


def _add_at(writer, total, own, index, g, x):
    """x's gradient with g added at a basic index: a buffer of x's shape, zeros (or a copy
    of the dense total so far) the first time (own: total is not yet x's buffer), then
    `buffer[index] += g` for each slice."""
    if not own:
        shape, dtype = x.value.shape, x.value.dtype
        value = np.zeros(shape, dtype) if total is None else np.array(total.value, dtype)
        text = (f"np.zeros({shape!r}, {writer.render(dtype)})" if total is None else
                f"np.array({writer.render(total)}, {writer.render(dtype)})")
        total = writer.assign(text, value, name=f"g_{x.text}", cse=False)
    total.value[_value_index(index)] += g.value
    writer.line(f"{total.text}[{writer.render_index(index)}] += {writer.render(g)}")
    return total


def _forward_comment(op):
    """`# tanh: tanh a`: the op and its formula, up to the derivative part."""
    return _short(f"{op.name}: {op.formula.split(';')[0]}")


def _backward_comment(op):
    """`# tanh: d/da = 1 - tanh^2 a`: the op and the derivative part of its formula."""
    parts = op.formula.split(";")
    derivative = next((p.strip() for p in parts[1:] if p.strip().startswith("d")), parts[0])
    return _short(f"{op.name}: {derivative}")


def _short(text, width=88):
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def _names_in(lines):
    """The names a block of code reads (identifiers not after a dot), comments left out."""
    code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    return set(re.findall(r"(?<![\w.])[A-Za-z_]\w*", code))


_TRACING = threading.RLock()     # re-entered: a check runs fn, which may trace another


class _WithOptions:
    """fn with keyword options (a compiled call's keyword-only arguments): called as
    fn(*args, **options), and read as fn (its code, globals, closure and name)."""

    def __init__(self, fn, options):
        self.fn, self.options = fn, options

    def __call__(self, *args):
        return self.fn(*args, **self.options)

    def __getattr__(self, name):
        return getattr(self.fn, name)


class Compiled:
    """A compiled function: call it like fn. `source` is the code of its latest trace."""

    def __init__(self, fn, check=False, cache_size=8):
        self.fn, self.check, self.cache_size = fn, check, cache_size
        self._programs = OrderedDict()      # argument key -> the program used last
        self._others = {}                   # argument key -> other programs that fit then
        self._last = None
        functools.update_wrapper(self, fn, updated=())     # its name and doc, not its dict
        # a module's arguments are its forward's
        target = fn.forward if hasattr(fn, "_compiled_module") else fn
        try:
            self._signature = inspect.signature(target)
            params = list(self._signature.parameters.values())
        except (TypeError, ValueError):
            self._signature, params = None, []
        self._param_names = [p.name for p in params
                             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    @property
    def source(self):
        if self._last is None:
            raise RuntimeError("compile: nothing traced yet: call the compiled function once")
        return self._last.source

    @property
    def graph(self):
        """fn run again, eagerly, on the arguments of the latest trace: its output with the
        graph of ops it is computed from, i.e. the compiled node expanded. draw_graph(loss)
        draws a compiled call as one box; draw_graph(step.graph, model=model) draws what it
        does, op by op (the arguments are the trace's stand-ins, labelled with their
        parameter names; a model's parameters are the model's own)."""
        if self._last is None:
            raise RuntimeError("compile: nothing traced yet: call the compiled function once")
        if self._last.is_step:
            raise RuntimeError(f"compile: {_name(self.fn)} is a training step: running it "
                               f"again to draw it would take a step; draw the loss function "
                               f"it calls backward() on instead")
        with enable_grad():
            return self._last.fn(*self._last.call_args)

    def __getstate__(self):
        """copy.deepcopy and pickle: fn and the options, without the programs traced (their
        generated code holds modules and the trace's arrays); a copy traces on first call,
        and a copied compiled module compiles the copied model (a DQN's target network)."""
        state = dict(self.__dict__)
        state["_programs"], state["_others"], state["_last"] = OrderedDict(), {}, None
        return state

    def __get__(self, obj, objtype=None):
        """@autograd.compile on a method: bound to the instance, which is then fn's first
        argument (not a tensor: each instance traces its own program)."""
        if obj is None:
            return self
        return types.MethodType(self, obj)

    def __call__(self, *args, **kwargs):
        if STATE.trace is not None:
            # called while another function is traced: fn's ops are recorded there, as if fn
            # were not compiled (the outer program is one piece of code)
            return self.fn(*args, **kwargs)
        fn, options = self.fn, {}
        if kwargs:
            args, options = self._positional(args, kwargs)
            if options:
                # keyword-only options (forward(x, *, scale=1.0)): constants of the trace,
                # part of its key as non-tensor arguments are
                fn = _WithOptions(self.fn, options)
        # grad mode is part of the key: fn may branch on it (is_grad_enabled()), and a trace
        # under no_grad() computes no gradient
        key = tuple(map(_key, args)) + tuple(_key(("keyword", name, value))
                                             for name, value in options.items()) + (
            STATE.grad_enabled,)
        program = self._programs.get(key)
        if HOOKED and _hooks_on_leaves(program, fn, args):
            # their hooks run as in eager mode: a trace would run them at its own runs and
            # checks, and a training step's code gives .grad its gradients past them
            return _eager(fn, args)
        if program is None or not program.fits():
            # another trace of these argument types may fit (the model in eval mode)
            other = None if program is None else next(
                (p for p in self._others.get(key, ()) if p.fits()), None)
            if other is not None:
                self._others[key].remove(other)
                self._others[key].append(program)
                self._programs[key] = program = other
                self._programs.move_to_end(key)
            else:
                program = self._trace(fn, args, key)
                self._last = program
                if program.is_step:
                    return self._first_step(program, args)
        elif program is not self._last:
            self._programs.move_to_end(key)     # the cache keeps the programs used last
        self._last = program
        if STATE.anomaly and program.is_step:
            # anomaly mode names the op whose backward made a nan, before the optimizer's
            # step: the generated code has no ops to name, so the step runs eagerly
            return _eager(fn, args)
        if self.check and program.is_step:
            return _compare_step(program.fn, program, args, "check=True")
        if self.check:
            return _compare(program.fn, program, args, "check=True")
        return program.run(args)

    def _positional(self, args, kwargs):
        """(args, options): keyword arguments as the positional ones they name (a trace takes
        positional arguments: step(x, y=y) is step(x, y)), and the others (keyword-only,
        **kwargs), which must not be tensors, as a dict."""
        params = self._signature.parameters if self._signature is not None else {}
        positional = {k: v for k, v in kwargs.items() if k in params and params[k].kind
                      is inspect.Parameter.POSITIONAL_OR_KEYWORD}
        options = {k: v for k, v in kwargs.items() if k not in positional}
        if params and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            for k in options:
                if k not in params:         # Python's own error, before any trace
                    raise TypeError(f"{_name(self.fn)}() got an unexpected keyword argument "
                                    f"'{k}'")
        tensors = sorted(k for k, v in options.items() if _is_traced_arg(v))
        if tensors:
            raise TypeError(f"compile: {_name(self.fn)} takes its tensors as positional "
                            f"arguments; got the tensors {tensors} as keyword-only ones: "
                            f"make them positional parameters")
        if self._signature is None:
            return args, options
        bound = self._signature.bind_partial(*args, **positional)
        for name, p in params.items():
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name not in \
                    bound.arguments and p.default is not inspect.Parameter.empty:
                bound.arguments[name] = p.default
        return bound.args, options

    @staticmethod
    def _first_step(program, args):
        """The loss of a training step's trace: that run of fn was this call (its step
        taken), except that the backward gave the arguments' stand-ins their gradients."""
        traced = [a for a in args if _is_traced_arg(a)]
        for a, proxy in zip(traced, program.proxies):
            if proxy._grad is not None and isinstance(a, Node) and a.requires_grad:
                a._keep_grad(a, proxy._grad._data)
            proxy._grad = None
        outs, program.first_outputs = program.first_outputs, None
        if program.multiple:
            return tuple(program.kind._node(o) for o in outs)
        return program.kind._node(outs[0])

    def _trace(self, fn, args, key):
        # one trace at a time: a trace is the process's STATE.trace, which records every op
        # (tapegrad is not thread-safe while a trace runs: see the module docstring)
        with _TRACING:
            return self._trace_alone(fn, args, key)

    def _trace_alone(self, fn, args, key):
        names = [self._param_names[i] if i < len(self._param_names) else f"arg{i}"
                 for i, a in enumerate(args) if _is_traced_arg(a)]
        # the random numbers of the default generator as this call leaves them in eager mode:
        # a loss's trace is not the call (the program runs next, and draws as eager fn does);
        # a training step's trace is, and its draws are kept; writing and checking draw too
        before = default_generator.get_state()
        program = Program(fn, args, names)
        try:
            if program.is_step:
                _verify_step(fn, program, args)
            else:
                _verify(fn, program, args)
        finally:
            default_generator.set_state(program.draws_after_trace if program.is_step
                                        else before)
            for saved in (program.buffers_after_trace if program.is_step
                          else program.buffers_before_trace):
                saved.restore()
            program.draws_after_trace = program.buffers_before_trace = None
            program.buffers_after_trace = None
        # the numbers of the modules fn called (Dropout's p, a KL weight self.beta), as fn's
        # runs left them: a program holds them as constants, and another value traces again
        program.module_attributes = _module_attributes(program.modules)
        program.module_changes = STATE.module_changes
        old = self._programs.get(key)
        if old is not None:
            others = self._others.setdefault(key, [])
            others.append(old)
            del others[:max(0, len(others) - (self.cache_size - 1))]
        self._programs[key] = program
        self._programs.move_to_end(key)
        while len(self._programs) > self.cache_size:
            dropped, _ = self._programs.popitem(last=False)
            self._others.pop(dropped, None)
        return program

    def __repr__(self):
        return f"<compiled {_name(self.fn)}: {len(self._programs)} trace(s)>"


def compile(fn=None, *, check=False, cache_size=8):
    """fn as a compiled function (see this module's docstring); usable as a decorator,
    `@autograd.compile` or `@autograd.compile(check=True)`. An nn.Module gives a module back,
    as torch.compile does (nn.module.OptimizedModule: its forward is the compiled call;
    parameters(), train(), eval() and state_dict() reach the original module)."""
    if fn is None:
        return lambda f: compile(f, check=check, cache_size=cache_size)
    as_module = getattr(fn, "_compiled_module", None)
    if callable(as_module):                 # an nn.Module: a module back, as torch.compile
        return as_module(check, cache_size)
    return Compiled(fn, check, cache_size)


# ---------------------------------------------------------------------------------------------
# arguments
def _is_traced_arg(a):
    return isinstance(a, (Node, np.ndarray))


def _key(a):
    if isinstance(a, Node):
        data = a._data
        if type(data) is float:
            return (type(a), a.requires_grad)
        return (type(a), data.shape, data.dtype, a.requires_grad)
    if isinstance(a, np.ndarray):
        return (np.ndarray, a.shape, a.dtype)
    try:
        hash(a)
    except TypeError:
        raise CompileError(f"compile: an argument of type {type(a).__name__} is neither a "
                           f"tensor, an array nor hashable (to retrace on change)") from None
    return ("static", type(a).__name__, _exact(a))


def _exact(a):
    """a, with each float (Python's or numpy's, in tuples too) as its bits: -0.0 is not 0.0,
    and a nan is a nan."""
    if isinstance(a, (float, np.floating)):
        return (float(a).hex(), type(a).__name__)
    if type(a) is tuple:
        return tuple(_exact(x) for x in a)
    return a


def _proxy(a):
    """The leaf fn sees while it is traced, standing for an argument."""
    if isinstance(a, np.ndarray):
        from .tensor import Tensor
        return Tensor._node(a)
    node = type(a)._kind._node(a._data)
    node.requires_grad = a.requires_grad
    return node


def _as_input(a, kind):
    if isinstance(a, Node):
        return a
    return kind._node(a)


# ---------------------------------------------------------------------------------------------
# comparing with eager mode
def _verify(fn, program, args):
    """Run the new program against eager fn on other values of the same shapes: frozen data
    (a value computed from an argument outside the ops) shows as a difference. Twice: the
    entries of every argument moved (masks made from the data move), the values that take a
    gradient scaled by up to 5%; then every float argument scaled and every integer one drawn
    anew in its range. A round whose values eager fn refuses (probabilities pushed past 1,
    targets that must be 1 or -1) is skipped."""
    rng = np.random.default_rng(0)
    for scale_all in (False, True):
        other = [_perturbed(a, rng, scale_all) for a in args]
        _compare(fn, program, other, "trace", eager_may_refuse=True)


def _verify_step(fn, program, args):
    """_verify for a training step: eager fn and the program each take one step from the
    same state, on the same other values, and must leave the same parameters, gradients and
    loss; the state after the trace is restored after each run."""
    rng = np.random.default_rng(0)
    for scale_all in (False, True):
        other = [_perturbed(a, rng, scale_all) for a in args]
        state = _TrainingState(program, other)
        try:
            _compare_step(fn, program, other, "trace", state, eager_may_refuse=scale_all)
        finally:
            state.restore()


def _compare_step(fn, program, args, when, state=None, eager_may_refuse=False):
    """One step of eager fn and one of the program from the same state: the loss, every
    parameter and every gradient must agree. Leaves the state as the program's step made it,
    and returns its loss."""
    state = state or _TrainingState(program, args)
    draws = default_generator.get_state()
    try:
        eager = _eager(fn, args)
    except Exception:
        if not eager_may_refuse:
            raise
        state.restore()
        return None
    finally:
        default_generator.set_state(draws)
    after_eager = state.read()
    state.restore()
    out = program.run(args)
    pairs = zip(out, eager) if program.multiple else [(out, eager)]
    for k, (a, b) in enumerate(pairs):
        _close(a._data, b._data, f"{when}: the compiled output {k} of {_name(fn)} differs "
                                 f"from eager mode")
    for k, ((data, grad), (data_e, grad_e)) in enumerate(zip(state.read(), after_eager)):
        _close(data, data_e, f"{when}: tensor {k} after the compiled step of {_name(fn)} "
                             f"differs from eager mode")
        if (grad is None) != (grad_e is None):
            raise CompileError(f"{when}: compiled and eager {_name(fn)} disagree on which "
                               f"tensors have a .grad (tensor {k})")
        if grad is not None:
            _close(grad, grad_e, f"{when}: the .grad of tensor {k} after the compiled step of "
                                 f"{_name(fn)} differs from eager mode")
    return out


class _TrainingState:
    """What a training step changes, saved so that it can be put back: the data and .grad of
    the tensors it reads (arguments, parameters) and of every parameter of the optimizers and
    modules it steps or zeroes, and those optimizers' state."""

    def __init__(self, program, args):
        from .tensor import Tensor
        tensors = [a for a in args if isinstance(a, Tensor)] + list(program.free)
        optimizers, schedulers = [], []
        for replay, _ in program.replays:
            owner = getattr(replay, "__self__", None)       # a bound method, or a partial
            if owner is None:
                owner = getattr(getattr(replay, "func", None), "__self__", None)
            if hasattr(owner, "get_last_lr") and hasattr(owner, "optimizer"):
                schedulers.append(owner)            # an lr scheduler: its optimizer's lrs
                owner = owner.optimizer
            if hasattr(owner, "param_groups"):
                optimizers.append(owner)
                tensors += [p for g in owner.param_groups for p in g["params"]]
            elif hasattr(owner, "parameters"):
                tensors += list(owner.parameters())
        for m in program.stateful:          # BatchNorm's running statistics
            tensors += [b for b in m.buffers() if b is not None]
        seen, self.tensors = set(), []
        for t in tensors:
            if id(t) not in seen and isinstance(t._data, np.ndarray):
                seen.add(id(t))
                self.tensors.append(t)
        self.saved = self.read()
        self.optimizers = [(o, _copy_state(o.state), getattr(o, "_opt_called", None),
                            [{k: v for k, v in g.items() if k != "params"}
                             for g in o.param_groups])
                           for o in {id(o): o for o in optimizers}.values()]
        self.schedulers = [(s, copy.deepcopy(s.state_dict())) for s in schedulers]

    def read(self):
        return [(t._data.copy(), None if t._grad is None else t._grad._data.copy())
                for t in self.tensors]

    def restore(self):
        for t, (data, grad) in zip(self.tensors, self.saved):
            if t._data.shape == data.shape and t._data.flags.writeable:
                np.copyto(t._data, data)
            else:
                t._data = data.copy()
            t._grad = None if grad is None else t._node(grad.copy())
        for o, state, called, groups in self.optimizers:
            o.state.clear()
            o.state.update(_copy_state(state))
            if called is None:
                o.__dict__.pop("_opt_called", None)
            else:
                o._opt_called = called
            for g, saved in zip(o.param_groups, groups):
                g.update(saved)
        for s, saved in self.schedulers:
            s.load_state_dict(copy.deepcopy(saved))


class _Buffers:
    """The buffers of modules whose state a program's ops change (BatchNorm's running
    statistics), saved to be put back."""

    def __init__(self, modules):
        self.saved = [(b, b._data.copy()) for m in modules for b in m.buffers()
                      if b is not None]

    def restore(self):
        for b, data in self.saved:
            # in place where it can: an op may have written into the array itself, which a
            # traced argument shares with its caller's tensor (F.batch_norm's statistics)
            if isinstance(b._data, np.ndarray) and b._data.shape == data.shape and \
                    b._data.dtype == data.dtype and b._data.flags.writeable:
                np.copyto(b._data, data)
            else:
                b._data = data.copy()


def _kept_for_backward(saved, value_of, inputs, output):
    """What a compiled node's backward reads of its inputs and output (torch's saved tensors):
    a set of input positions and "out", or True for all of them when it keeps an object that
    may hold any array (a row's state). An in-place change of anything else after the call
    leaves its gradient right, as in eager mode (engine._inputs_as_used asks)."""
    kept = [value_of.get(name) for name in saved]
    if any(not (v is None or isinstance(v, (np.ndarray, np.generic, bool, int, float)))
           for v in kept):
        return True
    arrays = [v for v in kept if isinstance(v, np.ndarray)]
    reads = {k for k, x in enumerate(inputs) if isinstance(x._data, np.ndarray) and any(
        np.may_share_memory(v, x._data) for v in arrays)}
    if output is not None and (not isinstance(output, np.ndarray) or any(
            np.may_share_memory(v, output) for v in arrays)):
        reads.add("out")
    return frozenset(reads)


def _changes_state(op, ctx):
    """An op of the numpy row whose function changes a module's state (BatchNorm's running
    statistics) or checks values (tensor_api._check_values): kept in the program though the
    output does not read it."""
    return op.name == "numpy" and (getattr(ctx[0], "changes_state", False)
                                   or getattr(ctx[0], "checks", False))


def _copy_state(state):
    return {p: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in entry.items()}
            for p, entry in state.items()}


def _perturbed(a, rng, scale_all):
    """Other values for argument a, as valid as its own: its entries in other places, and
    those that take a gradient (all with scale_all) each scaled by up to 5%, signs kept.
    With scale_all an integer array gets new entries between its least and its largest
    (indices, classes), and a bool one a random mask (the first round's complement may
    select as many entries, at places whose indices sum the same): a frozen index shows even
    where moving entries changes nothing (x.index_select(0, i).sum())."""
    from .tensor import Tensor
    from .value import Value
    if isinstance(a, Value):
        v = Value(a._data + 0.125 * (1.0 + abs(a._data)))
        v.requires_grad = a.requires_grad
        return v
    arr = a._data if isinstance(a, Tensor) else a
    if not isinstance(arr, np.ndarray):
        return a
    if arr.dtype.kind == "b":
        new = ~arr if not scale_all else rng.random(arr.shape) < 0.5
    elif arr.dtype.kind in "iu" and scale_all and arr.size:
        new = rng.integers(arr.min(), arr.max(), arr.shape, endpoint=True).astype(arr.dtype)
    elif arr.dtype.kind in "iu" and arr.ndim == 1 and arr.size > 1 and arr[0] < arr[-1] and \
            np.all(np.diff(arr) >= 0):
        # sorted positions (EmbeddingBag's offsets: 0 first, non-decreasing), which a
        # permutation would make invalid: other sorted positions between the same first and last
        new = np.sort(rng.integers(arr[0], arr[-1], arr.shape, endpoint=True))
        new[0], new[-1] = arr[0], arr[-1]
    else:
        new = rng.permutation(arr.reshape(-1)).reshape(arr.shape)
        if arr.dtype.kind == "f" and (scale_all or getattr(a, "requires_grad", False)):
            new = (new * (1.0 + 0.05 * rng.random(arr.shape))).astype(arr.dtype)
    new = np.asarray(new, dtype=arr.dtype)      # a 0-d array stays one (not numpy's scalar)
    if isinstance(a, Tensor):
        t = Tensor._node(new)
        t.requires_grad = a.requires_grad
        return t
    return new


def _hooks_on_leaves(program, fn, args):
    """Whether this call runs eagerly for the tensor hooks (register_hook,
    register_post_accumulate_grad_hook) of the leaves it gives gradients to. With a trace that
    fits, a training step's leaves are known (the tensor arguments and the leaves fn reads)
    and its generated code gives them their gradients itself, past any hook; a compiled
    loss's gradients reach its leaves through the engine, hooks included. Before a trace: the
    leaves that can be seen (_leaves_in_reach) count, for a trace runs fn several times, and
    would run their hooks at each. Asked only while some tensor has hooks (engine.HOOKED)."""
    if program is not None and program.fits():
        if not program.is_step:
            return False
        leaves = [a for a in args if isinstance(a, Node)] + program.free
    else:
        leaves = _leaves_in_reach(fn, args)
    return any(Hooks.in_force(x) for x in leaves)


def _leaves_in_reach(fn, args):
    """The leaves a call of fn can be seen to reach before it runs: the tensor arguments, and
    among fn itself (a module), its instance (a method) and the objects it reads (_names_read),
    one level into lists, tuples and dicts: tensors, the parameters of modules and those of
    optimizers. A leaf reached otherwise (through a function fn calls) and hooked is refused
    by the trace (Trace.hooked)."""
    fn = getattr(fn, "fn", fn)                       # _WithOptions: the function it calls
    objects = list(args) + [fn, getattr(fn, "__self__", None)]
    objects += [value for _, _, value in _names_read(fn)]
    for o in list(objects):
        if isinstance(o, (list, tuple)):
            objects += o
        elif isinstance(o, dict):
            objects += o.values()
    leaves = []
    for o in objects:
        if isinstance(o, Node):
            leaves.append(o)
        elif isinstance(getattr(o, "_parameters", None), dict) and callable(
                getattr(o, "parameters", None)):
            leaves += o.parameters()                 # an nn.Module's, its children's too
        elif isinstance(getattr(o, "param_groups", None), list):
            leaves += [p for group in o.param_groups for p in group["params"]]
    return leaves


def _eager(fn, args):
    """fn run eagerly on a call's arguments (an array argument as the tensor a trace sees)."""
    return fn(*[_proxy(a) if isinstance(a, np.ndarray) else a for a in args])


def _compare(fn, program, args, when, eager_may_refuse=False):
    """The program and eager fn on args, each drawing the same random numbers (a dropout
    mask): values, and gradients of a random projection with respect to every input of the
    compiled node that requires grad. Returns the program's output, the generator as it
    left it (None when eager fn refuses args and eager_may_refuse)."""
    from .engine import grad
    draws, buffers = default_generator.get_state(), _Buffers(program.stateful)
    try:
        out = program.run(args)
    except Exception:
        # the program refuses the values (a target out of range): so must eager fn
        default_generator.set_state(draws)
        buffers.restore()
        if not eager_may_refuse:
            raise
        try:
            _eager(fn, args)
        except Exception:
            return None
        finally:
            default_generator.set_state(draws)
            buffers.restore()
        raise
    after, buffers_after = default_generator.get_state(), _Buffers(program.stateful)
    default_generator.set_state(draws)
    buffers.restore()
    try:
        eager = _eager(fn, args)
    except Exception:
        if not eager_may_refuse:
            raise
        return None
    finally:
        default_generator.set_state(after)
        buffers_after.restore()
    inputs = [x for x in program.inputs_of(args)]
    # a leaf fn makes is another object in each eager call: its gradient cannot be compared
    wanted = [x for x in inputs if x.requires_grad and id(x) not in program.made_inside]
    outs, eagers = ([out], [eager]) if program.rebuild is None else (
        _flatten_outputs(out)[0], _flatten_outputs(eager)[0])
    if len(outs) != len(eagers):
        raise CompileError(f"{when}: compiled and eager {_name(fn)} return different numbers "
                           f"of tensors")
    for k, (o, e) in enumerate(zip(outs, eagers)):
        _close(o._data, e._data, f"{when}: the compiled value of {_name(fn)} differs from "
                                 f"eager mode" + (f" (output {k})" if len(outs) > 1 else ""))
    pairs = [(o, e) for o, e in zip(outs, eagers) if o.requires_grad]
    if not wanted or not pairs:
        return out
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(np.shape(o._data)) for o, _ in pairs]
    ws = [float(w) if program.scalar else w.astype(o._data.dtype) for w, (o, _) in zip(ws, pairs)]
    if program.rebuild is None:
        comp, eag, ws = out, eager, ws[0]
    else:
        from .tensor import Tensor
        comp, eag = [o for o, _ in pairs], [e for _, e in pairs]
        ws = [Tensor(w) for w in ws]
    g_eager = grad(eag, wanted, grad_outputs=ws, retain_graph=True, allow_unused=True)
    g_comp = grad(comp, wanted, grad_outputs=ws, retain_graph=True, allow_unused=True)
    for k, (a, b) in enumerate(zip(g_comp, g_eager)):
        if a is None or b is None:
            if (a is None) != (b is None):
                raise CompileError(f"{when}: compiled and eager {_name(fn)} disagree on which "
                                   f"inputs get a gradient (input {k})")
            continue
        _close(a._data, b._data, f"{when}: the compiled gradient of input {k} of {_name(fn)} "
                                 f"differs from eager mode")
    return out


def _close(a, b, message):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-5, atol=1e-7, equal_nan=True):
        diff = np.nanmax(np.abs(a - b)) if a.shape == b.shape and a.size else "shape"
        raise CompileError(
            f"{message} (largest difference {diff}). The function is not a trace of ops: a "
            f"value was computed outside tapegrad's ops from the arguments, a Python branch "
            f"depends on data, or it draws random numbers outside an op. Keep that part out of "
            f"the compiled function, or run it eagerly.")


# ---------------------------------------------------------------------------------------------
# names
def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _identifier(text):
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(text))
    if not text or text[0].isdigit():
        text = "v_" + text
    return text


def _parameter_names(fn):
    """id(parameter) -> a name for it: `model.0.weight` for the modules fn can reach (fn itself
    if it is a module, its bound object, the variables of its closure and the globals it
    names), by their variable names, named_parameters() and named_buffers()."""
    found = {}
    if hasattr(fn, "named_parameters"):
        found["model"] = fn
    owner = getattr(fn, "__self__", None)
    if hasattr(owner, "named_parameters"):
        found["model"] = owner
    for name, _, value in _names_read(fn):
        found.setdefault(name, value)
    names = {}
    for var, obj in found.items():
        if hasattr(obj, "named_parameters") and callable(obj.named_parameters):
            for path, p in obj.named_parameters():
                names.setdefault(id(p), f"{var}.{path}")
            for path, b in obj.named_buffers():         # BatchNorm's running statistics
                names.setdefault(id(b), f"{var}.{path}")
    return names


def _leaf_name(x, k, parameter_names):
    if x.label:
        return _identifier(x.label)
    if id(x) in parameter_names:
        return _identifier(parameter_names[id(x)])
    return f"p{k}"


def _value_name(node, k):
    if node.label:
        return _identifier(node.label)
    return f"v{k + 1}"


def _const_stem(c, k):
    return _identifier(c.label) if c.label else f"c{k + 1}"
