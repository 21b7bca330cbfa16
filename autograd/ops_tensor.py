"""Rows of the op table that only `Tensor` has: linear algebra, reductions, shape and indexing,
convolution windows.

Same conventions as ops_elementwise.py: `array(ctx, *arrays)` forward, one
`vjp(xp, g, out, ctx, *inputs)` per input, written with `xp.*` so that it runs on arrays and,
for create_graph, on recorded nodes.
"""
import math

import numpy as np

from .fast import FAST_ARRAY, SparseGrad, all_finite, is_basic
from .ops_elementwise import identity_vjp
from .optable import BOOL, REAL, Domain, Op, PerInput, forward_of


# matmul -------------------------------------------------------------------------------------
# a, b and g are arrays or (create_graph) Tensors: both have .ndim and .mT
def _matmul_da(xp, g, out, ctx, a, b):
    if a.ndim > 1 and b.ndim > 1:                 # dA = G B^T
        return xp.matmul(g, b.mT)
    if b.ndim == 1:                               # out[..., i] = sum_k a[..., i, k] b[k]
        return xp.unsqueeze(g, -1) * b
    return xp.squeeze(xp.matmul(b, xp.unsqueeze(g, -1)), -1)  # a 1-D: out[..., j] = a_k b[.., k, j]


def _matmul_db(xp, g, out, ctx, a, b):
    na, nb = a.ndim, b.ndim
    if na > 1 and nb > 1:                         # dB = A^T G
        return xp.matmul(a.mT, g)
    if na == 1 and nb == 1:
        return g * a
    if na == 1:
        return xp.unsqueeze(a, -1) * xp.unsqueeze(g, -2)
    return xp.squeeze(xp.matmul(a.mT, xp.unsqueeze(g, -1)), -1)


MATMUL = Op("matmul", symbol="@",
            formula="a @ b (numpy matmul rules: 1-D operands, batched stacks); "
                    "dA = G B^T, dB = A^T G",
            array=lambda c, a, b: np.matmul(a, b), vjps=(_matmul_da, _matmul_db),
            domains=(REAL, REAL),
            examples=[(None, ((3,), (3,))), (None, ((2, 3), (3, 4))), (None, ((3,), (3, 2))),
                      (None, ((2, 3), (3,))), (None, ((2, 2, 3), (3, 4))),
                      (None, ((2, 1, 2, 3), (3, 3, 2)))])


# linear: x W^T + b in one node --------------------------------------------------------------
# One node instead of three (transpose, matmul, add) for every Linear layer, and the bias
# gradient is one sum over the leading axes instead of the broadcast machinery.
def _linear_fwd(ctx, x, w, b):
    out = np.matmul(x, w.T)
    out += b                          # in place: the matmul's result is ours
    return out


def _linear_dx(xp, g, out, ctx, x, w, b):
    return xp.matmul(g, w)                        # dx = G W


def _linear_dw(xp, g, out, ctx, x, w, b):
    if x.ndim == 1:
        return xp.unsqueeze(g, -1) * x
    if x.ndim == 2:                               # dW = G^T x
        return xp.matmul(g.mT, x)
    return xp.matmul(xp.reshape(g, (-1, g.shape[-1])).mT, xp.reshape(x, (-1, x.shape[-1])))


def _linear_db(xp, g, out, ctx, x, w, b):
    return xp.sum(g, tuple(range(g.ndim - 1)))    # db = G summed over the batch


LINEAR = Op("linear", formula="x W^T + b with W of shape (out, in), b of shape (out,); "
                              "dx = G W, dW = G^T x, db = sum of G over the batch",
            array=_linear_fwd, vjps=(_linear_dx, _linear_dw, _linear_db),
            domains=(REAL, REAL, REAL),
            examples=[(None, ((4, 3), (2, 3), (2,))), (None, ((3,), (2, 3), (2,))),
                      (None, ((2, 4, 3), (2, 3), (2,)))])


# reductions and shape -----------------------------------------------------------------------
def _sum_vjp(xp, g, out, ctx, a):
    # every summed element gets g: g put back on the reduced axes and broadcast over them
    axis, keepdims = ctx
    shape = xp.data(a).shape
    if not keepdims and axis is not None:
        g = xp.reshape(g, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return xp.broadcast_to(g, shape)


SUM = Op("sum", formula="sum of a over axis (all axes when None); d/da = 1 for each element",
         array=lambda c, a: np.add.reduce(a, axis=c[0], keepdims=c[1]), vjps=(_sum_vjp,),
         domains=(REAL,),
         examples=[((None, False), ((2, 3),)), (((1,), False), ((2, 3),)),
                   (((0,), True), ((2, 3),)), (((0, 2), False), ((2, 3, 4),))])

RESHAPE = Op("reshape", formula="a viewed with another shape of the same size",
             array=lambda c, a: a.reshape(c),
             vjps=(lambda xp, g, out, c, a: xp.reshape(g, xp.data(a).shape),), domains=(REAL,),
             examples=[((3, 2), ((2, 3),)), ((-1,), ((2, 3),))])

TRANSPOSE = Op("transpose", formula="a with its axes permuted; the gradient permuted back",
               array=lambda c, a: a.transpose(c),
               vjps=(lambda xp, g, out, c, a: xp.transpose(g, tuple(np.argsort(c))),),
               domains=(REAL,), examples=[((1, 0), ((2, 3),)), ((2, 0, 1), ((2, 3, 4),))])

BROADCAST_TO = Op("broadcast_to",
                  formula="a repeated along new or size-1 axes; the engine sums the gradient "
                          "back",
                  array=lambda c, a: np.broadcast_to(a, c), vjps=(identity_vjp,),
                  domains=(REAL,), examples=[((2, 3), ((1, 3),)), ((4, 2, 3), ((2, 1),))])

WHERE = Op("where", formula="a where cond else b (cond a bool input, no gradient); "
                            "d/da = cond, d/db = not cond",
           array=lambda c, cond, a, b: np.where(cond, a, b),
           vjps=(None,
                 lambda xp, g, out, c, cond, a, b: xp.mask(g, xp.data(cond)),
                 lambda xp, g, out, c, cond, a, b: xp.mask(g, ~xp.data(cond))),
           domains=(BOOL, REAL, REAL),
           examples=[(None, ((2, 3), (2, 3), (2, 3))), (None, ((3,), (2, 3), (1,))),
                     (None, ((2, 1), (1, 3), ()))])


def _numpy_fwd(ctx, *arrays):
    function, keywords = ctx
    return function(*arrays, **keywords)


# The values a program computes without a gradient (comparisons, argmax, integer casts): one
# row, so that they are ops like the others (autograd.compile replays them) though backward
# never meets them.
NUMPY = Op("numpy", formula="a numpy function of the inputs, ctx = (function, keywords); no "
                            "gradient",
           array=_numpy_fwd, vjps=None, domains=PerInput(lambda i: REAL),
           examples=[((np.greater, {}), ((2, 3), (2, 3))), ((np.argmax, {"axis": 1}), ((2, 3),)),
                     ((np.equal, {}), ((3,), ()))])


# indexing: getitem and its adjoint, scatter-add ------------------------------------------------
def _scatter_fwd(ctx, g):
    index, shape = ctx
    z = np.zeros(shape, dtype=g.dtype)
    if is_basic(index):
        z[index] = g
    else:
        np.add.at(z, index, g)        # repeated indices accumulate
    return z


def _getitem_vjp(xp, g, out, ctx, a):
    # the gradient of a[index] is g put back at index in zeros of a's shape
    return xp.apply(SCATTER, (ctx, xp.data(a).shape), g)


def _getitem_vjp_fast(xp, g, out, ctx, a):
    """A basic index keeps g as a SparseGrad, added into the input's total in place."""
    if is_basic(ctx):
        return SparseGrad(ctx, g, a.shape)
    return _scatter_fwd((ctx, a.shape), g)


GETITEM = Op("getitem", symbol="[]",
             formula="a[index]; the gradient is g at index, 0 elsewhere (repeated integer "
                     "indices accumulate)",
             array=lambda c, a: a[c], vjps=(_getitem_vjp,), domains=(REAL,),
             examples=[((1,), ((3, 2),)), ((slice(0, 2), None), ((3, 2),)),
                       (np.array([0, 2, 0]), ((3, 2),)),
                       (np.array([[True, False], [False, True], [True, True]]), ((3, 2),))],
             fast_vjps=(_getitem_vjp_fast,))

SCATTER = Op("scatter", formula="zeros(shape) with g added at index (adjoint of getitem)",
             array=_scatter_fwd, vjps=(lambda xp, g, out, c, a: xp.getitem(g, c[0]),),
             domains=(REAL,),
             examples=[((np.array([0, 2, 0]), (3, 2)), ((3, 2),)), ((1, (3, 2)), ((2,),))])


def _setitem_fwd(ctx, a, v):
    out = a.copy()
    out[ctx] = v
    return out


def _setitem_da(xp, g, out, ctx, a, v):
    # the entries at index were overwritten: their gradient goes to v, not to a
    kept = np.ones(xp.data(a).shape, dtype=bool)
    kept[ctx] = False
    return xp.mask(g, kept)


SETITEM = Op("setitem", symbol="[]=",
             formula="a with a[index] = v (ctx = index; v broadcast to a[index]); d/da = 1 "
                     "outside index, 0 at it; d/dv = g[index], summed where v was broadcast",
             array=_setitem_fwd,
             vjps=(_setitem_da, lambda xp, g, out, c, a, v: xp.getitem(g, c)),
             domains=(REAL, REAL),
             examples=[((1,), ((3, 2), (2,))), ((slice(0, 2), 1), ((3, 2), ())),
                       (np.array([2, 0]), ((3, 2), (2, 2))),
                       (np.array([[True, False], [False, True], [True, True]]), ((3, 2), (4,)))])


# casts, clipping, pairwise extremes ----------------------------------------------------------
ASTYPE = Op("astype",
            formula="a converted to float dtype ctx; the engine casts the gradient back to a's "
                    "dtype",
            array=lambda c, a: a.astype(c), vjps=(identity_vjp,), domains=(REAL,),
            examples=[(np.dtype(np.float32), ((2, 3),)), (np.dtype(np.float64), ((3,),))])


def _clip_vjp(xp, g, out, ctx, a):
    # gradient passes where lo <= a <= hi (bounds included), as torch.clamp
    lo, hi = ctx
    ad = xp.data(a)
    inside = np.ones(ad.shape, dtype=bool)
    if lo is not None:
        inside &= ad >= lo
    if hi is not None:
        inside &= ad <= hi
    return xp.mask(g, inside)


CLIP = Op("clip", formula="min(max(a, lo), hi), either bound None; d/da = 1 inside [lo, hi] "
                          "(bounds included), 0 outside",
          array=lambda c, a: np.clip(a, c[0], c[1]), vjps=(_clip_vjp,),
          domains=(Domain(kinks=(-1.0, -0.5, 0.5, 1.0)),),
          examples=[((-1.0, 1.0), ((2, 3),)), ((None, 0.5), ((4,),)), ((-0.5, None), ((),))])


def _pick_weight(xp, a, b, first):
    """1 where `first` wins strictly, 0.5 on ties, 0 elsewhere (torch.maximum's tie rule)."""
    ad, bd = xp.data(a), xp.data(b)
    dtype = np.result_type(ad, bd)
    return (first(ad, bd).astype(dtype) + 0.5 * (ad == bd)).astype(dtype, copy=False)


MAXIMUM = Op("maximum",
             formula="max(a, b) elementwise; d/da = 1 where a > b, 1/2 on ties, else 0",
             array=lambda c, a, b: np.maximum(a, b),
             vjps=(lambda xp, g, out, c, a, b: g * _pick_weight(xp, a, b, np.greater),
                   lambda xp, g, out, c, a, b: g * _pick_weight(xp, b, a, np.greater)),
             domains=(REAL, REAL),
             examples=[(None, ((2, 3), (2, 3))), (None, ((1,), (2, 3))), (None, ((), (3,)))])

MINIMUM = Op("minimum",
             formula="min(a, b) elementwise; d/da = 1 where a < b, 1/2 on ties, else 0",
             array=lambda c, a, b: np.minimum(a, b),
             vjps=(lambda xp, g, out, c, a, b: g * _pick_weight(xp, a, b, np.less),
                   lambda xp, g, out, c, a, b: g * _pick_weight(xp, b, a, np.less)),
             domains=(REAL, REAL),
             examples=[(None, ((2, 3), (2, 3))), (None, ((2, 1), (1, 3))), (None, ((3,), ()))])


# reductions: max/min, logsumexp, log_softmax ----------------------------------------------------
def kept_shape(shape, axis):
    """The shape of a reduction over `axis` (sorted tuple or None) with keepdims=True."""
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def _extreme_vjp(xp, g, out, ctx, a):
    # every element equal to the extreme gets g / (number of such elements), as torch.amax
    axis, keepdims = ctx
    ad, od = xp.data(a), xp.data(out)
    if not keepdims:
        kept = kept_shape(ad.shape, axis)
        od = od.reshape(kept)
        g = xp.reshape(g, kept)
    mask = ad == od
    return g * (mask / mask.sum(axis=axis, keepdims=True)).astype(ad.dtype, copy=False)


REDUCE_EXAMPLES = [((None, False), ((2, 3),)), (((1,), False), ((2, 3),)),
                   (((0,), True), ((2, 3),)), (((0, 2), False), ((2, 3, 4),)),
                   ((None, False), ((),))]
AMAX = Op("amax", formula="max of a over axis; tied maxima share the gradient evenly "
                          "(torch.amax rule)",
          array=lambda c, a: a.max(axis=c[0], keepdims=c[1]), vjps=(_extreme_vjp,),
          domains=(REAL,), examples=REDUCE_EXAMPLES)
AMIN = Op("amin", formula="min of a over axis; tied minima share the gradient evenly "
                          "(torch.amin rule)",
          array=lambda c, a: a.min(axis=c[0], keepdims=c[1]), vjps=(_extreme_vjp,),
          domains=(REAL,), examples=REDUCE_EXAMPLES)


def shift_by_max(axis, a):
    """(a - m, m) with m = max a over axis (keepdims), so that exp(a - m) never overflows.

    m is clamped to the finite range instead of replaced where it is not finite: a row of
    -infs then gives exp(-inf) = 0 and log 0 = -inf (not nan), a +inf gives +inf and a nan
    stays nan, as in torch."""
    m = np.asarray(np.maximum.reduce(a, axis=axis, keepdims=True))   # 0-d: an array too
    info = np.finfo(a.dtype)
    np.clip(m, info.min, info.max, out=m)
    return a - m, m


def _lse_fwd(ctx, a):
    # log sum e^a = m + log sum e^(a - m)
    axis, keepdims = ctx
    z, m = shift_by_max(axis, a)
    out = np.log(np.add.reduce(np.exp(z), axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def _lse_vjp(xp, g, out, ctx, a):
    # d lse / d a = exp(a - lse) = softmax(a)
    axis, keepdims = ctx
    if not keepdims:
        kept = kept_shape(xp.data(a).shape, axis)
        g = xp.reshape(g, kept)
        out = xp.reshape(out, kept)
    return g * xp.exp(a - out)


LOGSUMEXP = Op("logsumexp", formula="log sum_i e^a_i over axis, computed as "
                                    "m + log sum e^(a - m) with m = max a (stable); "
                                    "d/da = softmax(a)",
               array=_lse_fwd, vjps=(_lse_vjp,), domains=(REAL,), examples=REDUCE_EXAMPLES)


def _log_softmax_fwd(axis, a):
    # (a - m) - log sum e^(a - m), not a - (m + log sum ...): at logits of 1e4 in float32 the
    # second form loses the log term's digits to m (-1.09863 where torch gives -1.0986123)
    z, _ = shift_by_max((axis,), a)
    z -= np.log(np.add.reduce(np.exp(z), axis=axis, keepdims=True))
    return z


def _log_softmax_vjp(xp, g, out, ctx, a):
    # out = a - lse(a): d/da = g - softmax(a) * sum(g) over the axis; softmax = e^out
    return g - xp.exp(out) * xp.sum(g, (ctx,), True)


# A primitive, not the composite a - logsumexp(a, keepdims): one node instead of three on the
# loss path of every classifier, and its VJP needs no broadcast undone.
LOG_SOFTMAX = Op("log_softmax", formula="a - logsumexp(a) along axis ctx (stable at |a| = 1e4); "
                                        "d/da = g - softmax(a) sum(g)",
                 array=_log_softmax_fwd, vjps=(_log_softmax_vjp,), domains=(REAL,),
                 examples=[(1, ((2, 3),)), (0, ((4,),)), (2, ((2, 3, 4),)), (0, ((2, 3),))])


# joining and padding -------------------------------------------------------------------------
def _concat_piece(i):
    def vjp(xp, g, out, ctx, *ins):
        # input i gets its own slice of the gradient along the joined axis
        start = sum(xp.data(t).shape[ctx] for t in ins[:i])
        stop = start + xp.data(ins[i]).shape[ctx]
        return xp.getitem(g, (slice(None),) * ctx + (slice(start, stop),))
    return vjp


CONCATENATE = Op("concatenate", symbol="cat",
                 formula="inputs joined along axis ctx; each gets back its slice of the "
                         "gradient",
                 array=lambda c, *ins: np.concatenate(ins, axis=c),
                 vjps=PerInput(_concat_piece), domains=PerInput(lambda i: REAL),
                 examples=[(0, ((2, 3), (1, 3))), (1, ((2, 3), (2, 1), (2, 2))), (0, ((3,),)),
                           (2, ((2, 1, 2), (2, 1, 3)))])


def _pad_fwd(ctx, a):
    widths, value = ctx
    out = np.full(tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, widths)), value,
                  dtype=a.dtype)
    out[_pad_inner(widths, a.shape)] = a
    return out


def _pad_inner(widths, shape):
    return tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape, widths))


def _pad_fwd_fast(ctx, a):
    """The same array: a +0 fill as np.zeros (calloc), the tuples as lists first (a conv's
    padding of a digits batch: 6.7 -> 5.4 us)."""
    widths, value = ctx
    shape = tuple([n + lo + hi for n, (lo, hi) in zip(a.shape, widths)])
    if value == 0 and math.copysign(1.0, value) > 0:
        out = np.zeros(shape, a.dtype)
    else:
        out = np.full(shape, value, dtype=a.dtype)
    out[tuple([slice(lo, lo + n) for n, (lo, _) in zip(a.shape, widths)])] = a
    return out


PAD = Op("pad", formula="a surrounded by value: widths ((before, after) per axis, >= 0), "
                        "constant mode; the gradient is the inner slice",
         array=_pad_fwd, fast_array=_pad_fwd_fast,
         vjps=(lambda xp, g, out, c, a: xp.getitem(g, _pad_inner(c[0], xp.data(a).shape)),),
         domains=(REAL,),
         examples=[((((1, 2), (0, 1)), 0.0), ((2, 3),)), ((((2, 0),), -1.5), ((3,),)),
                   ((((0, 0), (0, 0), (1, 1), (2, 1)), 0.0), ((1, 2, 3, 2),))])


# convolution windows: im2col and its adjoint col2im --------------------------------------------
def _im2col(ctx, x):
    """cols[n, c, i, j, p, q] = x[n, c, p * sh + i, q * sw + j] (a strided view, then a copy)."""
    kh, kw, sh, sw = ctx
    n, c, h, w = x.shape
    if h < kh or w < kw:
        raise ValueError(f"kernel {kh}x{kw} is larger than the (padded) input {h}x{w}")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3))


def _im2col_fast(ctx, x):
    """The same windows, the view made from x's strides by one np.ndarray call: numpy's
    sliding_window_view checks its arguments in Python (a digits batch, (64, 1, 10, 10), 3x3:
    35 -> 25 us, most of what is left the copy)."""
    kh, kw, sh, sw = ctx
    n, c, h, w = x.shape
    if h < kh or w < kw or not (isinstance(x, np.ndarray) and x.flags.c_contiguous):
        return _im2col(ctx, x)
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s0, s1, s2, s3 = x.strides
    win = np.ndarray((n, c, kh, kw, oh, ow), x.dtype, x, 0, (s0, s1, s2, s3, sh * s2, sw * s3))
    return win.copy()


def _col2im(ctx, cols):
    """x[n, c, p * sh + i, q * sw + j] += cols[n, c, i, j, p, q]: the adjoint of im2col.
    Loops over the kh * kw kernel offsets only; each step is one strided add over all pixels."""
    kh, kw, sh, sw, h, w = ctx
    n, c, _, _, oh, ow = cols.shape
    x = np.zeros((n, c, h, w), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += cols[:, :, i, j]
    return x


IM2COL = Op("im2col", formula="windows of x (N, C, H, W) as (N, C, kH, kW, OH, OW); "
                              "ctx = (kH, kW, strideH, strideW); the gradient is col2im of g",
            array=_im2col, fast_array=_im2col_fast,
            vjps=(lambda xp, g, out, c, x: xp.apply(COL2IM, c + xp.data(x).shape[2:], g),),
            domains=(REAL,),
            examples=[((2, 2, 1, 1), ((2, 3, 4, 5),)), ((3, 2, 2, 1), ((1, 2, 5, 4),)),
                      ((2, 2, 2, 2), ((1, 1, 4, 4),))])
COL2IM = Op("col2im", formula="adjoint of im2col: window entries summed back onto an "
                              "(N, C, H, W) image; the gradient is im2col of g",
            array=_col2im,
            vjps=(lambda xp, g, out, c, cols: xp.apply(IM2COL, c[:4], g),), domains=(REAL,),
            examples=[((2, 2, 1, 1, 4, 5), ((2, 3, 2, 2, 3, 4),)),
                      ((3, 2, 2, 1, 5, 4), ((1, 2, 3, 2, 2, 3),)),
                      ((2, 2, 2, 2, 5, 5), ((1, 1, 2, 2, 2, 2),))])


# convolution and pooling: one row each, with its own VJP ------------------------------------
# Built on im2col/col2im (on arrays their forwards, under create_graph their rows), so that the
# VJPs are themselves differentiable. The forward keeps nothing: the VJPs take the windows
# again from the input (one strided copy), so a ctx is only (stride, padding) and the rows stay
# pure functions of their inputs.
def _padded(xp, x, ph, pw, value):
    if not (ph or pw):
        return x
    return xp.apply(PAD, (((0, 0), (0, 0), (ph, ph), (pw, pw)), value), x)


def _windows_back(xp, dcols, x, kh, kw, sh, sw, ph, pw):
    """The gradient of x from the gradient of its windows dcols (N, C, kH, kW, OH, OW): col2im
    onto the padded image, then the padding cut away. The adjoint of im2col(pad(x))."""
    h, w = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
    g = xp.apply(COL2IM, (kh, kw, sh, sw, h, w), dcols)
    if not (ph or pw):
        return g
    return xp.getitem(g, (slice(None), slice(None), slice(ph, h - ph), slice(pw, w - pw)))


def _conv2d_fwd(ctx, x, w, b):
    sh, sw, ph, pw = ctx
    o, c, kh, kw = w.shape
    if ph or pw:
        x = forward_of(PAD, (((0, 0), (0, 0), (ph, ph), (pw, pw)), 0.0), x)
    cols = forward_of(IM2COL, (kh, kw, sh, sw), x)
    n, _, _, _, oh, ow = cols.shape
    out = np.matmul(w.reshape(o, c * kh * kw), cols.reshape(n, c * kh * kw, oh * ow))
    out = out.reshape(n, o, oh, ow)
    out += b.reshape(o, 1, 1)
    return out


def _conv2d_dx(xp, g, out, ctx, x, w, b):
    # dx = col2im(W^T g): each output's gradient spread back over its window
    sh, sw, ph, pw = ctx
    o, c, kh, kw = w.shape
    n, _, oh, ow = g.shape
    dcols = xp.matmul(xp.reshape(w, (o, c * kh * kw)).mT, xp.reshape(g, (n, o, oh * ow)))
    return _windows_back(xp, xp.reshape(dcols, (n, c, kh, kw, oh, ow)), x, kh, kw, sh, sw, ph, pw)


def _conv2d_dw(xp, g, out, ctx, x, w, b):
    # dW[o, k] = sum over images n and positions l of g[n, o, l] cols[n, k, l]
    sh, sw, ph, pw = ctx
    o, c, kh, kw = w.shape
    n, _, oh, ow = g.shape
    cols = xp.apply(IM2COL, (kh, kw, sh, sw), _padded(xp, x, ph, pw, 0.0))
    per_image = xp.matmul(xp.reshape(g, (n, o, oh * ow)),
                          xp.reshape(cols, (n, c * kh * kw, oh * ow)).mT)
    return xp.reshape(xp.sum(per_image, (0,)), w.shape)


def _conv2d_db(xp, g, out, ctx, x, w, b):
    # db[o] = sum over images n and positions (p, q) of g[n, o, p, q]: over the images first,
    # whole (O, OH, OW) blocks added at once, then over each channel's contiguous positions
    # (a digits batch, (64, 8, 8, 8) float32: 5 us, against 16 for one reduction over three
    # axes that numpy walks element by element)
    return xp.sum(xp.sum(g, (0,)), (1, 2))


CONV2D = Op("conv2d",
            formula="out[n, o, p, q] = b[o] + sum_{c,i,j} w[o, c, i, j] "
                    "x_pad[n, c, p sh + i, q sw + j]; ctx = (strideH, strideW, padH, padW)",
            array=_conv2d_fwd,
            vjps=(_conv2d_dx, _conv2d_dw, _conv2d_db),
            domains=(REAL, REAL, REAL),
            examples=[((1, 1, 0, 0), ((2, 3, 5, 4), (4, 3, 2, 2), (4,))),
                      ((2, 1, 1, 2), ((1, 2, 5, 5), (3, 2, 3, 2), (3,))),
                      ((2, 2, 1, 1), ((2, 1, 4, 4), (2, 1, 3, 3), (2,)))])


def _pool_windows(x, ctx, value):
    kh, kw, sh, sw, ph, pw = ctx
    if ph or pw:
        x = forward_of(PAD, (((0, 0), (0, 0), (ph, ph), (pw, pw)), value), x)
    return forward_of(IM2COL, (kh, kw, sh, sw), x)


def _max_pool_fwd(ctx, x):
    return np.maximum.reduce(_pool_windows(x, ctx, -np.inf), axis=(2, 3))


def _max_pool_vjp(xp, g, out, ctx, x):
    # the gradient goes to ONE element per window, the first maximum in row-major order
    # (torch's rule; on ties, e.g. zeros after a relu, splitting it would differ from torch)
    kh, kw, sh, sw, ph, pw = ctx
    cols = _pool_windows(xp.data(x), ctx, -np.inf)
    n, c, _, _, oh, ow = cols.shape
    flat = cols.reshape(n, c, kh * kw, oh, ow)
    first = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(first, np.expand_dims(flat.argmax(axis=2), 2), True, axis=2)
    # selected, not multiplied by 0/1: an inf of g reaches its window's maximum only (inf * 0
    # would put nans on the others; torch gives them 0)
    dcols = xp.reshape(xp.where(first, xp.unsqueeze(g, 2), 0.0), (n, c, kh, kw, oh, ow))
    return _windows_back(xp, dcols, x, *ctx)


# Non-overlapping windows (kernel = stride, no padding: torch's MaxPool2d(k)) are strided
# slices of x, one per window offset: no window copy, no argmax. On a (64, 8, 8, 8) float32
# batch, 2x2: forward 30 us instead of 110, VJP 90 us instead of 380.
def _whole_windows(ctx, x):
    """(OH, OW) when the windows neither overlap, skip nor are padded, else None."""
    kh, kw, sh, sw, ph, pw = ctx
    if (kh, kw) != (sh, sw) or ph or pw:
        return None
    oh, ow = x.shape[2] // kh, x.shape[3] // kw
    if oh == 0 or ow == 0:
        return None
    return oh, ow


def _offsets(ctx, x):
    """The slices x[:, :, i::kH, j::kW] cut to whole windows, one per offset (i, j) in
    row-major order; None when the windows overlap, skip or are padded."""
    windows = _whole_windows(ctx, x)
    if windows is None:
        return None
    (oh, ow), kh, kw = windows, ctx[0], ctx[1]
    return [x[:, :, i:oh * kh:kh, j:ow * kw:kw] for i in range(kh) for j in range(kw)]


def _max_pool_fwd_fast(ctx, x):
    windows = _whole_windows(ctx, x)
    if windows is None:
        return _max_pool_fwd(ctx, x)
    (oh, ow), kh, kw = windows, ctx[0], ctx[1]
    # the maximum over each window's rows first, on slices of whole rows (contiguous runs),
    # then over its columns: (64, 8, 8, 8) float32, 2x2: 33 -> 29 us
    rows = [x[:, :, i:oh * kh:kh, :ow * kw] for i in range(kh)]
    r = np.maximum(rows[0], rows[1]) if kh > 1 else rows[0]
    for part in rows[2:]:
        np.maximum(r, part, out=r)
    cols = [r[:, :, :, j::kw] for j in range(kw)]
    out = np.maximum(cols[0], cols[1]) if kw > 1 else cols[0].copy()
    for part in cols[2:]:
        np.maximum(out, part, out=out)
    return out


def _max_pool_vjp_fast(xp, g, out, ctx, x):
    """For each window offset in row-major order, the windows whose gradient is not placed
    yet (`free`) and whose entry there is their maximum (`hit`) take g; the product g * hit
    writes that offset's slice of the result (a select where g holds an inf or a nan, so that
    the other entries stay 0). The result is filled slice by slice, zeroed first only where
    the windows do not cover x."""
    parts = _offsets(ctx, x)
    if parts is None:
        return _max_pool_vjp(xp, g, out, ctx, x)
    return _first_maxima_take(g, out, ctx, x, parts, None, *_finite_checks(g, out))


def _finite_checks(g, out):
    """(every entry of g is finite, out holds a nan). Fast path: one dot product of the two
    (1.3 us against 4.8 for two sums on a (64, 8, 4, 4) batch): an inf or a nan in either
    makes it inf or nan, so a finite one answers both; otherwise (or on an overflow)
    all_finite(g) and the sum of out decide."""
    if math.isfinite(np.vdot(g, out)):
        return True, False
    return all_finite(g), math.isnan(np.add.reduce(out, axis=None))


def _first_maxima_take(g, out, ctx, x, parts, free, finite, nan):
    """The loop of _max_pool_vjp_fast; `free`, if given, the windows that may take their
    gradient at all (the others give 0 to every entry); `finite`, whether every entry of g
    is; `nan`, whether out holds a nan (a nan is its window's maximum)."""
    kh, kw = ctx[:2]
    oh, ow = out.shape[2], out.shape[3]
    covered = x.shape[2] == oh * kh and x.shape[3] == ow * kw
    d = np.empty(x.shape, dtype=g.dtype) if covered else np.zeros(x.shape, dtype=g.dtype)
    hit = np.empty(out.shape, dtype=bool)
    for k, part in enumerate(parts):
        np.equal(part, out, out=hit)
        if nan:
            hit |= part != part
        if free is None:
            free = ~hit
        else:
            hit &= free
            free ^= hit
        i, j = divmod(k, kw)
        dst = d[:, :, i:oh * kh:kh, j:ow * kw:kw]
        if finite:
            np.multiply(g, hit, out=dst)
        else:
            np.copyto(dst, np.where(hit, g, 0.0))
    return d


def max_pool2d_after_relu_vjp(g, out, ctx, x):
    """d loss / d z for out = max_pool2d(x, ctx), x = relu(z), from g = d loss / d out: the
    max-pool's VJP followed by relu's, as one loop. Each window's gradient goes to its first
    maximum, an entry of x, and relu passes it where that entry is not 0, i.e. where the
    window's maximum is not 0: so the windows with a maximum of 0 take nothing, and relu's
    mask costs nothing more (the same numbers as mask(VJP(g), x != 0), signed zeros
    included). autograd.compile writes this call for a relu read only by a max-pool."""
    keep = out != 0
    parts = _offsets(ctx, x)
    if parts is None:
        return _max_pool_vjp(FAST_ARRAY, FAST_ARRAY.mask(g, keep), out, ctx, x)
    finite, nan = _finite_checks(g, out)
    if not finite:
        # as the mask does for such a g: the windows with maximum 0 are selected away (+0)
        g = np.where(keep, g, 0.0)
        finite = all_finite(g)
    return _first_maxima_take(g, out, ctx, x, parts, keep, finite, nan)


MAX_POOL2D = Op("max_pool2d",
                formula="max over each kh x kw window of x padded with -inf; the gradient goes "
                        "to the first maximum; ctx = (kH, kW, strideH, strideW, padH, padW)",
                array=_max_pool_fwd, vjps=(_max_pool_vjp,), domains=(REAL,),
                fast_array=_max_pool_fwd_fast, fast_vjps=(_max_pool_vjp_fast,),
                examples=[((2, 2, 2, 2, 0, 0), ((2, 3, 4, 4),)),
                          ((2, 2, 2, 2, 0, 0), ((1, 2, 5, 7),)),
                          ((3, 2, 1, 2, 1, 1), ((1, 2, 5, 5),)),
                          ((2, 2, 1, 1, 0, 0), ((1, 1, 3, 4),))])


def _avg_pool_fwd(ctx, x):
    kh, kw = ctx[:2]
    out = np.add.reduce(_pool_windows(x, ctx, 0.0), axis=(2, 3))
    out *= 1.0 / (kh * kw)
    return out


def _avg_pool_vjp(xp, g, out, ctx, x):
    # each window entry gets g / (kh kw); padded zeros count, as torch's count_include_pad
    kh, kw, sh, sw, ph, pw = ctx
    n, c, oh, ow = g.shape
    dcols = xp.broadcast_to(xp.reshape(g * (1.0 / (kh * kw)), (n, c, 1, 1, oh, ow)),
                            (n, c, kh, kw, oh, ow))
    return _windows_back(xp, dcols, x, *ctx)


AVG_POOL2D = Op("avg_pool2d",
                formula="mean over each kh x kw window of x zero-padded (padding counts); "
                        "ctx = (kH, kW, strideH, strideW, padH, padW)",
                array=_avg_pool_fwd, vjps=(_avg_pool_vjp,), domains=(REAL,),
                examples=[((2, 2, 2, 2, 0, 0), ((2, 3, 4, 4),)),
                          ((3, 2, 1, 2, 1, 1), ((1, 2, 5, 5),)),
                          ((2, 2, 1, 1, 0, 0), ((1, 1, 3, 4),))])

ROWS = (MATMUL, LINEAR, SUM, RESHAPE, TRANSPOSE, BROADCAST_TO, WHERE, NUMPY, GETITEM, SCATTER,
        SETITEM,
        ASTYPE,
        CLIP, MAXIMUM, MINIMUM, AMAX, AMIN, LOGSUMEXP, LOG_SOFTMAX, CONCATENATE, PAD, IM2COL,
        COL2IM, CONV2D, MAX_POOL2D, AVG_POOL2D)
