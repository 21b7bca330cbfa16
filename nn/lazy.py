"""Lazy layers (torch.nn.LazyLinear, LazyConv1d/2d, LazyBatchNorm1d/2d), as d2l.ai builds its
networks: the input size is left out and read from the first input.

Until that first call the parameters are empty placeholders (an in_features of 0, as torch
prints it). The first forward sizes them, initializes them as the eager layer would, and turns
the module into that layer (`type(m) is nn.Linear` afterwards, as torch's cls_to_become), so the
Parameter objects stay the same ones: call the model once on a sample batch before building
the optimizer, as torch asks.
"""
import numpy as np

from .conv import Conv1d, Conv2d
from .layers import BatchNorm1d, BatchNorm2d, Linear, _as_tensor, _dtype
from .module import Module, Parameter, _check_device


class LazyLinear(Linear):
    """Linear whose in_features is the last dim of its first input."""
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None, *, rng=None):
        Module.__init__(self)
        _check_device(device, "LazyLinear")
        self.in_features = 0
        self.out_features = int(out_features)
        dt = _dtype(dtype, "LazyLinear")
        self.weight = Parameter(np.empty((self.out_features, 0), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(0, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self._lazy_rng = rng

    def has_uninitialized_params(self):
        return True

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim == 0:
            raise ValueError("LazyLinear: cannot read in_features from a 0-d input")
        self.in_features = x.shape[-1]
        dt = self.weight._data.dtype
        self.weight._data = np.empty((self.out_features, self.in_features), dtype=dt)
        if self.bias is not None:
            self.bias._data = np.empty(self.out_features, dtype=dt)
        self.reset_parameters(self.__dict__.pop("_lazy_rng"))
        self.__class__ = self.cls_to_become
        return self.forward(x)


class _LazyConvNd:
    """Shared by LazyConv1d and LazyConv2d: in_channels read from the channel dim of the first
    input (dim 1 batched, dim 0 unbatched)."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, *, rng=None):
        # built as an eager conv with a stand-in in_channels, then emptied
        self.cls_to_become.__init__(self, groups, out_channels, kernel_size, stride, padding,
                                    dilation, groups, bias, padding_mode, device, dtype, rng=0)
        self.in_channels = 0
        self.weight._data = np.empty((self.out_channels, 0) + self.kernel_size,
                                    dtype=self.weight._data.dtype)
        if self.bias is not None:
            self.bias._data = np.empty(0, dtype=self.bias._data.dtype)
        self._lazy_rng = rng

    def has_uninitialized_params(self):
        return True

    def forward(self, input):
        x = _as_tensor(input)
        nd = self._nd
        if x.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{type(self).__name__}: expected an input of {nd + 1} or {nd + 2} "
                             f"dims to read in_channels from, got shape {tuple(x.shape)}")
        channels = x.shape[x.ndim - nd - 1]
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({channels}) must be divisible "
                             f"by groups ({self.groups})")
        self.in_channels = channels
        dt = self.weight._data.dtype
        self.weight._data = np.empty((self.out_channels, channels // self.groups)
                                    + self.kernel_size, dtype=dt)
        if self.bias is not None:
            self.bias._data = np.empty(self.out_channels, dtype=dt)
        self.reset_parameters(self.__dict__.pop("_lazy_rng"))
        self.__class__ = self.cls_to_become
        return self.forward(x)


class LazyConv1d(_LazyConvNd, Conv1d):
    """Conv1d whose in_channels is read from its first input."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """Conv2d whose in_channels is read from its first input."""
    cls_to_become = Conv2d


class _LazyBatchNorm:
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        self.cls_to_become.__init__(self, 0, eps, momentum, affine, track_running_stats,
                                    device, dtype)

    def has_uninitialized_params(self):
        return True

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim < 2:
            raise ValueError(f"{type(self).__name__}: expected an input with a channel dim "
                             f"(dim 1), got shape {tuple(x.shape)}")
        c = x.shape[1]
        self.num_features = c
        for name, fill in (("weight", 1.0), ("bias", 0.0)):
            p = self._parameters.get(name)
            if p is not None:
                p._data = np.full(c, fill, dtype=p._data.dtype)
        for name, fill in (("running_mean", 0.0), ("running_var", 1.0)):
            b = self._buffers.get(name)
            if b is not None:
                b._data = np.full(c, fill, dtype=b._data.dtype)
        self.__class__ = self.cls_to_become
        return self.forward(x)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d whose num_features is dim 1 of its first input."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d whose num_features is dim 1 of its first input."""
    cls_to_become = BatchNorm2d


__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d", "LazyBatchNorm2d"]
