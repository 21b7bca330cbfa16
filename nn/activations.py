"""Activation functions as modules (each wraps the function of the same name in functional).

Constructors take torch's arguments; with `inplace=True` the module writes its result into
its input and returns it, as torch's do (see nn.functional).
"""
import numpy as np

from autograd.tensor import get_default_dtype

from . import functional as F
from .module import Module, Parameter


class _Inplace(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0); gradient 0 at 0."""

    def forward(self, input):
        return F.relu(input, self.inplace)


class ReLU6(_Inplace):
    """min(max(x, 0), 6); gradient 0 at 0 and 6."""

    def forward(self, input):
        return F.relu6(input, self.inplace)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)


class CELU(ELU):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """scale * elu(x, alpha) with the self-normalizing constants."""

    def forward(self, input):
        return F.selu(input, self.inplace)


class GELU(Module):
    """x Phi(x): exact with approximate='none' (erf), or the tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def extra_repr(self):
        return f"approximate={self.approximate!r}"

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)


class SiLU(_Inplace):
    """x sigmoid(x)."""

    def forward(self, input):
        return F.silu(input, self.inplace)


class Mish(_Inplace):
    """x tanh(softplus(x))."""

    def forward(self, input):
        return F.mish(input, self.inplace)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)


class Hardtanh(Module):
    """min(max(x, min_val), max_val); gradient 1 strictly inside, 0 at and beyond the bounds.
    min_value / max_value are torch's deprecated spellings."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        super().__init__()
        if min_value is not None:
            min_val = min_value
        if max_value is not None:
            max_val = max_value
        if min_val >= max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be less than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)


class Hardsigmoid(_Inplace):
    """0 below -3, 1 above 3, x / 6 + 1 / 2 between."""

    def extra_repr(self):
        return ""               # torch's repr leaves inplace out here

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)


class Hardswish(_Inplace):
    """0 below -3, x above 3, x (x + 3) / 6 between."""

    def extra_repr(self):
        return ""               # torch's repr leaves inplace out here

    def forward(self, input):
        return F.hardswish(input, self.inplace)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, input):
        return F.softsign(input)


class LogSigmoid(Module):
    """log sigmoid(x), stable."""

    def forward(self, input):
        return F.logsigmoid(input)


class Tanh(Module):
    """tanh x."""

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, input):
        return F.sigmoid(input)


class PReLU(Module):
    """x if x > 0 else a x, with a learned slope: one shared (num_parameters=1) or one per
    channel (dim 1 of the input), all starting at `init` (0.25)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        from .module import _check_device
        _check_device(device, "PReLU")
        self.num_parameters = int(num_parameters)
        self.init = init
        dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=dtype))

    def reset_parameters(self):
        self.weight._data[...] = self.init

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"

    def forward(self, input):
        return F.prelu(input, self.weight)


class Softmax(Module):
    """e^x_i / sum_j e^x_j along dim (dim=None: torch's legacy choice, with its warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)


class Softmin(Softmax):
    """softmax(-x) along dim."""

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)


class LogSoftmax(Softmax):
    """x_i - log sum_j e^x_j along dim."""

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class Step(Module):
    """Heaviside step: 1 where x >= 0 else 0; gradient 0 (the perceptron's activation)."""

    def forward(self, x):
        return F.step(x)


class GLU(Module):
    """a sigmoid(b) for the two halves a, b of the input along dim (functional.glu)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"

    def forward(self, input):
        return F.glu(input, self.dim)


class _Shrink(Module):
    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """0 for -lambd <= x <= lambd, x elsewhere (functional.hardshrink)."""

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """x - lambd above lambd, x + lambd below -lambd, 0 between (functional.softshrink)."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Tanhshrink(Module):
    """x - tanh x."""

    def forward(self, input):
        return F.tanhshrink(input)


class Threshold(Module):
    """value where x <= threshold, x elsewhere (functional.threshold)."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)


class RReLU(Module):
    """Randomized leaky ReLU: in training mode a slope drawn uniform in [lower, upper) per
    element, in eval mode the mean slope (functional.rrelu)."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (
            ", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)


class Softmax2d(Module):
    """softmax over the channels (dim -3) of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             f"instead")
        return F.softmax(input, -3, _stacklevel=5)
