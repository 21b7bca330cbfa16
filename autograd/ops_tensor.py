"""Rows of the op table that only `Tensor` has: linear algebra, reductions, shape and indexing.

Same conventions as ops.py: `array(ctx, *ins)` forward, one `vjp(xp, g, out, ctx, *ins)` per
input, written with `xp.*` so that it runs on arrays and, for create_graph, on nodes.
"""
import numpy as np

from .ops import REAL, Domain, _g

TENSOR_ROWS = []


def row(name, array, vjps, domains, doc, symbol=None, examples=None):
    """examples: list of (ctx, input shapes) the generated tests run; see ops.Op."""
    TENSOR_ROWS.append((name, None, array, vjps, domains, doc, symbol, examples))


# matmul -------------------------------------------------------------------------------------
def _matmul_da(xp, g, out, ctx, a, b):
    na, nb = xp.data(a).ndim, xp.data(b).ndim
    if nb == 1:                       # out[..., i] = sum_k a[..., i, k] b[k]
        return xp.unsqueeze(g, -1) * b
    if na == 1:                       # out[..., j] = sum_k a[k] b[..., k, j]
        return xp.squeeze(xp.matmul(b, xp.unsqueeze(g, -1)), -1)
    return xp.matmul(g, xp.mT(b))


def _matmul_db(xp, g, out, ctx, a, b):
    na, nb = xp.data(a).ndim, xp.data(b).ndim
    if na == 1 and nb == 1:
        return g * a
    if na == 1:
        return xp.unsqueeze(a, -1) * xp.unsqueeze(g, -2)
    if nb == 1:
        return xp.squeeze(xp.matmul(xp.mT(a), xp.unsqueeze(g, -1)), -1)
    return xp.matmul(xp.mT(a), g)


row("matmul", lambda c, a, b: np.matmul(a, b), (_matmul_da, _matmul_db), (REAL, REAL),
    "a @ b (numpy matmul rules: 1-D operands, batched stacks)", "@",
    examples=[(None, ((3,), (3,))), (None, ((2, 3), (3, 4))), (None, ((3,), (3, 2))),
              (None, ((2, 3), (3,))), (None, ((2, 2, 3), (3, 4))), (None, ((2, 1, 2, 3), (3, 3, 2)))])


# reductions and shape -----------------------------------------------------------------------
def _sum_vjp(xp, g, out, ctx, a):
    axis, keepdims = ctx
    shape = xp.data(a).shape
    if not keepdims and axis is not None:
        g = xp.reshape(g, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return xp.broadcast_to(g, shape)


row("sum", lambda c, a: a.sum(axis=c[0], keepdims=c[1]), (_sum_vjp,), (REAL,),
    "sum of a over axis (all axes when None)",
    examples=[((None, False), ((2, 3),)), (((1,), False), ((2, 3),)), (((0,), True), ((2, 3),)),
              (((0, 2), False), ((2, 3, 4),))])

row("reshape", lambda c, a: a.reshape(c),
    (lambda xp, g, out, c, a: xp.reshape(g, xp.data(a).shape),), (REAL,),
    "a viewed with another shape of the same size", examples=[((3, 2), ((2, 3),)), ((-1,), ((2, 3),))])

row("transpose", lambda c, a: a.transpose(c),
    (lambda xp, g, out, c, a: xp.transpose(g, tuple(np.argsort(c))),), (REAL,),
    "a with its axes permuted", examples=[((1, 0), ((2, 3),)), ((2, 0, 1), ((2, 3, 4),))])

row("broadcast_to", lambda c, a: np.broadcast_to(a, c),
    (_g,), (REAL,), "a repeated along new or size-1 axes; the engine sums the gradient back",
    examples=[((2, 3), ((1, 3),)), ((4, 2, 3), ((2, 1),))])

row("where", lambda c, a, b: np.where(c, a, b),
    (lambda xp, g, out, c, a, b: xp.where(c, g, 0.0 * g),
     lambda xp, g, out, c, a, b: xp.where(c, 0.0 * g, g)),
    (REAL, REAL), "a where mask else b (mask is a constant)",
    examples=[(np.array([[True, False, True], [False, True, True]]), ((2, 3), (2, 3))),
              (np.array([True, False, True]), ((2, 3), (1,)))])


# indexing: getitem and its adjoint, scatter-add ------------------------------------------------
def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in items)


def _scatter_fwd(ctx, g):
    index, shape = ctx
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        z[index] = g
    else:
        np.add.at(z, index, g)        # repeated indices accumulate
    return z


row("getitem", lambda c, a: a[c],
    (lambda xp, g, out, c, a: xp.scatter(g, c, xp.data(a).shape),), (REAL,),
    "a[index]; repeated integer indices accumulate their gradient", "[]",
    examples=[((1,), ((3, 2),)), ((slice(0, 2), None), ((3, 2),)), (np.array([0, 2, 0]), ((3, 2),)),
              (np.array([[True, False], [False, True], [True, True]]), ((3, 2),))])

row("scatter", _scatter_fwd,
    (lambda xp, g, out, c, a: xp.getitem(g, c[0]),), (REAL,),
    "zeros(shape) with g added at index (adjoint of getitem)",
    examples=[((np.array([0, 2, 0]), (3, 2)), ((3, 2),)), ((1, (3, 2)), ((2,),))])
