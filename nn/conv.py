"""Convolution and pooling layers over `autograd.functional`'s conv2d and pools (NCHW, as torch).

    Conv2d     out[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] xp[n, c, p*sh + i, q*sw + j]
               with xp the input zero-padded by (ph, pw)
    MaxPool2d  out[n, c, p, q] = max of the kernel window at (p*sh, q*sw), padding is -inf
    AvgPool2d  out[n, c, p, q] = mean of that window, padded zeros counted (torch's default)

An unbatched image (C, H, W) is accepted and returned unbatched, as in torch.
"""
import math

import numpy as np

from autograd import Tensor
from autograd import functional as F

from . import init
from .layers import _dtype
from .module import Module, Parameter


def _pair(v, name, layer):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {v}")
    return v


def _batched(x, layer, channels=None):
    """x as an (N, C, H, W) Tensor and whether it came unbatched as (C, H, W)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 3:
        return x.unsqueeze(0), False
    if x.ndim != 4:
        want = "(N, C, H, W) or (C, H, W)" if channels is None else \
            f"(N, {channels}, H, W) or ({channels}, H, W)"
        raise ValueError(f"{layer}: expected an input of shape {want}, got shape {x.shape}")
    return x, True


class Conv2d(Module):
    """2-D convolution (cross-correlation, as torch). weight: (out_channels, in_channels, kH, kW),
    bias: (out_channels,). Initialized as torch: weight by kaiming_uniform_(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kH * kW; bias from the same
    interval. `rng` is a Generator or a seed."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 rng=None, dtype=None):
        super().__init__()
        name = "Conv2d"
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"{name}: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        self.stride = _pair(stride, "stride", name)
        self.padding = _pair(padding, "padding", name)
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} and stride {self.stride} "
                             f"must be positive, padding {self.padding} non-negative")
        dt = _dtype(dtype, name)
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        rng = init._rng_or_default(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, rng)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def forward(self, x):
        layer = f"Conv2d({self.extra_repr()})"
        x, batched = _batched(x, layer, self.in_channels)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{layer}: expected input with {self.in_channels} channels, shape "
                             f"(N, {self.in_channels}, H, W), got input of shape "
                             f"{x.shape if batched else x.shape[1:]} for a weight of shape "
                             f"{self.weight.shape}")
        _check_window_fits(layer, x.shape, self.kernel_size, self.padding)
        out = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        return out if batched else out.squeeze(0)


def _check_window_fits(layer, shape, kernel_size, padding):
    """A kernel or pooling window larger than the padded input has no output: say so."""
    (kh, kw), (ph, pw) = kernel_size, padding
    if shape[2] + 2 * ph < kh or shape[3] + 2 * pw < kw:
        raise ValueError(f"{layer}: kernel {kh}x{kw} is larger than the padded input "
                         f"{shape[2] + 2 * ph}x{shape[3] + 2 * pw} (input shape {shape})")


class _Pool2d(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", name)
        self.padding = _pair(padding, "padding", name)
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} and stride {self.stride} "
                             f"must be positive, padding {self.padding} non-negative")
        if 2 * self.padding[0] > self.kernel_size[0] or 2 * self.padding[1] > self.kernel_size[1]:
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel "
                             f"size {self.kernel_size} (as in torch)")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        layer = f"{type(self).__name__}({self.extra_repr()})"
        x, batched = _batched(x, layer)
        _check_window_fits(layer, x.shape, self.kernel_size, self.padding)
        out = type(self)._fn(x, self.kernel_size, self.stride, self.padding)
        return out if batched else out.squeeze(0)


class MaxPool2d(_Pool2d):
    """Max over each kH x kW window (stride defaults to the kernel size, padding is -inf); the
    gradient goes to the first maximum of a window, as torch."""
    _fn = staticmethod(F.max_pool2d)


class AvgPool2d(_Pool2d):
    """Mean over each kH x kW window (stride defaults to the kernel size); padded zeros count
    in the mean (torch's count_include_pad=True)."""
    _fn = staticmethod(F.avg_pool2d)


__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d"]
