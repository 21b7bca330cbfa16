"""The Transformer modules of torch.nn: TransformerEncoderLayer, TransformerEncoder,
TransformerDecoderLayer, TransformerDecoder and Transformer, with torch's names, keywords,
defaults, submodules (so state_dict keys equal torch's) and initializations.

An encoder layer, post-norm (norm_first=False, the default) and pre-norm:

    x = norm1(x + SA(x));   x = norm2(x + FF(x))        x = x + SA(norm1(x));  x = x + FF(norm2(x))

SA(x) = dropout1(self_attn(x, x, x)), FF(x) = dropout2(linear2(dropout(activation(linear1(x))))).
A decoder layer adds cross-attention to the encoder's output (`memory`) between the two:
MHA(x) = dropout2(multihead_attn(x, memory, memory)) with norm2, its feed-forward using norm3.
Masks follow nn.MultiheadAttention (bool: True = left out; float: added).

Deliberate differences from torch, none of which changes a value: torch's fused fast paths
(eval mode without gradients) are not here, so TransformerEncoder neither warns that it cannot
use nested tensors nor returns 0 at padded positions as its nested-tensor path does; and the
is_causal=None detection (comparing the mask with the causal one, a read of its values that
autograd.compile could not replay) is left out: torch uses it to pick a faster kernel with the
same result.
"""
import copy

import numpy as np

from autograd import Tensor

from . import functional as F
from . import init
from .attention import MultiheadAttention
from .layers import Dropout, LayerNorm, Linear, _dtype
from .module import Module, ModuleList, _check_device


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
    _check_device(device, "generate_square_subsequent_mask")
    dt = _dtype(dtype, "generate_square_subsequent_mask")
    return Tensor(np.triu(np.full((sz, sz), -np.inf, dtype=dt), 1))


def _get_clones(module, n):
    """n deep copies of module in a ModuleList, as torch's. A numpy Generator held by the
    module (its `rng`) is shared by the copies rather than copied, so that their dropout
    masks differ, as draws from torch's one global generator do."""
    shared = {id(m.rng): m.rng for m in module.modules()
              if isinstance(getattr(m, "rng", None), np.random.Generator)}
    return ModuleList([copy.deepcopy(module, dict(shared)) for _ in range(n)])


def _get_activation_fn(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _masks(src, mask, key_padding_mask, mask_name, padding_name):
    """torch's _canonical_mask of both masks (bool -> float, warnings on mixed dtypes)."""
    from .attention import _canonical_mask
    dtype = np.dtype(F._t(src).dtype)
    key_padding_mask = _canonical_mask(key_padding_mask, padding_name, mask, mask_name, dtype)
    mask = _canonical_mask(mask, mask_name, None, "", dtype, check_other=False)
    return mask, key_padding_mask


class _TransformerLayer(Module):
    """The blocks the encoder and decoder layers share: self-attention, then its dropout1;
    the feed-forward network, then the layer's last dropout (`_ff_dropout` names it)."""
    _ff_dropout = "dropout2"

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(x)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a feed-forward network, each with a residual connection and a
    LayerNorm (after it, or before with norm_first=True). activation: "relu", "gelu" or a
    callable. `rng` (tapegrad's addition): a numpy Generator or seed for the initialization
    and the dropout masks; None draws from autograd's default generator in torch's order.

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): src (S, N, E)
    (batch_first: (N, S, E)) or unbatched (S, E); masks as nn.MultiheadAttention's.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_device(device, type(self).__name__)
        rng = init._rng_or_default(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype, rng=rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=rng, dtype=dtype)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=rng, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_mask, src_key_padding_mask = _masks(src, src_mask, src_key_padding_mask,
                                                "src_mask", "src_key_padding_mask")
        x = F._t(src)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention on the target, cross-attention to the encoder's output (memory), and a
    feed-forward network, each with a residual connection and a LayerNorm (norm1, norm2,
    norm3; after each block, or before with norm_first=True). Arguments as
    TransformerEncoderLayer's.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False).
    """
    _ff_dropout = "dropout3"

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_device(device, type(self).__name__)
        rng = init._rng_or_default(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, dtype=dtype,
                                            rng=rng)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias,
                                                 dtype=dtype, rng=rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=rng, dtype=dtype)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=rng, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        self.dropout3 = Dropout(dropout, rng=rng)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation = activation

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = F._t(tgt)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask,
                                              tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer (`layers`, a ModuleList) applied in turn, then
    `norm` if given. forward(src, mask=None, src_key_padding_mask=None, is_causal=None).
    enable_nested_tensor and mask_check are accepted and kept (they choose torch's fast path,
    which tapegrad does not have: use_nested_tensor is False)."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        mask, src_key_padding_mask = _masks(src, mask, src_key_padding_mask, "mask",
                                            "src_key_padding_mask")
        output = F._t(src)
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal is True,
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer (`layers`) applied in turn to tgt, each
    attending to the same memory, then `norm` if given. forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=None, memory_is_causal=False)."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        output = F._t(tgt)
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal is True,
                         memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (torch.nn.Transformer):
    an encoder of num_encoder_layers TransformerEncoderLayers and a LayerNorm, a decoder of
    num_decoder_layers TransformerDecoderLayers and a LayerNorm (or custom_encoder and
    custom_decoder); every parameter with more than one dim re-initialized by
    xavier_uniform_, as torch's.

    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False) -> the decoder's output,
    of tgt's shape. generate_square_subsequent_mask(sz): the causal float mask for tgt_mask.
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True, device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_device(device, "Transformer")
        rng = init._rng_or_default(rng)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(*layer_args, dtype=dtype, rng=rng)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(*layer_args, dtype=dtype, rng=rng)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, rng=rng)
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        src, tgt = F._t(src), F._t(tgt)
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask: 0 on and below the diagonal, -inf above (position i attends to
        positions 0..i), of the default dtype unless given."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)
