"""Rows of the op table for the losses and cells of `nn` that are primitives of their own:
cross-entropy on class indices, binary cross-entropy, the LSTM cell's two fused steps and a
whole LSTM layer over a sequence.

Each is one node where a composite would be many, and each has a VJP a composite could not give
or gives only slowly; the comment above each row says which.
"""
import numpy as np

from .ops_tensor import LOG_SOFTMAX
from .fast import give_buffers, take_buffer
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


# A whole LSTM layer over a sequence as one row, what nn.LSTM runs (LSTMCell keeps lstm_c and
# lstm_h): the backward through time then takes W_hh's gradient as ONE (4H, T B) @ (T B, H)
# product over all steps, as a numpy programmer and PyTorch do, where 50 unrolled cells made
# 49 small ones that a second BLAS thread cannot speed up. The output is one array, the
# states (2, T + 1, B, H): [0, t] = h_t, [1, t] = c_t, t = 0 being the initial state, so that
# [0, :-1] (the h_{t-1} W_hh multiplies) is a view. ctx is a dict: the forward leaves there
# the activated gates of every step and tanh(c_t), marked with the output they belong to; the
# fast VJPs run the backward through time once per backward pass and hand each input its
# share. The activations' arrays are fast.py's reused buffers (take_buffer, give_buffers).
def _lstm_gate_scales(H, dtype):
    """(m, b) of shape (4H,): sigmoid(x) = tanh(x / 2) / 2 + 1/2 on the i, f and o blocks and
    tanh(x) on the g block are tanh(m x) m + b, with m = 1/2 there and 1 on g, b = 1/2 and 0.
    Scaling by 1/2 is exact in binary floating point, so these are _sigmoid's numbers."""
    m = np.full(4 * H, 0.5, dtype=dtype)
    m[2 * H:3 * H] = 1.0
    b = np.full(4 * H, 0.5, dtype=dtype)
    b[2 * H:3 * H] = 0.0
    return m, b


def _lstm_layer_fwd(ctx, gx, h0, c0, w_hh):
    T, B, G = gx.shape
    H = G // 4
    dt = np.result_type(gx, h0, c0, w_hh)
    states = np.empty((2, T + 1, B, H), dtype=dt)
    states[0, 0] = h0
    states[1, 0] = c0
    m, b = _lstm_gate_scales(H, dt)
    # the gates' pre-activations times m: gx once for all steps, W_hh^T with m folded into its
    # columns, copied once to C order (OpenBLAS is ~2x faster with a C-ordered right operand)
    acts = np.multiply(gx, m, out=take_buffer((T, B, G), dt))
    w = np.multiply(w_hh.T, m[None, :], dtype=dt, order="C")
    tcs = take_buffer((T, B, H), dt)
    rec = np.empty((B, G), dtype=dt)
    tmp = np.empty((B, H), dtype=dt)
    hs, cs = states[0], states[1]
    for t in range(T):
        a = acts[t]
        np.dot(hs[t], w, out=rec)
        a += rec
        np.tanh(a, out=a)               # all four blocks in one call: see _lstm_gate_scales
        a *= m
        a += b
        c = cs[t + 1]
        np.multiply(a[:, H:2 * H], cs[t], out=c)
        np.multiply(a[:, :H], a[:, 2 * H:3 * H], out=tmp)
        c += tmp
        np.tanh(c, out=tcs[t])
        np.multiply(a[:, 3 * H:], tcs[t], out=hs[t + 1])
    ctx["layer"] = (states, acts, tcs)
    ctx.pop("grads", None)
    return states


def _lstm_layer_bptt(xp, g, out, gx, h0, c0, w_hh):
    """Backpropagation through time from the states' gradient g (2, T + 1, B, H), the gates
    recomputed from the inputs and the states: (d gx, d h0, d c0, d w_hh). With
    gates_t = gx[t] + h_{t-1} W_hh^T, i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of its
    blocks, c_t = f c_{t-1} + i g, h_t = o tanh(c_t), and dh, dc the gradients reaching h_t and
    c_t (from g and from step t + 1):
        dc    += dh o (1 - tanh^2 c_t)
        dgates = [dc g i (1 - i), dc c_{t-1} f (1 - f), dc i (1 - g^2), dh tanh(c_t) o (1 - o)]
        dh_{t-1} = g[0, t - 1] + dgates W_hh,   dc_{t-1} = g[1, t - 1] + dc f
        d W_hh = sum_t dgates_t^T h_{t-1}, one product over all steps."""
    T, B, G = xp.data(gx).shape
    H = G // 4
    w_t = xp.mT(w_hh)
    dh, dc = g[0, T], g[1, T]
    dgates = [None] * T
    for t in range(T - 1, -1, -1):
        h_prev, c_prev = out[0, t], out[1, t]
        gates = gx[t] + xp.matmul(h_prev, w_t)
        i, f = xp.sigmoid(gates[:, :H]), xp.sigmoid(gates[:, H:2 * H])
        gg, o = xp.tanh(gates[:, 2 * H:3 * H]), xp.sigmoid(gates[:, 3 * H:])
        tc = xp.tanh(out[1, t + 1])
        dc = dc + dh * o * (1.0 - tc * tc)
        d = xp.concatenate([dc * gg * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                            dc * i * (1.0 - gg * gg), dh * tc * o * (1.0 - o)], 1)
        dgates[t] = xp.unsqueeze(d, 0)
        dh = g[0, t] + xp.matmul(d, w_hh)
        dc = g[1, t] + dc * f
    dgx = xp.concatenate(dgates, 0)
    dw = xp.matmul(xp.mT(xp.reshape(dgx, (T * B, G))), xp.reshape(out[0, :T], (T * B, H)))
    return dgx, dh, dc, dw


def _lstm_layer_dgx(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_bptt(xp, g, out, gx, h0, c0, w_hh)[0]


def _lstm_layer_dh0(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_bptt(xp, g, out, gx, h0, c0, w_hh)[1]


def _lstm_layer_dc0(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_bptt(xp, g, out, gx, h0, c0, w_hh)[2]


def _lstm_layer_dw_hh(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_bptt(xp, g, out, gx, h0, c0, w_hh)[3]


def _lstm_layer_bptt_fast(g, states, acts, tcs, w_hh):
    """_lstm_layer_bptt on arrays, from the forward's activations (acts: the gates i, f, g, o
    after their sigmoid or tanh, (T, B, 4H); tcs: tanh(c_t), (T, B, H)). Before the loop, for
    all steps at once, dgates is filled with what multiplies dc (blocks i, f, g) or dh (block
    o) in each gate's gradient, and q with what dh adds to dc; per step, then, four (B, H)
    products, an addition and one (B, 4H) @ (4H, H); W_hh's gradient is one product after the
    loop. dgates (the gradient of gx) is the only new array of all steps' size; q comes from
    and goes back to fast.py's buffers."""
    T, B, G = acts.shape
    H = G // 4
    dt = np.result_type(states, g)
    i, f, gg, o = (acts[..., k * H:(k + 1) * H] for k in range(4))
    dgates = np.empty((T, B, G), dtype=dt)
    di, df, dg, do = (dgates[..., k * H:(k + 1) * H] for k in range(4))
    q = take_buffer((T, B, H), dt)
    # the activations' derivatives, products as the textbook writes them (a - a^2 would lose
    # the digits of a saturated gate's small derivative): s (1 - s) on the sigmoid blocks,
    # 1 - g^2 = (1 - g) (1 + g) on g's
    np.subtract(1.0, acts, out=dgates)
    dgates[..., :2 * H] *= acts[..., :2 * H]
    do *= o
    np.add(gg, 1.0, out=q)
    dg *= q
    # times their partners: d c_t / d(i, f, g) = g, c_{t-1}, i; d h_t / d o = tanh(c_t)
    di *= gg
    df *= states[1, :T]
    dg *= i
    do *= tcs
    # what dh adds to dc: o (1 - tanh^2 c_t)
    np.multiply(tcs, tcs, out=q)
    np.subtract(1.0, q, out=q)
    q *= o
    d3 = dgates[..., :3 * H].reshape(T, B, 3, H)      # a view: blocks i, f, g side by side
    w = np.ascontiguousarray(w_hh, dtype=dt)
    # the steps where g reaches h_t or c_t directly (an LSTM's output reads every h_t, its c
    # only c_T): the others skip an addition
    gh = g[0].any(axis=(1, 2))
    gc = g[1].any(axis=(1, 2))
    dh = np.array(g[0, T], dtype=dt)
    dc = np.array(g[1, T], dtype=dt)
    tmp = np.empty((B, H), dtype=dt)
    for t in range(T - 1, -1, -1):
        np.multiply(dh, q[t], out=tmp)
        dc += tmp
        d3[t] *= dc[:, None, :]
        do[t] *= dh
        dc *= f[t]
        np.dot(dgates[t], w, out=dh)
        if gh[t]:
            dh += g[0, t]
        if gc[t]:
            dc += g[1, t]
    dw = np.dot(dgates.reshape(T * B, G).T, states[0, :T].reshape(T * B, H))
    give_buffers(q)
    return dgates, dh, dc, dw


def _lstm_layer_grads_fast(i, g, out, ctx, gx, h0, c0, w_hh):
    """Input i's share of one backward through time per backward pass: the first VJP of a
    pass runs it and leaves the other inputs' shares in ctx, marked with the g and the output
    they belong to; each is handed out once (a leaf may adopt it), so a second backward
    (retain_graph), with the same g or another, computes them again. The forward's
    activations then go back to fast.py's buffers for the next forward: a second backward
    runs the same forward again (the same numbers) before its backward through time."""
    cached = ctx.get("grads")
    if cached is not None and cached[0] is g and cached[1] is out and i in cached[2]:
        return cached[2].pop(i)
    saved = ctx.get("layer")
    if saved is not None and saved[0] is out:
        del ctx["layer"]
    else:                                   # used already, or another forward of this ctx since
        fresh = {}
        _lstm_layer_fwd(fresh, gx, h0, c0, w_hh)
        saved = fresh["layer"]
    grads = dict(enumerate(_lstm_layer_bptt_fast(g, *saved, w_hh)))
    give_buffers(*saved[1:])
    saved = None
    ctx["grads"] = (g, out, grads)
    return grads.pop(i)


def _lstm_layer_dgx_fast(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_grads_fast(0, g, out, ctx, gx, h0, c0, w_hh)


def _lstm_layer_dh0_fast(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_grads_fast(1, g, out, ctx, gx, h0, c0, w_hh)


def _lstm_layer_dc0_fast(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_grads_fast(2, g, out, ctx, gx, h0, c0, w_hh)


def _lstm_layer_dw_hh_fast(xp, g, out, ctx, gx, h0, c0, w_hh):
    return _lstm_layer_grads_fast(3, g, out, ctx, gx, h0, c0, w_hh)


LSTM_LAYER = Op(
    "lstm_layer",
    formula="states (2, T + 1, B, H) of an LSTM layer: [0, t] = h_t, [1, t] = c_t, [:, 0] = "
            "(h0, c0); gates_t = gx[t] + h_{t-1} w_hh^T (gx (T, B, 4H), w_hh (4H, H)), "
            "i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of its blocks, "
            "c_t = f c_{t-1} + i g, h_t = o tanh(c_t); ctx: a dict for the forward's "
            "activations; the VJPs backpropagate through time",
    array=_lstm_layer_fwd,
    vjps=(_lstm_layer_dgx, _lstm_layer_dh0, _lstm_layer_dc0, _lstm_layer_dw_hh),
    domains=(REAL, REAL, REAL, Domain(-1.0, 1.0)),
    examples=[({}, ((3, 2, 8), (2, 2), (2, 2), (8, 2))),
              ({}, ((1, 3, 12), (3, 3), (3, 3), (12, 3))),
              ({}, ((4, 1, 4), (1, 1), (1, 1), (4, 1)))],
    fast_vjps=(_lstm_layer_dgx_fast, _lstm_layer_dh0_fast, _lstm_layer_dc0_fast,
               _lstm_layer_dw_hh_fast))

ROWS = (CROSS_ENTROPY, BINARY_CROSS_ENTROPY, LSTM_C, LSTM_H, LSTM_LAYER)
