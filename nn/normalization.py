"""Normalization layers (torch.nn.GroupNorm, InstanceNorm1d/2d/3d, RMSNorm, LocalResponseNorm)
over the functions of nn.functional, with PyTorch's arguments, parameters and reprs.
BatchNorm1d/2d, LayerNorm and Embedding are in nn/layers.py and call nn.functional too."""
import warnings

import numpy as np

from . import functional as F
from .layers import _BatchNorm, _affine, _as_tensor, _dtype
from .module import Module, Parameter, _check_device


class GroupNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over each group
    of num_channels / num_groups channels (and the spatial dims) of each sample of
    (N, C, *); weight (ones) and bias (zeros) per channel when affine."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        _check_device(device, "GroupNorm")
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        dt = _dtype(dtype, "GroupNorm")
        _affine(self, self.num_channels, dt, affine, bias)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None if self.affine else False}")

    def forward(self, input):
        return F.group_norm(_as_tensor(input), self.num_groups, self.weight, self.bias,
                            self.eps)


class _InstanceNorm(_BatchNorm):
    """Per sample and channel: mean and biased var over the spatial dims. Running estimates
    (track_running_stats=True) are averages over the samples of the per-instance means and
    unbiased vars, used in eval mode; momentum=None is 0 (they do not move), as torch.
    Unbatched inputs (one dim fewer) are normalized as a batch of one."""
    _no_batch_dim = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim not in (self._no_batch_dim, self._no_batch_dim + 1):
            raise ValueError(f"expected {self._no_batch_dim}D or {self._no_batch_dim + 1}D "
                             f"input (got {x.ndim}D input)")
        feature_dim = x.ndim - self._no_batch_dim
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{x.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. "
                          f"You can silence this warning by not passing in num_features, "
                          f"which is not used because affine=False", stacklevel=2)
        unbatched = x.ndim == self._no_batch_dim
        out = F.instance_norm(x.unsqueeze(0) if unbatched else x, self.running_mean,
                              self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) inputs."""
    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) inputs."""
    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) inputs."""
    _no_batch_dim = 4


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight, the mean over the last len(normalized_shape)
    dims; eps=None is the machine epsilon of the input's dtype; weight (ones) of
    normalized_shape when elementwise_affine."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        _check_device(device, "RMSNorm")
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape,
                                            dtype=_dtype(dtype, "RMSNorm")))
        else:
            self.register_parameter("weight", None)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")

    def forward(self, x):
        return F.rms_norm(_as_tensor(x), self.normalized_shape, self.weight, self.eps)


class LocalResponseNorm(Module):
    """y = x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta
    (F.local_response_norm), for inputs (N, C, *) of 3 dims or more."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, input):
        return F.local_response_norm(_as_tensor(input), self.size, self.alpha, self.beta,
                                     self.k)


__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
           "LocalResponseNorm"]
