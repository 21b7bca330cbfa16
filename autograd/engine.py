"""The tape: recording, reverse-mode replay, grad modes and anomaly detection.

Every differentiable object (`Value`, `Tensor`) is a `Node`. Each recorded node keeps its op (a
row of `autograd.ops.OPS`), its input nodes and a small context, plus a recording index taken from
a global counter. The tape of an output is the set of nodes it depends on, in recording order:
recording order is a valid topological order, so backward walks it in reverse. Nothing else
points back into a graph, so a graph is freed by reference counting as soon as the caller drops
its output (no cycles, no global list of nodes, no help from the cycle collector).
"""
import itertools
import operator
import sys
from contextlib import contextmanager

import numpy as np

from .ops import SparseGrad

_FREED = object()          # stands in a node's `_ctx` once backward has released its buffers
_next_index = itertools.count().__next__
_getrefcount = sys.getrefcount
_ndarray = np.ndarray       # a global: numpy's module __getattr__ keeps `np.name` uncached


class _State:
    """Global switches. `hooks` is True when anything slows recording (anomaly mode, open Tapes).
    Slots, set per instance: every op reads `grad_enabled` and `hooks`, and the interpreter
    caches a slot's lookup where a class attribute read through an instance is looked up anew
    each time (CPython 3.11)."""
    __slots__ = ("grad_enabled", "anomaly", "tapes", "hooks", "module")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.tapes = []
        self.hooks = False
        self.module = None      # weakref to the innermost nn.Module running forward, or None


STATE = _State()


def _refresh_hooks():
    STATE.hooks = STATE.anomaly or bool(STATE.tapes) or STATE.module is not None


class Node:
    """Base of `Value` and `Tensor`: the slots the engine reads and writes.

    data          float (Value) or numpy array (Tensor)
    grad          accumulated gradient of the last backward passes
    requires_grad whether gradients flow to this node
    _op           row of the op table that produced it (None for a leaf)
    _parents      input nodes, in the op's argument order
    _ctx          op parameters (axis, shape, index...), or _FREED after backward
    _index        recording index: position on the tape
    _g            gradient of the backward pass in flight
    label         a name for printing and drawing
    _where        creation site, kept only in anomaly mode
    _module       weakref to the nn.Module whose forward made it, set only inside one (drawings
                  name ops after it); unset elsewhere, so read it with getattr(n, "_module", None)
    """
    __slots__ = ("data", "grad", "requires_grad", "_op", "_parents", "_ctx", "_index", "_g",
                 "label", "_where", "_module", "__weakref__")

    # Backends used by backward; set by the subclasses (see ops.py).
    _raw = None          # namespace of functions on raw data (floats or arrays)
    _keep_all_grads = False   # Value keeps .grad on every node (for drawing); Tensor on leaves only

    @property
    def is_leaf(self):
        return self._op is None

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every node this one depends on."""
        _backward(self, self._seed(grad), retain_graph, None, None)


def _record(node):
    """Slow path of node creation: anomaly checks, Tape recording, the module it was made in."""
    if STATE.module is not None:
        node._module = STATE.module
    if STATE.anomaly:
        node._where = _caller_site()
        _check_finite(node.data, node._op.name, node._where, "forward")
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


def _check_finite(data, opname, where, phase):
    ok = np.isfinite(data).all() if isinstance(data, np.ndarray) else np.isfinite(data)
    if not ok:
        raise FloatingPointError(
            f"detect_anomaly: op '{opname}' produced a non-finite value (nan or inf) in its "
            f"{phase} pass; the node was created at {where}")


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
def detect_anomaly():
    """Raise FloatingPointError at the first nan/inf made in forward or backward, naming the op
    and the source line that created the node. Slows recording; use it to hunt a bug."""
    prev = STATE.anomaly
    STATE.anomaly = True
    _refresh_hooks()
    try:
        yield
    finally:
        STATE.anomaly = prev
        _refresh_hooks()


# ---------------------------------------------------------------------------------------------
# the replay
def _tape_of(root, mark):
    """The nodes `root` depends on through nodes that require grad: (ops, leaves), the nodes
    made by ops in recording order and the leaves in the order the walk first meets them.

    Each node found gets `_g = mark`, which is both the "seen" flag (cheaper than a set of ids:
    this walk was half the backward time of a scalar MLP) and the "no gradient yet" state.
    An explicit stack instead of recursion: a chain of a million nodes is no deeper than one.
    Leaves apart: a leaf's gradient is complete once every op node is replayed, so leaves need
    no sort, and the replay's loop over op nodes never meets a leaf's class (an nn.Parameter
    among Tensors makes the interpreter's attribute caches miss at every change of class).
    """
    root._g = mark
    if not root._parents:
        return [], [root]
    order = [root]
    leaves = []
    stack = [root]
    pop, push, keep, leaf = stack.pop, stack.append, order.append, leaves.append
    while stack:
        for p in pop()._parents:
            if p._g is not mark and p.requires_grad:
                p._g = mark
                if p._parents:
                    keep(p)
                    push(p)
                else:
                    leaf(p)
    order.sort(key=_index_of)
    return order, leaves


_index_of = operator.attrgetter("_index")


def _backward(root, seed, retain_graph, capture, trace):
    """Replay the tape of `root` in reverse, seeded with d(root)/d(root) = `seed`.

    capture: None to accumulate into `.grad` (Node.backward); otherwise a dict id(node) -> None
        to fill with each requested node's gradient instead (autograd.grad).
    trace: None, or a list that receives (node, input position, gradient, input) per edge, for
        Tape.explain.
    When `seed` is a Node the VJPs run on nodes and are themselves recorded (create_graph).
    """
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn: nothing to differentiate (was it built under no_grad()?)")
    none = _Mark()
    order, leaves = _tape_of(root, none)
    root._g = seed
    graph_mode = isinstance(seed, Node)
    if graph_mode:
        from .ops import GRAPH as xp
    else:
        xp = root._raw
    keep_all = root._keep_all_grads
    try:
        plain = capture is None and trace is None and not STATE.anomaly
        if keep_all and not graph_mode and plain:
            _replay_scalar(order, leaves, none, retain_graph)
        else:
            _replay(order, leaves, none, retain_graph, capture, trace, xp, graph_mode,
                    keep_all)
    except BaseException:
        # An interrupted pass (freed graph, anomaly) must not leave pending gradients on the
        # nodes: with create_graph they are nodes that point back into the graph, a cycle that
        # would keep it alive after the caller drops it.
        for node in order:
            node._g = None
        for node in leaves:
            node._g = None
        raise


def _replay(order, leaves, none, retain_graph, capture, trace, xp, graph_mode, keep_all):
    """The general loop of _backward: Tensors, capture, trace, anomaly mode, create_graph.
    The op nodes in reverse recording order, then the leaves, whose gradients are complete."""
    anomaly = STATE.anomaly
    broadcasting = not keep_all       # Tensor gradients may need broadcasting undone
    owned = {}      # id -> accumulated gradient this pass allocated, safe to add into in place
    for node in reversed(order):
        g = node._g
        node._g = None
        if g is none:
            continue
        if owned:
            owned.pop(id(g), None)
        if type(g) is SparseGrad:
            g = g.dense()
        op = node._op
        if capture is not None:
            if id(node) in capture:
                capture[id(node)] = g
        elif keep_all or node._retain_grad:
            _accumulate(node, g, graph_mode)
        ctx = node._ctx
        if ctx is _FREED:
            _raise_freed(op)
        parents = node._parents
        vjps = op.vjps
        n = len(parents)
        # the arities of the table unrolled: a list comprehension is a function call (3.11)
        if graph_mode:
            out, ins = node, parents
        elif n == 2:
            a, b = parents
            out, ins = node.data, (a.data, b.data)
        elif n == 1:
            out, ins = node.data, (parents[0].data,)
        elif n == 3:
            a, b, c = parents
            out, ins = node.data, (a.data, b.data, c.data)
        else:
            out, ins = node.data, [p.data for p in parents]
        i = 0
        for p in parents:
            prev = p._g
            if prev is not None:        # on the tape: marked `none` or holding a gradient
                # positional calls by arity: a *ins call builds a tuple of all the arguments
                if anomaly:
                    pg = _checked_vjp(vjps[i], xp, g, out, ctx, ins, node, graph_mode)
                elif n == 1:
                    pg = vjps[0](xp, g, out, ctx, ins[0])
                elif n == 3:
                    pg = vjps[i](xp, g, out, ctx, ins[0], ins[1], ins[2])
                elif n == 2:
                    pg = vjps[i](xp, g, out, ctx, ins[0], ins[1])
                else:
                    pg = vjps[i](xp, g, out, ctx, *ins)
                data = ins[i]           # p's array, or p itself with create_graph: same shape
                if broadcasting and (pg.shape != data.shape or pg.dtype != data.dtype):
                    pg = xp.unbroadcast(pg, p)      # checked inline: most edges need nothing
                if trace is not None:
                    if type(pg) is SparseGrad:
                        pg = pg.dense()
                    trace.append((node, i, pg, p))
                if prev is none:
                    p._g = pg
                elif type(pg) is SparseGrad or type(prev) is SparseGrad:
                    p._g = _add_sparse(prev, pg, owned)
                else:
                    p._g = prev + pg
            i += 1
        pg = prev = None        # else the last edge's array looks shared when its leaf is reached
        if not retain_graph:
            node._ctx = _FREED
    owned.clear()           # else a listed array looks shared to _accumulate, which copies it
    for node in leaves:
        g = node._g
        node._g = None
        if g is none:
            continue
        if type(g) is SparseGrad:
            g = g.dense()
        if capture is None:
            _accumulate(node, g, graph_mode)
        elif id(node) in capture:
            capture[id(node)] = g


def _add_sparse(acc, pg, owned):
    """acc + pg where either is a SparseGrad: the sparse one is added into a dense array in
    place. Only arrays this pass allocated (in `owned`) are written to: any other may be shared
    (add's VJP hands the same array to both inputs), so it is copied first, once."""
    if type(acc) is SparseGrad:
        if type(pg) is SparseGrad:
            dense = acc.dense()
            owned[id(dense)] = dense
            dense[pg.index] += pg.part
            return dense
        acc, pg = pg, acc
    if id(acc) not in owned:
        acc = acc.copy()
        owned[id(acc)] = acc      # held here, so its id cannot be reused while listed
    acc[pg.index] += pg.part
    return acc


def _checked_vjp(vjp, xp, g, out, ctx, ins, node, graph_mode):
    """vjp(...) in anomaly mode: a nan/inf names the op whose backward made it and its site.

    With create_graph the VJP's own steps are recorded nodes, checked as they are made; their
    error would name an inner op (a 'pow' inside the VJP of 'sqrt') and the line of the grad()
    call, so it is re-raised naming the op being differentiated.
    """
    where = getattr(node, "_where", None) or "an unknown line (made outside detect_anomaly())"
    try:
        pg = vjp(xp, g, out, ctx, *ins)
    except FloatingPointError:
        raise FloatingPointError(
            f"detect_anomaly: op '{node._op.name}' produced a non-finite value (nan or inf) in "
            f"its backward pass (inside its recorded VJP, create_graph=True); the node was "
            f"created at {where}") from None
    if type(pg) is SparseGrad:
        pg = pg.dense()
    _check_finite(pg.data if graph_mode else pg, node._op.name, where, "backward")
    return pg


def _replay_scalar(order, leaves, none, retain_graph):
    """The loop of _backward for its commonest case, a Value graph with no capture, trace or
    anomaly mode, with the arity unrolled. Same semantics; on micrograd's demo MLP step it takes
    the replay from 45 ms to 20 ms (65k nodes), most of the margin over micrograd."""
    from .ops import SCALAR as xp
    for node in reversed(order):
        g = node._g
        node._g = None
        if g is none:
            continue
        node.grad += g
        op = node._op
        if node._ctx is _FREED:
            _raise_freed(op)
        vjps = op.vjps
        parents = node._parents
        out = node.data
        ctx = node._ctx
        if len(parents) == 2:
            a, b = parents
            ad = a.data
            bd = b.data
            if a.requires_grad:
                pg = vjps[0](xp, g, out, ctx, ad, bd)
                prev = a._g
                a._g = pg if prev is none else prev + pg
            if b.requires_grad:
                pg = vjps[1](xp, g, out, ctx, ad, bd)
                prev = b._g
                b._g = pg if prev is none else prev + pg
        elif len(parents) == 1:
            a = parents[0]
            pg = vjps[0](xp, g, out, ctx, a.data)
            prev = a._g
            a._g = pg if prev is none else prev + pg
        else:                                   # user-defined ops of three or more inputs
            ins = [p.data for p in parents]
            for i, p in enumerate(parents):
                if p.requires_grad:
                    pg = vjps[i](xp, g, out, ctx, *ins)
                    prev = p._g
                    p._g = pg if prev is none else prev + pg
        if not retain_graph:
            node._ctx = _FREED
    for node in leaves:
        g = node._g
        node._g = None
        if g is not none:
            node.grad += g


def _raise_freed(op):
    raise RuntimeError(
        f"Trying to backward through the graph a second time (op '{op.name}'): its saved "
        "values were freed by the first backward. Specify retain_graph=True on the first "
        "backward (or autograd.grad) call if you need to backward twice.")


class _Mark:
    """A fresh token per backward pass: "reached, no gradient yet"."""
    __slots__ = ()


def _accumulate(node, g, graph_mode):
    if graph_mode:
        g = g.data
    cur = node.grad
    if cur is None:
        # Adopt the array as .grad when nothing else can see it (a base array, not a view,
        # held only by the replay loop's local), as PyTorch's AccumulateGrad steals an
        # unshared buffer; copy any other (the caller's seed, the one array add's VJP gives
        # both inputs, a node's data), so that an in-place update of one .grad never changes
        # another array. Spares a copy per parameter per step: 4 MB for a 1024 x 1024 weight.
        if type(g) is _ndarray and (g.base is not None or _getrefcount(g) > _UNSHARED):
            g = g.copy(order="K")         # K: the copy keeps the array's memory layout
        node.grad = g
    else:
        node.grad = cur + g


def _unshared_count():
    """What _accumulate's sys.getrefcount reads for an array held by nothing but the replay
    loop's local, taken through the same call shape (the figure depends on how the
    interpreter counts locals and arguments)."""
    g = np.empty(1)
    return _refs_in_callee(g)


def _refs_in_callee(g):
    return _getrefcount(g)


_UNSHARED = _unshared_count()


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
    single = isinstance(inputs, Node)
    if single:
        inputs = [inputs]
    inputs = list(inputs)
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != 1:
            from .tensor import _sum_outputs
            outputs, grad_outputs = _sum_outputs(outputs, grad_outputs)
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
    capture = {id(x): None for x in inputs}
    if create_graph:
        seed = outputs._const_like(seed)
        with enable_grad():
            _backward(outputs, seed, retain_graph, capture, None)
    else:
        _backward(outputs, seed, retain_graph, capture, None)
    result = []
    for i, x in enumerate(inputs):
        g = capture[id(x)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} was not used in the graph of the output; pass "
                "allow_unused=True to get None for it")
        if g is not None and not isinstance(g, Node):
            g = x._const_like(g)
        result.append(g)
    return result
