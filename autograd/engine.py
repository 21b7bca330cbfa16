"""The engine: nodes, the tape they form, and backpropagation.

Every differentiable object (`Value`, `Tensor`) is a `Node`. Applying an op makes a new node
that keeps its op (a row of the op table), its input nodes and a small context (an axis, a
slope...), plus a recording index from a global counter. The tape of an output is the set of
nodes it was computed from, in recording order: since a node is always recorded after its
inputs, recording order is a topological order, and `backpropagate` walks it in reverse.

Nothing else points back into a graph, so a graph is freed by reference counting as soon as the
caller drops its output (no cycles, no global list of nodes).

This module imports only the bottom layer (backends, op rows): Value and Tensor build on it.
"""
import itertools
import sys
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from operator import attrgetter

import numpy as np

from .backends import GRAPH

_FREED = object()          # stands in a node's `_ctx` once backward has released its buffers
_next_index = itertools.count().__next__
_data_of = attrgetter("_data")
_recording_index = attrgetter("_index")


class _State:
    """Global switches: grad mode, anomaly mode, open Tapes, the fast paths, the nn.Module whose
    forward is running. `hooks` is True when anything must see each recorded node (anomaly
    mode, open Tapes). `anomaly` is False or the AnomalyMode in force."""
    __slots__ = ("grad_enabled", "anomaly", "tapes", "hooks", "fast", "module", "trace",
                 "last_in_place", "module_changes")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.tapes = []
        self.hooks = False
        self.fast = True
        self.module = None      # weakref to the innermost nn.Module running forward, or None
        self.trace = None       # the Trace of autograd.compile while it traces a function
        self.last_in_place = -1     # recording index of the latest in-place change of any value
        # changes of any nn.Module's mode, registries or plain attributes, counted: a compiled
        # function looks at the modules it read only when this moved since it last did
        self.module_changes = 0


STATE = _State()


def _refresh_hooks():
    STATE.hooks = STATE.anomaly or bool(STATE.tapes)


class Node:
    """Base of `Value` and `Tensor`: what the engine reads and writes.

    _data          the value: a float (Value) or a numpy array (Tensor); a Value's public
                   `.data` is this float, a Tensor's a Tensor that shares this array
    _grad          the gradient accumulated by backward passes (the public `.grad`)
    requires_grad  whether gradients flow to this node
    _op            the op-table row that made it (None for a leaf)
    _parents       its input nodes, in the op's argument order
    _ctx           the op's parameters (axis, shape, index...), or _FREED after backward
    _index         recording index: its position on the tape
    _version       None, or the InPlace record it shares with its views: when its data was
                   last changed in place (backpropagate refuses values changed since use)
    _retains_grad  whether backward stores .grad on it although it is not a leaf
    _hooks         None, or the Hooks registered on it (Tensor.register_hook and
                   register_post_accumulate_grad_hook): a None check per node in backward
    label          a name for printing and drawing
    _where         the user's line that created it, kept only in anomaly mode
    _module        weakref to the nn.Module whose forward made it, or None (drawings name
                   ops after it); unset on leaves: read it with getattr(n, "_module", None)
    """
    __slots__ = ("_data", "_grad", "requires_grad", "_op", "_parents", "_ctx", "_index",
                 "_version", "_retains_grad", "_hooks", "label", "_where", "_module",
                 "__weakref__")

    # Set by each subclass:
    _kind = None              # the class whose ops results take: Value, or Tensor for Parameters
    _empty_grad = None        # .grad before any backward: 0.0 for Value, None for Tensor
    _forward_name = ""        # "float" or "array": which forward of a row this kind runs
    _retains_every_grad = False   # Value keeps .grad on every node (for drawing), Tensor not
    _array_valued = False     # Tensor: values are always numpy arrays, 0-d ones included
    _fast_backpropagate = None    # fast.py's backward loop for this kind of node, if any

    @property
    def is_leaf(self):
        return self._op is None

    # ------------------------------------------------------------------ making nodes
    @classmethod
    def _node(cls, data, op=None, parents=(), ctx=None):
        """The one constructor of nodes that ops make: a recorded result when `op` is given,
        else a constant (requires_grad False)."""
        node = object.__new__(cls)
        node._data = data
        node._grad = cls._empty_grad
        node.requires_grad = op is not None
        node._op = op
        node._parents = parents
        node._ctx = ctx
        node._index = _next_index()
        node._version = None
        node._retains_grad = cls._retains_every_grad
        node._hooks = None
        node.label = ""
        if op is not None:
            node._module = STATE.module
            if STATE.hooks:
                _on_record(node)
        return node

    @classmethod
    def _apply(cls, op, ctx, *inputs):
        """Run row `op` forward on the inputs' data; record the result if any input needs a
        gradient (and grad mode is on), else return a constant."""
        forward = cls._forward(op)
        if forward is None:
            other = "Tensors" if cls._forward_name == "float" else "Values"
            raise TypeError(f"op '{op.name}' has no {cls._forward_name} forward: apply it to "
                            f"{other}")
        try:
            # fast path: the arrays passed one by one, as a starred list costs 0.3 us an op
            n = len(inputs)
            if n == 1:
                data = forward(ctx, inputs[0]._data)
            elif n == 2:
                data = forward(ctx, inputs[0]._data, inputs[1]._data)
            elif n == 3:
                data = forward(ctx, inputs[0]._data, inputs[1]._data, inputs[2]._data)
            else:
                data = forward(ctx, *map(_data_of, inputs))
        except ValueError as e:
            if type(e) is not ValueError:
                raise           # an error of its own (a check inside a compiled program)
            shapes = " and ".join(str(np.shape(x._data)) for x in inputs)
            raise ValueError(f"{op.name}: invalid input shapes {shapes}: {e}") from None
        if cls._array_valued and type(data) is not np.ndarray:
            data = np.asarray(data)     # numpy gives a scalar for a full reduction or x[i, j]
        out = None
        if STATE.grad_enabled and op.vjps is not None:
            for x in inputs:
                if x.requires_grad:
                    out = cls._node(data, op, inputs, ctx)
                    break
        if out is None:
            out = cls._node(data)
        if type(data) is np.ndarray and data.base is not None:
            _share_in_place_record(out, inputs)
        if STATE.trace is not None:
            STATE.trace.record(out, op, ctx, inputs)
        return out

    # ------------------------------------------------------------------ backward
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf this node depends on (and of
        the nodes that keep their gradient: every Value, Tensors after retain_grad())."""
        run_backward(self, self._seed(grad), retain_graph, False, self._keep_grad)


class InPlace:
    """When a tensor's data was last changed in place, as a recording index: shared by a
    tensor and the views of its array (x[0], x.reshape(...)), since a change through either
    changes both. An op recorded before that index may have used the old value.

    `replaced` lists the changes recorded for backward, made on the tensor itself: (its index,
    id of the tensor, a weak reference to the node that keeps the value it had before). Such a
    change makes the tensor a new node (the in-place op's result); a change under no_grad, or
    through a view, changes the values only."""
    __slots__ = ("changed_at", "replaced")

    def __init__(self):
        self.changed_at = -1
        self.replaced = []

    @staticmethod
    def of(node):
        """node's record, made on first use."""
        if node._version is None:
            node._version = InPlace()
        return node._version

    @staticmethod
    def changing(node):
        """node's data is about to change in place: autograd.compile's trace, if one runs, is
        told first (it refuses a change of a tensor made outside the traced function, which
        compiled code would not repeat, before the change is made)."""
        if STATE.trace is not None:
            STATE.trace.written(node)

    def stamp(self, tensor=None, old=None):
        """A change now; `old`, if given, is the node that keeps tensor's value before it."""
        self.changed_at = STATE.last_in_place = _next_index()
        if old is not None:
            self.replaced.append((self.changed_at, id(tensor), weakref.ref(old)))

    def before(self, tensor, index):
        """The node that stood for tensor at recording index `index`: tensor itself if no
        change recorded for backward has made it a new node since, else the node that keeps
        its value from then (None if that node is gone)."""
        for at, owner, old in self.replaced:
            if at > index and owner == id(tensor):
                return old()
        return tensor


def _share_in_place_record(out, inputs):
    """out's array is a view (a slice, a reshape...): if it views an input's array, the two
    share one InPlace record, so that a change through one is a change of the other."""
    base = out._data.base
    for x in inputs:
        if x._data is base or (getattr(x._data, "base", None) is base):
            out._version = InPlace.of(x)
            return


def _changed_since(x, node):
    """True if x's data was changed in place after `node` was recorded from it."""
    return x._version is not None and x._version.changed_at > node._index


def _inputs_as_used(node):
    """node's inputs as its op used them (torch's version counter). Its output, or an input,
    changed in place since then is an error, naming the op, if a VJP that runs reads it
    (torch's saved tensor); otherwise its gradient is still right, as in torch, which checks
    only what a backward saved. If an in-place op recorded for backward has made that input's tensor a new node,
    the gradient goes to the node that keeps the value the op used."""
    parents = node._parents
    takers = [i for i, p in enumerate(parents) if p.requires_grad]
    if _changed_since(node, node) and node._op.reads("out", takers, node._ctx):
        raise _changed_in_place_error(node, node)
    for j, p in enumerate(parents):
        if not _changed_since(p, node):
            continue
        used = p._version.before(p, node._index)
        if used is None or node._op.reads(j, takers, node._ctx):
            raise _changed_in_place_error(node, p)
        if used is not p:
            parents = list(parents) if parents is node._parents else parents
            parents[j] = used
    return parents


def _changed_in_place_error(node, x):
    # the input's position by identity: list.index would compare tensors with ==, elementwise
    what = "its output" if x is node else (
        f"input {next(i for i, p in enumerate(node._parents) if p is x)} "
        f"(shape {tuple(np.shape(x._data))})")
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {what} of op '{node._op.name}' was changed in place after the op "
        f"used it, so its gradient would be computed from the wrong values. Change it out of "
        f"place (y = x + 1 rather than x += 1), or clone it before the in-place change.")


def _on_record(node):
    """What sees each recorded node when hooks are on: anomaly checks, open Tapes."""
    if STATE.anomaly:
        node._where = _caller_site()
        if STATE.anomaly.strict:
            _check_finite(node._data, node._op.name, node._where, "forward")
    for tape in STATE.tapes:
        tape._nodes.append(node)


def _caller_site():
    """The first stack frame outside the autograd, nn and optim packages: the user's line."""
    frame = sys._getframe(2)
    while frame is not None:
        mod = frame.f_globals.get("__name__", "")
        if not mod.startswith(("autograd", "nn.", "optim")) and mod != "nn":
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "<unknown>"


class AnomalyMode:
    """What anomaly mode checks. torch's (the default): each backward function's outputs, for
    nan only; inf is a legitimate gradient (sqrt at 0) and a nan or inf made in the forward
    pass is left to propagate (log(0) = -inf, 0 * -inf in x * log(x)), as torch does. With
    check_nan=False nothing is checked and only the creating lines are kept. strict (tapegrad's
    own): every forward result and every gradient, for nan and inf alike, so the first
    non-finite value is caught where it is made."""
    __slots__ = ("check_nan", "strict")

    def __init__(self, check_nan=True, strict=False):
        self.check_nan = bool(check_nan) or bool(strict)
        self.strict = bool(strict)

    def bad(self, data):
        """'nan' or 'inf' when this mode rejects data, else None."""
        if not self.check_nan or _finite(data):
            return None
        if np.isnan(data).any():
            return "nan"
        return "inf" if self.strict else None


class AnomalyError(FloatingPointError, RuntimeError):
    """detect_anomaly's error: a FloatingPointError, and a RuntimeError as torch's is (it
    prints as torch's: `RuntimeError: Function 'SqrtBackward0' returned nan values ...`)."""


AnomalyError.__name__ = AnomalyError.__qualname__ = "RuntimeError"
AnomalyError.__module__ = "builtins"


def _finite(data):
    return np.isfinite(data).all() if isinstance(data, np.ndarray) else np.isfinite(data)


def _check_finite(data, opname, where, phase, first_line=""):
    if not _finite(data):
        raise AnomalyError(
            f"{first_line}detect_anomaly: op '{opname}' produced a non-finite value (nan or "
            f"inf) in its {phase} pass; the node was created at {where}")


# ---------------------------------------------------------------------------------------------
# grad modes
@contextmanager
def no_grad():
    """Within this block ops record nothing: results are constants with requires_grad False."""
    prev = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = prev


@contextmanager
def enable_grad():
    """Re-enable recording inside a `no_grad` block."""
    prev = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.grad_enabled = prev


def is_grad_enabled():
    return STATE.grad_enabled


@contextmanager
def detect_anomaly(check_nan=True, *, strict=False):
    """Anomaly mode for a block, torch's: a backward function that returns nan raises torch's
    RuntimeError (`Function 'LogBackward0' returned nan values in its 0th output.`), followed
    by the op and the source line that created the node. strict=True (tapegrad's) also checks
    every forward result and flags inf as well (see AnomalyMode). The error is a
    FloatingPointError too. Slows recording; use it to hunt a bug."""
    prev = STATE.anomaly
    STATE.anomaly = AnomalyMode(check_nan, strict)
    _refresh_hooks()
    try:
        yield
    finally:
        STATE.anomaly = prev
        _refresh_hooks()


@contextmanager
def fast_paths(enabled=True):
    """Within `with fast_paths(False):` Tensors and Values run the reference engine only:
    every row's textbook forward and VJPs on the plain backends, and backpropagate() itself,
    none of autograd/fast.py. The results
    are the same (tests compare them); only the speed differs."""
    prev = STATE.fast
    STATE.fast = bool(enabled)
    try:
        yield
    finally:
        STATE.fast = prev


# ---------------------------------------------------------------------------------------------
# the tape and backpropagation


def walk(root, constants=True, data_inputs=True):
    """The nodes `root` was computed from, itself included, in recording order; without
    `constants`, only the nodes that require grad, reached through such nodes (what backward
    needs; a drawing shows the constants too); without `data_inputs`, not through the inputs
    that take no gradient (class targets, a condition: a drawing leaves them out). An explicit
    stack, not recursion: a chain of a million nodes is no deeper than one."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for p in node._parents if data_inputs else operands(node, False):
            if (constants or p.requires_grad) and p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=_recording_index)


def operands(node, data_inputs=True):
    """node's inputs; without `data_inputs`, only those its op takes a gradient for."""
    if data_inputs or node._op is None:
        return node._parents
    return [p for i, p in enumerate(node._parents) if node._op.takes_gradient(i)]


# ---------------------------------------------------------------------------------------------
# tensor hooks (Tensor.register_hook, register_post_accumulate_grad_hook)

# id(tensor) -> tensor, for every tensor given a hook while it lives: autograd.compile runs a
# call eagerly when one of its leaves has hooks in force
HOOKED = weakref.WeakValueDictionary()


class Hooks:
    """A tensor's backward hooks, each an OrderedDict of handle id -> hook, in registration
    order: `grad`, hook(grad) called when the tensor's gradient is complete (register_hook);
    `post`, hook(tensor) called after backward() has added to its .grad (leaves only)."""
    __slots__ = ("grad", "post")

    def __init__(self):
        self.grad = OrderedDict()
        self.post = OrderedDict()

    @staticmethod
    def of(node):
        """node's hooks, made on first use."""
        if node._hooks is None:
            node._hooks = Hooks()
            HOOKED[id(node)] = node
        return node._hooks

    def __reduce__(self):
        return _no_hooks, ()    # a copy of a tensor (deepcopy, pickle) has none, as torch's

    @staticmethod
    def in_force(node):
        """Whether node has a hook registered and not removed."""
        hooks = node._hooks
        return hooks is not None and bool(hooks.grad or hooks.post)


def _no_hooks():
    return None


def run_hooks(node, g, graph):
    """g, d root / d node once complete, through node's register_hook hooks in registration
    order: each is called with the previous one's result as a tensor; one that returns a tensor
    replaces it (same dtype and shape, else torch's errors), None keeps it. Returns the
    gradient that goes on (to .grad, further back, to autograd.grad's caller) as g came: an
    array, or a node under create_graph (`graph`), when what a hook returns is differentiated
    through. Otherwise hooks run under no_grad, as torch's do."""
    hooks = node._hooks.grad
    if not hooks:
        return g
    if STATE.trace is not None:
        STATE.trace.hooked(node)            # generated code calls no hook: refused
    t = g if isinstance(g, Node) else node._kind._node(g)
    with enable_grad() if graph else no_grad():
        for hook in list(hooks.values()):       # a hook may remove itself (handle.remove())
            new = hook(t)
            if new is not None:
                _check_hook_result(hook, t, new)
                t = new
    return t if graph else t._data


def _check_hook_result(hook, g, new):
    if not isinstance(new, Node):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    name = getattr(hook, "__name__", "<unknown>")
    if new._data.dtype != g._data.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} got "
                           f"{new.type()})")
    if new._data.shape != g._data.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")


def run_post_hooks(node, graph):
    """After backward() has added to leaf node's .grad: hook(node) for each of its
    register_post_accumulate_grad_hook hooks, in registration order, under no_grad unless
    create_graph (`graph`). A hook returns None (or the tensor it was given); anything else
    is torch's error."""
    hooks = node._hooks.post
    if not hooks:
        return
    if STATE.trace is not None:
        STATE.trace.hooked(node)
    with enable_grad() if graph else no_grad():
        for hook in list(hooks.values()):
            out = hook(node)
            if out is None or out is node:
                continue
            if not isinstance(out, Node):
                raise TypeError(f"expected Variable, but hook returned '{type(out).__name__}'")
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _reaching_inputs(tape, take):
    """The nodes whose hooks a pass runs, when not all: with backward(inputs=...) and
    autograd.grad (whose `take` names its `inputs`, ids), only those on a path to an input,
    since torch runs no part of the graph the inputs do not need. None: all."""
    inputs = getattr(take, "inputs", None)
    if inputs is None or not HOOKED or all(n._hooks is None for n in tape):
        return None
    reaching = set()
    for node in tape:                     # recording order: a node's inputs come before it
        if id(node) in inputs or any(p in reaching for p in node._parents):
            reaching.add(node)
    return reaching


def _backward_order(tape):
    """The nodes of `tape` (in recording order) in the order backpropagate visits them: the
    op nodes in reverse recording order, each followed by the leaves whose gradient it
    completes (those it is the first recorded user of), in its input order. Any reverse order
    would do for the sums; this one takes a leaf as soon as its gradient is complete, as
    torch's engine does, so its hooks and .grad come in torch's order (out, b2, W2, h, ...,
    W1 for an MLP, not every intermediate before the first weight). Only hooks can tell the
    orders apart: while no tensor has any, the plain walk back (2.4 us less for a small MLP)."""
    if not HOOKED:
        return reversed(tape)
    completes = {}                        # op node -> the leaves it is the first user of
    used = set()
    for node in tape:
        for p in node._parents:
            if p._op is None and p.requires_grad and p not in used:
                used.add(p)
                completes.setdefault(node, []).append(p)
    order = []
    for node in reversed(tape):
        if node._op is not None:
            order.append(node)
            order += completes.get(node, ())
        elif node not in used:
            order.append(node)            # the root is a leaf: backward() of a leaf itself
    return order


def backpropagate(root, seed, xp, retain_graph, take, watch=None):
    """Reverse-mode differentiation of `root`: the chain rule, node by node, backwards along
    the tape. This function is backpropagation; everything else in the engine prepares it.

    seed    d(root)/d(root): ones of root's shape, or the caller's `grad`
    xp      the backend the VJPs run in: floats, arrays, or recorded nodes (create_graph)
    take    take(node, g) receives d(root)/d(node) once it is complete (backward() stores it
            in .grad, with the node class's _keep_grad; autograd.grad() keeps its inputs'),
            after the node's hooks (Tensor.register_hook), which may replace it
    watch   watch(node, i, input, contribution), if given, sees every edge (Tape.explain,
            anomaly mode)

    Walking the tape backwards, a node's gradient is complete when the walk reaches it: every
    node that used it was recorded later, so it has already passed its share back (a leaf is
    taken as soon as that is so: see _backward_order). Then, for each input that requires
    grad, the chain rule

        d root / d input  +=  d root / d node  *  d node / d input

    where the row's VJP computes g * d node / d input without forming the Jacobian. An input
    used twice receives two contributions, summed: the sum over paths of the chain rule.
    """
    tape = walk(root, constants=False)
    grads = {root: seed}                      # d root / d node, summed over the paths so far
    hooked = _reaching_inputs(tape, take)     # whose hooks run (None: every node's)
    for node in _backward_order(tape):
        if node._ctx is _FREED:
            raise _freed_graph_error(node._op)
        g = grads.pop(node, None)
        if g is None:
            # no gradient yet: node took the place of a tensor changed in place after an op
            # used it (Tensor._in_place), so that op comes later in this walk, and the check
            # of its inputs below raises the in-place error naming it
            continue
        g = xp.final(g)                       # complete: every path to node has been summed
        if node._hooks is not None and (hooked is None or node in hooked):
            g = run_hooks(node, g, xp is GRAPH)   # the user's hooks may replace it
        take(node, g)
        if node._op is None:
            continue                          # a leaf: nothing further back
        parents = node._parents
        if STATE.last_in_place > node._index:
            # a value was changed in place after node was recorded: if it is one node's VJPs
            # read, that is an error (torch's version counter)
            parents = _inputs_as_used(node)
        if xp is GRAPH:      # create_graph: the VJPs work on the nodes, so they are recorded
            out, inputs = node, parents
        else:
            out, inputs = node._data, [p._data for p in parents]
        vjps = node._op.fast_vjps if xp.fast else node._op.vjps
        for i, p in enumerate(parents):
            if not p.requires_grad:
                continue
            # the chain rule; unbroadcast sums g back to p's shape where numpy broadcast p
            contribution = vjps[i](xp, g, out, node._ctx, *inputs)
            if contribution is None:
                continue    # no gradient along this edge (an autograd.Function said None)
            contribution = xp.unbroadcast(contribution, p)
            if watch is not None:
                watch(node, i, p, contribution)
            grads[p] = xp.add(grads[p], contribution) if p in grads else contribution
        if not retain_graph:
            node._ctx = _FREED                # saved buffers released, as PyTorch does


def run_backward(root, seed, retain_graph, create_graph, take, watch=None):
    """backpropagate() with the backend and the observers the current modes ask for.

    create_graph: the VJPs run on the nodes themselves (the GRAPH backend), so the gradients
    are recorded and can be differentiated again. A watched pass (a trace, anomaly mode) runs
    the reference backend, the textbook path. A plain backward() with the fast paths on runs
    the node class's loop from fast.py (`_fast_backpropagate`), tested equal to this one.
    """
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn: nothing to differentiate (was it built under no_grad()?)")
    if STATE.trace is not None:
        # inside autograd.compile's trace: a training step's backward() becomes the program's
        # backward; what a trace cannot replay is refused there
        STATE.trace.backward(root, seed, retain_graph, create_graph, take)
    anomaly = STATE.anomaly
    if anomaly:
        watch = _AnomalyWatch(anomaly, watch)
    if (not create_graph and watch is None and STATE.fast and take is root._keep_grad
            and root._fast_backpropagate is not None):
        # plain backward(): fast.py's loop for this kind of node, the same chain rule faster
        root._fast_backpropagate(root, seed, retain_graph)
        return
    if create_graph:
        xp = GRAPH
    elif watch is not None:
        xp = root._reference_backend
    else:
        xp = root._backend()
    if not (anomaly and create_graph):
        backpropagate(root, seed, xp, retain_graph, take, watch)
        return
    # With create_graph the VJPs' own steps are recorded nodes; in anomaly mode their forward
    # check would name an inner op ('pow' inside the VJP of 'sqrt') and the grad() call's
    # line. The watch checks each contribution instead, naming the op being differentiated.
    STATE.anomaly = False
    _refresh_hooks()
    try:
        backpropagate(root, seed, xp, retain_graph, take, watch)
    finally:
        STATE.anomaly = anomaly
        _refresh_hooks()


class _AnomalyWatch:
    """Anomaly mode's observer: a contribution the mode rejects (nan; inf too when strict)
    names the op whose VJP made it and the line that created that node."""

    def __init__(self, mode, inner=None):
        self.mode = mode
        self.inner = inner

    def __call__(self, node, i, p, contribution):
        data = contribution._data if isinstance(contribution, Node) else contribution
        kind = self.mode.bad(data)
        if kind is not None:
            where = (getattr(node, "_where", None)
                     or "an unknown line (made outside detect_anomaly())")
            # torch's sentence first (its grad_fn name, the gradient's index), then tapegrad's
            from .grad_fn import grad_fn_name
            name = grad_fn_name(node) or node._op.name
            _check_finite(data, node._op.name, where, "backward",
                          f"Function '{name}' returned {kind} values in its {i}th output.\n")
        if self.inner is not None:
            self.inner(node, i, p, contribution)


def _freed_graph_error(op):
    return RuntimeError(
        f"Trying to backward through the graph a second time (or directly access saved tensors "
        f"after they have already been freed).\nOp '{op.name}': its saved values were freed by "
        f"the first backward. Specify retain_graph=True on the first backward (or "
        f"autograd.grad) call if you need to backward twice.")


def grad(outputs, inputs, *, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to each of `inputs`, returned as a list.

    The options are keyword-only: `grad(y, [x], True)` would otherwise read True as
    `grad_outputs` (torch's third argument) where a reader meant `create_graph`.

    Leaves `.grad` untouched. With `create_graph=True` the backward pass is recorded like any
    forward computation, so the returned gradients are nodes that can be differentiated again
    (second derivatives, Hessian-vector products). `retain_graph` defaults to `create_graph`.
    An input that `outputs` does not depend on raises unless `allow_unused=True` (then None).
    """
    if isinstance(inputs, Node):
        inputs = [inputs]
    inputs = list(inputs)
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != 1:
            outputs, grad_outputs = _sum_of_outputs(outputs, grad_outputs)
        else:
            outputs = outputs[0]
            if isinstance(grad_outputs, (list, tuple)):
                grad_outputs = grad_outputs[0]
    if retain_graph is None:
        retain_graph = create_graph
    for i, x in enumerate(inputs):
        if not isinstance(x, Node):
            raise TypeError(f"grad: input {i} is a {type(x).__name__}, not a Value or Tensor")
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    seed = outputs._seed(grad_outputs)
    wanted = {id(x): None for x in inputs}

    def take(node, g):
        if id(node) in wanted:
            wanted[id(node)] = g

    take.returns_gradients = True       # autograd.grad's, not backward()'s: a trace tells them
    take.inputs = wanted                # hooks run on the paths to these only
    if create_graph:
        with enable_grad():
            run_backward(outputs, outputs._const_like(seed), retain_graph, True, take)
    else:
        run_backward(outputs, seed, retain_graph, False, take)
    result = []
    for i, x in enumerate(inputs):
        g = wanted[id(x)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} was not used in the graph of the output; pass "
                "allow_unused=True to get None for it")
        if g is not None and not isinstance(g, Node):
            g = x._const_like(g)
        result.append(g)
    return result


def _sum_of_outputs(outputs, grad_outputs):
    """Several outputs as one scalar, sum_i sum(o_i * go_i), whose gradient is the sum of
    theirs: autograd.grad of a list."""
    total = None
    for i, o in enumerate(outputs):
        go = None if grad_outputs is None else grad_outputs[i]
        term = o._sum_all() if go is None else (o * o._const_like(o._seed(go)))._sum_all()
        total = term if total is None else total + term
    return total, None

