"""nn.EmbeddingBag: sums, means or maxima of bags of embeddings (torch.nn.modules.sparse's),
over nn.functional.embedding_bag.

    out[b] = reduce_{j in bag b} weight[input[j]]   (reduce: 'sum', 'mean' or 'max')

The text-classification model of PyTorch's tutorials feeds it one flat tensor of token ids
and the offsets where each text starts: `EmbeddingBag(vocab_size, embed_dim)(text, offsets)`.
"""
import numpy as np

from autograd import Tensor

from . import functional as F
from . import init
from .layers import _dtype
from .module import Module, Parameter, _check_device


class EmbeddingBag(Module):
    """A table weight (num_embeddings, embedding_dim) ~ N(0, 1) (the padding_idx row zero), as
    torch initializes it, reduced over bags: forward(input, offsets=None,
    per_sample_weights=None) is F.embedding_bag with this module's options (see it for the
    math, the bags and the edge cases). `rng` (keyword) is a Generator or a seed."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None, *,
                 rng=None):
        super().__init__()
        _check_device(device, "EmbeddingBag")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim),
                                             dtype=_dtype(dtype, "EmbeddingBag")))
            self.reset_parameters(rng)
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(w)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self, rng=None):
        """weight ~ N(0, 1), then the padding_idx row set to zero (torch's order of draws)."""
        init.normal_(self.weight, rng=init._rng_or_default(rng))
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is `embeddings` (2-d, its array shared, as torch shares
        the storage), frozen (requires_grad=False) unless freeze=False."""
        shape = np.shape(embeddings._data if isinstance(embeddings, Tensor) else embeddings)
        if len(shape) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        bag = cls(shape[0], shape[1], max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)


__all__ = ["EmbeddingBag"]
