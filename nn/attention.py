"""Attention as PyTorch has it: `F.scaled_dot_product_attention`,
`F.multi_head_attention_forward` and `nn.MultiheadAttention` (same names, keywords, defaults,
parameter layouts, mask conventions, shapes and errors).

    attention(Q, K, V) = softmax(Q K^T * scale + M) V,    scale = 1 / sqrt(E) by default,

Q (..., L, E), K (..., S, E), V (..., S, Ev); the leading dims broadcast. The mask M is added
to the scores before the softmax; the two kinds follow torch, with opposite meanings of True:
- scaled_dot_product_attention: a bool mask says which positions *take part* (True = attend),
  a float mask is added (-inf removes a position), is_causal is the lower-triangular bool mask
  (query i sees keys 0..i, aligned at the top left when L != S).
- MultiheadAttention: a bool attn_mask or key_padding_mask says which positions are *left out*
  (True = masked); float masks are added.
A query whose every key is masked has no distribution to take. scaled_dot_product_attention
gives 0 there (torch's safe softmax, gradient 0), MultiheadAttention with need_weights=True
gives nan (its plain softmax), with need_weights=False 0 (it calls scaled_dot_product_attention):
the three as torch 2.x gives them on the CPU.

Everything is composed from Tensor ops (matmul, softmax, where), so gradients, second
derivatives and autograd.compile follow; masks are turned into scores with `where`, never with
numpy on a tensor's array. Dropout on the attention weights draws from autograd's default
generator as F.dropout does (a compiled function draws a new mask at each call), or from `rng`.
Deliberate differences from torch: no fused fast path (torch uses one in eval mode without
gradients; its values agree, except that its encoder's nested-tensor path returns 0 at padded
positions, where this one returns what the layer computes).
"""
import math
import warnings

import numpy as np

from autograd import Tensor
from autograd.functional import concatenate as _cat
from autograd.tensor import where as _where

from . import functional as F
from . import init
from .layers import Linear, _dtype
from .module import Module, Parameter, _check_device


# ---------------------------------------------------------------------------------------------
# scaled dot-product attention
def _torch_dtype(x):
    """The dtype's C++ name as torch's messages print it ('float', 'double', 'long int')."""
    return getattr(x.dtype, "_cpp_name", str(x.dtype))


def _is_bool(x):
    return np.dtype(x.dtype) == np.bool_


def _check_sdpa(q, k, v, attn_mask, dropout_p, is_causal, enable_gqa):
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        # torch's message, its double space included
        raise F._InputError(
            f"Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead.")
    if not q.dtype == k.dtype == v.dtype:
        raise F._InputError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_torch_dtype(q)} key.dtype: {_torch_dtype(k)} and value.dtype: "
            f"{_torch_dtype(v)} instead.")
    if attn_mask is not None and not _is_bool(attn_mask) and attn_mask.dtype not in (
            np.float32, q.dtype):
        raise F._InputError(
            f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_torch_dtype(attn_mask)} and  query.dtype: {_torch_dtype(q)} "
            f"instead.")
    if attn_mask is not None and is_causal:
        raise F._InputError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                            "set when is_causal=True")
    if dropout_p > 1.0:
        raise F._InputError(f"dropout probability has to be between 0 and 1, but got "
                            f"{dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and (
            q.shape[-3] % k.shape[-3] or q.shape[-3] % v.shape[-3]):
        # torch's message, cut short as torch prints it
        raise F._InputError("Number of heads in key and value must divide the number of "
                            "heads in ")


def _mask_scores(scores, attn_mask, is_causal):
    """scores with the mask applied: a bool mask keeps the scores where True and puts -inf
    elsewhere (a `where`, so the kept scores' gradient passes unchanged), a float mask is
    added, is_causal keeps j <= i. The masks broadcast against scores as torch's do."""
    if is_causal:
        n_q, n_k = scores.shape[-2], scores.shape[-1]
        # a constant of the shapes only: a compiled function retraces when they change
        attn_mask = Tensor(np.tril(np.ones((n_q, n_k), dtype=bool)))
    if attn_mask is None:
        return scores
    if _is_bool(attn_mask):
        return _where(attn_mask, scores, -math.inf)
    if attn_mask.dtype != scores.dtype:
        attn_mask = attn_mask.astype(scores.dtype)      # a float32 mask suits any query
    return scores + attn_mask


def _safe_softmax(scores):
    """softmax along the last dim, 0 (with gradient 0) on a row whose every score is -inf,
    where the plain softmax gives 0/0 = nan: torch's _safe_softmax. Such rows are given
    scores of 0 before the softmax, so that no nan enters the backward pass either."""
    masked_rows = (scores == -math.inf).all(-1, keepdim=True)
    weights = _where(masked_rows, 0.0, scores).softmax(-1)
    return _where(masked_rows, 0.0, weights)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False, *, rng=None):
    """softmax(Q K^T * scale + M) V over the last two dims of query (..., L, E),
    key (..., S, E), value (..., S, Ev) -> (..., L, Ev); leading dims broadcast.

    scale: 1 / sqrt(E) when None. attn_mask: bool (True = take part; False puts -inf) or a
    float mask of query's dtype or float32 (added); broadcastable to (..., L, S).
    is_causal: the mask tril(ones(L, S)) (query i sees keys j <= i); an error with attn_mask
    too, as in torch.
    A query whose every key is masked gets 0 (and gradient 0), not nan, as torch's.
    dropout_p > 0: dropout on the attention weights (torch applies it whatever the module's
    mode: pass 0.0 in eval), drawn from autograd's default generator as F.dropout draws, or
    from `rng` (a numpy Generator or seed; tapegrad's addition). enable_gqa: grouped-query
    attention, key and value with fewer heads (dim -3) than query, each repeated to match.
    """
    q, k, v = F._t(query), F._t(key), F._t(value)
    mask = None if attn_mask is None else F._t(attn_mask)
    _check_sdpa(q, k, v, mask, dropout_p, is_causal, enable_gqa)
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)
        v = v.repeat_interleave(q.shape[-3] // v.shape[-3], dim=-3)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = _mask_scores(q.matmul(k.transpose(-2, -1)) * scale, mask, is_causal)
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, training=True, rng=rng)
    return weights.matmul(v)


# ---------------------------------------------------------------------------------------------
# multi-head attention, functional
def _canonical_mask(mask, mask_name, other, other_name, dtype, check_other=True):
    """torch's _canonical_mask: a bool mask (True = left out) becomes a float one of `dtype`,
    -inf where True and 0 elsewhere; a float mask is kept; other dtypes are an error. A mask
    of another dtype than `other` (the other mask given) warns, as torch does."""
    if mask is None:
        return None
    mask = F._t(mask)
    is_float = np.dtype(mask.dtype).kind == "f"
    if not _is_bool(mask) and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other is not None and F._t(other).dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      f"Use same type for both instead.", stacklevel=3)
    if is_float:
        return mask
    dtype = np.dtype(dtype)
    return _where(mask, Tensor(np.array(-np.inf, dtype)), Tensor(np.array(0.0, dtype)))


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """torch's checks of the inputs' ranks; True for batched (3-d) inputs."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(
                f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(
                f"For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D "
                f"but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(
                f"For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                f"but found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(
                f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(
                f"For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or "
                f"1-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(
                    f"For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or "
                    f"3-D but found {attn_mask.ndim}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{_size(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")


def _size(shape):
    """A shape as torch prints a Size in messages."""
    return f"torch.Size([{', '.join(str(n) for n in shape)}])"


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate):
    """q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v, the weights either
    the three row blocks of in_proj_weight (3E, E) or the separate (W_q, W_k, W_v)."""
    e = query.shape[-1]
    biases = (None,) * 3 if in_proj_bias is None else tuple(
        in_proj_bias[i * e:(i + 1) * e] for i in range(3))
    if separate is None:
        weights = tuple(in_proj_weight[i * e:(i + 1) * e] for i in range(3))
    else:
        weights = separate
        for name, x, w in zip(("query", "key", "value"), (query, key, value), weights):
            if tuple(w.shape) != (e, x.shape[-1]):
                raise AssertionError(f"expecting {name} weights shape of {(e, x.shape[-1])}, "
                                     f"but got {_size(w.shape)}")
    return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _pad_last(mask):
    """One more key, not masked: a column of 0 appended to a float mask."""
    return _cat([mask, Tensor(np.zeros(mask.shape[:-1] + (1,), np.dtype(mask.dtype)))], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False,
                                 *, rng=None):
    """torch.nn.functional.multi_head_attention_forward: inputs (L, N, E), (S, N, Ek),
    (S, N, Ev) or unbatched (L, E)...; returns (attn_output (L, N, E) or (L, E), weights).

    Each of the num_heads heads attends with its own slice of E / num_heads features:
    head_h = softmax(Q_h K_h^T / sqrt(E / num_heads) + M) V_h, output = concat(heads) W_o^T + b_o.
    Masks (bool: True = left out; float: added): attn_mask (L, S) or (N * num_heads, L, S),
    key_padding_mask (N, S) or (S,). need_weights=True also returns the weights after dropout,
    (N, L, S) averaged over heads or (N, num_heads, L, S) (unbatched: no N); a fully masked
    query then gives nan, as torch's. is_causal is a hint that attn_mask is the causal mask:
    without a key_padding_mask and with need_weights=False, torch then uses the causal mask in
    place of attn_mask, and so does this.
    """
    query, key, value = F._t(query), F._t(key), F._t(value)
    if key_padding_mask is not None:
        key_padding_mask = F._t(key_padding_mask)
    if attn_mask is not None:
        attn_mask = F._t(attn_mask)
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    dtype = np.dtype(query.dtype)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None        # the scaled_dot_product_attention below applies is_causal
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {_size(key.shape[:2])} do not "
                                 f"match value's {_size(value.shape[:2])}")
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
        for name, w in zip("qkv", separate):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     f"is None")
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {_size(key.shape)} does not match value shape "
                                 f"{_size(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        separate = None
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k and static_v are not "
                                  "supported by tapegrad")
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, but "
                               f"should be {(bsz * num_heads, tgt_len, src_len)}.")
    if (bias_k is None) != (bias_v is None):
        raise AssertionError(f"{'bias_k' if bias_v is None else 'bias_v'} is set but "
                             f"{'bias_v' if bias_v is None else 'bias_k'} is None")
    if bias_k is not None:
        # one more key and value, learned, shared by every sequence of the batch
        k = _cat([k, bias_k.repeat(1, bsz, 1)], 0)
        v = _cat([v, bias_v.repeat(1, bsz, 1)], 0)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)

    # (len, N, E) -> (N * heads, len, head_dim): head h of sequence n is row n * heads + h
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        # one more key and value, both zero: a query may attend to nothing
        zeros = Tensor(np.zeros((bsz * num_heads, 1, head_dim), dtype))
        k, v = _cat([k, zeros], 1), _cat([v, zeros], 1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = (key_padding_mask.reshape(bsz, 1, 1, src_len)
                            .expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = attn_mask + scores
        weights = scores.softmax(-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p, rng=rng)
        out = weights.matmul(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, rng=rng)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


# ---------------------------------------------------------------------------------------------
# modules
class NonDynamicallyQuantizableLinear(Linear):
    """MultiheadAttention's out_proj: a Linear under torch's class name (torch keeps it apart
    for its quantization tools), so that printed models read as torch's."""


class MultiheadAttention(Module):
    """Multi-head attention (torch.nn.MultiheadAttention):

        head_h = softmax(Q W_q,h^T (K W_k,h^T)^T / sqrt(d) + M) V W_v,h^T,   d = E / num_heads
        out = concat(head_1, ..., head_H) W_o^T + b_o

    Parameters as torch's: in_proj_weight (3E, E) holding W_q, W_k, W_v, or q_proj_weight
    (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim) when kdim or vdim differs from E;
    in_proj_bias (3E,); out_proj, a Linear (E, E); with add_bias_kv, bias_k and bias_v
    (1, 1, E), one more key and value. Initialized as torch: xavier_uniform_ of the input
    projections, zero biases, out_proj.weight as a Linear's, xavier_normal_ of bias_k/bias_v.
    `rng` (tapegrad's addition): a numpy Generator or seed for the initialization and the
    dropout masks; None draws from autograd's default generator in torch's order.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None), with
    inputs (L, N, E) (batch_first: (N, L, E)) or unbatched (L, E); see
    multi_head_attention_forward for masks and shapes. Dropout applies in training only.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None, *, rng=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        _check_device(device, "MultiheadAttention")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        dt = _dtype(dtype, "MultiheadAttention")
        self.rng = init._rng_or_default(rng)

        def empty(*shape):
            return Parameter(np.empty(shape, dtype=dt))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        rng=self.rng, dtype=dt)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, rng=self.rng)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, rng=self.rng)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, rng=self.rng)
            init.xavier_normal_(self.bias_v, rng=self.rng)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        query, key, value = F._t(query), F._t(key), F._t(value)
        dtype = np.dtype(query.dtype)
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                           "attn_mask", dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", dtype, check_other=False)
        if self.batch_first and query.ndim == 3:
            query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal, rng=self.rng)
        if self.batch_first and query.ndim == 3:
            out = out.transpose(1, 0)
        return out, weights
