"""Fast paths: everything in the eager engine that exists only for speed.

The reference engine (engine.py with the plain backends of backends.py and each row's
textbook VJP) is complete without this module. What is here gives the same numbers faster,
each piece with the figure that justifies it:

- `FAST_ARRAY`, the array backend that Tensor's backward uses by default:
  - `mask` multiplies by the mask instead of selecting (np.where's select loop mispredicts on a
    random sign pattern: 32 us against 6 us on a (64, 128) float32 array, three times per
    small-MLP step), falling back to the select when g holds an inf or a nan;
  - `SparseGrad`: the gradient of a slice x[i] stays the slice, and slices are listed rather
    than added, until the input's gradient is complete; then they are added into one array
    (an RNN reads x[:, t] for every t: O(B T H) in backward instead of O(B T^2 H)).
- `adopt`: a leaf keeps the array its gradient arrived in, instead of a copy, when nothing else
  holds it, as PyTorch's AccumulateGrad steals an unshared buffer (a copy per parameter per
  step otherwise: 3% of a small-MLP step, 4 MB for a 1024 x 1024 weight).
- the rows' `fast_array` and `fast_vjps` (in the op table, beside the textbook forms).
- `take_buffer` / `give_buffers`: large arrays a row's forward keeps for its backward (an
  LSTM layer's activations) are reused from one call to the next, not made afresh (fresh
  1.6 MB arrays at every call cost ~1200 page faults a step whenever malloc had given the
  memory back: the bench's compiled LSTM step 6.9 ms instead of 4.6).
- `backpropagate_floats`: backward() of a Value graph keeps each node's in-flight gradient on
  the node instead of in a dict keyed by nodes (micrograd's demo step, 65k nodes: backward
  100 ms -> 45 ms, what keeps eager Values several times faster than micrograd).

`autograd.fast_paths(False)` switches all of them off; tests run every op-table case both ways
and compare.
"""
import math
import sys

import numpy as np

from .backends import SCALAR, Array
from .engine import (_FREED, HOOKED, STATE, Hooks, _freed_graph_error, _inputs_as_used,
                     backpropagate, walk)


class SparseGrad:
    """A gradient that is zero except at basic indexes (ints and slices): what getitem's fast
    VJP gives, and the sum of such gradients. It keeps the parts, [(index, part), ...], and an
    optional dense total, and materializes once, when the node's gradient is complete:
    zeros (or a copy of the dense total) with each part added at its index."""
    __slots__ = ("parts", "dense_total", "shape", "dtype")

    def __init__(self, index, part, shape):
        self.parts = [(index, part)]
        self.dense_total = None
        self.shape, self.dtype = shape, part.dtype

    def astype(self, dtype):
        out = SparseGrad.__new__(SparseGrad)
        out.parts = [(i, p.astype(dtype)) for i, p in self.parts]
        out.dense_total = None if self.dense_total is None else self.dense_total.astype(dtype)
        out.shape, out.dtype = self.shape, np.dtype(dtype)
        return out

    def plus(self, other):
        """self + other, other a SparseGrad or a dense array, kept as parts in self (a sparse
        gradient belongs to one pass and one node: nothing else sees it change)."""
        if type(other) is SparseGrad:
            self.parts += other.parts
            other = other.dense_total
        if other is not None:
            self.dense_total = other if self.dense_total is None else self.dense_total + other
        return self

    def dense(self):
        if self.dense_total is None:
            out = np.zeros(self.shape, dtype=np.result_type(*(p for _, p in self.parts)))
        else:                                   # a copy: the total may be shared
            out = np.array(self.dense_total, dtype=np.result_type(
                self.dense_total, *(p for _, p in self.parts)))
        for index, part in self.parts:
            out[index] += part                 # a basic index selects each element once
        return out


def is_basic(index):
    """True for numpy basic indexing (ints, slices, None, Ellipsis): each element once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in items)


def all_finite(a):
    """Whether every entry of a is finite. a . a is finite exactly when they all are, barring
    an overflow of the squares, when the sum decides (a finite sum has no inf or nan): one
    dot product, 1.1 us against 2.4 for the sum of a (64, 128) float32 array."""
    return math.isfinite(np.vdot(a, a)) or math.isfinite(np.add.reduce(a, axis=None))


class FastArray(Array):
    """The array backend with the fast paths above."""
    name = "fast array"
    fast = True             # the rows' fast VJPs, where they have them

    @staticmethod
    def mask(g, keep, out=None):
        """g where keep, else 0; into `out` if given (compiled code passes g itself when
        nothing reads g afterwards)."""
        # an inf or a nan in g: the select (a product would make 0 * inf a nan)
        if not all_finite(g):
            selected = Array.where(keep, g, 0.0)
            if out is None:
                return selected
            np.copyto(out, selected)
            return out
        return g * keep if out is None else np.multiply(g, keep, out=out)

    @staticmethod
    def matmul(a, b):
        # np.dot for two matrices: BLAS without np.matmul's ufunc dispatch, ~0.3 us less a
        # call, ten calls in a small MLP's backward
        return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b)

    @staticmethod
    def add(total, contribution):
        if type(total) is SparseGrad:
            return total.plus(contribution)
        if type(contribution) is SparseGrad:
            return contribution.plus(total)
        return total + contribution

    @staticmethod
    def final(g):
        """A node's gradient is complete: a sparse one becomes an array."""
        return g.dense() if type(g) is SparseGrad else g


FAST_ARRAY = FastArray()


# Reused buffers: (shape, dtype) -> arrays free for reuse; a few per shape, a few shapes, 64 MB
# in all at most (what a finished training run leaves held)
_FREE = {}
_FREE_MAX_BYTES = 64 << 20


def take_buffer(shape, dtype):
    """An uninitialized array of that shape and dtype: one given back earlier, if any is free
    and the fast paths are on, else a new one."""
    free = _FREE.get((shape, np.dtype(dtype))) if STATE.fast else None
    if free:
        try:
            return free.pop()
        except IndexError:             # another thread took the last one
            pass
    return np.empty(shape, dtype=dtype)


def give_buffers(*arrays):
    """Arrays taken with take_buffer that nothing will read again, free for the next taker."""
    if not STATE.fast:
        return
    for a in arrays:
        key = (a.shape, a.dtype)
        if key not in _FREE and len(_FREE) >= 8:
            _FREE.clear()
        held = sum(b.nbytes for free in list(_FREE.values()) for b in list(free))
        if held + a.nbytes > _FREE_MAX_BYTES:
            continue
        free = _FREE.setdefault(key, [])
        if len(free) < 4:
            free.append(a)


# The references the backward pass itself holds on a gradient when Tensor._keep_grad adopts
# it: backpropagate's local `g`, the parameters of _keep_grad and of adopt, and getrefcount's
# own argument. Any more means that another node, a .grad or the caller holds it too.
# tests/test_fast_paths.py fails if the chain changes (a fresh gradient no longer adopted, or
# a shared one adopted).
_HELD_BY_BACKWARD = 4


def adopt(g):
    """g itself when only the backward pass holds it (a VJP's fresh result), else a copy in
    g's memory layout, so that .grad never shares memory with another array. (A gradient that
    arrives by the last edge the pass replayed is still named by the loop's local and is
    copied: one copy too many at worst, never one too few.)"""
    if type(g) is np.ndarray and g.base is None and sys.getrefcount(g) <= _HELD_BY_BACKWARD:
        return g
    return np.array(g, order="K")


def backpropagate_floats(root, seed, retain_graph):
    """engine.backpropagate for backward() of a Value graph with nothing watching: the same
    walk and the same chain rule, d input += VJP(d node), but d node is held in the node's
    `_pending` slot rather than a dict, .grad (which every Value keeps) is added to directly,
    and the VJPs of one- and two-input rows get their inputs unpacked (no list per node)."""
    tape = walk(root, constants=False)
    for node in tape:
        node._pending = None
    root._pending = seed
    xp = SCALAR
    for node in reversed(tape):
        g = node._pending
        if g is None:
            continue
        node._pending = None
        ctx = node._ctx
        if ctx is _FREED:
            raise _freed_graph_error(node._op)
        node._grad += g
        op = node._op
        if op is None:
            continue
        parents = node._parents
        if STATE.last_in_place > node._index:
            parents = _inputs_as_used(node)
        vjps, out = op.vjps, node._data
        if len(parents) == 2:
            a, b = parents
            if a.requires_grad:
                contribution = vjps[0](xp, g, out, ctx, a._data, b._data)
                total = a._pending
                a._pending = contribution if total is None else total + contribution
            if b.requires_grad:
                contribution = vjps[1](xp, g, out, ctx, a._data, b._data)
                total = b._pending
                b._pending = contribution if total is None else total + contribution
        elif len(parents) == 1:
            (a,) = parents
            if a.requires_grad:
                contribution = vjps[0](xp, g, out, ctx, a._data)
                total = a._pending
                a._pending = contribution if total is None else total + contribution
        else:
            inputs = [p._data for p in parents]
            for i, p in enumerate(parents):
                if p.requires_grad:
                    contribution = vjps[i](xp, g, out, ctx, *inputs)
                    total = p._pending
                    p._pending = contribution if total is None else total + contribution
        if not retain_graph:
            node._ctx = _FREED


def _tape_arrays(root):
    """walk(root, constants=False) in two lists: the op nodes in recording order, and the
    leaves. The loop over op nodes then meets one class only (an nn.Parameter among Tensors
    makes CPython's attribute caches miss at each change of class), and a leaf's gradient is
    complete once every op node has passed its share back."""
    tape = walk(root, constants=False)
    return [n for n in tape if n._op is not None], [n for n in tape if n._op is None]


def _backward_of_a_call(root, seed, retain_graph):
    """backpropagate_arrays for `loss = step(x, y); loss.backward()` with `step` compiled: the
    root is one node whose op gives every input's gradient in one call (autograd.compile's
    generated backward, `gradients`) and whose inputs are distinct leaves. The same arrays
    reach the same .grad as in the loop below, without the walk, the gradient dict and one VJP
    call per input (small MLP step: 13 of a compiled step's 30 us outside the generated
    code). False, having done nothing, when the case is another."""
    op = root._op
    gradients = getattr(op, "gradients", None)
    parents = root._parents
    if gradients is None or STATE.last_in_place > root._index:
        return False
    for p in parents:
        if p._op is not None:
            return False
    if len(set(map(id, parents))) != len(parents):
        return False            # one leaf twice: its terms are summed first, by the loop below
    ctx = root._ctx
    if ctx is _FREED:
        raise _freed_graph_error(op)
    keep_grad = root._keep_grad
    if root._retains_grad:
        keep_grad(root, seed)
    gs = gradients(ctx, seed)
    if not retain_graph:
        root._ctx = _FREED
    give_gradients(parents, gs, keep_grad)
    return True


def give_gradients(leaves, gs, keep_grad):
    """Each leaf that requires grad takes gs[i], its gradient (None: none), summed back to
    its shape and dtype if it is not already, through keep_grad (Tensor._keep_grad: .grad
    set or added to). gs is a list, emptied as it goes: each array is then held by the leaf
    only, which may adopt it (see adopt)."""
    for i, p in enumerate(leaves):
        g = gs[i]
        if g is None or not p.requires_grad:
            continue
        gs[i] = None            # handed over: the leaf may adopt the array
        data = p._data
        if type(g) is not np.ndarray or g.shape != data.shape or g.dtype != data.dtype:
            g = FAST_ARRAY.unbroadcast(g, p)
        keep_grad(p, g)


def _has_hooks(root):
    """Whether a node of root's graph has hooks in force (asked when a tensor somewhere has
    been given hooks)."""
    return any(Hooks.in_force(node) for node in walk(root, constants=False))


def backpropagate_arrays(root, seed, retain_graph):
    """engine.backpropagate for backward() of a Tensor graph with nothing watching and no
    create_graph: the same fast VJPs in the same order and the same sums, with the per-node
    and per-edge calls of the general loop (take, final, unbroadcast, the backend and observer
    choices) done inline, one- to three-input VJPs called unpacked, and the leaves taken after
    the op nodes (small MLP step: backward 88 -> 80 us).

    A graph with a tensor hook (register_hook, register_post_accumulate_grad_hook) is left to
    engine.backpropagate, on this backend: the hooks then run in its order, torch's (each leaf
    as soon as its gradient is complete, not after every op node). Without a hook anywhere
    that costs one check of a dict per pass."""
    if HOOKED and _has_hooks(root):
        backpropagate(root, seed, FAST_ARRAY, retain_graph, root._keep_grad)
        return
    if _backward_of_a_call(root, seed, retain_graph):
        return
    ops, leaves = _tape_arrays(root)
    grads = {root: seed}
    xp = FAST_ARRAY
    unbroadcast = xp.unbroadcast
    keep_grad = root._keep_grad
    for node in reversed(ops):
        op = node._op
        ctx = node._ctx
        if ctx is _FREED:
            raise _freed_graph_error(op)
        g = grads.pop(node, None)
        if g is None:
            continue        # stands for a tensor changed in place: see engine.backpropagate
        if type(g) is SparseGrad:
            g = g.dense()
        if node._retains_grad:
            keep_grad(node, g)
        parents = node._parents
        if STATE.last_in_place > node._index:
            parents = _inputs_as_used(node)
        vjps, out = op.fast_vjps, node._data
        n = len(parents)
        if n == 2:
            inputs = (parents[0]._data, parents[1]._data)
        elif n == 1:
            inputs = (parents[0]._data,)
        elif n == 3:
            inputs = (parents[0]._data, parents[1]._data, parents[2]._data)
        else:
            inputs = [p._data for p in parents]
        for i, p in enumerate(parents):
            if not p.requires_grad:
                continue
            if n == 1:
                contribution = vjps[0](xp, g, out, ctx, inputs[0])
            elif n == 2:
                contribution = vjps[i](xp, g, out, ctx, inputs[0], inputs[1])
            elif n == 3:
                contribution = vjps[i](xp, g, out, ctx, inputs[0], inputs[1], inputs[2])
            else:
                contribution = vjps[i](xp, g, out, ctx, *inputs)
            if contribution is None:
                continue        # no gradient along this edge, as in engine.backpropagate
            data = inputs[i]
            # unbroadcast only where it changes something: most edges need nothing
            if (type(contribution) is not np.ndarray or contribution.shape != data.shape
                    or contribution.dtype != data.dtype):
                contribution = unbroadcast(contribution, p)
            total = grads.get(p)
            if total is None:
                grads[p] = contribution
            elif type(total) is np.ndarray and type(contribution) is np.ndarray:
                grads[p] = total + contribution
            else:
                grads[p] = xp.add(total, contribution)
        contribution = total = None     # else the last edge's array looks shared to adopt()
        if not retain_graph:
            node._ctx = _FREED
    for node in leaves:
        g = grads.pop(node, None)
        if g is not None:
            keep_grad(node, g if type(g) is not SparseGrad else g.dense())
