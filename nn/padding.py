"""Padding, pixel and channel shuffle, fold and unfold modules (torch.nn.ZeroPad1d/2d,
ConstantPad1d/2d, ReflectionPad1d/2d, ReplicationPad1d/2d, CircularPad1d/2d, PixelShuffle,
PixelUnshuffle, ChannelShuffle, Fold, Unfold) over nn.functional, with PyTorch's arguments
and reprs. The padding is stored as torch stores it: an int repeated to 2 (1d) or 4 (2d)
entries, a sequence kept as a tuple (its length is checked by F.pad at the first call)."""
from . import functional as F
from .layers import _as_tensor
from .module import Module


def _ntuple(padding, n):
    if isinstance(padding, (list, tuple)):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    """F.pad(input, padding, mode): padding (left, right) for the last dim, then (top, bottom)
    for the one before (torch's order)."""
    _mode = "constant"
    _n = 2
    _ndims = None                 # the input dims a circular pad takes (checked as torch)

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, self._n)

    def extra_repr(self):
        return f"{self.padding}"

    def forward(self, input):
        x = _as_tensor(input)
        if self._ndims is not None and x.ndim not in self._ndims:
            raise ValueError(f"expected {self._ndims[0]}D or {self._ndims[1]}D input (got "
                             f"{x.ndim}D input)")
        return F.pad(x, self.padding, self._mode)


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"

    def forward(self, input):
        return F.pad(_as_tensor(input), self.padding, "constant", self.value)


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with `value`: padding an int or (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with `value`: padding an int or (left, right, top, bottom)."""
    _n = 4


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros: padding an int or (left, right)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros: padding an int or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Reflect the last dim of (N, C, W) or (C, W) at its edges, edge not repeated:
    [1, 2, 3] padded by (2, 1) is [3, 2, 1, 2, 3, 2]; each pad less than the dim."""
    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Reflect the last two dims of (N, C, H, W) or (C, H, W) at their edges."""
    _n = 4


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim of (N, C, W) or (C, W)."""
    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Repeat the edge values of the last two dims of (N, C, H, W) or (C, H, W)."""
    _n = 4


class CircularPad1d(_PadNd):
    """Wrap the last dim of (N, C, W) or (C, W) around: the left pad is copied from the
    right end and the right pad from the left end; each pad at most the dim."""
    _mode = "circular"
    _ndims = (2, 3)


class CircularPad2d(CircularPad1d):
    """Wrap the last two dims of (N, C, H, W) or (C, H, W) around (a torus)."""
    _n = 4
    _ndims = (3, 4)


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor (F.pixel_shuffle)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"

    def forward(self, input):
        return F.pixel_shuffle(_as_tensor(input), self.upscale_factor)


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor (F.pixel_unshuffle)."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"

    def forward(self, input):
        return F.pixel_unshuffle(_as_tensor(input), self.downscale_factor)


class ChannelShuffle(Module):
    """The channels of (N, C, *) seen as (groups, C / groups) and transposed
    (F.channel_shuffle)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def extra_repr(self):
        return f"groups={self.groups}"

    def forward(self, input):
        return F.channel_shuffle(_as_tensor(input), self.groups)


class Unfold(Module):
    """Sliding blocks of (N, C, H, W) as columns of (N, C kH kW, L) (F.unfold, im2col)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.unfold(_as_tensor(input), self.kernel_size, self.dilation, self.padding,
                        self.stride)


class Fold(Module):
    """Columns of (N, C kH kW, L) summed back onto (N, C, *output_size) (F.fold, col2im)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.fold(_as_tensor(input), self.output_size, self.kernel_size, self.dilation,
                      self.padding, self.stride)


__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
           "CircularPad2d", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold",
           "Unfold"]
