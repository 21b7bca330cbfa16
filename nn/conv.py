"""Convolution and pooling layers over nn.functional (NCL / NCHW / NCDHW layouts, torch's
arguments).

    Conv1d/2d/3d  out[n, o, p] = b[o] + sum_{c,k} W[o, c, k] x_pad[n, c, p stride + k dilation]
               (cross-correlation, as torch), c over the input channels of o's group; p and k
               run over the 1, 2 or 3 spatial dims
    MaxPool    out = max of each kernel window (padding is -inf)
    AvgPool    out = mean of each kernel window (padded zeros counted unless
               count_include_pad=False)
    AdaptiveAvgPool  windows chosen so that the output has a given size (torch's windows)
    AdaptiveMaxPool  the max over those windows
    MaxUnpool2d      each value put back where MaxPool2d(return_indices=True) found it

An unbatched input ((C, L), (C, H, W) or (C, D, H, W)) is accepted and returned unbatched, as
in torch.
"""
import math

import numpy as np

from autograd import Tensor

from . import functional as F
from . import init
from .layers import _dtype
from .module import Module, Parameter, _check_device

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n, name, layer):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) != n:
        kind = "an int or a pair of ints" if n == 2 else f"an int or a tuple of {n} int"
        raise ValueError(f"{layer}: {name} must be {kind}, got {v}")
    return v


class _ConvNd(Module):
    _nd = 2
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, *,
                 rng=None):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        _check_device(device, name)
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"{name}: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", name)
        self.stride = _tuple(stride, nd, "stride", name)
        self.dilation = _tuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd, "padding", name)
        if min(self.kernel_size + self.stride + self.dilation) < 1 or (
                not isinstance(self.padding, str) and min(self.padding) < 0):
            raise ValueError(f"{name}: kernel_size {self.kernel_size}, stride {self.stride} and "
                             f"dilation {self.dilation} must be positive, padding "
                             f"{self.padding} non-negative")
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dt = _dtype(dtype, name)
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels // self.groups)
                                         + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """torch's initialization: weight by kaiming_uniform_(a=sqrt(5)), i.e.
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * prod(kernel);
        bias from the same interval. `rng` is a Generator or a seed."""
        rng = init._rng_or_default(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * int(np.prod(self.kernel_size))
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _padding_pairs(self):
        """(before, after) per spatial dim, as 'same' pads (an even span pads more after)."""
        if self.padding == "valid":
            return [(0, 0)] * self._nd
        if self.padding == "same":
            spans = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            return [(s // 2, s - s // 2) for s in spans]
        return [(p, p) for p in self.padding]

    def forward(self, input):
        nd, layer = self._nd, f"{type(self).__name__}({self.extra_repr()})"
        x = input if isinstance(input, Tensor) else Tensor(input)
        spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[nd]
        if x.ndim not in (nd + 1, nd + 2):
            raise F._InputError(f"{layer}: expected an input of shape (N, {self.in_channels}, "
                                f"{spatial}) or ({self.in_channels}, {spatial}), got shape "
                                f"{tuple(x.shape)}")
        channels = x.shape[-nd - 1]
        if channels != self.in_channels:
            raise F._InputError(f"{layer}: expected input with {self.in_channels} channels, "
                                f"shape (N, {self.in_channels}, {spatial}), got input of shape "
                                f"{tuple(x.shape)} for a weight of shape "
                                f"{tuple(self.weight.shape)}")
        pairs = self._padding_pairs()
        sizes = [n + a + b for n, (a, b) in zip(x.shape[-nd:], pairs)]
        spans = [d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size)]
        if any(n < s for n, s in zip(sizes, spans)):
            raise F._InputError(f"{layer}: kernel {'x'.join(map(str, spans))} is larger than "
                                f"the padded input {'x'.join(map(str, sizes))} (input shape "
                                f"{tuple(x.shape)})")
        padding = self.padding
        if self.padding_mode != "zeros":
            flat = [v for a, b in reversed(pairs) for v in (a, b)]
            x = F.pad(x, flat, mode=self.padding_mode)
            padding = 0
        return type(self)._fn(x, self.weight, self.bias, self.stride, padding, self.dilation,
                              self.groups)


class Conv1d(_ConvNd):
    """1-d convolution over (N, C, L) or (C, L). weight (out_channels, in_channels / groups,
    kernel_size), bias (out_channels,); padding an int, 'valid' or 'same'; padding_mode
    'zeros', 'reflect', 'replicate' or 'circular'. Initialized as torch (see reset_parameters);
    `rng` (keyword) is a Generator or a seed."""
    _nd = 1
    _fn = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) or (C, H, W). weight (out_channels,
    in_channels / groups, kH, kW), bias (out_channels,); padding an int, a pair, 'valid' or
    'same'; dilation and groups as torch. Initialized as torch (see reset_parameters); `rng`
    (keyword) is a Generator or a seed."""
    _nd = 2
    _fn = staticmethod(F.conv2d)


class Conv3d(_ConvNd):
    """3-d convolution over (N, C, D, H, W) or (C, D, H, W) (volumes, video). weight
    (out_channels, in_channels / groups, kD, kH, kW), bias (out_channels,); padding an int, a
    triple, 'valid' or 'same'; dilation, groups and padding_mode as Conv2d's. Initialized as
    torch (see reset_parameters); `rng` (keyword) is a Generator or a seed."""
    _nd = 3
    _fn = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    """Transposed convolution: weight (in_channels, out_channels / groups, *kernel), bias
    (out_channels,), initialized as torch (fan_in = out_channels / groups * prod(kernel))."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None, *, rng=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints")
        Module.__init__(self)
        nd = self._nd
        self.output_padding = _tuple(output_padding, nd, "output_padding", name)
        # the weight's first two dims are swapped with respect to a convolution's
        _ConvNd.__init__(self, out_channels, in_channels, kernel_size, stride, padding,
                         dilation, groups, False, padding_mode, device, dtype, rng=0)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        dt = self.weight._data.dtype
        self.weight = Parameter(np.empty((self.in_channels, self.out_channels // self.groups)
                                         + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """kaiming_uniform_(a=sqrt(5)) on the weight, the bias from U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(kernel), as torch."""
        rng = init._rng_or_default(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * int(np.prod(self.kernel_size))
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def forward(self, input, output_size=None):
        nd = self._nd
        x = input if isinstance(input, Tensor) else Tensor(input)
        output_padding = self.output_padding
        if output_size is not None:
            # torch's choice: the output_padding that reaches output_size (its last nd dims)
            want = tuple(output_size)[-nd:]
            least = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                     zip(x.shape[-nd:], self.stride, self.padding, self.dilation,
                         self.kernel_size)]
            output_padding = tuple(w - m for w, m in zip(want, least))
            if any(not 0 <= op < max(s, d) for op, s, d in
                   zip(output_padding, self.stride, self.dilation)):
                most = [m + max(s, d) - 1 for m, s, d in zip(least, self.stride, self.dilation)]
                raise ValueError(f"requested an output size of {list(want)}, but valid sizes "
                                 f"range from {least} to {most} (for an input of "
                                 f"{list(x.shape[-nd:])})")
        return self._fn(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                        self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution (functional.conv_transpose1d); `rng` (keyword) is a
    Generator or a seed."""
    _nd = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution, the upsampling layer of decoders and DCGAN generators
    (functional.conv_transpose2d); `rng` (keyword) is a Generator or a seed."""
    _nd = 2
    _fn = staticmethod(F.conv_transpose2d)


class Upsample(Module):
    """Resize the spatial dims by scale_factor or to size (functional.interpolate; mode
    'nearest')."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def extra_repr(self):
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)


class _PoolNd(Module):
    """Pooling layers keep their arguments as given (kernel_size=2 stays 2), as torch prints
    them; nn.functional turns them into tuples."""

    def _check_padding(self):
        nd, name = self._nd, type(self).__name__
        kernel = _tuple(self.kernel_size, nd, "kernel_size", name)
        padding = _tuple(self.padding, nd, "padding", name)
        stride = kernel if self.stride is None else _tuple(self.stride, nd, "stride", name)
        if min(kernel + stride) < 1 or min(padding) < 0:
            raise ValueError(f"{name}: kernel_size {kernel} and stride {stride} must be "
                             f"positive, padding {padding} non-negative")
        if any(2 * p > k for p, k in zip(padding, kernel)):
            raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                             f"{kernel} (as in torch)")

    def _layer(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def _check_input(self, x):
        nd = self._nd
        if x.ndim not in (nd + 1, nd + 2):
            shape = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
            raise F._InputError(f"{self._layer()}: expected an input of shape {shape}, got "
                                f"shape {tuple(x.shape)}")
        kernel = _tuple(self.kernel_size, nd, "kernel_size", "")
        padding = _tuple(self.padding, nd, "padding", "")
        sizes = [n + 2 * p for n, p in zip(x.shape[-nd:], padding)]
        if any(n < k for n, k in zip(sizes, kernel)):
            raise F._InputError(f"{self._layer()}: kernel {'x'.join(map(str, kernel))} is "
                                f"larger than the padded input {'x'.join(map(str, sizes))} "
                                f"(input shape {tuple(x.shape)})")


class _MaxPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if (stride is None or stride == []) else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        self._check_padding()

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input):
        x = input if isinstance(input, Tensor) else Tensor(input)
        self._check_input(x)
        return self._fn(x, self.kernel_size, self.stride, self.padding, self.dilation,
                        ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Max over windows of length kernel_size (stride defaults to it, padding is -inf); the
    gradient goes to the first maximum of a window, as torch."""
    _nd = 1
    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over each kH x kW window (stride defaults to the kernel size, padding is -inf); the
    gradient goes to the first maximum of a window, as torch."""
    _nd = 2
    _fn = staticmethod(F.max_pool2d)


class AvgPool1d(_PoolNd):
    """Mean over windows of length kernel_size (stride defaults to it); padded zeros count in
    the mean unless count_include_pad=False. Arguments are kept as 1-tuples, as torch."""
    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = self.kernel_size if (stride is None or stride == []) else _tuple(
            stride, 1, "stride", "AvgPool1d")
        self.padding = _tuple(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self._check_padding()

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        x = input if isinstance(input, Tensor) else Tensor(input)
        self._check_input(x)
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_PoolNd):
    """Mean over each kH x kW window (stride defaults to the kernel size); padded zeros count
    in the mean (torch's count_include_pad=True) unless told otherwise; divisor_override
    replaces the window size as divisor."""
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if (stride is None or stride == []) else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        self._check_padding()

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        x = input if isinstance(input, Tensor) else Tensor(input)
        self._check_input(x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _AdaptiveAvgPoolNd(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, L) or (C, L) to output_size positions (torch's windows)."""

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, H, W) or (C, H, W) to output_size (int, pair, None keeps a
    size); AdaptiveAvgPool2d(1) is global average pooling."""

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPoolNd(Module):
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) or (C, L) to output_size positions (torch's windows); with
    return_indices=True, forward returns (output, positions of the maxima)."""

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, H, W) or (C, H, W) to output_size (int, pair, None keeps a size);
    with return_indices=True, forward returns (output, flat indices h W + w of the maxima),
    which MaxUnpool2d takes."""

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d(return_indices=True): forward(input, indices,
    output_size=None) puts each value back at its index in zeros (F.max_unpool2d). Arguments
    are kept as pairs, as torch."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 2, "kernel_size", "MaxUnpool2d")
        self.stride = _tuple(kernel_size if stride is None else stride, 2, "stride",
                             "MaxUnpool2d")
        self.padding = _tuple(padding, 2, "padding", "MaxUnpool2d")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "Upsample",
           "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool2d"]
