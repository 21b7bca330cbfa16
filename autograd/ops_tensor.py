"""Rows of the op table that only `Tensor` has: linear algebra, reductions, shape and indexing.

Same conventions as ops.py: `array(ctx, *ins)` forward, one `vjp(xp, g, out, ctx, *ins)` per
input, written with `xp.*` so that it runs on arrays and, for create_graph, on nodes.
"""
import numpy as np

from .ops import ARRAY, REAL, Domain, _g, _is_basic

TENSOR_ROWS = []


def row(name, array, vjps, domains, doc, symbol=None, examples=None):
    """examples: list of (ctx, input shapes) the generated tests run; see ops.Op."""
    TENSOR_ROWS.append((name, None, array, vjps, domains, doc, symbol, examples))


# matmul -------------------------------------------------------------------------------------
# a, b and g are arrays or (create_graph) Tensors: both have .ndim and .mT (numpy >= 2), which
# spares an xp call each on the hot path of every Linear layer
def _matmul_da(xp, g, out, ctx, a, b):
    if a.ndim > 1 and b.ndim > 1:
        return xp.matmul(g, b.mT)
    if b.ndim == 1:                   # out[..., i] = sum_k a[..., i, k] b[k]
        return xp.unsqueeze(g, -1) * b
    return xp.squeeze(xp.matmul(b, xp.unsqueeze(g, -1)), -1)  # a 1-D: out[..., j] = a_k b[.., k, j]


def _matmul_db(xp, g, out, ctx, a, b):
    na, nb = a.ndim, b.ndim
    if na > 1 and nb > 1:
        return xp.matmul(a.mT, g)
    if na == 1 and nb == 1:
        return g * a
    if na == 1:
        return xp.unsqueeze(a, -1) * xp.unsqueeze(g, -2)
    return xp.squeeze(xp.matmul(a.mT, xp.unsqueeze(g, -1)), -1)


row("matmul", lambda c, a, b: ARRAY.matmul(a, b), (_matmul_da, _matmul_db), (REAL, REAL),
    "a @ b (numpy matmul rules: 1-D operands, batched stacks)", "@",
    examples=[(None, ((3,), (3,))), (None, ((2, 3), (3, 4))), (None, ((3,), (3, 2))),
              (None, ((2, 3), (3,))), (None, ((2, 2, 3), (3, 4))),
              (None, ((2, 1, 2, 3), (3, 3, 2)))])


# linear: x W^T + b in one node --------------------------------------------------------------
# Fused because every Linear layer runs it: one node instead of three (transpose, matmul, add),
# and the bias gradient is one sum over the leading axes instead of the broadcast machinery.
# Measured on bench/tensor_bench.py's step: a 4-8-8-3 MLP (pure overhead) went from 79 us to
# 73 us; on the 64-128-64-10 MLP the change is within the noise (the matmuls dominate).
def _linear_fwd(ctx, x, w, b):
    out = ARRAY.matmul(x, w.T)
    out += b                          # in place: the matmul's result is ours
    return out


def _linear_dx(xp, g, out, ctx, x, w, b):
    return xp.matmul(g, w)


def _linear_dw(xp, g, out, ctx, x, w, b):
    if x.ndim == 1:
        return xp.unsqueeze(g, -1) * x
    if x.ndim == 2:
        return xp.matmul(g.mT, x)
    return xp.matmul(xp.reshape(g, (-1, g.shape[-1])).mT, xp.reshape(x, (-1, x.shape[-1])))


def _linear_db(xp, g, out, ctx, x, w, b):
    return xp.sum_rows(g) if g.ndim > 1 else g


row("linear", _linear_fwd, (_linear_dx, _linear_dw, _linear_db),
    (REAL, REAL, REAL), "x W^T + b with W of shape (out, in), b of shape (out,)",
    examples=[(None, ((4, 3), (2, 3), (2,))), (None, ((3,), (2, 3), (2,))),
              (None, ((2, 4, 3), (2, 3), (2,)))])


# reductions and shape -----------------------------------------------------------------------
def _sum_vjp(xp, g, out, ctx, a):
    axis, keepdims = ctx
    shape = xp.data(a).shape
    if not keepdims and axis is not None:
        g = xp.reshape(g, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return xp.broadcast_to(g, shape)


row("sum", lambda c, a: np.add.reduce(a, axis=c[0], keepdims=c[1]), (_sum_vjp,), (REAL,),
    "sum of a over axis (all axes when None)",
    examples=[((None, False), ((2, 3),)), (((1,), False), ((2, 3),)), (((0,), True), ((2, 3),)),
              (((0, 2), False), ((2, 3, 4),))])

row("reshape", lambda c, a: a.reshape(c),
    (lambda xp, g, out, c, a: xp.reshape(g, xp.data(a).shape),), (REAL,),
    "a viewed with another shape of the same size",
    examples=[((3, 2), ((2, 3),)), ((-1,), ((2, 3),))])

row("transpose", lambda c, a: a.transpose(c),
    (lambda xp, g, out, c, a: xp.transpose(g, tuple(np.argsort(c))),), (REAL,),
    "a with its axes permuted", examples=[((1, 0), ((2, 3),)), ((2, 0, 1), ((2, 3, 4),))])

row("broadcast_to", lambda c, a: np.broadcast_to(a, c),
    (_g,), (REAL,), "a repeated along new or size-1 axes; the engine sums the gradient back",
    examples=[((2, 3), ((1, 3),)), ((4, 2, 3), ((2, 1),))])

row("where", lambda c, a, b: np.where(c, a, b),
    (lambda xp, g, out, c, a, b: xp.mask(g, c),
     lambda xp, g, out, c, a, b: xp.mask(g, ~c)),
    (REAL, REAL), "a where mask else b (mask is a constant)",
    examples=[(np.array([[True, False, True], [False, True, True]]), ((2, 3), (2, 3))),
              (np.array([True, False, True]), ((2, 3), (1,)))])


# indexing: getitem and its adjoint, scatter-add ------------------------------------------------
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


# casts, clipping, pairwise extremes ----------------------------------------------------------
row("astype", lambda c, a: a.astype(c), (_g,), (REAL,),
    "a converted to float dtype ctx; the engine casts the gradient back to a's dtype",
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


row("clip", lambda c, a: np.clip(a, c[0], c[1]), (_clip_vjp,),
    (Domain(kinks=(-1.0, -0.5, 0.5, 1.0)),),
    "min(max(a, lo), hi), either bound None; gradient 1 inside [lo, hi] (bounds included)",
    examples=[((-1.0, 1.0), ((2, 3),)), ((None, 0.5), ((4,),)), ((-0.5, None), ((),))])


def _pick_weight(xp, a, b, first):
    """1 where `first` wins strictly, 0.5 on ties, 0 elsewhere (torch.maximum's tie rule)."""
    ad, bd = xp.data(a), xp.data(b)
    dtype = np.result_type(ad, bd)
    return (first(ad, bd).astype(dtype) + 0.5 * (ad == bd)).astype(dtype, copy=False)


row("maximum", lambda c, a, b: np.maximum(a, b),
    (lambda xp, g, out, c, a, b: g * _pick_weight(xp, a, b, np.greater),
     lambda xp, g, out, c, a, b: g * _pick_weight(xp, b, a, np.greater)),
    (REAL, REAL), "max(a, b) elementwise; ties send half the gradient to each (as torch)",
    examples=[(None, ((2, 3), (2, 3))), (None, ((1,), (2, 3))), (None, ((), (3,)))])
row("minimum", lambda c, a, b: np.minimum(a, b),
    (lambda xp, g, out, c, a, b: g * _pick_weight(xp, a, b, np.less),
     lambda xp, g, out, c, a, b: g * _pick_weight(xp, b, a, np.less)),
    (REAL, REAL), "min(a, b) elementwise; ties send half the gradient to each (as torch)",
    examples=[(None, ((2, 3), (2, 3))), (None, ((2, 1), (1, 3))), (None, ((3,), ()))])


# reductions: max/min, logsumexp, log_softmax ----------------------------------------------------
def _kept(shape, axis):
    """The shape of a reduction over `axis` (sorted tuple or None) with keepdims=True."""
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def _extreme_vjp(xp, g, out, ctx, a):
    # every element equal to the extreme gets g / (number of such elements), as torch.amax
    axis, keepdims = ctx
    ad, od = xp.data(a), xp.data(out)
    if not keepdims:
        kept = _kept(ad.shape, axis)
        od = od.reshape(kept)
        g = xp.reshape(g, kept)
    mask = ad == od
    return g * (mask / mask.sum(axis=axis, keepdims=True)).astype(ad.dtype, copy=False)


_REDUCE_EXAMPLES = [((None, False), ((2, 3),)), (((1,), False), ((2, 3),)),
                    (((0,), True), ((2, 3),)), (((0, 2), False), ((2, 3, 4),)),
                    ((None, False), ((),))]
row("amax", lambda c, a: a.max(axis=c[0], keepdims=c[1]), (_extreme_vjp,), (REAL,),
    "max of a over axis; tied maxima share the gradient evenly (torch.amax rule)",
    examples=_REDUCE_EXAMPLES)
row("amin", lambda c, a: a.min(axis=c[0], keepdims=c[1]), (_extreme_vjp,), (REAL,),
    "min of a over axis; tied minima share the gradient evenly (torch.amin rule)",
    examples=_REDUCE_EXAMPLES)


def _shift(axis, a):
    """(a - m, m) with m = max a over axis (keepdims), so that exp(a - m) never overflows.

    m is clamped to the finite range instead of replaced where it is not finite: a row of
    -infs then gives exp(-inf) = 0 and log 0 = -inf (not nan), a +inf gives +inf and a nan
    stays nan, as in torch, in two in-place ufunc calls (np.where(isfinite) took 2.7 us)."""
    m = np.asarray(np.maximum.reduce(a, axis=axis, keepdims=True))   # 0-d: an array too
    lo, hi = _finite_range(a.dtype)
    np.maximum(m, lo, out=m)
    np.minimum(m, hi, out=m)
    return a - m, m


def _logsumexp(axis, a):
    """log sum exp a over axis, keepdims: m + log sum e^(a - m)."""
    z, m = _shift(axis, a)
    out = np.log(np.add.reduce(np.exp(z), axis=axis, keepdims=True))
    out += m
    return out


def _log_softmax_fwd(axis, a):
    # (a - m) - log sum e^(a - m), not a - (m + log sum ...): at logits of 1e4 in float32 the
    # second form loses the log term's digits to m (-1.09863 where torch gives -1.0986123)
    z, _ = _shift((axis,), a)
    z -= np.log(np.add.reduce(np.exp(z), axis=axis, keepdims=True))
    return z


def _finite_range(dtype, cache={}):
    r = cache.get(dtype)
    if r is None:
        info = np.finfo(dtype)
        r = cache[dtype] = (dtype.type(info.min), dtype.type(info.max))
    return r


def _lse_fwd(ctx, a):
    axis, keepdims = ctx
    out = _logsumexp(axis, a)
    return out if keepdims else np.squeeze(out, axis=axis)


def _lse_vjp(xp, g, out, ctx, a):
    # d lse / d a = exp(a - lse) = softmax(a)
    axis, keepdims = ctx
    if not keepdims:
        kept = _kept(xp.data(a).shape, axis)
        g = xp.reshape(g, kept)
        out = xp.reshape(out, kept)
    return g * xp.exp(a - out)


row("logsumexp", _lse_fwd, (_lse_vjp,), (REAL,),
    "log sum_i e^a_i over axis, computed as m + log sum e^(a - m) with m = max a (stable)",
    examples=_REDUCE_EXAMPLES)


def _log_softmax_vjp(xp, g, out, ctx, a):
    # out = a - lse(a): d/da = g - softmax(a) * sum(g) over the axis; softmax = e^out
    return g - xp.exp(out) * xp.sum(g, (ctx,), True)


# A primitive, not the composite a - logsumexp(a, keepdims): one node instead of three on the
# loss path of every classifier, and its VJP needs no broadcast undone.
row("log_softmax", _log_softmax_fwd, (_log_softmax_vjp,), (REAL,),
    "a - logsumexp(a) along axis ctx (stable at |a| = 1e4)",
    examples=[(1, ((2, 3),)), (0, ((4,),)), (2, ((2, 3, 4),)), (0, ((2, 3),))])


# cross_entropy: log_softmax and the pick of the target class in one node ---------------------
# Every classifier's loss. As a composite (log_softmax, a one-hot multiply, sums, a division) it
# was 6 nodes and 55 us on a (64, 10) batch; fused, its VJP is the textbook
# w_n (softmax(a)_n - onehot(t_n)), written as a scaled copy of exp(a - m) and a subtraction at
# the targets: no one-hot array, no softmax division in the forward.
class ClassTargets:
    """ctx of the cross_entropy row: integer class targets `target` (N,) in [0, n_classes) of
    logits (N, n_classes), with torch's options: class `weight` (C,), `ignore_index` (those
    samples count for nothing) and `reduction` ('mean': sum_n w_n loss_n / sum_n w_n, 'sum' or
    'none'). A target out of range raises IndexError naming it.

    `flat` holds n * n_classes + t_n, the targets' positions in the flattened logits: a take
    or an index of a raveled array with it costs a third of a[rows, t] on a (64, 10) batch.
    The forward leaves exp(a - m) and its row sums here for the VJP, marked with the output
    they belong to; a VJP of any other output of the same ctx (gradcheck runs the forward many
    times) or on recorded nodes (create_graph) recomputes the softmax from the logits.
    """
    __slots__ = ("target", "n_classes", "class_weight", "ignore_index", "reduction", "starts",
                 "flat", "weight", "ignored", "denom", "_out", "_e", "_s")

    def __init__(self, target, n_classes, weight=None, ignore_index=-100, reduction="mean"):
        t = np.asarray(target).astype(np.intp, copy=False)
        self.target, self.n_classes = t, n_classes
        self.ignore_index, self.reduction = ignore_index, reduction
        self.class_weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        n = t.shape[0]
        self.starts = _row_starts(n, n_classes)
        # one call finds the targets' flat positions and checks that each is a class (it raises
        # for any outside [0, n_classes)): a max reduction and an add took 1.8x as long
        try:
            flat = np.ravel_multi_index((_row_starts(n, 1), t), (n, n_classes))
        except ValueError:
            flat = None
        if flat is None or 0 <= ignore_index < n_classes and np.count_nonzero(t == ignore_index):
            valid = t != ignore_index
            bad = valid & ((t < 0) | (t >= n_classes))
            if bad.any():
                raise IndexError(f"cross_entropy: target {int(t[bad][0])} is out of bounds "
                                 f"for {n_classes} classes")
            pick, self.ignored = np.where(valid, t, 0), ~valid
            flat = self.starts + pick
            w = np.ones(t.shape) if weight is None else self.class_weight[pick]
            w = w * valid
        else:
            self.ignored = None
            w = None if weight is None else self.class_weight[t]
        self.flat = flat
        # per-sample weights w_n; None when every sample counts once (the fast path)
        self.weight = w
        self.denom = float(n if w is None else w.sum())
        self._out = self._e = self._s = None

    def onehot(self, shape, dtype):
        o = np.zeros(shape, dtype=dtype)
        o.ravel()[self.flat] = 1.0
        return o

    def __repr__(self):
        w = "" if self.class_weight is None else f", weight={self.class_weight.tolist()}"
        return (f"ClassTargets({self.target.tolist()}, {self.n_classes}{w}, "
                f"ignore_index={self.ignore_index}, reduction={self.reduction!r})")


def _row_starts(n, width, cache={}):
    """[0, width, 2 width, ...] of length n, read-only and cached: where each row of an
    (n, width) array starts in its flattened data."""
    r = cache.get((n, width))
    if r is None:
        if len(cache) > 64:
            cache.clear()
        r = cache[(n, width)] = np.arange(n) * width
        r.flags.writeable = False
    return r


def _ce_fwd(ctx, a):
    """The loss from m = the row maxima, e = exp(a - m) and s = the row sums of e:
    loss_n = -log softmax(a)[n, t_n] = log s_n - (a - m)[n, t_n], reduced. m is not clamped
    to the finite range (as _shift does for logsumexp): a row with a +inf, or of -infs only,
    then gives nan, as torch's cross_entropy does, and a finite batch is spared two calls."""
    # the row maxima through argmax and a take: 3.9 us against 6 for maximum.reduce along a
    # short axis ((64, 10) float32)
    m = a.take(ctx.starts + a.argmax(axis=1))
    # C order whatever a's layout (transposed logits are F-ordered): the VJP writes into the
    # raveled copy of e it makes, which must be a view of it
    e = np.subtract(a, m[:, None], order="C")
    picked = e.take(ctx.flat)
    np.exp(e, out=e)
    s = np.add.reduce(e, axis=1)
    loss = np.log(s)
    loss -= picked
    if ctx.weight is not None:
        loss *= ctx.weight.astype(loss.dtype, copy=False)
        if ctx.ignored is not None:
            loss[ctx.ignored] = 0.0        # not 0 * inf where an ignored row's logit is -inf
    if ctx.reduction != "none":
        loss = np.add.reduce(loss)
        if ctx.reduction == "mean":     # all ignored: a mean of nothing is nan, as in torch
            loss = loss * (1.0 / ctx.denom) if ctx.denom else loss * np.nan
    ctx._out, ctx._e, ctx._s = loss, e, s
    return loss


def _ce_vjp(xp, g, out, ctx, a):
    # d loss_n / d a[n, c] = k_n (softmax(a)[n, c] - [c == t_n]) with k_n = w_n g_n ('none'),
    # w_n g / denom ('mean') or w_n g ('sum')
    dtype = xp.data(a).dtype
    fast = xp is ARRAY and ctx._out is out
    # a 0-d g on arrays is read as a numpy scalar: scalar arithmetic costs a tenth of a 0-d
    # array's
    k = g[()] if fast and g.ndim == 0 else g
    if ctx.reduction == "mean":
        k = k * (1.0 / ctx.denom) if ctx.denom else k * np.nan
    if ctx.weight is not None:
        k = k * ctx.weight.astype(dtype)
    if fast:
        # softmax(a) k = e (k / s): one scaled copy of the forward's exp(a - m), then k off at
        # each row's target
        d = np.multiply(ctx._e, (k / ctx._s)[:, None], order="C")    # ravel: a view
        d.ravel()[ctx.flat] -= k
        return d
    if ctx.reduction == "none" or ctx.weight is not None:
        k = xp.unsqueeze(k, 1)          # one k_n per row
    p = xp.exp(xp.apply("log_softmax", 1, a))
    return (p - ctx.onehot(xp.data(a).shape, dtype)) * k


row("cross_entropy", _ce_fwd, (_ce_vjp,), (REAL,),
    "-w_n log softmax(a)[n, t_n] with ctx = ClassTargets(t, w, reduction); 'mean' divides by "
    "sum_n w_n (stable: log-sum-exp)",
    examples=[(ClassTargets([0, 2], 3), ((2, 3),)),
              (ClassTargets([1, 0, 3], 4, reduction="sum"), ((3, 4),)),
              (ClassTargets([2, 2, 0, 1], 3, reduction="none"), ((4, 3),)),
              (ClassTargets([1, 0, 2], 3, weight=[0.5, 0.0, 2.0]), ((3, 3),)),
              (ClassTargets([1, -100, 0, 1], 2, ignore_index=-100), ((4, 2),)),
              (ClassTargets([0, 3, 1], 4, weight=[1.5, 1.0, 0.5, 2.0], ignore_index=3,
                            reduction="none"), ((3, 4),))])


# joining and padding -------------------------------------------------------------------------
class _PerInput:
    """vjps/domains of a variadic row: entry i is made on demand for input i."""
    __slots__ = ("make", "cache")

    def __init__(self, make):
        self.make = make
        self.cache = {}

    def __getitem__(self, i):
        if i not in self.cache:
            self.cache[i] = self.make(i)
        return self.cache[i]

    def __len__(self):
        raise TypeError("a variadic op takes any number of inputs: see its examples")

    def __iter__(self):
        raise TypeError("a variadic op takes any number of inputs: index it instead")


def _concat_piece(i):
    def vjp(xp, g, out, ctx, *ins):
        start = sum(xp.data(t).shape[ctx] for t in ins[:i])
        stop = start + xp.data(ins[i]).shape[ctx]
        return xp.getitem(g, (slice(None),) * ctx + (slice(start, stop),))
    return vjp


row("concatenate", lambda c, *ins: np.concatenate(ins, axis=c),
    _PerInput(_concat_piece), _PerInput(lambda i: REAL),
    "inputs joined along axis ctx; each gets back its slice of the gradient", "cat",
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


row("pad", _pad_fwd,
    (lambda xp, g, out, c, a: xp.getitem(g, _pad_inner(c[0], xp.data(a).shape)),), (REAL,),
    "a surrounded by value: widths ((before, after) per axis, >= 0), constant mode",
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


row("im2col", _im2col,
    (lambda xp, g, out, c, x: xp.apply("col2im", c + xp.data(x).shape[2:], g),), (REAL,),
    "windows of x (N, C, H, W) as (N, C, kH, kW, OH, OW); ctx = (kH, kW, strideH, strideW)",
    examples=[((2, 2, 1, 1), ((2, 3, 4, 5),)), ((3, 2, 2, 1), ((1, 2, 5, 4),)),
              ((2, 2, 2, 2), ((1, 1, 4, 4),))])
row("col2im", _col2im,
    (lambda xp, g, out, c, cols: xp.apply("im2col", c[:4], g),), (REAL,),
    "adjoint of im2col: window entries summed back onto an (N, C, H, W) image",
    examples=[((2, 2, 1, 1, 4, 5), ((2, 3, 2, 2, 3, 4),)),
              ((3, 2, 2, 1, 5, 4), ((1, 2, 3, 2, 2, 3),)),
              ((2, 2, 2, 2, 5, 5), ((1, 1, 2, 2, 2, 2),))])


# convolution and pooling: one row each, with its own VJP ------------------------------------
# Built on im2col/col2im (in raw mode their array functions, under create_graph their rows), so
# that the VJPs are themselves differentiable. The forward keeps nothing: the VJPs take the
# windows again from the input (one strided copy), so a ctx is only (stride, padding) and the
# rows stay pure functions of their inputs.
def _padded(xp, x, ph, pw, value):
    if not (ph or pw):
        return x
    return xp.apply("pad", (((0, 0), (0, 0), (ph, ph), (pw, pw)), value), x)


def _windows_back(xp, dcols, x, kh, kw, sh, sw, ph, pw):
    """The gradient of x from the gradient of its windows dcols (N, C, kH, kW, OH, OW): col2im
    onto the padded image, then the padding cut away. The adjoint of im2col(pad(x))."""
    h, w = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
    g = xp.apply("col2im", (kh, kw, sh, sw, h, w), dcols)
    if not (ph or pw):
        return g
    return xp.getitem(g, (slice(None), slice(None), slice(ph, h - ph), slice(pw, w - pw)))


def _conv2d_fwd(ctx, x, w, b):
    sh, sw, ph, pw = ctx
    o, c, kh, kw = w.shape
    cols = _im2col((kh, kw, sh, sw), _padded(ARRAY, x, ph, pw, 0.0))
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
    cols = xp.apply("im2col", (kh, kw, sh, sw), _padded(xp, x, ph, pw, 0.0))
    per_image = xp.matmul(xp.reshape(g, (n, o, oh * ow)),
                          xp.reshape(cols, (n, c * kh * kw, oh * ow)).mT)
    return xp.reshape(xp.sum(per_image, (0,)), w.shape)


row("conv2d", _conv2d_fwd,
    (_conv2d_dx, _conv2d_dw, lambda xp, g, out, c, x, w, b: xp.sum(g, (0, 2, 3))),
    (REAL, REAL, REAL),
    "out[n, o, p, q] = b[o] + sum_{c,i,j} w[o, c, i, j] x_pad[n, c, p sh + i, q sw + j]; "
    "ctx = (strideH, strideW, padH, padW)",
    examples=[((1, 1, 0, 0), ((2, 3, 5, 4), (4, 3, 2, 2), (4,))),
              ((2, 1, 1, 2), ((1, 2, 5, 5), (3, 2, 3, 2), (3,))),
              ((2, 2, 1, 1), ((2, 1, 4, 4), (2, 1, 3, 3), (2,)))])


def _pool_windows(xp, x, ctx, value):
    kh, kw, sh, sw, ph, pw = ctx
    return xp.apply("im2col", (kh, kw, sh, sw), _padded(xp, x, ph, pw, value))


def _max_pool_fwd(ctx, x):
    cols = _pool_windows(ARRAY, x, ctx, -np.inf)
    return np.maximum.reduce(cols, axis=(2, 3))


def _max_pool_vjp(xp, g, out, ctx, x):
    # the gradient goes to ONE element per window, the first maximum in row-major order
    # (torch's rule; on ties, e.g. zeros after a relu, splitting it would differ from torch)
    kh, kw, sh, sw, ph, pw = ctx
    cols = _pool_windows(ARRAY, xp.data(x), ctx, -np.inf)
    n, c, _, _, oh, ow = cols.shape
    flat = cols.reshape(n, c, kh * kw, oh, ow)
    first = np.zeros(flat.shape, dtype=flat.dtype)
    np.put_along_axis(first, np.expand_dims(flat.argmax(axis=2), 2), 1, axis=2)
    dcols = xp.reshape(xp.unsqueeze(g, 2) * first, (n, c, kh, kw, oh, ow))
    return _windows_back(xp, dcols, x, *ctx)


row("max_pool2d", _max_pool_fwd, (_max_pool_vjp,), (REAL,),
    "max over each kh x kw window of x padded with -inf; the gradient goes to the first maximum"
    "; ctx = (kH, kW, strideH, strideW, padH, padW)",
    examples=[((2, 2, 2, 2, 0, 0), ((2, 3, 4, 4),)), ((3, 2, 1, 2, 1, 1), ((1, 2, 5, 5),)),
              ((2, 2, 1, 1, 0, 0), ((1, 1, 3, 4),))])


def _avg_pool_fwd(ctx, x):
    kh, kw = ctx[:2]
    cols = _pool_windows(ARRAY, x, ctx, 0.0)
    out = np.add.reduce(cols, axis=(2, 3))
    out *= 1.0 / (kh * kw)
    return out


def _avg_pool_vjp(xp, g, out, ctx, x):
    # each window entry gets g / (kh kw); padded zeros count, as torch's count_include_pad
    kh, kw, sh, sw, ph, pw = ctx
    n, c, oh, ow = g.shape
    dcols = xp.broadcast_to(xp.reshape(g * (1.0 / (kh * kw)), (n, c, 1, 1, oh, ow)),
                            (n, c, kh, kw, oh, ow))
    return _windows_back(xp, dcols, x, *ctx)


row("avg_pool2d", _avg_pool_fwd, (_avg_pool_vjp,), (REAL,),
    "mean over each kh x kw window of x zero-padded (padding counts); "
    "ctx = (kH, kW, strideH, strideW, padH, padW)",
    examples=[((2, 2, 2, 2, 0, 0), ((2, 3, 4, 4),)), ((3, 2, 1, 2, 1, 1), ((1, 2, 5, 5),)),
              ((2, 2, 1, 1, 0, 0), ((1, 1, 3, 4),))])
