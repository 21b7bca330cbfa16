"""torch as the oracle of the op table: one entry per row of `autograd.OPS`.

TORCH[name](ctx, *torch_tensors) computes the same thing as `OPS[name].array(ctx, *arrays)`,
with torch's autograd, so tests/test_op_table.py can compare values and gradients (to 1e-6).
A row of OPS without an entry here makes the generated test fail, naming the op.

This module imports torch: import it only after `pytest.importorskip("torch")`.
"""
import numpy as np
import torch


def _index(index):
    """A numpy index (arrays, tuples of them) as a torch index."""
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    return index


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in items)


def _sum(ctx, a):
    axis, keepdims = ctx
    if axis is None:
        return a.sum(dim=tuple(range(a.ndim)), keepdim=keepdims) if keepdims else a.sum()
    return a.sum(dim=axis, keepdim=keepdims)


def _scatter(ctx, g):
    index, shape = ctx
    z = torch.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        z[index] = g
        return z
    idx = _index(index)
    return z.index_put(idx if isinstance(idx, tuple) else (idx,), g, accumulate=True)


def _where(ctx, cond, a, b):
    return torch.where(cond.bool(), a, b)


TORCH = {
    # elementwise rows (autograd/ops.py)
    "add": lambda c, a, b: a + b,
    "mul": lambda c, a, b: a * b,
    "pow": lambda c, a, b: a ** b,
    "exp": lambda c, a: torch.exp(a),
    "log": lambda c, a: torch.log(a),
    "tanh": lambda c, a: torch.tanh(a),
    "sigmoid": lambda c, a: torch.sigmoid(a),
    "relu": lambda c, a: torch.relu(a),
    "leaky_relu": lambda c, a: torch.nn.functional.leaky_relu(a, c),
    "sqrt": lambda c, a: torch.sqrt(a),
    "abs": lambda c, a: torch.abs(a),
    "sin": lambda c, a: torch.sin(a),
    "cos": lambda c, a: torch.cos(a),
    # Tensor rows (autograd/ops_tensor.py)
    "matmul": lambda c, a, b: torch.matmul(a, b),
    "linear": lambda c, x, w, b: torch.nn.functional.linear(x, w, b),
    "sum": _sum,
    "reshape": lambda c, a: a.reshape(c),
    "transpose": lambda c, a: a.permute(c),
    "broadcast_to": lambda c, a: a.expand(c),
    "where": _where,
    "getitem": lambda c, a: a[_index(c)],
    "scatter": _scatter,
}

# ---------------------------------------------------------------------------------------------
# ADD NEW ROWS HERE: one line per new op of autograd.OPS, e.g.
#     TORCH["max"] = lambda c, a: torch.amax(a, dim=c[0], keepdim=c[1])
# (append below this marker; keep one op per statement so parallel edits merge cleanly)


# rows of issue #3 (autograd/ops_tensor.py: casts, extremes, reductions, joins, windows)
def _dims(axis, a):
    return tuple(range(a.ndim)) if axis is None else axis


def _torch_pad(ctx, a):
    widths, value = ctx
    flat = [w for lo_hi in reversed(widths) for w in lo_hi]
    return torch.nn.functional.pad(a, flat, value=value)


def _im2col(ctx, x):
    kh, kw, sh, sw = ctx
    n, c, h, w = x.shape
    cols = torch.nn.functional.unfold(x, (kh, kw), stride=(sh, sw))
    return cols.reshape(n, c, kh, kw, (h - kh) // sh + 1, (w - kw) // sw + 1)


def _col2im(ctx, cols):
    kh, kw, sh, sw, h, w = ctx
    n, c, _, _, oh, ow = cols.shape
    return torch.nn.functional.fold(cols.reshape(n, c * kh * kw, oh * ow), (h, w), (kh, kw),
                                    stride=(sh, sw))


TORCH["astype"] = lambda c, a: a.to(getattr(torch, c.name))
TORCH["clip"] = lambda c, a: torch.clamp(a, c[0], c[1])
TORCH["maximum"] = lambda c, a, b: torch.maximum(a, b)
TORCH["minimum"] = lambda c, a, b: torch.minimum(a, b)
TORCH["amax"] = lambda c, a: torch.amax(a, dim=_dims(c[0], a), keepdim=c[1])
TORCH["amin"] = lambda c, a: torch.amin(a, dim=_dims(c[0], a), keepdim=c[1])
TORCH["logsumexp"] = lambda c, a: torch.logsumexp(a, dim=_dims(c[0], a), keepdim=c[1])
TORCH["log_softmax"] = lambda c, a: torch.log_softmax(a, c)
TORCH["concatenate"] = lambda c, *ins: torch.cat(ins, dim=c)
TORCH["pad"] = _torch_pad
TORCH["im2col"] = _im2col
TORCH["col2im"] = _col2im
TORCH["conv2d"] = lambda c, x, w, b: torch.nn.functional.conv2d(x, w, b, stride=c[:2],
                                                                padding=c[2:])
TORCH["max_pool2d"] = lambda c, x: torch.nn.functional.max_pool2d(x, c[:2], c[2:4], c[4:])
TORCH["avg_pool2d"] = lambda c, x: torch.nn.functional.avg_pool2d(x, c[:2], c[2:4], c[4:])
TORCH["cross_entropy"] = lambda c, a, t: torch.nn.functional.cross_entropy(
    a, t.long(), reduction=c.reduction,
    weight=None if c.class_weight is None else torch.from_numpy(c.class_weight).to(a.dtype),
    ignore_index=c.ignore_index)
# the row of values without a gradient is numpy itself: its oracle is numpy, through torch's
# tensors
TORCH["numpy"] = lambda c, *ins: torch.from_numpy(np.asarray(c[0](
    *[np.asarray(i.detach()) for i in ins], **c[1])))


# rows that moved into the table from nn (autograd/ops_nn.py)
def _torch_lstm_c(ctx, gates, c):
    i, f, g, _ = gates.chunk(4, dim=1)
    return torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)


def _torch_lstm_h(ctx, gates, c_new):
    return torch.sigmoid(gates.chunk(4, dim=1)[3]) * torch.tanh(c_new)


TORCH["binary_cross_entropy"] = lambda c, x, t: torch.nn.functional.binary_cross_entropy(
    x, t, reduction="none")
TORCH["lstm_c"] = _torch_lstm_c


def _torch_setitem(ctx, a, v):
    out = a.clone()
    out[_index(ctx)] = v
    return out


TORCH["setitem"] = _torch_setitem
TORCH["lstm_h"] = _torch_lstm_h


def _torch_lstm_layer(ctx, gx, h0, c0, w_hh):
    """torch's own LSTM cell (torch.lstm_cell) step by step, fed gx[t] through an identity
    W_ih, the states stacked as the row gives them: (2, T + 1, B, H)."""
    eye = torch.eye(gx.shape[-1], dtype=gx.dtype)
    hs, cs = [h0], [c0]
    for t in range(gx.shape[0]):
        h, c = torch.lstm_cell(gx[t], (hs[-1], cs[-1]), eye, w_hh)
        hs.append(h)
        cs.append(c)
    return torch.stack([torch.stack(hs), torch.stack(cs)])


TORCH["lstm_layer"] = _torch_lstm_layer


# rows of autograd/ops_more.py (issue 15: erf for GELU, expm1 for the ELU family)
TORCH["erf"] = lambda c, a: torch.erf(a)
TORCH["expm1"] = lambda c, a: torch.expm1(a)


# rows of autograd/ops_torch.py (issue 15: the torch surface)
def _torch_prod(ctx, a):
    axis, keepdims = ctx
    if axis is None:
        out = a.prod()
        return out.reshape((1,) * a.ndim) if keepdims else out
    for d in sorted(axis, reverse=True):
        a = a.prod(dim=d, keepdim=keepdims)
    return a


TORCH["log2"] = lambda c, a: torch.log2(a)
TORCH["log10"] = lambda c, a: torch.log10(a)
TORCH["log1p"] = lambda c, a: torch.log1p(a)
TORCH["sign"] = lambda c, a: torch.sign(a)
TORCH["floor"] = lambda c, a: torch.floor(a)
TORCH["ceil"] = lambda c, a: torch.ceil(a)
TORCH["trunc"] = lambda c, a: torch.trunc(a)
TORCH["round"] = lambda c, a: torch.round(a, decimals=c)
TORCH["prod"] = _torch_prod
TORCH["cumsum"] = lambda c, a: torch.cumsum(a, dim=c)
TORCH["einsum"] = lambda c, *ins: torch.einsum(c.equation, *ins)
TORCH["remainder"] = lambda c, a, b: torch.remainder(a, b)
TORCH["fmod"] = lambda c, a, b: torch.fmod(a, b)
TORCH["solve"] = lambda c, a, b: torch.linalg.solve(a, b)
TORCH["logdet"] = lambda c, a: torch.logdet(a)
TORCH["xlogy"] = lambda c, a, b: torch.xlogy(a, b)
