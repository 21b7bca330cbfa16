"""Tensor layers with PyTorch's names, parameter layouts and default initializations."""
import math
from collections import OrderedDict

import functools

import numpy as np

from autograd import Tensor
from autograd.functional import linear as _linear
from autograd.tensor import get_default_dtype
from autograd.tensor_api import _check_values

from . import functional as F
from . import init
from .module import Module, Parameter, _check_device


def _as_tensor(x):
    """Inputs may be Tensors or numpy arrays (then a constant Tensor)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _dtype(dtype, layer="layer"):
    """The parameters' dtype: the default float dtype unless given; a float dtype either way."""
    dt = np.dtype(get_default_dtype() if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"{layer}: dtype must be a float dtype, got {dt}")
    return dt


def _affine(module, shape, dtype, affine, bias=True):
    """A normalization's affine parameters: weight = 1 and bias = 0 of `shape` (bias=False: no
    bias), or neither (affine=False); registered as None where absent, as in torch."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(np.zeros(shape, dtype=dtype))
    else:
        module.register_parameter("bias", None)


class Identity(Module):
    """f(x) = x."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features), b of shape (out_features,).

    Initialized as PyTorch does: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with
    a = sqrt(5)) and b ~ U(-1/sqrt(in), 1/sqrt(in)). `rng` is a Generator or a seed.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=None):
        super().__init__()
        if int(in_features) < 0 or int(out_features) < 0:
            raise ValueError(f"Linear: sizes must be non-negative, got in_features="
                             f"{in_features}, out_features={out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = _dtype(dtype)
        rng = init._rng_or_default(rng)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        rng = init._rng_or_default(rng)
        if self.in_features > 0:
            init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def forward(self, x):
        x = _as_tensor(x)
        shape = x._data.shape           # the array's tuple: x.shape builds a torch.Size
        if not shape or shape[-1] != self.in_features:
            raise F._InputError(
                f"{F._mm_message(x, self.weight)}\nLinear({self.extra_repr()}): expected input "
                f"with last dimension {self.in_features}, got shape {tuple(x.shape)} (weight "
                f"shape {tuple(self.weight.shape)})")
        return _linear(x, self.weight, self.bias)


class Bilinear(Module):
    """y = x1^T A x2 + b per output: y[..., o] = sum_{i,j} x1[..., i] W[o, i, j] x2[..., j]
    + b[o], W of shape (out_features, in1_features, in2_features), b of shape (out_features,).

    Initialized as PyTorch does: W and b ~ U(-1/sqrt(in1), 1/sqrt(in1)). `rng` is a Generator
    or a seed."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None, *, rng=None):
        super().__init__()
        _check_device(device, "Bilinear")
        self.in1_features = int(in1_features)
        self.in2_features = int(in2_features)
        self.out_features = int(out_features)
        dt = _dtype(dtype)
        shape = (self.out_features, self.in1_features, self.in2_features)
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features})")
        rng = init._rng_or_default(rng)
        bound = 1.0 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound, rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)


class Sequential(Module):
    """Modules applied in order: Sequential(a, b, c)(x) = c(b(a(x))). Children are named
    '0', '1', ... (or by the keys of an OrderedDict), as in PyTorch."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a "
                                    f"Module")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def _key(self, index):
        keys = list(self._modules)
        try:
            return keys[index]
        except (IndexError, TypeError):
            raise IndexError(f"index {index} is out of range for a Sequential of length "
                             f"{len(keys)}") from None

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[self._key(index)] = module

    def __delitem__(self, index):
        if isinstance(index, slice):
            keys = list(self._modules)[index]
        else:
            keys = [self._key(index)]
        for k in keys:
            del self._modules[k]
        # torch renumbers the remaining children 0, 1, ... (custom names included)
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        return self.extend(other)

    def insert(self, index, module):
        """Insert a module at position index (children renumbered 0, 1, ...)."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        items = list(self._modules.values())
        items.insert(index % (n + 1) if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        return self

    def extend(self, sequential):
        for m in sequential:
            self.append(m)
        return self

    def pop(self, key):
        """Remove and return the module at position key (children renumbered)."""
        m = self[key]
        del self[key]
        return m


class Flatten(Module):
    """Reshape dims start_dim..end_dim into one (default: all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x):
        return _as_tensor(x).flatten(self.start_dim, self.end_dim)


class Dropout(Module):
    """Inverted dropout: in training each element is zeroed with probability p and the rest
    scaled by 1/(1-p); in eval it is the identity. `rng` (Generator or seed) drives the masks.
    inplace=True scales and zeroes the input itself in training, as torch (functional.dropout).
    """
    _fn = "dropout"

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        if isinstance(inplace, (np.random.Generator, int)) and not isinstance(inplace, bool):
            raise TypeError(f"{type(self).__name__}: the second argument is inplace (as in "
                            f"torch); pass the generator or seed as rng=")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.rng = init._rng_or_default(rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, input):
        from . import functional
        return getattr(functional, self._fn)(input, self.p, self.training, self.inplace,
                                             rng=self.rng)


class Dropout1d(Dropout):
    """Channel dropout: whole channels of (N, C, L) or (C, L) inputs are zeroed."""
    _fn = "dropout1d"


class Dropout2d(Dropout):
    """Channel dropout: whole channels (feature maps) of (N, C, H, W) inputs are zeroed, the
    rest scaled by 1/(1-p) (functional.dropout2d, with torch's handling of 3-d inputs)."""
    _fn = "dropout2d"


class Unflatten(Module):
    """Expand dim `dim` into `unflattened_size` (one entry may be -1): the inverse of
    Flatten, e.g. Unflatten(1, (1, 28, 28)) turns (N, 784) into (N, 1, 28, 28)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise TypeError("Unflatten: named dimensions are not supported by tapegrad; "
                            "give dim as an int")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) for n in unflattened_size):
            raise TypeError(f"unflattened_size must be tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        self.dim = dim
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, input):
        x = _as_tensor(input)
        dim = self.dim % x.ndim if x.ndim else 0
        size = self.unflattened_size
        known = int(np.prod([n for n in size if n != -1]))
        n = x.shape[dim]
        if (-1 not in size and known != n) or (-1 in size and (known == 0 or n % known)):
            raise RuntimeError(f"unflatten: Provided sizes {list(size)} don't multiply up to "
                               f"the size of dim {self.dim} ({n}) in the input tensor")
        return x.reshape(x.shape[:dim] + size + x.shape[dim + 1:])


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (dim 1).

    Training: mean and biased var of the batch (over every dim but 1); the running estimates
    move by `momentum` toward the batch mean and the *unbiased* batch var, as in PyTorch
    (momentum=None: cumulative average over num_batches_tracked). Eval: the running estimates.
    """
    _ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        _check_device(device, type(self).__name__)
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.use_bias = bias and affine
        dt = _dtype(dtype)
        _affine(self, self.num_features, dt, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.use_bias}, "
                f"track_running_stats={self.track_running_stats}")

    def _check(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            dims = " or ".join(f"{n}-D" for n in self._ndims)
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected {dims} input "
                             f"with {self.num_features} channels in dim 1, got shape "
                             f"{tuple(x.shape)}")

    def forward(self, x):
        x = _as_tensor(x)
        self._check(x)
        # torch's rule: batch statistics in training, or in eval without running estimates;
        # the running estimates move only in training (F.batch_norm records that as an op)
        use_batch = self.training or not self.track_running_stats
        track = not self.training or self.track_running_stats
        return F._batch_norm(x, self.running_mean if track else None,
                             self.running_var if track else None, self.weight, self.bias,
                             use_batch, self.momentum, self.eps,
                             num_batches_tracked=self.num_batches_tracked, owner=self)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs; statistics per channel C."""
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs; statistics per channel C."""
    _ndims = (4,)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over the last
    len(normalized_shape) dims of each sample (same in train and eval)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        _check_device(device, "LayerNorm")
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = _dtype(dtype)
        _affine(self, self.normalized_shape, dt, elementwise_affine, bias)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")

    def forward(self, x):
        x = _as_tensor(x)
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"LayerNorm({self.normalized_shape}): expected input whose last "
                             f"dims are {self.normalized_shape}, got shape {tuple(x.shape)}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class Embedding(Module):
    """A lookup table: forward(indices) = weight[indices], weight (num_embeddings,
    embedding_dim) ~ N(0, 1) as in PyTorch (or `_weight`, used as given). The row padding_idx
    starts at zero and gets no gradient. max_norm, norm_type, scale_grad_by_freq and sparse
    are F.embedding's (sparse=True gives a dense gradient of the same values)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_device(device, "Embedding")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"[-{self.num_embeddings}, {self.num_embeddings})")
            padding_idx = padding_idx % self.num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dt = _dtype(dtype)
            w = init.normal_(np.empty((self.num_embeddings, self.embedding_dim), dtype=dt),
                             rng=init._rng_or_default(rng))
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
        self.weight = Parameter(w, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is `embeddings` (2-d, its array shared, as torch shares
        the storage), frozen (requires_grad=False) unless freeze=False; the padding row is
        left as given."""
        shape = tuple(np.shape(embeddings._data if isinstance(embeddings, Tensor)
                               else embeddings))
        if len(shape) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        return cls(shape[0], shape[1], padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    def forward(self, indices):
        idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding({self.extra_repr()}): indices must be integers, got "
                            f"dtype {idx.dtype}")
        _check_values(functools.partial(_outside, high=self.num_embeddings),
                      functools.partial(_index_error, what=f"Embedding({self.extra_repr()})",
                                        high=self.num_embeddings),
                      indices if isinstance(indices, Tensor) else idx)
        return F.embedding(indices if isinstance(indices, Tensor) else Tensor(idx), self.weight,
                           self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)


def _outside(idx, high):
    return bool(idx.size) and bool(idx.min() < 0 or idx.max() >= high)


def _index_error(idx, what, high):
    bad = idx[(idx < 0) | (idx >= high)].flat[0]
    return IndexError(f"{what}: index {bad} is out of range [0, {high})")


class Residual(Module):
    """A skip connection: forward(x) = x + module(x) (the shapes must agree)."""

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Residual: expected a Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x):
        x = _as_tensor(x)
        fx = self.module(x)
        if fx.shape != x.shape:
            raise ValueError(f"Residual({type(self.module).__name__}): the module maps shape "
                             f"{tuple(x.shape)} to {tuple(fx.shape)}; a skip connection needs "
                             f"them equal")
        return x + fx
