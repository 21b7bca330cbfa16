"""Rows of the op table for the losses and cells of `nn` that are primitives of their own:
cross-entropy on class indices, binary cross-entropy, and the LSTM cell's two fused steps.

Each is one node where a composite would be many, and each has a VJP a composite could not give
or gives only slowly; the comment above each row says which.
"""
import numpy as np

from .ops_tensor import LOG_SOFTMAX
from .optable import REAL, Domain, Op


# cross_entropy: log_softmax and the pick of the target class in one node ---------------------
# Every classifier's loss. As a composite (log_softmax, a one-hot multiply, sums, a division) it
# was 6 nodes and 55 us on a (64, 10) batch; fused, its VJP is the textbook
# w_n (softmax(a)_n - onehot(t_n)), written as a scaled copy of exp(a - m) and a subtraction at
# the targets: no one-hot array, no softmax division in the forward. The targets are an input
# (with no gradient), not part of ctx, so a compiled training step reads each batch's own.
class CrossEntropy:
    """ctx of the cross_entropy row: torch's options, class `weight` (C,), `ignore_index`
    (those samples count for nothing) and `reduction` ('mean': sum_n w_n loss_n / sum_n w_n,
    'sum' or 'none'). The forward leaves what the fast VJP reuses in `saved`, marked with the
    output it belongs to: (output, ClassTargets, exp(a - m), its row sums)."""
    __slots__ = ("class_weight", "ignore_index", "reduction", "saved")

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        self.class_weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        self.ignore_index, self.reduction = ignore_index, reduction
        self.saved = None

    def fresh(self):
        """The same options with nothing saved: one per forward (autograd.compile makes one
        per call of compiled code)."""
        new = CrossEntropy.__new__(CrossEntropy)
        new.class_weight, new.ignore_index, new.reduction = (
            self.class_weight, self.ignore_index, self.reduction)
        new.saved = None
        return new

    def targets(self, target, n_classes):
        return ClassTargets(target, n_classes, self.class_weight, self.ignore_index,
                            self.reduction)

    def __repr__(self):
        w = "" if self.class_weight is None else f"weight={self.class_weight.tolist()}, "
        return (f"CrossEntropy({w}ignore_index={self.ignore_index}, "
                f"reduction={self.reduction!r})")


class ClassTargets:
    """Integer class targets `target` (N,) in [0, n_classes) of logits (N, n_classes), read
    with the options of a CrossEntropy: the per-sample weights, what is ignored, the
    denominator of the mean. A target out of range raises IndexError naming it.

    `flat` holds n * n_classes + t_n, the targets' positions in the flattened logits: a take
    or an index of a raveled array with it costs a third of a[rows, t] on a (64, 10) batch.
    """
    __slots__ = ("target", "n_classes", "class_weight", "reduction", "starts", "flat", "weight",
                 "ignored", "denom")

    def __init__(self, target, n_classes, class_weight=None, ignore_index=-100,
                 reduction="mean"):
        t = np.asarray(target).astype(np.intp, copy=False)
        self.target, self.n_classes = t, n_classes
        self.class_weight, self.reduction = class_weight, reduction
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
            w = np.ones(t.shape) if class_weight is None else class_weight[pick]
            w = w * valid
        else:
            self.ignored = None
            w = None if class_weight is None else class_weight[t]
        self.flat = flat
        # per-sample weights w_n; None when every sample counts once (the fast path)
        self.weight = w
        self.denom = float(n if w is None else w.sum())

    def onehot(self, shape, dtype):
        o = np.zeros(shape, dtype=dtype)
        o.ravel()[self.flat] = 1.0
        return o


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


def _ce_fwd(ctx, a, target):
    """The loss from m = the row maxima, e = exp(a - m) and s = the row sums of e:
    loss_n = -log softmax(a)[n, t_n] = log s_n - (a - m)[n, t_n], reduced. m is not clamped
    to the finite range (as shift_by_max does for logsumexp): a row with a +inf, or of -infs
    only, then gives nan, as torch's cross_entropy does, and a finite batch is spared two
    calls."""
    t = ctx.targets(target, a.shape[1])
    # the row maxima through argmax and a take: 3.9 us against 6 for maximum.reduce along a
    # short axis ((64, 10) float32)
    m = a.take(t.starts + a.argmax(axis=1))
    # C order whatever a's layout (transposed logits are F-ordered): the VJP writes into the
    # raveled copy of e it makes, which must be a view of it
    e = np.subtract(a, m[:, None], order="C")
    picked = e.take(t.flat)
    np.exp(e, out=e)
    s = np.add.reduce(e, axis=1)
    loss = np.log(s)
    loss -= picked
    if t.weight is not None:
        loss *= t.weight.astype(loss.dtype, copy=False)
        if t.ignored is not None:
            loss[t.ignored] = 0.0          # not 0 * inf where an ignored row's logit is -inf
    if t.reduction != "none":
        loss = np.add.reduce(loss)
        if t.reduction == "mean":       # all ignored: a mean of nothing is nan, as in torch
            loss = loss * (1.0 / t.denom) if t.denom else loss * np.nan
    loss = np.asarray(loss)             # a 0-d array, not numpy's scalar: the node's own value
    ctx.saved = (loss, t, e, s)
    return loss


def _ce_scale(xp, g, t, dtype):
    """k_n = w_n g_n ('none'), w_n g / denom ('mean') or w_n g ('sum')."""
    k = g
    if t.reduction == "mean":
        k = k * (1.0 / t.denom) if t.denom else k * np.nan
    if t.weight is not None:
        k = k * t.weight.astype(dtype)
    return k


def _ce_vjp(xp, g, out, ctx, a, target):
    # d loss_n / d a[n, c] = k_n (softmax(a)[n, c] - [c == t_n])
    shape, dtype = xp.data(a).shape, xp.data(a).dtype
    t = ctx.targets(xp.data(target), shape[1])
    k = _ce_scale(xp, g, t, dtype)
    if t.reduction == "none" or t.weight is not None:
        k = xp.unsqueeze(k, 1)          # one k_n per row
    p = xp.exp(xp.apply(LOG_SOFTMAX, 1, a))
    return (p - t.onehot(shape, dtype)) * k


def _ce_vjp_fast(xp, g, out, ctx, a, target):
    """softmax(a) k = e (k / s) from the forward's e = exp(a - m) and its row sums s: one
    scaled copy, then k off at each row's target. No one-hot array, no new exp (6 nodes and
    55 us as a composite on a (64, 10) batch; this, 9 us)."""
    if ctx.saved is None or ctx.saved[0] is not out:    # another forward of this ctx since
        return _ce_vjp(xp, g, out, ctx, a, target)
    _, t, e, s = ctx.saved
    # a 0-d g read as a numpy scalar: scalar arithmetic costs a tenth of a 0-d array's
    k = _ce_scale(xp, g[()] if g.ndim == 0 else g, t, a.dtype)
    d = np.multiply(e, (k / s)[:, None], order="C")       # C order: ravel is a view
    d.ravel()[t.flat] -= k
    return d


CROSS_ENTROPY = Op(
    "cross_entropy",
    formula="-w_n log softmax(a)[n, t_n] for logits a and class targets t (an input with no "
            "gradient), ctx = CrossEntropy(weight, ignore_index, reduction); 'mean' divides by "
            "sum_n w_n (stable: log-sum-exp); d/da = k_n (softmax(a) - onehot(t))",
    array=_ce_fwd, vjps=(_ce_vjp, None), domains=(REAL, None),
    examples=[(CrossEntropy(), ((2, 3), np.array([0, 2]))),
              (CrossEntropy(reduction="sum"), ((3, 4), np.array([1, 0, 3]))),
              (CrossEntropy(reduction="none"), ((4, 3), np.array([2, 2, 0, 1]))),
              (CrossEntropy(weight=[0.5, 0.0, 2.0]), ((3, 3), np.array([1, 0, 2]))),
              (CrossEntropy(ignore_index=-100), ((4, 2), np.array([1, -100, 0, 1]))),
              (CrossEntropy(weight=[1.5, 1.0, 0.5, 2.0], ignore_index=3, reduction="none"),
               ((3, 4), np.array([0, 3, 1])))],
    fast_vjps=(_ce_vjp_fast, None))


# binary_cross_entropy as one row: torch's backward is not the derivative of its clamped
# forward. It is g (x - t) / max(x (1 - x), 1e-12) (torch's binary_cross_entropy_backward,
# EPSILON = 1e-12): finite and nonzero at x = 0 or 1 (-1e12 at x = 0, t = 1), where the
# derivative of a clamped log is 0, and capped at 1e12 near the ends, where 1/x is not. A
# composite cannot give that gradient.
BCE_EPS = float(np.float32(1e-12))    # torch keeps EPSILON as a float: 9.9999998e-13


def _bce_fwd(ctx, x, t):
    # (t - 1) max(log1p(-x), -100) - t max(log x, -100), PyTorch's formula term for term
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    return (t - 1.0) * log_1mx - t * log_x


def _bce_dinput(xp, g, out, ctx, x, t):
    # g (x - t) / max(x (1 - x), eps), in torch's order of operations: bit-identical to torch
    return g * (x - t) / xp.maximum((1.0 - x) * x, BCE_EPS)


def _bce_dtarget(xp, g, out, ctx, x, t):
    # -g logit(x) = -g log(x / (1 - x)), unclamped as in PyTorch (+-inf at x = 0, 1)
    with np.errstate(divide="ignore"):
        return g * -xp.log(x / (1.0 - x))


BINARY_CROSS_ENTROPY = Op(
    "binary_cross_entropy",
    formula="(t - 1) max(log(1 - x), -100) - t max(log x, -100); "
            "d/dx = (x - t) / max(x (1 - x), 1e-12), d/dt = -log(x / (1 - x))",
    array=_bce_fwd, vjps=(_bce_dinput, _bce_dtarget),
    domains=(Domain(0.05, 0.95), Domain(0.0, 1.0)),
    examples=[(None, ((), ())), (None, ((3,), (3,))), (None, ((2, 3), (2, 3)))])


# The LSTM cell as two rows, c' = lstm_c(gates, c) and h' = lstm_h(gates, c'), instead of the
# 11 slicing and elementwise nodes of the composite: on the LSTM of `make bench` (input 8,
# hidden 64, batch 32, 50 steps) a training step took 11.9 ms composed, 7.7 ms fused. gates is
# (B, 4H), the blocks i, f, g, o in PyTorch's order. The forward leaves its gate activations
# in ctx (a dict per call, marked with the output they belong to) for the fast VJPs.
def _sigmoid(x):
    """1 / (1 + e^-x) = tanh(x / 2) / 2 + 1/2: never overflows, one transcendental per element."""
    t = np.tanh(x * 0.5)
    t *= 0.5
    t += 0.5
    return t


def _lstm_c_fwd(ctx, gates, c):
    H = c.shape[-1]
    i = _sigmoid(gates[:, :H])
    f = _sigmoid(gates[:, H:2 * H])
    g = np.tanh(gates[:, 2 * H:3 * H])
    out = f * c + i * g
    ctx["c"] = (out, i, f, g)
    return out


def _lstm_c_dgates(xp, gc, out, ctx, gates, c):
    # c' = f c + i g: d/d(i block) = g i (1 - i), d/d(f block) = c f (1 - f),
    # d/d(g block) = i (1 - g^2), d/d(o block) = 0
    H = c.shape[-1]
    i, f = xp.sigmoid(gates[:, :H]), xp.sigmoid(gates[:, H:2 * H])
    g = xp.tanh(gates[:, 2 * H:3 * H])
    return xp.concatenate([gc * g * i * (1.0 - i), gc * c * f * (1.0 - f),
                           gc * i * (1.0 - g * g), gc * 0.0], 1)


def _lstm_c_dc(xp, gc, out, ctx, gates, c):
    # d c' / d c = f
    H = c.shape[-1]
    return gc * xp.sigmoid(gates[:, H:2 * H])


def _lstm_c_dgates_fast(xp, gc, out, ctx, gates, c):
    """From the forward's activations, written into one preallocated array."""
    saved = ctx.get("c")
    if saved is None or saved[0] is not out:
        return _lstm_c_dgates(xp, gc, out, ctx, gates, c)
    _, i, f, g = saved
    H = c.shape[-1]
    d = np.empty(gates.shape, dtype=np.result_type(gates, gc))
    d[:, :H] = gc * g * i * (1 - i)
    d[:, H:2 * H] = gc * c * f * (1 - f)
    d[:, 2 * H:3 * H] = gc * i * (1 - g * g)
    d[:, 3 * H:] = 0
    return d


def _lstm_c_dc_fast(xp, gc, out, ctx, gates, c):
    saved = ctx.get("c")
    if saved is None or saved[0] is not out:
        return _lstm_c_dc(xp, gc, out, ctx, gates, c)
    return gc * saved[2]


def _lstm_h_fwd(ctx, gates, c_new):
    o = _sigmoid(gates[:, 3 * c_new.shape[-1]:])
    tc = np.tanh(c_new)
    out = o * tc
    ctx["h"] = (out, o, tc)
    return out


def _lstm_h_dgates(xp, gh, out, ctx, gates, c_new):
    # h' = o tanh(c'): only the o block, gh tanh(c') o (1 - o)
    H = c_new.shape[-1]
    o = xp.sigmoid(gates[:, 3 * H:])
    zeros = gh * 0.0
    return xp.concatenate([zeros, zeros, zeros, gh * xp.tanh(c_new) * o * (1.0 - o)], 1)


def _lstm_h_dc(xp, gh, out, ctx, gates, c_new):
    # d h' / d c' = o (1 - tanh^2 c')
    tc = xp.tanh(c_new)
    return gh * xp.sigmoid(gates[:, 3 * c_new.shape[-1]:]) * (1.0 - tc * tc)


def _lstm_h_dgates_fast(xp, gh, out, ctx, gates, c_new):
    saved = ctx.get("h")
    if saved is None or saved[0] is not out:
        return _lstm_h_dgates(xp, gh, out, ctx, gates, c_new)
    _, o, tc = saved
    H = c_new.shape[-1]
    d = np.zeros(gates.shape, dtype=np.result_type(gates, gh))
    d[:, 3 * H:] = gh * tc * o * (1 - o)
    return d


def _lstm_h_dc_fast(xp, gh, out, ctx, gates, c_new):
    saved = ctx.get("h")
    if saved is None or saved[0] is not out:
        return _lstm_h_dc(xp, gh, out, ctx, gates, c_new)
    _, o, tc = saved
    return gh * o * (1 - tc * tc)


LSTM_C = Op("lstm_c",
            formula="c' = sigmoid(f) c + sigmoid(i) tanh(g) with i, f, g, o = blocks of gates "
                    "(B, 4H); ctx: a dict for the forward's activations",
            array=_lstm_c_fwd, vjps=(_lstm_c_dgates, _lstm_c_dc), domains=(REAL, REAL),
            examples=[({}, ((3, 8), (3, 2))), ({}, ((1, 12), (1, 3)))],
            fast_vjps=(_lstm_c_dgates_fast, _lstm_c_dc_fast))
LSTM_H = Op("lstm_h",
            formula="h' = sigmoid(o) tanh(c') with o the last block of gates (B, 4H); ctx: a "
                    "dict for the forward's activations",
            array=_lstm_h_fwd, vjps=(_lstm_h_dgates, _lstm_h_dc), domains=(REAL, REAL),
            examples=[({}, ((3, 8), (3, 2))), ({}, ((1, 12), (1, 3)))],
            fast_vjps=(_lstm_h_dgates_fast, _lstm_h_dc_fast))

ROWS = (CROSS_ENTROPY, BINARY_CROSS_ENTROPY, LSTM_C, LSTM_H)
