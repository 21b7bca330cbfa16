"""Activations, dropout, convolution, pooling, distances and losses as functions of Tensors
(`torch.nn.functional`, same names, keywords, defaults and positional order).

Everything here is composed from the op table's primitives and defines no backward of its
own, except binary_cross_entropy: one fused row, because PyTorch's gradient of it (capped at
1e12 where a probability is 0 or 1) is not the derivative of any clamped composite.
The softmax family calls the table's stable primitives (log_softmax, logsumexp); elsewhere
stability comes from subtracting a constant before `exp`, which cancels in the math, so the
gradient stays exact while no `exp` ever sees a positive argument. Where torch's gradient at a
boundary differs from the derivative of the obvious composite (hardtanh's bounds are excluded,
clamp's included), a mask chooses the branch so that the gradient is torch's.
Masks, targets' classes and other values without a gradient are computed by ops too (comparisons
and the table's 'numpy' row), never by numpy from a tensor's array, so that autograd.compile
replays them on each call's values instead of freezing them.

torch's in-place spellings (relu_, elu_, leaky_relu_, hardtanh_, selu_, celu_, threshold_,
rrelu_), and `inplace=True` wherever torch has it (the activations above, dropout, dropout1d,
dropout2d, and their modules), write the result into the input and return the input itself, as
Tensor's in-place methods (x.relu_(), x.mul_(mask)) do: code holding x sees the change; with
grad enabled, a leaf that requires grad is torch's error; backward refuses an op recorded
earlier whose gradient reads the overwritten value (x = sigmoid(a); relu_(x)), as torch's
version counter does; under no_grad the values are simply overwritten. A recorded in-place op
keeps a copy of the old value for its gradient, except relu_, whose gradient reads only its
result: it costs what relu costs (Tensor._in_place_row).

Losses accept torch's legacy `size_average=` and `reduce=` and map them to `reduction` with
torch's table and deprecation warning (see `_legacy_reduction`).
"""
import functools
import inspect
import math
import warnings

import numpy as np

from autograd import Tensor
from autograd.functional import avg_pool2d as _avg_pool2d
from autograd.functional import conv2d as _conv2d
from autograd.functional import max_pool2d as _max_pool2d
from autograd.functional import concatenate as _cat
from autograd.functional import linear as _linear
from autograd.torch_functions import einsum as _einsum
from autograd.functional import pad as _pad_constant
from autograd.dtypes import as_dtype
from autograd.engine import Node
from autograd.grad_mode import is_grad_enabled as _is_grad_enabled
from autograd.engine import STATE as _STATE
from autograd.ops import OPS
from autograd.ops_nn import CrossEntropy
from autograd.random import _bernoulli_fill
from autograd.tensor_api import _check_values, _grids
from autograd.random import _gen as _generator
from autograd.random import _uniform01
from autograd.source import NoSource
from autograd.grad_fn import named as _named
from autograd.tensor import where as _where

from .init import as_rng

_REDUCTIONS = ("mean", "sum", "none")


class _InputError(ValueError, RuntimeError):
    """Bad input where torch raises RuntimeError and tapegrad has always raised ValueError:
    both `except` clauses catch it. It prints as torch's (`RuntimeError: ...`)."""


_InputError.__name__ = _InputError.__qualname__ = "RuntimeError"
_InputError.__module__ = "builtins"


def _mm_message(x, weight):
    """torch's message for an input whose last dim does not fit a (out, in) weight."""
    rows = math.prod(x.shape[:-1]) if x.ndim else 1
    cols = x.shape[-1] if x.ndim else 1
    return (f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and "
            f"{weight.shape[-1]}x{weight.shape[0]})")


def _torch_node(name, n_inputs):
    """Name the function's result as torch's node for it (grad_fn shows `name`, e.g.
    "MseLossBackward0", over its first n_inputs arguments) instead of the last primitive it
    is built from; backward is unchanged (autograd.grad_fn.named)."""
    def wrap(fn):
        @functools.wraps(fn)
        def function(*args, **kwargs):
            out = fn(*args, **kwargs)
            if out is (args[0] if args else kwargs.get("input")):
                return out          # written in place (inplace=True): named by its own op
            if isinstance(out, Tensor) and out._op is not None:
                given = list(args[:n_inputs])
                if len(given) < n_inputs:
                    params = list(inspect.signature(fn).parameters)[len(given):n_inputs]
                    given += [kwargs.get(p) for p in params]
                _named(out, name, *[a if isinstance(a, Tensor) else None for a in given])
            return out
        return function
    return wrap


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _dim(dim, ndim, fn):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{fn}: dim {dim} is out of range for a tensor of {ndim} dims")
    return dim % max(ndim, 1)


def _const(x, like):
    """A plain array as a constant of like's float dtype."""
    return np.asarray(x._data if isinstance(x, Node) else x, dtype=like.dtype)


def _data(x):
    return x._data if isinstance(x, Node) else np.asarray(x)


# Masks and constants computed from a tensor's values are written with recorded ops (the
# comparisons and the table's 'numpy' row, neither with a gradient), never with numpy on x._data:
# autograd.compile replays recorded ops on each call's values, and would freeze the others.
def _no_grad(function, *inputs, **keywords):
    """function(*arrays, **keywords) of the inputs' values as a Tensor with no gradient,
    recorded as an op (the table's 'numpy' row), e.g. _no_grad(np.logical_and, a, b)."""
    return OPS["numpy"](*[_t(x) for x in inputs], ctx=(function, keywords))


def _between(x, low, high):
    """low < x < high elementwise, a bool Tensor (False for nan)."""
    return _no_grad(np.logical_and, x > low, x < high)


# ---------------------------------------------------------------------------------------------
# activations
def relu(input, inplace=False):
    """max(x, 0); gradient 0 at 0. inplace=True: relu_ (written into x, which is returned)."""
    if inplace:
        return _t(input).relu_()            # relu_, one call less: the common inplace=True
    return _t(input).relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x; gradient negative_slope at 0 (torch).
    inplace=True: leaky_relu_."""
    if inplace:
        return leaky_relu_(input, negative_slope)
    return _t(input).leaky_relu(negative_slope)


def sigmoid(input):
    """1 / (1 + e^-x)."""
    return _t(input).sigmoid()


def tanh(input):
    """tanh x."""
    return _t(input).tanh()


def step(x):
    """Heaviside step: 1 where x >= 0, else 0 (the perceptron's activation). Its gradient is
    0 everywhere (undefined at 0; taken as 0), so nothing learns through it by backprop."""
    x = _t(x)
    mask = (x >= 0).astype(x.dtype if x.dtype.kind == "f" else np.float64)
    return x * 0.0 + mask


@_torch_node("HardtanhBackward0", 1)
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """min(max(x, min_val), max_val). The gradient is 1 strictly inside (min_val, max_val) and
    0 elsewhere, bounds included (torch's rule; clamp's gradient includes its bounds).
    inplace=True: hardtanh_."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    x = _t(input)
    min_val, max_val = _in_dtype(x, min_val), _in_dtype(x, max_val)    # torch's, in x's dtype
    # outside, the clipped value with no gradient: clip's own gradient includes the bounds
    clipped = _no_grad(np.clip, x, a_min=min_val, a_max=max_val)
    return _where(_between(x, min_val, max_val), x, clipped)


@_torch_node("HardtanhBackward0", 1)
def relu6(input, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6); gradient 0 at 0 and at 6. inplace=True:
    hardtanh_(x, 0, 6), as torch."""
    if inplace:
        return hardtanh_(input, 0.0, 6.0)
    return hardtanh(input, 0.0, 6.0)


@_torch_node("HardsigmoidBackward0", 1)
def hardsigmoid(input, inplace=False):
    """0 for x <= -3, 1 for x >= 3, x / 6 + 1 / 2 between; gradient 1/6 strictly inside."""
    if inplace:
        return _into(input, "hardsigmoid_", "HardsigmoidBackward0", hardsigmoid)
    x = _t(input)
    linear = x * (1.0 / 6.0) + 0.5
    outside = _no_grad(np.clip, linear, a_min=0.0, a_max=1.0)     # 0 or 1 there; nan stays nan
    return _where(_between(x, -3.0, 3.0), linear, outside)


@_torch_node("HardswishBackward0", 1)
def hardswish(input, inplace=False):
    """0 for x <= -3, x for x >= 3, x (x + 3) / 6 between. Gradient x / 3 + 1 / 2 strictly
    inside (-3, 3), 0 at and below -3, 1 at and above 3 (torch 2.x's rule)."""
    if inplace:
        return _into(input, "hardswish_", "HardswishBackward0", hardswish)
    x = _t(input)
    upper = _where(x >= 3.0, x, x * 0.0)
    return _where(_between(x, -3.0, 3.0), x * (x + 3.0) * (1.0 / 6.0), upper)


@_torch_node("EluBackward0", 1)
def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha (e^x - 1) otherwise (expm1, exact near 0); gradient alpha at 0.
    The negative side sees min(x, 0), so a large x never overflows its unused branch.
    inplace=True: elu_."""
    if inplace:
        return elu_(input, alpha)
    x = _t(input)
    negative = OPS["expm1"](x.clip(max=0.0)) * alpha
    return _where(x > 0, x, negative)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@_torch_node("EluBackward0", 1)
def selu(input, inplace=False):
    """scale * elu(x, alpha) with torch's constants alpha = 1.6732632423543772 and
    scale = 1.0507009873554805 (self-normalizing networks, Klambauer et al. 2017).
    inplace=True: selu_."""
    if inplace:
        return selu_(input)
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


@_torch_node("CeluBackward0", 1)
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)); alpha = 0 is an error (torch).
    inplace=True: celu_."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return celu_(input, alpha)
    x = _t(input)
    negative = OPS["expm1"](x.clip(max=0.0) * (1.0 / alpha)) * alpha
    return _where(x > 0, x, negative)


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_GELU_BETA = math.sqrt(2.0 / math.pi)


@_torch_node("GeluBackward0", 1)
def gelu(input, approximate="none"):
    """x Phi(x), Phi the standard normal CDF:
    approximate='none':  x / 2 (1 + erf(x / sqrt 2))                      (exact; erf row)
    approximate='tanh':  x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))  (Hendrycks & Gimpel)
    """
    x = _t(input)
    if approximate == "none":
        return x * 0.5 * (OPS["erf"](x * _SQRT1_2) + 1.0)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _GELU_BETA
        return x * 0.5 * (inner.tanh() + 1.0)
    raise RuntimeError("approximate argument must be either none or tanh.")


@_torch_node("SiluBackward0", 1)
def silu(input, inplace=False):
    """x sigmoid(x) (also called swish)."""
    if inplace:
        return _into(input, "silu_", "SiluBackward0", silu)
    x = _t(input)
    return x * x.sigmoid()


@_torch_node("MishBackward0", 1)
def mish(input, inplace=False):
    """x tanh(softplus(x)) (Misra 2019)."""
    if inplace:
        return _into(input, "mish_", "MishBackward0", mish)
    x = _t(input)
    return x * _softplus(x).tanh()


def _softplus(x):
    """log(1 + e^x) = m + log(e^-m + e^(x - m)) with m = max(x, 0) a constant: both exponents
    are <= 0, so it never overflows, and the gradient is sigmoid(x) everywhere (no kink, unlike
    the max(x, 0) + log(1 + e^-|x|) form, whose autograd gradient is wrong at x = 0). m is an
    op on x.detach() (no gradient): a compiled function takes each call's maximum."""
    m = x.detach().clamp(min=0.0)
    return ((x - m).exp() + (-m).exp()).log() + m


@_torch_node("SoftplusBackward0", 1)
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (torch's linear
    region, so softplus(30.0) is exactly 30.0); gradient sigmoid(beta x), 1 past threshold."""
    x = _t(input)
    if beta == 1.0:
        smooth = _softplus(x)
    else:
        smooth = _softplus(x * beta) * (1.0 / beta)
    return _where(x * beta > threshold, x, smooth)


def softsign(input):
    """x / (1 + |x|)."""
    x = _t(input)
    return x / (x.abs() + 1.0)


@_torch_node("LogSigmoidBackward0", 1)
def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x), stable for any x; gradient sigmoid(-x)."""
    return -_softplus(-_t(input))


@_torch_node("PreluKernelBackward0", 2)
def prelu(input, weight):
    """x if x > 0 else a x, with a learned slope a per channel (dim 1) or one shared slope
    (weight of one element); gradient a at 0, as torch."""
    x = _t(input)
    w = _t(weight)
    if w.numel() != 1:
        channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
        if w.ndim != 1 or w.numel() != channels:
            raise _InputError(f"Mismatch of parameter numbers and input channel size. Found "
                              f"parameter numbers = {w.numel()} and channel size = {channels}.")
        if x.ndim >= 2:
            w = w.reshape((1, channels) + (1,) * (x.ndim - 2))
    elif x.ndim:
        w = w.reshape((1,) * x.ndim)
    else:
        w = w.reshape(())
    return _where(x > 0, x, x * w)


def _softmax_dim(name, ndim, stacklevel):
    """torch's choice when dim is not given, with its deprecation warning: dim 0 for 0-, 1- and
    3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input, dim, dtype, name, stacklevel):
    x = _t(input)
    if dtype is not None:
        x = x.astype(dtype)
    if dim is None:
        dim = _softmax_dim(name, x.ndim, stacklevel + 1)
    return x, _dim(dim, x.ndim, name)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """e^x_i / sum_j e^x_j along dim. Without dim, torch's legacy choice and warning: dim 0 for
    0-, 1- and 3-d inputs, else 1. dtype: cast the input first."""
    x, dim = _softmax_input(input, dim, dtype, "softmax", _stacklevel)
    return x.softmax(dim)


@_torch_node("SoftmaxBackward0", 1)
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along dim."""
    x, dim = _softmax_input(input, dim, dtype, "softmin", _stacklevel)
    return (-x).softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x_i - log sum_j e^x_j along dim (one stable primitive of the op table); dim as softmax."""
    x, dim = _softmax_input(input, dim, dtype, "log_softmax", _stacklevel)
    return x.log_softmax(dim)


def logsumexp(x, dim=-1, keepdim=False):
    """log sum_dim e^x, computed stably as m + log sum e^(x - m) with m = max x."""
    x = _t(x)
    return x.logsumexp(_dim(dim, x.ndim, "logsumexp"), keepdims=keepdim)


# ---------------------------------------------------------------------------------------------
# shrinkage, gating, threshold and randomized leaky activations; the in-place spellings
def _within(x, low, high):
    """low <= x <= high elementwise, a bool Tensor (False for nan)."""
    return _no_grad(np.logical_and, x >= low, x <= high)


def _in_dtype(x, number):
    """A number in x's float dtype, as torch's kernels take it: float32's 0.7 for a float32 x,
    so that an x equal to it is at the bound."""
    dtype = x._data.dtype
    return dtype.type(number) if dtype.kind == "f" else number


_TORCH_DTYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                      "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                      "bool": "Bool"}


def _rrelu_checks(x, lower, upper):
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    dtype = x._data.dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"\"rrelu_with_noise\" not implemented for "
                                  f"'{_TORCH_DTYPE_NAMES.get(dtype.name, dtype.name)}'")


@_torch_node("GluBackward0", 1)
def glu(input, dim=-1):
    """a sigmoid(b), where a and b are the first and second halves of the input along dim
    (the gated linear unit, Dauphin et al. 2016); that dim's size must be even."""
    x = _t(input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = _dim(dim, x.ndim, "glu")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {n}")
    before = (slice(None),) * dim
    return x[before + (slice(0, n // 2),)] * x[before + (slice(n // 2, n),)].sigmoid()


@_torch_node("HardshrinkBackward0", 1)
def hardshrink(input, lambd=0.5):
    """0 for -lambd <= x <= lambd, x elsewhere; gradient 0 at the bounds (torch)."""
    x = _t(input)
    lambd = _in_dtype(x, lambd)
    return _where(_within(x, -lambd, lambd), 0.0, x)


@_torch_node("SoftshrinkBackward0", 1)
def softshrink(input, lambd=0.5):
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 between; gradient 0 at the bounds.
    lambd < 0 is torch's error."""
    x = _t(input)
    dtype = x._data.dtype
    if dtype.kind == "f" and not 0 <= lambd <= float(np.finfo(dtype).max):
        raise RuntimeError(f"lambda must be in range [0, {float(np.finfo(dtype).max):g}] for "
                           f"input dtype {_TORCH_DTYPE_NAMES.get(dtype.name, dtype.name)}, "
                           f"but found {lambd:g}")
    lambd = _in_dtype(x, lambd)
    # inside, x * 0 without a gradient: a zero of x's sign, as torch's kernel (a * 0)
    shifted = _where(x > lambd, x - lambd, x + lambd)
    return _where(_within(x, -lambd, lambd), x.detach() * 0.0, shifted)


def tanhshrink(input):
    """x - tanh x."""
    x = _t(input)
    return x - x.tanh()


@_torch_node("ThresholdBackward0", 1)
def _threshold(input, threshold, value, inplace=False):
    """value where x <= threshold, x elsewhere (nan stays nan); gradient 0 at the threshold.
    inplace=True: threshold_."""
    if inplace:
        return threshold_(input, threshold, value)
    x = _t(input)
    return _where(x <= _in_dtype(x, threshold), value, x)


threshold = _threshold          # torch's spelling: the argument `threshold` hides the name


def _draw_rrelu_slopes(x, lower, upper):
    """rrelu's slopes in training, drawn as torch's rrelu_with_noise draws them from the
    default generator: walking x in row-major order, each element x <= 0 takes one uniform
    float64 u of 53 bits and the slope u (upper - lower) + lower (lower and upper first
    rounded to float32 unless x is float64, torch's opmath), in x's dtype; x > 0 (and nan)
    takes 1 and no draw."""
    if type(x) is not np.ndarray:
        # autograd.compile writes a call of this function: new slopes at every call
        raise NoSource("a random draw")
    flat = x.reshape(-1)
    drawn = flat <= 0
    opmath = np.float64 if x.dtype == np.float64 else np.float32
    low, high = float(opmath(lower)), float(opmath(upper))
    u = _uniform01(_generator(None), int(np.count_nonzero(drawn)), np.float64)
    slopes = np.ones(flat.shape, dtype=x.dtype)
    slopes[drawn] = (u * (high - low) + low).astype(opmath)
    return slopes.reshape(x.shape)


_draw_rrelu_slopes.draws_random_numbers = True


@_torch_node("RreluWithNoiseBackward0", 1)
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU (Xu et al. 2015): x for x > 0, a x otherwise. In training each
    element's slope a is drawn uniform in [lower, upper) from autograd's default generator
    (torch's numbers for the same seed; the gradient is a, at 0 too); otherwise a is the mean
    (lower + upper) / 2 (leaky_relu). The draw is an op: a compiled function draws anew at
    each call. inplace=True: rrelu_."""
    if inplace:
        return rrelu_(input, lower, upper, training)
    x = _t(input)
    _rrelu_checks(x, lower, upper)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = Tensor._apply(OPS["numpy"], (_draw_rrelu_slopes, {"lower": lower, "upper": upper}),
                           x)
    return x * slopes


def _into(input, name, node, function, *args):
    """function(input, *args) written into input itself, as torch's in-place spellings: a
    Tensor in-place op (Tensor._in_place), so that input becomes the result (a leaf that
    requires grad is torch's error; backward refuses ops that read the old value), shown by
    grad_fn as torch's node `node` (e.g. "EluBackward1"). The function reads a clone of the
    old value: autograd.compile refuses a second read of the node that keeps it. Its arguments
    are checked before: an error inside the in-place op would leave it half done."""
    x = _t(input)
    return x._in_place(name, lambda a: _named(function(a.clone(), *args), node, a))


def relu_(input):
    """relu written into the input; returns it (Tensor.relu_: the old value is not kept)."""
    return _t(input).relu_()


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu written into the input; returns it."""
    return _into(input, "leaky_relu_", "LeakyReluBackward1", leaky_relu, negative_slope)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """hardtanh written into the input; returns it."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _into(input, "hardtanh_", "HardtanhBackward0", hardtanh, min_val, max_val)


def elu_(input, alpha=1.0):
    """elu written into the input; returns it."""
    return _into(input, "elu_", "EluBackward1", elu, alpha)


def selu_(input):
    """selu written into the input; returns it."""
    return _into(input, "selu_", "EluBackward1", selu)


def celu_(input, alpha=1.0):
    """celu written into the input; returns it."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _into(input, "celu_", "CeluBackward1", celu, alpha)


def threshold_(input, threshold, value):
    """threshold written into the input; returns it."""
    return _into(input, "threshold_", "ThresholdBackward1", _threshold, threshold, value)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """rrelu written into the input (the slopes drawn from its values before); returns it."""
    _rrelu_checks(_t(input), lower, upper)
    return _into(input, "rrelu_", "RreluWithNoiseBackward1", rrelu, lower, upper, training)


# ---------------------------------------------------------------------------------------------
# dropout
def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _draw_dropout_mask(x, p, shape, rng):
    """1 / (1 - p) where kept, 0 where dropped, of `shape` (x's, or broadcastable to it) and
    x's dtype. With rng None the mask comes from autograd's default generator exactly as torch
    draws it (bernoulli_(1 - p) on an array laid out like the input); a seed or numpy
    Generator uses numpy."""
    if type(x) is not np.ndarray:
        # autograd.compile writes a call of this function: a new mask at every call
        raise NoSource("a random draw")
    if rng is None:
        buf = np.empty_like(x) if shape == x.shape else np.empty(shape, x.dtype)
        return _bernoulli_fill(buf, 1.0 - p) / x.dtype.type(1.0 - p)
    keep = as_rng(rng).random(shape) >= p
    return (keep * (1.0 / (1.0 - p))).astype(x.dtype)


_draw_dropout_mask.draws_random_numbers = True


def _dropout_mask(x, p, mask_shape, rng):
    """The mask as an op of the numpy row (no gradient), not an array made beside the ops: a
    compiled function then draws a new one at each call, where eager code does."""
    return Tensor._apply(OPS["numpy"], (_draw_dropout_mask, {"p": p, "shape": mask_shape,
                                                            "rng": rng}), x)


def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so the expectation is unchanged; x itself when not training or p == 0. `rng`: a numpy
    Generator or seed for the mask (torch draws from its global generator). inplace=True:
    x.mul_(mask) (x.mul_(0) for p == 1), as torch, so x is changed and returned."""
    _check_p(p)
    x = _t(input)
    if not training or p == 0.0:
        return x
    return _scale(x, p, x.shape, rng, inplace)


def _scale(x, p, mask_shape, rng, inplace):
    """x times dropout's mask of mask_shape (0 for p == 1), out of place or into x."""
    mask = 0.0 if p == 1.0 else _dropout_mask(x, p, mask_shape, rng)
    return x.mul_(mask) if inplace else x * mask


def _feature_dropout(x, p, training, rng, inplace=False, batched=True):
    """Zero whole channels: one draw per (sample, channel) of x (N, C, *), or per channel of
    an unbatched x (C, *), scale the rest."""
    if not training or p == 0.0:
        return x
    kept = 2 if batched else 1
    return _scale(x, p, x.shape[:kept] + (1,) * (x.ndim - kept), rng, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Channel dropout for (N, C, L) or unbatched (C, L) inputs: each channel of each sample is
    zeroed with probability p, the rest scaled by 1/(1-p)."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (2, 3):
        raise _InputError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that "
            f"dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            f"dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            f"inputs).")
    if x.ndim == 2:
        if not inplace:
            return _feature_dropout(x.unsqueeze(0), p, training, rng).squeeze(0)
        if _is_grad_enabled() and x.requires_grad and x._op is None:
            # torch unsqueeze_s and squeeze_s x around the dropout: in eval mode too
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation (dropout1d); update parameters inside "
                               "`with no_grad():`")
        return _feature_dropout(x, p, training, rng, inplace, batched=False)
    return _feature_dropout(x, p, training, rng, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Channel dropout for (N, C, H, W) inputs: each channel of each sample is zeroed with
    probability p, the rest scaled by 1/(1-p). As torch 2.x: a 3-d input is read as
    (N, C, L) with a warning, and inputs of other ranks warn and drop dim 1."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will "
            f"result in an error in a future release. To retain the behavior and silence this "
            f"warning, please use dropout instead. Note that dropout2d exists to provide "
            f"channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            f"and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    if x.ndim < 2:
        return dropout(x, p, training, inplace, rng=rng)
    return _feature_dropout(x, p, training, rng, inplace)


# ---------------------------------------------------------------------------------------------
# attention: written in nn/attention.py (which reads this module's helpers at call time)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402


# ---------------------------------------------------------------------------------------------
# linear, padding, convolution and pooling
def linear(input, weight, bias=None):
    """x W^T + b, W of shape (out_features, in_features): one fused node of the op table."""
    x = _t(input)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise _InputError(f"{_mm_message(x, weight)}\nlinear: input of shape {tuple(x.shape)} "
                          f"does not match weight of shape {tuple(weight.shape)} (expected last "
                          f"dimension {weight.shape[-1]})")
    return _linear(x, weight, bias)


def _size(t, dim):
    """t.size(dim), with torch's IndexError for a dim t does not have."""
    if not -max(t.ndim, 1) <= dim < max(t.ndim, 1) or t.ndim == 0:
        if t.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        raise IndexError(f"Dimension out of range (expected to be in range of [{-t.ndim}, "
                         f"{t.ndim - 1}], but got {dim})")
    return t.shape[dim]


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_{i,j} x1[..., i] W[o, i, j] x2[..., j] + b[o] (x1^T A_o x2 + b_o): one
    einsum of the op table over the inputs flattened to rows. input1 (*, in1), input2 (*, in2)
    with the same leading dims (no broadcasting, as torch), weight (out, in1, in2), bias
    (out,); all of one dtype."""
    x1, x2, w = _t(input1), _t(input2), _t(weight)
    b = None if bias is None else _t(bias)
    given = [("input1", x1), ("input2", x2), ("weight", w)] + ([("bias", b)] if b is not None
                                                                  else [])
    if len({t._data.dtype for _, t in given}) > 1:
        raise _InputError("All tensors must have the same dtype, got " + ", ".join(
            f"{name}: {as_dtype(t._data.dtype)._cpp_name}" for name, t in given))
    if x1.ndim != x2.ndim:
        raise _InputError(f"bilinear(): input dimensions do not match: got {x1.ndim} and "
                          f"{x2.ndim}")
    for i in range(x1.ndim - 1):
        if x1.shape[i] != x2.shape[i]:
            raise _InputError(f"bilinear(): input batch dimensions do not match at dim {i}: got "
                              f"{x1.shape[i]} and {x2.shape[i]}")
    if _size(x1, -1) != _size(w, 1):
        raise _InputError(f"bilinear(): input1 size does not match weight size: got "
                          f"{x1.shape[-1]} but expected {w.shape[1]}")
    if _size(x2, -1) != _size(w, 2):
        raise _InputError(f"bilinear(): input2 size does not match weight size: got "
                          f"{x2.shape[-1]} but expected {w.shape[2]}")
    if b is not None and _size(b, 0) != w.shape[0]:
        raise _InputError(f"bilinear(): bias size does not match weight size: got "
                          f"{b.shape[0]} but expected {w.shape[0]}")
    lead = tuple(x1.shape[:-1])
    out = _einsum("ni,oij,nj->no", x1.reshape(-1, w.shape[1]), w, x2.reshape(-1, w.shape[2]))
    out = out.reshape(lead + (w.shape[0],))
    return out if b is None else out + b


def _ints(v, n, name, fn):
    """An int or a sequence of n ints as a tuple of n ints."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1 and n > 1:
        v = v * n
    if len(v) != n:
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {v}")
    return v


def _pad_index(n, lo, hi, mode, axis, shape=None):
    """Source indices of a padded axis of length n: reflect (no edge repeat), replicate (edge
    repeated) or circular (wrapped), as torch's non-constant pad modes."""
    if mode == "reflect" and (lo >= n or hi >= n):
        raise _InputError(f"Argument #4: Padding size should be less than the corresponding "
                          f"input dimension, but got: padding ({lo}, {hi}) at dimension {axis} "
                          f"of input {list(shape) if shape is not None else n}")
    if mode == "circular" and (lo > n or hi > n):
        raise _InputError("Padding value causes wrapping around more than once.")
    idx = np.arange(-lo, n + hi)
    if mode == "reflect":
        idx = np.abs(idx)
        idx = np.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    elif mode == "replicate":
        idx = np.clip(idx, 0, n - 1)
    else:
        idx = idx % n
    return idx


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims: pad = (left, right) for the last dim, then (top,
    bottom) for the one before, ... (torch's order). mode 'constant' fills with `value`
    (default 0), and a negative width crops that side, as in torch; 'reflect', 'replicate'
    and 'circular' index the input (gather), so the gradient of a repeated element is the sum
    over its copies."""
    x = _t(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"Padding length must be divisible by 2 and at most twice the number "
                         f"of dims ({x.ndim}), got {len(pad)}")
    if mode == "constant":
        if min(pad, default=0) < 0:
            # a negative width crops that side (torch's narrow), before the other sides pad
            index = [slice(None)] * x.ndim
            for i in range(len(pad) // 2):
                axis = x.ndim - 1 - i
                lo, hi = -min(pad[2 * i], 0), x.shape[axis] + min(pad[2 * i + 1], 0)
                if hi - lo < 0:
                    raise _InputError("narrow(): length must be non-negative.")
                index[axis] = slice(lo, hi)
            x = x[tuple(index)]
            pad = [max(p, 0) for p in pad]
        return _pad_constant(x, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    k = len(pad) // 2
    if x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.ndim}D "
                                  f"input tensor.")
    for i in range(k):
        axis = x.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo or hi:
            idx = _pad_index(x.shape[axis], lo, hi, mode, axis, _data(input).shape)
            x = x[(slice(None),) * axis + (idx,)]
    return x


def _conv_operands(input, weight, nd, fn, weight_layout):
    """(x with a batch axis, weight, whether x came batched), checked as torch checks a
    convolution's input and weight dims; weight_layout names the weight's first two axes."""
    x, w = _t(input), _t(weight)
    batched = x.ndim == nd + 2
    if not batched and x.ndim != nd + 1:
        raise _InputError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                          f"{fn}, but got input of size: {list(x.shape)}")
    if w.ndim != nd + 2:
        raise _InputError(f"{fn}: weight must have {nd + 2} dims ({weight_layout}, *kernel), "
                          f"got shape {tuple(w.shape)}")
    if not batched:
        x = x.unsqueeze(0)
    return x, w, batched


def _kernel_too_large(sizes, span):
    return (f"Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). Kernel "
            f"size: ({' x '.join(map(str, span))}). Kernel size can't be greater than actual "
            f"input size")


def _check_groups(x, w, groups):
    """torch's checks of a convolution's groups against its input's and weight's channels."""
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise _InputError(f"non-positive groups is not supported, got groups={groups}")
    if w.shape[0] % groups:
        raise _InputError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                          f"at dimension 0, but got weight of size [{list(w.shape)}] instead")
    if x.shape[1] != w.shape[1] * groups:
        raise _InputError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                          f"input{list(x.shape)} to have {w.shape[1] * groups} channels, but got "
                          f"{x.shape[1]} channels instead")


def _conv(input, weight, bias, stride, padding, dilation, groups, nd, fn):
    """conv1d and conv2d: an N-d convolution as conv2d rows (1-d inputs get a height of 1).
    dilation spreads the kernel with zeros (a scatter of the weight, differentiable); groups
    run one conv2d per group and join the outputs along the channels."""
    x, w, batched = _conv_operands(input, weight, nd, fn, "out_channels, in_channels / groups")
    _check_groups(x, w, groups)
    stride = _ints(stride, nd, "stride", fn)
    dilation = _ints(dilation, nd, "dilation", fn)
    if min(stride) < 1 or min(dilation) < 1:
        raise _InputError(f"{fn}: stride {stride} and dilation {dilation} must be positive")
    kernel = w.shape[2:]
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise _InputError("padding='same' is not supported for strided convolutions")
            lo = tuple((s - 1) // 2 for s in span)
            hi = tuple(s - 1 - a for s, a in zip(span, lo))
            if lo != hi:        # an even span pads one more on the right, as torch
                x = _pad_constant(x, [v for a, b in zip(lo[::-1], hi[::-1]) for v in (a, b)],
                                  0.0)
            padding = lo if lo == hi else (0,) * nd
        else:
            raise _InputError(f"Invalid padding string: '{padding}'")
    padding = _ints(padding, nd, "padding", fn)
    if min(padding) < 0:
        raise _InputError(f"{fn}: negative padding is not supported, got {padding}")
    sizes = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    if any(n < s for n, s in zip(sizes, span)):
        raise _InputError(_kernel_too_large(sizes, span))
    if nd == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride, padding, dilation, span = ((1,) + stride, (0,) + padding, (1,) + dilation,
                                           (1,) + span)
    if dilation != (1, 1):
        spread = (slice(None), slice(None), slice(None, None, dilation[0]),
                  slice(None, None, dilation[1]))
        w = OPS["scatter"](w, ctx=(spread, w.shape[:2] + span))
    if groups == 1:
        out = _conv2d(x, w, bias, stride, padding)
    else:
        cin, cout = x.shape[1] // groups, w.shape[0] // groups
        b = None if bias is None else _t(bias)
        outs = [_conv2d(x[:, g * cin:(g + 1) * cin], w[g * cout:(g + 1) * cout],
                        None if b is None else b[g * cout:(g + 1) * cout], stride, padding)
                for g in range(groups)]
        out = _cat(outs, axis=1)
    if nd == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] x_pad[n, c, l stride + k dilation]
    over the channels c of o's group (cross-correlation, as torch). input (N, C, L) or (C, L);
    weight (out_channels, C / groups, K); padding an int, 'valid' or 'same' (stride 1)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, p, q] = bias[o] + sum_{c,i,j} weight[o, c, i, j] x_pad[n, c, p sh + i dh,
    q sw + j dw] (cross-correlation, as torch). input (N, C, H, W) or (C, H, W); weight
    (out_channels, C / groups, kH, kW); padding an int, a pair, 'valid' or 'same' (stride 1)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, t, p, q] = bias[o] + sum_{c,r,i,j} weight[o, c, r, i, j]
    x_pad[n, c, t sd + r dd, p sh + i dh, q sw + j dw] (cross-correlation, as torch). input
    (N, C, D, H, W) or (C, D, H, W); weight (out_channels, C / groups, kD, kH, kW); padding an
    int, a triple, 'valid' or 'same' (stride 1). Written as one conv2d per kernel depth r over
    the depth slices it reads, the output depths folded into the batch, summed over r."""
    x, w, batched = _conv_operands(input, weight, 3, "conv3d",
                                   "out_channels, in_channels / groups")
    _check_groups(x, w, groups)
    stride = _ints(stride, 3, "stride", "conv3d")
    dilation = _ints(dilation, 3, "dilation", "conv3d")
    if min(stride) < 1 or min(dilation) < 1:
        raise _InputError(f"conv3d: stride {stride} and dilation {dilation} must be positive")
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w.shape[2:]))
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise _InputError(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in stride):
            raise _InputError("padding='same' is not supported for strided convolutions")
        lo = (0,) * 3 if padding == "valid" else tuple((s - 1) // 2 for s in span)
        hi = (0,) * 3 if padding == "valid" else tuple(s - 1 - a for s, a in zip(span, lo))
    else:
        lo = hi = _ints(padding, 3, "padding", "conv3d")
        if min(lo) < 0:
            raise _InputError(f"conv3d: negative padding is not supported, got {lo}")
    sizes = tuple(n + a + b for n, a, b in zip(x.shape[2:], lo, hi))
    if any(n < s for n, s in zip(sizes, span)):
        raise _InputError(_kernel_too_large(sizes, span))
    if any(lo + hi):
        x = _pad_constant(x, [v for a, b in zip(lo[::-1], hi[::-1]) for v in (a, b)], 0.0)
    n, depth = x.shape[0], (sizes[0] - span[0]) // stride[0] + 1
    out = None
    for r in range(w.shape[2]):
        start = r * dilation[0]
        xs = x[:, :, start:start + stride[0] * (depth - 1) + 1:stride[0]]
        xs = xs.permute(0, 2, 1, 3, 4).reshape((n * depth,) + tuple(x.shape[1:2] + x.shape[3:]))
        y = _conv(xs, w[:, :, r], None, stride[1:], 0, dilation[1:], groups, 2, "conv3d")
        out = y if out is None else out + y
    out = out.reshape((n, depth) + tuple(out.shape[1:])).permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + _t(bias).reshape((1, -1, 1, 1, 1))
    return out if batched else out.squeeze(0)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd,
                    fn):
    """The adjoint of convolution (a 'deconvolution'): each input pixel scatters weight x value
    onto a kernel window of the output, windows stride apart. Written as W^T x (one batched
    matmul) and col2im (the op table's scatter of windows onto an image), then the padding
    cut from both sides."""
    x, w, batched = _conv_operands(input, weight, nd, fn, "in_channels, out_channels / groups")
    if x.shape[1] != w.shape[0]:
        raise _InputError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                          f"input{list(x.shape)} to have {w.shape[0]} channels, but got "
                          f"{x.shape[1]} channels instead")
    if not isinstance(groups, (int, np.integer)) or groups < 1 or w.shape[0] % groups:
        raise _InputError(f"{fn}: groups={groups} must be a positive divisor of the "
                          f"{w.shape[0]} input channels")
    stride = _ints(stride, nd, "stride", fn)
    padding = _ints(padding, nd, "padding", fn)
    output_padding = _ints(output_padding, nd, "output_padding", fn)
    dilation = _ints(dilation, nd, "dilation", fn)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise _InputError(f"output padding must be smaller than either stride or dilation, but "
                          f"got output_padding {output_padding}, stride {stride}, dilation "
                          f"{dilation}")
    if nd == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride, padding, output_padding, dilation = ((1,) + stride, (0,) + padding,
                                                     (0,) + output_padding, (1,) + dilation)
    cin, cout_g = w.shape[0], w.shape[1]
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w.shape[2:]))
    if dilation != (1, 1):
        spread = (slice(None), slice(None), slice(None, None, dilation[0]),
                  slice(None, None, dilation[1]))
        w = OPS["scatter"](w, ctx=(spread, w.shape[:2] + span))
    n, _, h, wd = x.shape
    full = tuple((size - 1) * s + k + op for size, s, k, op in zip((h, wd), stride, span,
                                                                    output_padding))
    out_size = tuple(f - 2 * p for f, p in zip(full, padding))
    if min(out_size) < 1:
        raise _InputError(f"{fn}: the output size {out_size} is too small (input "
                          f"{(h, wd)[2 - nd:]}, padding {padding[2 - nd:]})")
    cin_g = cin // groups
    outs = []
    for g in range(groups):
        xg = x if groups == 1 else x[:, g * cin_g:(g + 1) * cin_g]
        wg = w if groups == 1 else w[g * cin_g:(g + 1) * cin_g]
        # cols[n, (o, i, j), (p, q)] = sum_c w[c, o, i, j] x[n, c, p, q]
        cols = wg.reshape(cin_g, -1).mT @ xg.reshape(n, cin_g, h * wd)
        cols = cols.reshape((n, cout_g) + span + (h, wd))
        outs.append(OPS["col2im"](cols, ctx=span + stride + full))
    out = outs[0] if groups == 1 else _cat(outs, axis=1)
    if any(padding):
        out = out[:, :, padding[0]:full[0] - padding[0], padding[1]:full[1] - padding[1]]
    if bias is not None:
        out = out + _t(bias).reshape((1, -1, 1, 1))
    if nd == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-d convolution of (N, C_in, L) or (C_in, L) with weight (C_in,
    C_out / groups, K): output length (L - 1) stride - 2 padding + dilation (K - 1) +
    output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-d convolution (the gradient of conv2d with respect to its input, used to
    upsample in decoders and GAN generators) of (N, C_in, H, W) or (C_in, H, W) with weight
    (C_in, C_out / groups, kH, kW); output size per dim (n - 1) stride - 2 padding +
    dilation (k - 1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2, "conv_transpose2d")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) to `size` or by `scale_factor`. mode
    'nearest' only (torch's rule: source index floor(i * scale) with scale = in / out, or
    1 / scale_factor when given, computed in float32 as torch does); the gradient of a
    repeated pixel is the sum over its copies."""
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported by tapegrad "
                                  f"(only 'nearest')")
    if align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    x = _t(input)
    nd = x.ndim - 2
    if nd < 1:
        raise _InputError(f"interpolate: expected an input of shape (N, C, *spatial), got "
                          f"{tuple(x.shape)}")
    sizes = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = _ints(size, nd, "size", "interpolate")
        scales = [np.float32(n) / np.float32(o) for n, o in zip(sizes, out)]
    else:
        factors = (scale_factor,) * nd if np.isscalar(scale_factor) else tuple(scale_factor)
        if len(factors) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(sizes)} and scale_factor of shape {list(factors)}.")
        out = tuple(int(math.floor(n * f)) for n, f in zip(sizes, factors))
        if recompute_scale_factor:
            scales = [np.float32(n) / np.float32(o) for n, o in zip(sizes, out)]
        else:
            scales = [np.float32(1.0 / f) for f in factors]
    for i, (n, o, scale) in enumerate(zip(sizes, out, scales)):
        if o == n and scale == 1:
            continue
        src = np.minimum(np.floor(np.arange(o, dtype=np.float32) * scale).astype(np.intp),
                         n - 1)
        x = x[(slice(None),) * (2 + i) + (src,)]
    return x


def _pool_size(n, k, s, p, ceil_mode):
    """Output length of a pooling window k with stride s and padding p over n (torch's
    formula: in ceil mode the last window must start inside the input or its left padding)."""
    out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode, nd, fn):
    """x as (N, C, H, W) (1-d: H = 1; unbatched: N = 1), the 2-d kernel, stride and padding,
    the output sizes, the extra right padding that ceil mode needs, and how to undo the
    reshapes."""
    x = _t(input)
    if x.ndim not in (nd + 1, nd + 2):
        raise _InputError(f"{fn}: Expected {nd + 1}D or {nd + 2}D input, got input of shape "
                          f"{tuple(x.shape)}")
    batched = x.ndim == nd + 2
    kernel = _ints(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None or stride == [] else _ints(stride, nd, "stride", fn)
    padding = _ints(padding, nd, "padding", fn)
    if _ints(dilation, nd, "dilation", fn) != (1,) * nd:
        raise NotImplementedError(f"{fn}: dilation > 1 is not supported by tapegrad")
    if min(kernel) < 1 or min(stride) < 1:
        raise _InputError(f"{fn}: kernel_size {kernel} and stride {stride} must be positive")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise _InputError(f"pad should be at most half of effective kernel size, but got "
                          f"pad={padding}, kernel_size={kernel} and dilation=1")
    sizes = x.shape[-nd:]
    out = tuple(_pool_size(n, k, s, p, ceil_mode)
                for n, k, s, p in zip(sizes, kernel, stride, padding))
    if min(out) < 1:
        raise _InputError(f"{fn}: given input size {sizes}, calculated output size {out} is "
                          f"too small (kernel_size={kernel}, stride={stride}, padding={padding})")
    extra = tuple(max(0, (o - 1) * s + k - (n + 2 * p))
                  for o, s, k, n, p in zip(out, stride, kernel, sizes, padding))
    if not batched:
        x = x.unsqueeze(0)
    if nd == 1:
        x = x.unsqueeze(2)
        kernel, stride, padding, sizes, out, extra = ((1,) + kernel, (1,) + stride,
                                                      (0,) + padding, (1,) + sizes,
                                                      (1,) + out, (0,) + extra)

    def finish(y):
        if nd == 1:
            y = y.squeeze(2)
        return y if batched else y.squeeze(0)
    return x, kernel, stride, padding, sizes, out, extra, finish


def _extend_right(x, extra, value):
    if not any(extra):
        return x
    return _pad_constant(x, (0, extra[1], 0, extra[0]), value)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, fn):
    x, kernel, stride, padding, sizes, out, extra, finish = _pool_setup(
        input, kernel_size, stride, padding, dilation, ceil_mode, nd, fn)
    if return_indices:
        y, idx = _max_pool_with_indices(x, kernel, stride, padding, sizes, out)
        return finish(y), finish(idx)
    x = _extend_right(x, extra, -np.inf)
    return finish(_max_pool2d(x, kernel, stride, padding))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of length kernel_size of (N, C, L) or (C, L), padded with -inf;
    stride defaults to kernel_size; the gradient goes to the first maximum of a window."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over kH x kW windows of (N, C, H, W) or (C, H, W), padded with -inf; stride
    defaults to kernel_size; the gradient goes to the first maximum of a window (row-major),
    as torch. ceil_mode lets a last partial window in."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


def _window_counts(n, k, s, p, out):
    """Per output position along one dim: (window length within input + padding, within the
    input alone), as torch's avg_pool counts them."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    inside = np.minimum(end, n) - np.maximum(start, 0)
    return end - start, inside


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd, fn):
    x, kernel, stride, padding, sizes, out, extra, finish = _pool_setup(
        input, kernel_size, stride, padding, 1, ceil_mode, nd, fn)
    y = _avg_pool2d(_extend_right(x, extra, 0.0), kernel, stride, padding)
    # the row divides every window sum by kH kW; torch divides by the window's size within the
    # padded input (count_include_pad) or within the input, or by divisor_override
    if divisor_override is not None:
        if divisor_override == 0:
            raise _InputError("divisor must be not zero")
        divisor = np.full(out, float(divisor_override))
    else:
        (h_pad, h_in), (w_pad, w_in) = (_window_counts(*a) for a in
                                        zip(sizes, kernel, stride, padding, out))
        divisor = np.outer(h_pad, w_pad) if count_include_pad else np.outer(h_in, w_in)
    scale = kernel[0] * kernel[1] / divisor
    if np.any(scale != 1.0):
        y = y * scale.astype(y.dtype)
    return finish(y)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of length kernel_size of (N, C, L) or (C, L); stride defaults to
    kernel_size; padded zeros count unless count_include_pad=False."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1,
                     "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over kH x kW windows of (N, C, H, W) or (C, H, W); stride defaults to kernel_size;
    padded zeros count unless count_include_pad=False; divisor_override replaces the window
    size as divisor."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def _adaptive_matrix(n, out, dtype):
    """A (out, n) averaging matrix: row i averages input positions floor(i n / out) to
    ceil((i + 1) n / out) - 1 (torch's adaptive windows; they overlap when n % out != 0)."""
    a = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        start, end = (i * n) // out, -((-(i + 1) * n) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _adaptive_sizes(output_size, sizes, fn):
    nd = len(sizes)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise _InputError(f"{fn}: output_size must be {nd}")
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, sizes))
    if min(out) < 1 or min(sizes) < 1:
        raise _InputError(f"{fn}: output size {out} and input size {sizes} must be positive")
    return out


def _adaptive_avg_pool(input, output_size, nd, fn):
    x = _t(input)
    if x.ndim not in (nd + 1, nd + 2):
        raise _InputError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                          f"{list(x.shape)}")
    sizes = x.shape[-nd:]
    out = _adaptive_sizes(output_size, sizes, fn)
    if out == (1,) * nd:            # global average pooling, the common case
        return x.mean(tuple(range(x.ndim - nd, x.ndim)), keepdims=True)
    # out = A_h x A_w^T: a product with a constant averaging matrix per pooled dim
    if out[-1] != sizes[-1]:
        x = x @ _adaptive_matrix(sizes[-1], out[-1], x.dtype).T
    if nd == 2 and out[0] != sizes[0]:
        x = _adaptive_matrix(sizes[0], out[0], x.dtype) @ x
    return x


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) or (C, L) to output_size positions, window i spanning
    floor(i L / out) .. ceil((i + 1) L / out) (torch's windows)."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of (N, C, H, W) or (C, H, W) to output_size (an int, a pair, None to
    keep a size), with torch's windows per dim; (1, 1) is a global average."""
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


# max pooling with indices, adaptive max pooling and unpooling: the position of each window's
# maximum is found by an op of the numpy row (no gradient), and the output gathers the input
# there, so the gradient goes to that position and autograd.compile reads each call's values
def _adaptive_windows(n, out):
    """(positions (out, K), valid (out, K)) of torch's adaptive windows over n:
    floor(i n / out) .. ceil((i + 1) n / out) - 1."""
    i = np.arange(out)
    start, end = (i * n) // out, -((-(i + 1) * n) // out)
    k = int((end - start).max()) if out else 1
    pos = start[:, None] + np.arange(k)
    return np.minimum(pos, n - 1), pos < end[:, None]


def _pool_windows(n, k, s, p, out):
    """(positions (out, k), valid (out, k)) of a max-pool's windows over n: i s - p + j, valid
    inside the input (outside is the -inf padding, or past the end in ceil mode)."""
    pos = (np.arange(out) * s - p)[:, None] + np.arange(k)
    return np.clip(pos, 0, n - 1), (pos >= 0) & (pos < n)


def _window_argmax(x, *, windows):
    """Per window over x's last len(windows) dims (one or two), the flat index into those dims
    (h W + w) of its maximum, as torch's kernels pick it: the first maximum in row-major
    order, or the last nan if the window holds one."""
    if len(windows) == 1:
        (pos, valid), = windows
        cand, flat = x[..., pos], pos
    else:
        (ph, vh), (pw, vw) = windows
        oh, kh = ph.shape
        ow, kw = pw.shape
        cand = x[..., ph[:, None, :, None], pw[None, :, None, :]]
        cand = cand.reshape(x.shape[:-2] + (oh, ow, kh * kw))     # window in row-major order
        flat = (ph[:, None, :, None] * x.shape[-1] + pw[None, :, None, :]).reshape(oh, ow,
                                                                                  kh * kw)
        valid = (vh[:, None, :, None] & vw[None, :, None, :]).reshape(oh, ow, kh * kw)
    vals = np.where(valid, cand, -np.inf)
    nan = np.isnan(vals)
    last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    k = np.where(nan.any(-1), last_nan, np.argmax(np.where(nan, -np.inf, vals), axis=-1))
    return np.take_along_axis(np.broadcast_to(flat, vals.shape), k[..., None], -1)[..., 0]


def _gather_windows(x, windows):
    """(x at each window's maximum, the maxima's flat indices), from _window_argmax."""
    nd = len(windows)
    idx = _no_grad(_window_argmax, x, windows=windows)
    lead = tuple(x.shape[:-nd])
    flat = idx.reshape(lead + (-1,))
    out = x.reshape(lead + (-1,)).gather(-1, flat)
    return out.reshape(tuple(idx.shape)), idx


def _max_pool_with_indices(x, kernel, stride, padding, sizes, out):
    """x (N, C, H, W) as _pool_setup gives it: the pooled maxima and their h W + w indices."""
    windows = tuple(_pool_windows(n, k, s, p, o)
                    for n, k, s, p, o in zip(sizes, kernel, stride, padding, out))
    return _gather_windows(x, windows)


def _adaptive_max_pool(input, output_size, return_indices, nd, fn):
    x = _t(input)
    if nd == 1 and x.ndim not in (2, 3):
        raise _InputError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor for "
                          f"argument #1 'self' (while checking arguments for {fn})")
    if nd == 2 and x.ndim not in (3, 4):
        raise _InputError(f"{fn}(): Expected 3D or 4D tensor, but got: {list(x.shape)}")
    if nd == 1 and output_size is None:
        raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, not "
                        f"NoneType")
    sizes = tuple(x.shape[-nd:])
    given = (output_size,) * nd if isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(given) != nd:
        raise _InputError(f"{fn}() argument 'output_size' should contain one int (got "
                          f"{len(given)})" if nd == 1 else
                          f"{fn}(): internal error: output_size.size() must be {nd}")
    out = tuple(n if o is None else int(o) for o, n in zip(given, sizes))
    for o in out:
        if o < 0:
            raise _InputError(f"Trying to create tensor with negative dimension {o}: "
                              f"{list(x.shape[:-nd]) + list(out)}")
    for d in range(1, x.ndim):
        if x.shape[d] == 0:
            raise _InputError(f"{fn}(): Expected input to have non-zero size for non-batch "
                              f"dimensions, but input has sizes {list(x.shape)} with dimension "
                              f"{d} being empty")
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{fn}\" not implemented for '{x.type()[6:-6]}'")
    y, idx = _gather_windows(x, tuple(_adaptive_windows(n, o) for n, o in zip(sizes, out)))
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) to output_size positions, window i spanning
    floor(i L / out) .. ceil((i + 1) L / out) - 1 (torch's windows); the gradient goes to
    the first maximum of a window. return_indices=True also returns the maxima's positions."""
    return _adaptive_max_pool(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) or (C, H, W) to output_size (an int, a pair, None to keep a
    size), torch's windows per dim; the gradient goes to the first maximum of a window
    (row-major). return_indices=True also returns the maxima's flat indices h W + w."""
    return _adaptive_max_pool(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def _unpool_size(x, kernel, stride, padding, output_size):
    """torch's _unpool_output_size: (in - 1) stride + kernel - 2 padding per dim, or
    output_size (its last dims), which must lie strictly within a stride of it."""
    nd = len(kernel)
    default = [(n - 1) * s + k - 2 * p
               for n, s, k, p in zip(x.shape[-nd:], stride, kernel, padding)]
    if output_size is None:
        return default
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(nd):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < output_size[d] < high:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between '
                             f'{low} and {high})')
    return list(output_size)


def _unpool_index_outside(idx, *, size):
    return bool(idx.size) and bool(idx.min() < 0 or idx.max() >= size)


def _unpool_index_error(idx, *, shape):
    bad = idx[(idx < 0) | (idx >= math.prod(shape))].reshape(-1)[0]
    return _InputError(f"Found an invalid max index: {bad} (output volumes are of size "
                       f"{'x'.join(map(str, shape))})")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: zeros of the output size with input[..., i, j] put at
    flat position indices[..., i, j] (h W + w) of its plane. (N, C, H, W) or (C, H, W); the
    output size is (H - 1) stride + kernel - 2 padding unless output_size says otherwise.
    A position two entries share (overlapping windows) holds their value, once; each entry's
    gradient is the output's gradient at its position."""
    x = _t(input)
    kernel = _ints(kernel_size, 2, "kernel_size", "max_unpool2d")
    stride = kernel if stride is None else _ints(stride, 2, "stride", "max_unpool2d")
    padding = _ints(padding, 2, "padding", "max_unpool2d")
    size = _unpool_size(x, kernel, stride, padding, output_size)
    ind = indices if isinstance(indices, Tensor) else Tensor(np.asarray(indices))
    if ind._data.dtype != np.int64:
        raise _InputError(f"elements in indices should be type int64 but got: "
                          f"{as_dtype(ind._data.dtype)._scalar_name}")
    if x.ndim not in (3, 4):
        raise _InputError(f"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a "
                          f"tensor with {x.ndim} dimensions.")
    if ind.shape != x.shape:
        raise _InputError(f"Expected shape of indices to be same as that of the input tensor "
                          f"({list(x.shape)}) but got indices tensor with shape: "
                          f"{list(ind.shape)}")
    _check_values(functools.partial(_unpool_index_outside, size=size[0] * size[1]),
                  functools.partial(_unpool_index_error, shape=tuple(size)), ind)
    lead = tuple(x.shape[:-2])
    flat = ind.reshape(lead + (-1,))
    grids = _grids(lead + (size[0] * size[1],), len(lead), flat._data)
    zeros = Tensor(np.zeros(lead + (size[0] * size[1],), dtype=x._data.dtype))
    # setitem, not scatter: a position two entries share holds the value once, as torch's
    out = Tensor._apply(OPS["setitem"], grids, zeros, x.reshape(lead + (-1,)))
    return out.reshape(lead + tuple(size))


# ---------------------------------------------------------------------------------------------
# normalization, embedding, pixel and channel shuffles, fold and unfold (the functions of
# nn.BatchNorm*, LayerNorm, GroupNorm, InstanceNorm*, RMSNorm, LocalResponseNorm, Embedding,
# PixelShuffle, ChannelShuffle, Fold and Unfold, which call them)
class _Stats:
    """The tensors an op changes in place (running statistics, an embedding's renormalized
    rows): autograd.compile saves them before the trace changes them and puts them back
    around its checks, as it does a module's buffers."""

    def __init__(self, *tensors):
        self._tensors = tensors

    def buffers(self):
        return list(self._tensors)


def _changes(owner, function, keywords, *inputs):
    """Run function(*arrays, **keywords), which writes into some of its inputs' arrays, as an
    op of the numpy row (no gradient): autograd.compile keeps it in the program (it changes
    state) and runs it at each call, as eager code does. owner has buffers(): what changes."""
    if _STATE.trace is not None:
        _STATE.trace.changes_state_of(owner)
    Tensor._apply(OPS["numpy"], (function, keywords), *inputs)


def _update_running_stats(mean, var, running_mean, running_var, count=None, *, n, momentum):
    """running = (1 - m) running + m batch, in place, for the batch's mean and biased var of
    n values per entry (var made unbiased: n / (n - 1)); the batch's entries are averaged
    over the leading axis of shape (-1, C) (instance norm: over the samples). count (if
    given) goes up by 1, and momentum=None means m = 1 / count, a cumulative average.
    Returns an empty array: an op's result."""
    if type(mean) is not np.ndarray:
        raise NoSource("a change of the running statistics")   # a call, run at each call
    c = running_mean.size
    mean = mean.reshape(-1, c).mean(0)
    unbiased = (var * (n / (n - 1)) if n > 1 else var * np.nan).reshape(-1, c).mean(0)
    if count is not None:
        np.add(count, 1, out=count)
    m = 1.0 / float(count) if momentum is None else momentum
    running_mean[...] = ((1 - m) * running_mean.reshape(-1) + m * mean).reshape(
        running_mean.shape)
    running_var[...] = ((1 - m) * running_var.reshape(-1) + m * unbiased).reshape(
        running_var.shape)
    return np.empty(0, running_mean.dtype)


_update_running_stats.changes_state = True


def _torch_size(shape):
    return f"torch.Size({list(shape)})"


def _verify_batch_size(shape, text=_torch_size):
    if shape and math.prod(shape[:1] + shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {text(shape)}")


def _verify_spatial_size(shape):
    if math.prod(shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{_torch_size(shape)}")


def _check_numel(name, t, n):
    if t is not None and _t(t).numel() != n:
        raise _InputError(f"{name} should contain {n} elements not {_t(t).numel()}")


def _standardized(x, axes, eps):
    """(x - mean) / sqrt(var + eps), mean and biased var over axes; and that mean and var."""
    mean = x.mean(axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axes, keepdims=True)
    return xc * (var + eps) ** -0.5, mean, var


def _per_channel(out, weight, bias):
    """out * weight + bias, weight and bias of C entries broadcast along dim 1 of out."""
    shape = (1, -1) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * _t(weight).reshape(shape)
    if bias is not None:
        out = out + _t(bias).reshape(shape)
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1 of (N, C, *)).
    training: mean and biased var of the batch (over every dim but 1), and running_mean and
    running_var (if given) move in place by `momentum` toward the batch mean and the
    *unbiased* batch var; else the running estimates are the mean and var."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                num_batches_tracked=None, owner=None):
    """batch_norm; nn.BatchNorm* give num_batches_tracked (incremented with each update, and
    read for momentum=None) and themselves as the owner of the statistics."""
    x = _t(input)
    c = x.shape[1] if x.ndim > 1 else 0
    if training:
        _verify_batch_size(tuple(x._data.shape))
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if training and (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither "
                         "be None")
    if not training:
        for name, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t is None:
                raise _InputError(f"{name} must be defined in evaluation mode")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_numel(name, t, c)
    if not training:
        shape = (1, c) + (1,) * (x.ndim - 2)
        out = (x - _t(running_mean).reshape(shape)) * (
            _t(running_var).reshape(shape) + eps) ** -0.5
        return _per_channel(out, weight, bias)
    out, mean, var = _standardized(x, (0,) + tuple(range(2, x.ndim)), eps)
    if running_mean is not None:
        stats = [_t(running_mean), _t(running_var)] + (
            [] if num_batches_tracked is None else [num_batches_tracked])
        _changes(owner if owner is not None else _Stats(*stats), _update_running_stats,
                 {"n": x.numel() // max(c, 1), "momentum": momentum}, mean, var, *stats)
    return _per_channel(out, weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over the spatial
    dims of each sample and channel of (N, C, *). With use_input_stats and running stats
    given, these move in place by `momentum` toward the batch's averages over the samples
    of the per-instance means and unbiased vars; use_input_stats=False normalizes with them."""
    x = _t(input)
    n, c = (x.shape[0], x.shape[1]) if x.ndim > 1 else (x.shape[0] if x.ndim else 1, 0)
    if use_input_stats:
        _verify_spatial_size(tuple(x._data.shape))
        if (running_mean is None) != (running_var is None):
            raise ValueError("running_mean and running_var must either both be None or "
                             "neither be None")
    elif running_mean is None or running_var is None:
        raise _InputError("Expected running_mean and running_var to be defined when "
                          "use_input_stats is false")
    # torch runs batch_norm over (1, N C, *): its checks count N C entries
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and _t(t).numel() != c:
            raise _InputError(f"{name} should contain {n * c} elements not "
                              f"{n * _t(t).numel()}")
    if not use_input_stats:
        shape = (1, c) + (1,) * (x.ndim - 2)
        out = (x - _t(running_mean).reshape(shape)) * (
            _t(running_var).reshape(shape) + eps) ** -0.5
        return _per_channel(out, weight, bias)
    out, mean, var = _standardized(x, tuple(range(2, x.ndim)), eps)
    if running_mean is not None:
        stats = [_t(running_mean), _t(running_var)]
        _changes(_Stats(*stats), _update_running_stats,
                 {"n": math.prod(x.shape[2:]), "momentum": momentum}, mean, var, *stats)
    return _per_channel(out, weight, bias)


def _normalized_shape(normalized_shape, fn):
    if isinstance(normalized_shape, (int, np.integer)) or not all(
            isinstance(n, (int, np.integer)) for n in normalized_shape):
        raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    return tuple(int(n) for n in normalized_shape)


def _check_last_dims(x, shape, star):
    """x's last dims must be shape; star is how torch's message writes the others."""
    k = len(shape)
    if x.ndim < k or tuple(x._data.shape[x.ndim - k:]) != shape:
        raise _InputError(f"Given normalized_shape={list(shape)}, expected input with shape "
                          f"[{star}{', '.join(map(str, shape))}], but got input of size"
                          f"{list(x.shape)}")


def _check_same_shape(name, t, shape):
    if t is not None and tuple(_t(t).shape) != shape:
        raise _InputError(f"Expected {name} to be of same shape as normalized_shape, but got "
                          f"{name} of shape {list(_t(t).shape)} and normalized_shape = "
                          f"{list(shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over the last
    len(normalized_shape) dims (which must be normalized_shape), weight and bias of that
    shape."""
    x = _t(input)
    shape = _normalized_shape(normalized_shape, "layer_norm")
    _check_last_dims(x, shape, "*, ")
    _check_same_shape("weight", weight, shape)
    _check_same_shape("bias", bias, shape)
    out, _, _ = _standardized(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight, the mean over the last len(normalized_shape) dims;
    eps=None is the machine epsilon of x's dtype (torch.finfo(x.dtype).eps), as torch."""
    x = _t(input)
    shape = _normalized_shape(normalized_shape, "rms_norm")
    _check_last_dims(x, shape, "*")
    _check_same_shape("weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps) if x._data.dtype.kind == "f" else \
            float(np.finfo(np.float32).eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * ((x * x).mean(axes, keepdims=True) + eps) ** -0.5
    return out if weight is None else out * weight


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over each group of
    C / num_groups channels (and the spatial dims) of each sample of (N, C, *); weight and
    bias per channel."""
    x = _t(input)
    if x.ndim < 2:
        raise _InputError(f"Expected at least 2 dimensions for input tensor but received "
                          f"{x.ndim}")
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise _InputError(f"Expected number of channels in input to be divisible by "
                          f"num_groups, but got input of shape {list(x.shape)} and "
                          f"num_groups={num_groups}")
    _verify_batch_size((n * c // num_groups, num_groups) + tuple(x._data.shape[2:]), list)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (_t(t).ndim != 1 or _t(t).numel() != c):
            raise _InputError(f"Expected {name} to be a vector of size equal to the number of "
                              f"channels in input, but got {name} of shape {list(_t(t).shape)} "
                              f"and input of shape {list(x.shape)}")
    out, _, _ = _standardized(x.reshape(n, num_groups, -1), (2,), eps)
    return _per_channel(out.reshape(x.shape), weight, bias)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha / size * sum of x^2 over a window of `size` channels around each
    channel)^beta over dim 1 of (N, C, *); the window is cut by zeros at the edges (size // 2
    before, (size - 1) // 2 after), and always divided by size, as torch's average pool."""
    x = _t(input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          "
                         f"input (got {x.ndim} dimensions)")
    if x.numel() == 0:
        return x
    c = x.shape[1]
    sq = _pad_constant(x * x, ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2),
                       0.0)
    window = sq[:, 0:c]
    for j in range(1, size):
        window = window + sq[:, j:j + c]
    return x / (window * (alpha / size) + k) ** beta


def _inverse_counts(indices, dtype):
    """1 / (how often each entry's value occurs in indices), per entry, of dtype."""
    _, where_, counts = np.unique(indices, return_inverse=True, return_counts=True)
    return (1.0 / counts[where_.reshape(-1)]).reshape(indices.shape).astype(dtype)


def _renorm_rows(indices, weight, *, max_norm, norm_type):
    """weight[i] *= max_norm / (||weight[i]||_p + 1e-7), in place, for the rows i looked up
    whose p-norm (p = norm_type) exceeds max_norm (torch's embedding_renorm_)."""
    if type(weight) is not np.ndarray:
        raise NoSource("a change of the embedding's weight")   # a call, run at each call
    rows = np.unique(indices)
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
    weight[rows[big]] *= scale[:, None]
    return np.empty(0, weight.dtype)


_renorm_rows.changes_state = True


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[input]: rows of the (num_embeddings, embedding_dim) table at integer indices.
    The row padding_idx gets no gradient. max_norm renormalizes the looked-up rows of weight
    in place (no gradient) to p-norm at most max_norm (p = norm_type) before the lookup;
    scale_grad_by_freq divides each index's gradient by its count in input. sparse=True is
    accepted: the gradient is dense (tapegrad has no sparse tensors), with the same values as
    torch's sparse gradient made dense."""
    w = _t(weight)
    if w.ndim != 2:
        raise _InputError("'weight' must be 2-D")
    indices = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise _InputError(f"Expected tensor for argument #1 'indices' to have one of the "
                          f"following scalar types: Long, Int; but got {indices.type()} instead "
                          f"(while checking arguments for embedding)")
    num = w.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _changes(_Stats(w), _renorm_rows, {"max_norm": max_norm, "norm_type": norm_type},
                 indices, w)
    out = w[idx]
    if scale_grad_by_freq:
        # out + (out - out) s: out's value, exactly, with s times its gradient
        scale = _no_grad(_inverse_counts, indices, dtype=w._data.dtype)
        fixed = _no_grad(np.copy, out)
        out = fixed + (out - fixed) * scale.unsqueeze(-1)
    if padding_idx is not None:
        # the padding row passes forward but its gradient is cut; the mask is a recorded
        # comparison, so autograd.compile follows each call's indices
        out = _where((indices != padding_idx).unsqueeze(-1), out, _no_grad(np.copy, out))
    return out


# embedding_bag: which bag each entry of the flat input falls in, as ops of the numpy row (no
# gradient), so that autograd.compile reads each call's indices and offsets
def _bag_of_entries(indices, offsets, *, n_bags, include_last_offset, padding_idx):
    """Per entry j of indices, the bag b with offsets[b] <= j < offsets[b + 1] (the last bag
    runs to the end of indices, or to offsets[-1] with include_last_offset); n_bags for an
    entry in no bag: a padding_idx entry, or one past offsets[-1]."""
    n = indices.shape[0]
    starts = offsets[:n_bags]
    bag = np.searchsorted(starts, np.arange(n), side="right") - 1
    end = offsets[-1] if include_last_offset else n
    bag[np.arange(n) >= end] = n_bags
    if padding_idx is not None:
        bag[indices == padding_idx] = n_bags
    bag[bag < 0] = n_bags
    return bag.astype(np.int64)


def _inverse_bag_sizes(bag, *, n_bags, dtype):
    """(n_bags, 1): 1 / the number of entries of each bag (1 for an empty bag, whose sum is 0)."""
    sizes = np.bincount(bag, minlength=n_bags + 1)[:n_bags]
    return (1.0 / np.maximum(sizes, 1)).astype(dtype)[:, None]


def _nonempty_bags(bag, *, n_bags):
    return (np.bincount(bag, minlength=n_bags + 1)[:n_bags] > 0)[:, None]


def _bag_argmax(rows, bag, *, n_bags):
    """(n_bags, D): per bag and column, the position in rows of the bag's maximum, as torch's
    loop finds it: the first entry, replaced by each later one that is strictly greater (so the
    first of tied maxima; nan only when the bag starts with it). 0 for an empty bag."""
    pos = np.zeros((n_bags, rows.shape[1]), dtype=np.int64)
    inside = np.flatnonzero(bag < n_bags)
    if not inside.size:
        return pos
    b, r = bag[inside], rows[inside]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    key = np.where(np.isnan(r), -np.inf, r)
    best = np.maximum.reduceat(key, starts, axis=0)
    segment = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, b.size]))
    first = np.minimum.reduceat(np.where(key == best[segment], inside[:, None], rows.shape[0]),
                                starts, axis=0)
    first = np.where(np.isnan(r[starts]), inside[starts][:, None], first)
    pos[b[starts]] = first
    return pos


def _bag_index_outside(idx, high):
    return bool(idx.size) and bool(idx.min() < 0 or idx.max() >= high)


def _bag_index_error(idx, high):
    # torch's message for float64 weights and mode 'max' (its float32 kernels for 'sum' and
    # 'mean' word it otherwise, each its own way)
    bad = idx[(idx < 0) | (idx >= high)][0]
    return _InputError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx "
                       f"to be {bad}")


def _bad_offsets(offsets, indices, include_last_offset):
    n = indices.shape[0]
    if include_last_offset and offsets.size < 1:
        return "include_last_offset: number of offset should be at least 1"
    if offsets.size and offsets[0] != 0:
        return (f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                f"from position 0. However, got {offsets[0]}")
    if offsets.size and offsets[-1] > n:
        return (f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                f"{offsets[-1]}")
    down = np.flatnonzero(np.diff(offsets) < 0)
    if down.size:
        i = down[0]
        # torch 2.13 checks no order on CPU and returns bags that are no sums of the entries
        return (f"offsets have to be non-decreasing, but got offsets[{i}] = {offsets[i]} > "
                f"offsets[{i + 1}] = {offsets[i + 1]}")
    return None


def _offsets_wrong(offsets, indices, *, include_last_offset):
    return _bad_offsets(offsets, indices, include_last_offset) is not None


def _offsets_error(offsets, indices, *, include_last_offset):
    return _InputError(_bad_offsets(offsets, indices, include_last_offset))


def _indices_type(t, fn):
    if t._data.dtype not in (np.int64, np.int32):
        raise _InputError(f"Expected tensor for argument #1 'indices' to have one of the "
                          f"following scalar types: Long, Int; but got {t.type()} instead "
                          f"(while checking arguments for {fn})")


@_torch_node("EmbeddingBagBackward0", 2)
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of rows of weight (num_embeddings, D):
    out[b] = reduce over j in bag b of weight[input[j]] (times per_sample_weights[j], mode
    'sum' only). input (B, L) is B bags of L entries; a flat input (N,) is cut into bags at
    offsets (offsets[0] = 0, non-decreasing; bag b is input[offsets[b]:offsets[b + 1]], the
    last to the end, or to offsets[-1] with include_last_offset=True, offsets then one longer
    than the bags). Entries equal to padding_idx are left out of every bag (of a mean's count
    too). An empty bag gives zeros. 'max' takes per column the first of tied maxima, and its
    gradient goes there. max_norm, norm_type and scale_grad_by_freq are F.embedding's
    (the gradient of row i divided by how often i occurs in input; torch 2.13's CPU kernel
    divides some rows by another row's count, pytorch/pytorch#190063). sparse=True gives a
    dense gradient of the same values. Out of order offsets are an error (torch checks none)."""
    w = weight if isinstance(weight, Tensor) else _t(weight)
    indices = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if w._data.dtype.kind in "iu" and indices._data.dtype.kind == "f":
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=3)
        w, indices = indices, w
    psw = per_sample_weights
    if psw is not None:
        psw = _t(psw)
        if psw.shape != indices.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({psw.shape}) is not None, "
                             f"then it must have the same shape as the input ({indices.shape})")
    if w.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {w.ndim}")
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        if indices.shape[1] == 0:
            raise _InputError("step must be nonzero")
        offsets = Tensor(np.arange(0, indices._data.size, indices.shape[1],
                                   dtype=indices._data.dtype))
        include_last_offset = False
        indices = indices.reshape(-1)
        if psw is not None:
            psw = psw.reshape(-1)
    elif indices.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        offsets = offsets if isinstance(offsets, Tensor) else Tensor(np.asarray(offsets))
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{indices.ndim}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
    if psw is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    _indices_type(indices, "embedding_bag")
    _indices_type(offsets, "embedding_bag")
    if psw is not None and psw._data.dtype != w._data.dtype:
        raise _InputError(f"Expected tensor for argument #1 'weight' to have the same type as "
                          f"tensor for argument #1 'per_sample_weights'; but type {w.type()} does "
                          f"not equal {psw.type()} (while checking arguments for embedding_bag)")
    num, dim = w.shape
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise _InputError(f"padding_idx must be within the number of embeddings, -{num} "
                              f"through {num - 1}, but got {padding_idx}")
        padding_idx %= num
    last = {"include_last_offset": include_last_offset}
    _check_values(functools.partial(_offsets_wrong, **last),
                  functools.partial(_offsets_error, **last), offsets, indices)
    _check_values(functools.partial(_bag_index_outside, high=num),
                  functools.partial(_bag_index_error, high=num), indices)
    n_bags = max(offsets.shape[0] - (1 if include_last_offset else 0), 0)
    bag = _no_grad(_bag_of_entries, indices, offsets, n_bags=n_bags,
                   include_last_offset=include_last_offset, padding_idx=padding_idx)
    rows = embedding(indices, w, None, max_norm, norm_type, scale_grad_by_freq)
    if mode == "max" and indices.shape[0]:
        pos = _no_grad(_bag_argmax, rows, bag, n_bags=n_bags)
        out = rows[pos._data, np.arange(dim)]
        return _where(_no_grad(_nonempty_bags, bag, n_bags=n_bags), out, 0.0)
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    # segment sums: each row added into its bag's; entries in no bag go to an extra last bag
    out = Tensor._apply(OPS["scatter"], ((bag._data,), (n_bags + 1, dim)), rows)[:n_bags]
    if mode == "mean":
        out = out * _no_grad(_inverse_bag_sizes, bag, n_bags=n_bags, dtype=w._data.dtype)
    return out


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor: out[..., c, h r + i,
    w r + j] = x[..., c r^2 + i r + j, h, w] (a reshape and a permutation)."""
    x, r = _t(input), int(upscale_factor)
    if x.ndim < 3:
        raise _InputError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                          f"input with {x.ndim} dimension(s)")
    if r <= 0:
        raise _InputError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    lead, (c, h, w) = tuple(x.shape[:-3]), x.shape[-3:]
    if c % (r * r):
        raise _InputError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                          f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                          f"is not divisible by {r * r}")
    k = len(lead)
    out = x.reshape(lead + (c // (r * r), r, r, h, w))
    out = out.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return out.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor: the inverse of
    pixel_shuffle."""
    x, r = _t(input), int(downscale_factor)
    if x.ndim < 3:
        raise _InputError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                          f"got input with {x.ndim} dimension(s)")
    if r <= 0:
        raise _InputError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    lead, (c, h, w) = tuple(x.shape[:-3]), x.shape[-3:]
    for name, size, dim in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise _InputError(f"pixel_unshuffle expects {name} to be divisible by "
                              f"downscale_factor, but input.size({dim})={size} is not "
                              f"divisible by {r}")
    k = len(lead)
    out = x.reshape(lead + (c, h // r, r, w // r, r))
    out = out.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return out.reshape(lead + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with the channels seen as (groups, C / groups) transposed to (C / groups,
    groups): channel g (C / groups) + i goes to i groups + g."""
    x, g = _t(input), int(groups)
    if x.ndim <= 2:
        raise _InputError(f"channel_shuffle expects input with > 2 dims, but got input with "
                          f"sizes {list(x.shape)}")
    if g <= 0:
        raise _InputError(f"Number of groups to divide channels in must be positive. Value of "
                          f"groups:{g}")
    n, c, rest = x.shape[0], x.shape[1], tuple(x.shape[2:])
    if c % g:
        raise _InputError(f"Number of channels must be divisible by groups. Got {c} channels "
                          f"and {g} groups.")
    return x.reshape((n, g, c // g) + rest).transpose(1, 2).reshape(tuple(x.shape))


def _fold_pair(v, name):
    """torch's _pair for fold and unfold: an int, or a sequence of exactly 2 ints."""
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise _InputError(f"It is expected {name} equals to 2, but got size {len(v)}")
    return v


def _fold_args(kernel_size, dilation, padding, stride, order):
    """kernel, dilation, padding, stride as pairs, checked in torch's order (it differs
    between fold and unfold)."""
    k, d = _fold_pair(kernel_size, "kernel_size"), _fold_pair(dilation, "dilation")
    p, s = _fold_pair(padding, "padding"), _fold_pair(stride, "stride")
    checks = {"k": (min(k) <= 0, f"kernel size should be greater than zero, but got "
                                 f"kernel_height: {k[0]} kernel_width: {k[1]}"),
              "d": (min(d) <= 0, f"dilation should be greater than zero, but got "
                                 f"dilation_height: {d[0]} dilation_width: {d[1]}"),
              "p": (min(p) < 0, f"padding should be non-negative, but got pad_height: {p[0]} "
                                f"pad_width: {p[1]}"),
              "s": (min(s) <= 0, f"stride should be greater than zero, but got stride_height: "
                                 f"{s[0]} stride_width: {s[1]}")}
    for key in order:
        bad, message = checks[key]
        if bad:
            raise _InputError(message)
    return k, d, p, s


def _blocks(size, k, d, p, s):
    """Sliding blocks along one dim (C++'s division, truncated toward 0, as torch's
    message shows)."""
    span = d * (k - 1) + 1
    return int((size + 2 * p - span) / s) + 1


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C kH kW, L), column l holding the block at the l-th
    position (row-major) of the kernel sliding over x zero-padded by `padding`, its entries
    `dilation` apart, blocks `stride` apart; (C, H, W) -> (C kH kW, L). The gradient of a
    pixel is the sum over the blocks that hold it (col2im, fold)."""
    x = _t(input)
    if x.ndim not in (3, 4):
        raise _InputError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                          f"and other non-zero dimensions for input, but got: {list(x.shape)}")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride,
                                                        "kdps")
    batched = x.ndim == 4
    if not batched:
        x = x.unsqueeze(0)
    n, c, h, w = x.shape
    bh, bw = _blocks(h, kh, dh, ph, sh), _blocks(w, kw, dw, pw, sw)
    if bh < 1 or bw < 1:
        raise _InputError(f"Given input with spatial size ({h}, {w}), kernel_size=({kh}, {kw}), "
                          f"dilation=({dh}, {dw}), padding=({ph}, {pw}), calculated shape of "
                          f"the array of sliding blocks as ({bh}, {bw}), but its components "
                          f"must be at least one.")
    if ph or pw:
        x = _pad_constant(x, (pw, pw, ph, ph), 0.0)
    # the blocks of the dilated span, then every dilation-th entry of each
    cols = OPS["im2col"](x, ctx=(dh * (kh - 1) + 1, dw * (kw - 1) + 1, sh, sw))
    if dh > 1 or dw > 1:
        cols = cols[:, :, ::dh, ::dw]
    out = cols.reshape(n, c * kh * kw, bh * bw)
    return out if batched else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of unfold: (N, C kH kW, L) -> (N, C, H, W), (H, W) = output_size,
    each column's block added onto its place (overlaps sum), the padding then cut away;
    (C kH kW, L) -> (C, H, W). The gradient is unfold of the output's gradient."""
    x = _t(input)
    if x.ndim not in (2, 3):
        raise _InputError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                          f"batch size and non-zero dimensions for input, but got: "
                          f"{list(x.shape)}")
    h, w = _fold_pair(output_size, "output_size")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride,
                                                        "ksdp")
    batched = x.ndim == 3
    if not batched:
        x = x.unsqueeze(0)
    n, ck, length = x.shape
    if ck % (kh * kw):
        raise _InputError(f"Expected size of input's dimension 1 to be divisible by the product "
                          f"of kernel_size, but got input.size(1)={ck} and kernel_size=({kh}, "
                          f"{kw}).")
    bh, bw = _blocks(h, kh, dh, ph, sh), _blocks(w, kw, dw, pw, sw)
    if bh < 1 or bw < 1 or length != bh * bw:
        raise _InputError(f"Given output_size=({h}, {w}), kernel_size=({kh}, {kw}), dilation="
                          f"({dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), expected "
                          f"size of input's dimension 2 to match the calculated number of "
                          f"sliding blocks {bh} * {bw} = {bh * bw}, but got input.size(2)="
                          f"{length}.")
    c = ck // (kh * kw)
    cols = x.reshape(n, c, kh, kw, bh, bw)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    if dh > 1 or dw > 1:
        spread = (slice(None), slice(None), slice(None, None, dh), slice(None, None, dw))
        cols = OPS["scatter"](cols, ctx=(spread, (n, c) + span + (bh, bw)))
    out = OPS["col2im"](cols, ctx=span + (sh, sw, h + 2 * ph, w + 2 * pw))
    if ph or pw:
        out = out[:, :, ph:ph + h, pw:pw + w]
    return out if batched else out.squeeze(0)


# ---------------------------------------------------------------------------------------------
# norms, distances, one-hot
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along dim: unit vectors, and zero vectors stay zero."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by tapegrad; use the "
                                  "returned tensor")
    x = _t(input)
    dim = _dim(dim, x.ndim, "normalize")
    return x / x.norm(p, dim, True).clip(min=eps)


def _broadcast_shapes(a, b):
    """np.broadcast_shapes, failing with torch's message naming the first mismatch."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        for i in range(1, min(len(a), len(b)) + 1):
            if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
                raise _InputError(
                    f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) "
                    f"at non-singleton dimension {max(len(a), len(b)) - i}") from None
        raise


def _expand_pair(a, b):
    shape = _broadcast_shapes(a.shape, b.shape)
    return (a if a.shape == shape else a.expand(shape)), (b if b.shape == shape else
                                                         b.expand(shape))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along dim, x1 and x2 broadcast together.
    As torch, each norm is clamped at eps in value only: its gradient is that of the norm."""
    x1, x2 = _expand_pair(_t(x1), _t(x2))
    dim = _dim(dim, x1.ndim, "cosine_similarity")
    n1, n2 = x1.norm(2, dim, True), x2.norm(2, dim, True)
    n1 = n1 + (n1.detach().clamp(min=eps) - n1.detach())
    n2 = n2 + (n2.detach().clamp(min=eps) - n2.detach())
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (torch adds eps to the difference)."""
    x1, x2 = _expand_pair(_t(x1), _t(x2))
    return (x1 - x2 + eps).norm(p, x1.ndim - 1 if x1.ndim else None, keepdim)


def _classes_outside(t, num_classes):
    return bool(t.size) and bool(t.min() < 0 or t.max() >= num_classes)


def _classes_error(t, num_classes):
    if t.min() < 0:
        return _InputError("Class values must be non-negative.")
    return _InputError("Class values must be smaller than num_classes.")


def one_hot(tensor, num_classes=-1):
    """An int64 tensor of shape tensor.shape + (num_classes,) with 1 at each class index;
    num_classes=-1 means max + 1. Not differentiable (an integer result)."""
    t = _data(tensor)
    if t.dtype.kind not in "iu":
        raise _InputError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise _InputError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    _check_values(functools.partial(_classes_outside, num_classes=num_classes),
                  functools.partial(_classes_error, num_classes=num_classes), tensor)
    if isinstance(tensor, Tensor):
        # a comparison and a cast, ops: a compiled function encodes each call's classes
        return (tensor.unsqueeze(-1) == Tensor(np.arange(num_classes))).long()
    return Tensor((t[..., None] == np.arange(num_classes)).astype(np.int64))


# ---------------------------------------------------------------------------------------------
# losses
def _reduce(loss, reduction, fn, denom=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        if denom is None:
            return loss.mean()
        return loss.sum() / denom
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


_LEGACY_WARNING = ("size_average and reduce args will be deprecated, please use "
                   "reduction='{}' instead.")


def _legacy_get_string(size_average, reduce, emit_warning=True, stacklevel=4):
    """torch's mapping of the pre-1.0 loss keywords to a reduction (None counts as True):
    size_average and reduce -> 'mean', reduce alone -> 'sum', reduce=False -> 'none' (then
    size_average is ignored); with torch's deprecation warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = "mean" if size_average and reduce else ("sum" if reduce else "none")
    if emit_warning:
        warnings.warn(_LEGACY_WARNING.format(out), stacklevel=stacklevel)
    return out


def _reduction_of(size_average, reduce, reduction, stacklevel=5):
    """The reduction a loss runs: the legacy keywords win when either is given (torch);
    'elementwise_mean' is torch's deprecated spelling of 'mean'."""
    if size_average is not None or reduce is not None:
        return _legacy_get_string(size_average, reduce, stacklevel=stacklevel)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=stacklevel - 1)
        return "mean"
    return reduction


def _broadcast_target(input, target):
    """input and target broadcast together as torch's regression losses do, warning (torch's
    text) when their shapes differ: (N, 1) against (N,) is almost always a bug."""
    if input.shape == target.shape:
        return input, target
    warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                  f"({input.shape}). This will likely lead to incorrect results due to "
                  f"broadcasting. Please ensure they have the same size.", stacklevel=3)
    return _expand_pair(input, target)


def _weighted(loss, weight, input, reduction, fn):
    """loss * weight reduced as torch's mse/l1/huber with weight=: 'mean' divides by the sum
    of the weights (mse, l1) or by the number of elements (huber, through `fn`)."""
    w = weight if isinstance(weight, Tensor) else Tensor(_const(weight, input))
    if w.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * w
    if reduction == "mean" and fn != "huber_loss":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, fn)


def _target(target, input):
    """Targets are data, not parameters, but may carry gradients (a GAN's fake labels never do;
    a distillation target may): Tensors pass through, arrays become constants."""
    if isinstance(target, Tensor):
        return target
    return Tensor(np.asarray(target, dtype=input.dtype))


@_torch_node("MseLossBackward0", 2)
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(input - target)^2, reduced ('mean' over elements; with weight w: sum(w d^2) / sum(w)).
    Shapes that differ are broadcast with torch's warning."""
    input = _t(input)
    input, target = _broadcast_target(input, _target(target, input))
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    d = input - target
    if weight is not None:
        return _weighted(d * d, weight, input, reduction, "mse_loss")
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target|, reduced (with weight w, 'mean' is sum(w |d|) / sum(w)); gradient 0
    where they are equal (as PyTorch). Shapes that differ are broadcast with torch's warning."""
    input = _t(input)
    input, target = _broadcast_target(input, _target(target, input))
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, "l1_loss")
    return _reduce(loss, reduction, "l1_loss")


@_torch_node("HuberLossBackward0", 2)
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target: squared
    near 0, linear (slope delta) in the tails. Gradient d inside, +-delta outside."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input = _t(input)
    input, target = _broadcast_target(input, _target(target, input))
    _check_reduction(reduction, "huber_loss")
    d = input - target
    a = d.abs()
    loss = _where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, "huber_loss")
    return _reduce(loss, reduction, "huber_loss")


@_torch_node("SmoothL1LossBackward0", 2)
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta: huber_loss(delta=beta) / beta,
    so the tails have slope 1; beta = 0 is l1_loss."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input = _t(input)
    input, target = _broadcast_target(input, _target(target, input))
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction, "smooth_l1_loss")
    a = d.abs()
    loss = _where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size."
    "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
    "'mean' will be changed to behave the same as 'batchmean' in the next major release.")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || q) pointwise for log-probabilities input = log q:
    target (log target - input), with 0 log 0 = 0 (log_target=False), or
    e^target (target - input) for log-probability targets (log_target=True).
    reduction 'batchmean' (sum / batch size) is the true KL divergence; 'mean' averages over
    every element and warns, as torch."""
    input = _t(input)
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce, stacklevel=3)
    elif reduction == "mean":
        warnings.warn(_KL_MEAN_WARNING, stacklevel=2)
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    target = _target(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # t log t, 0 where t = 0: log sees 1 there, so its gradient stays finite
        with np.errstate(divide="ignore", invalid="ignore"):
            xlogx = target * _where(target != 0, target, 1.0).log()
        loss = (target * input) * -1.0 + xlogx
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction, "kl_div")


@_torch_node("BinaryCrossEntropyBackward0", 2)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w [t log x + (1 - t) log(1 - x)], each log clamped below at -100, reduced (PyTorch).

    input holds probabilities in [0, 1]; for raw scores use binary_cross_entropy_with_logits.
    The gradient is PyTorch's, not the derivative of the clamped logs:
    d/dx = w (x - t) / max(x (1 - x), 1e-12), so at x = 0 with t = 1 it is -1e12 (not 0), at
    x = 0 with t = 0 it is 0, and no |gradient| exceeds 1e12 w. d/dt = w (log(1 - x) - log x),
    unclamped (inf at x = 0)."""
    input = _t(input)
    target = _target(target, input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    _check_values(_not_probabilities, _probabilities_error, input)
    loss = OPS["binary_cross_entropy"](input, target)
    if weight is not None:
        loss = loss * _const_or_tensor(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy")


def _const_or_tensor(w, like):
    return w if isinstance(w, Tensor) else _const(w, like)


@_torch_node("BinaryCrossEntropyWithLogitsBackward0", 2)
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(x) computed from the logit x without forming sigmoid:
    (1 - t) x + (1 + (pw - 1) t) softplus(-x), which is
    softplus(x) - t x when pos_weight pw is None. Stable for any |x|."""
    input = _t(input)
    target = _target(target, input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if pos_weight is None:
        loss = _softplus(input) - target * input
    else:
        pw = _const_or_tensor(pos_weight, input)
        loss = (1.0 - target) * input + (1.0 + (pw - 1.0) * target) * _softplus(-input)
    if weight is not None:
        loss = loss * _const_or_tensor(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _not_probabilities(x):
    return bool(x.size) and not (x.min() >= 0.0 and x.max() <= 1.0)


def _probabilities_error(x):
    return _InputError(
        f"all elements of input should be between 0 and 1: binary_cross_entropy takes "
        f"probabilities in [0, 1], got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]; "
        f"apply sigmoid first, or use binary_cross_entropy_with_logits on raw scores")


def _bad_targets(t, n_classes, ignore_index):
    bad = (t < 0) | (t >= n_classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    return bad


def _targets_outside(t, n_classes, ignore_index):
    return bool(np.any(_bad_targets(t, n_classes, ignore_index)))


def _targets_error(t, n_classes, ignore_index, fn):
    bad = _bad_targets(t, n_classes, ignore_index)
    return IndexError(f"{fn}: target {int(t[bad].flat[0])} is out of bounds for {n_classes} "
                      f"classes")


def _class_targets(target, input, fn, ignore_index):
    """Integer class targets checked against input (N, C, d1, ...) or (C,): their array
    (float labels like 3.0 made integers) and the number of classes."""
    t = np.asarray(target._data if isinstance(target, Node) else target)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and t.size and np.all(t == np.round(t)) and t.shape != input.shape:
            t = t.astype(np.int64)          # float-typed labels like 3.0 are accepted
        else:
            raise TypeError(f"{fn}: class targets must be integers, got dtype {t.dtype} (for "
                            f"probability targets give a float array of the input's shape "
                            f"{tuple(input.shape)})")
    if input.ndim == 1:
        expected = ()
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
    if t.shape != expected:
        raise ValueError(f"{fn}: input of shape {tuple(input.shape)} needs class targets of shape "
                         f"{expected}, got shape {tuple(t.shape)}")
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    # a check of each call's targets (an op while autograd.compile traces)
    options = dict(n_classes=n_classes, ignore_index=ignore_index)
    _check_values(functools.partial(_targets_outside, **options),
                  functools.partial(_targets_error, **options, fn=fn),
                  target if isinstance(target, Node) and target._data.dtype.kind in "iu" else t)
    return t, n_classes


def _pick_mask(target, n_classes, weight, ignore_index, input):
    """M shaped like input with M[n, c, ...] = w[c] where c == t[n, ...] and t[n, ...] is not
    ignored, else 0: then -sum_c(M * logp) is each element's weighted NLL. A dense mask and a
    multiply instead of fancy indexing: backward is a multiply too.

    Made from the (checked) target Tensor by comparing it with the classes, a recorded op, so
    autograd.compile follows each call's targets. An ignored class gets weight 0 (no target
    that counts is ignore_index), and an ignored index outside the classes matches none.
    Returns M (input's dtype), the sum of the weights w[t] of the targets that count (the
    denominator of 'mean'; exact: an integer count, or float64 sums) and the class axis."""
    cls_axis = 0 if input.ndim == 1 else 1
    shape = [1] * input.ndim
    shape[cls_axis] = n_classes
    onehot = target.unsqueeze(cls_axis) == np.arange(n_classes).reshape(shape)
    ignored_class = ignore_index is not None and 0 <= ignore_index < n_classes
    weighted = onehot.astype(np.float64)
    if weight is None and not ignored_class:        # every weight 1: the count of targets
        return weighted.astype(input.dtype), weighted.sum(), cls_axis
    if isinstance(weight, Node):
        w = _weight_of(weight, n_classes, np.float64)       # ops: read at each call
        if ignored_class:
            w = w * (np.arange(n_classes) != ignore_index)
    else:
        w = np.ones(n_classes) if weight is None else _class_weight(weight, n_classes).copy()
        if ignored_class:
            w[ignore_index] = 0.0
    weighted = weighted * w.reshape(shape)
    # summed per element first, then over elements: the order of sum(w[t]) over the targets
    return weighted.astype(input.dtype), weighted.sum(cls_axis).sum(), cls_axis


def _ratio(number, denom):
    """number / denom for a float64 Tensor denom with no gradient, one rounding as with Python
    floats, recorded (Tensor division takes a constant's reciprocal unrecorded, so
    autograd.compile would freeze it); inf for denom = 0."""
    with np.errstate(divide="ignore"):
        return _no_grad(np.divide, np.float64(number), denom)


def _mean_of(total, weight_sum):
    """total / weight_sum for the sum of the weights (no gradient), as dividing by a
    Python number does: total times the reciprocal of weight_sum in total's dtype, recorded;
    nan when every target is ignored (0 / 0, as torch)."""
    with np.errstate(divide="ignore"):
        return total * _no_grad(np.reciprocal, weight_sum.astype(total.dtype))


def _weight_of(weight, n_classes, dtype):
    """Class weights as a Tensor of `dtype` without a gradient: a tensor's through ops on it
    (x.detach(), a cast), so that a compiled function reads them at each call."""
    _class_weight(weight, n_classes)                        # the shape's check
    if isinstance(weight, Node):
        return weight.detach().astype(dtype)
    return Tensor(np.asarray(weight, dtype=dtype))


def _class_weight(weight, n_classes):
    w = np.asarray(weight._data if isinstance(weight, Node) else weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"class weight must have shape ({n_classes},), got {tuple(w.shape)}")
    return w


@_torch_node("NllLossBackward0", 1)
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """-w[t] * input[n, t[n]] for log-probabilities input (N, C, d1, ...) or (C,) and integer
    targets; 'mean' divides by the sum of the weights of the non-ignored targets (PyTorch)."""
    input = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    if input.ndim == 0:
        raise ValueError("nll_loss: input must have a class dimension, got a 0-d tensor")
    t, n_classes = _class_targets(target, input, "nll_loss", ignore_index)
    target = target if isinstance(target, Tensor) else Tensor(t)
    mask, weight_sum, cls_axis = _pick_mask(target, n_classes, weight, ignore_index, input)
    loss = -(input * mask).sum(cls_axis)
    if reduction == "mean":
        return _mean_of(loss.sum(), weight_sum)
    return _reduce(loss, reduction, "nll_loss")


_CROSS_ENTROPY = OPS["cross_entropy"]


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy from logits: log_softmax over the class dim (1, or 0 for a 1-D input),
    then either nll_loss for integer class targets, or -sum_c w_c t_c log p_c for
    probability (e.g. one-hot) targets of the input's shape, whose 'mean' divides by the number
    of elements (as PyTorch). label_smoothing eps mixes the targets with the uniform
    distribution: t' = (1 - eps) t + eps / C."""
    input = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    in_shape = input._data.shape
    if not in_shape:
        raise ValueError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    cls_axis = 0 if len(in_shape) == 1 else 1
    n_classes = in_shape[cls_axis]
    tarr = target._data if isinstance(target, Node) else np.asarray(target)
    kind = tarr.dtype.kind
    probs = kind == "f" and tarr.shape == in_shape
    if isinstance(target, Tensor) and kind == "f" and not probs:
        # torch's error: a float Tensor is class probabilities only in the input's shape.
        # (tapegrad still takes float class labels like 3.0 from numpy arrays and lists.)
        names = {2: "Half", 4: "Float", 8: "Double"}
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{names.get(tarr.dtype.itemsize, str(tarr.dtype))}")
    if len(in_shape) == 2 and not probs and not label_smoothing and \
            not isinstance(weight, Node):
        # the common case, (N, C) logits and class indices: one fused node of the op table
        # (class weights given as a tensor take the ops below, which read them at each call
        # of a compiled function; the row keeps its weights as constants)
        if kind not in "iu" or tarr.shape != in_shape[:1]:
            tarr, _ = _class_targets(tarr, input, "cross_entropy", ignore_index)
            target = None
        if weight is not None:
            weight = _class_weight(weight, n_classes)
        if not isinstance(target, Tensor):      # the targets are an input of the row
            target = Tensor._node(np.asarray(tarr))
        return _CROSS_ENTROPY(input, target, ctx=CrossEntropy(weight, ignore_index, reduction))
    logp = log_softmax(input, cls_axis)
    shape = [1] * input.ndim
    shape[cls_axis] = n_classes
    w = None if weight is None else _weight_of(weight, n_classes, input.dtype).reshape(shape)
    if probs:
        t = target if isinstance(target, Tensor) else _const(tarr, input)
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / n_classes
        terms = logp * t if w is None else logp * t * w
        return _reduce(-terms.sum(cls_axis), reduction, "cross_entropy")
    t, _ = _class_targets(tarr, input, "cross_entropy", ignore_index)
    target = target if isinstance(target, Tensor) else Tensor(t)
    mask, weight_sum, _ = _pick_mask(target, n_classes, weight, ignore_index, input)
    loss = -(logp * mask).sum(cls_axis)
    if label_smoothing:
        # PyTorch: (1 - eps) nll + eps * smooth, smooth = -sum_c w_c log p_c / C per element
        wv = np.ones(shape, dtype=input.dtype) if w is None else w
        valid = (target != ignore_index).unsqueeze(cls_axis).astype(input.dtype)
        smooth = -(logp * (valid * wv)).sum(cls_axis) * (1.0 / n_classes)
        if reduction == "mean":
            return loss.sum() * _ratio(1.0 - label_smoothing, weight_sum).astype(input.dtype) \
                + smooth.sum() * _ratio(label_smoothing, weight_sum).astype(input.dtype)
        loss = loss * (1.0 - label_smoothing) + smooth * label_smoothing
        return _reduce(loss, reduction, "cross_entropy")
    if reduction == "mean":
        return _mean_of(loss.sum(), weight_sum)
    return _reduce(loss, reduction, "cross_entropy")


def hinge_loss(input, target, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge (PyTorch's multi_margin_loss with p=1): for scores x (N, C) or (C,)
    and class targets y, loss_n = sum_{i != y} max(0, margin - x[y] + x[i]) / C, each term
    scaled by weight[y] if given. Use hinge_embedding_loss for +1/-1 pair labels."""
    return _multi_margin(input, target, 1, margin, weight, reduction, "hinge_loss")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """loss_n = sum_{i != y} max(0, margin - x[y] + x[i])^p / C for scores x (N, C) or (C,)
    and class targets y, p = 1 or 2, each term scaled by weight[y] if given (torch)."""
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    reduction = _reduction_of(size_average, reduce, reduction)
    return _multi_margin(input, target, p, margin, weight, reduction, "multi_margin_loss")


def _multi_margin(input, target, p, margin, weight, reduction, fn):
    input = _t(input)
    _check_reduction(reduction, fn)
    if input.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must be (N, C) or (C,), got shape {tuple(input.shape)}")
    t, n_classes = _class_targets(target, input, fn, ignore_index=None)
    target = target if isinstance(target, Tensor) else Tensor(t)
    cls_axis = input.ndim - 1
    picked = target.unsqueeze(cls_axis) == np.arange(n_classes)       # one-hot, bool
    onehot = picked.astype(input.dtype)
    x_y = (input * onehot).sum(cls_axis, keepdims=True)
    terms = (margin - x_y + input).relu()
    if p == 2:
        terms = terms * terms
    terms = terms * (1.0 - onehot)
    if weight is not None:
        w = Tensor(_const(weight, input))
        terms = terms * _where(picked, w, 0.0).sum(cls_axis, keepdims=True)      # w[y]
    loss = terms.sum(cls_axis) * (1.0 / n_classes)
    return _reduce(loss, reduction, fn)


hinge = hinge_loss          # the short name the multi-class SVM issue asks for


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where t = 1, max(0, margin - x) where t = -1 (PyTorch's hinge_embedding_loss)."""
    input = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "hinge_embedding_loss")
    t = np.asarray(target._data if isinstance(target, Node) else target)
    if t.shape != input.shape:
        raise ValueError(f"hinge_embedding_loss: input has shape {tuple(input.shape)} but "
                         f"target has shape {t.shape}")
    if not np.all((t == 1) | (t == -1)):
        raise ValueError("hinge_embedding_loss: target values must be 1 or -1")
    pos = (_target_tensor(target) == 1).astype(input.dtype)
    loss = input * pos + (margin - input).relu() * (1.0 - pos)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def _target_tensor(target):
    """The targets as a Tensor (an array or a list becomes a constant one): masks are made from
    it by comparisons, recorded ops, so autograd.compile follows each call's targets."""
    return target if isinstance(target, Tensor) else Tensor(np.asarray(target))


def _sign_targets(target, shape, fn):
    """Labels y (1 or -1) that broadcast against inputs of `shape`, as a Tensor."""
    t = _data(target)
    if t.shape != shape and t.size != 1:
        try:
            np.broadcast_shapes(t.shape, shape)
        except ValueError:
            raise _InputError(f"{fn}: target of shape {t.shape} does not match inputs of shape "
                              f"{shape}") from None
    return _target_tensor(target)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin) for labels y = 1 (x1 should rank higher) or -1."""
    x1, x2 = _expand_pair(_t(input1), _t(input2))
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "margin_ranking_loss")
    y = _sign_targets(target, x1.shape, "margin_ranking_loss")
    # -y a constant of x1's dtype: the labels take no gradient
    loss = ((x1 - x2) * _no_grad(np.negative, y).astype(x1.dtype) + margin).relu()
    return _reduce(loss, reduction, "margin_ranking_loss")


_COSINE_EMBEDDING_EPS = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - margin) for y = -1, cos along the last
    dim with torch's form x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))."""
    x1, x2 = _t(input1), _t(input2)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "cosine_embedding_loss")
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise _InputError(f"cosine_embedding_loss: inputs must be two (N, D) or (D,) tensors "
                          f"of the same shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    dim = x1.ndim - 1
    dot = (x1 * x2).sum(dim)
    mag = ((x1 * x1).sum(dim) + _COSINE_EMBEDDING_EPS) * ((x2 * x2).sum(dim) +
                                                        _COSINE_EMBEDDING_EPS)
    cos = dot / mag.sqrt()
    y = _sign_targets(target, cos.shape, "cosine_embedding_loss")
    np.broadcast_to(y._data, cos.shape)         # numpy's ValueError if y has more dims
    loss = _where(y == 1, 1.0 - cos, 0.0) + _where(y == -1, (cos - margin).relu(), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise_distance (p-norm, eps added);
    swap uses min(d(a, n), d(p, n)) as the negative distance (Balntas et al. 2016)."""
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction, "triplet_margin_loss")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_pos - d_neg + margin).relu(), reduction, "triplet_margin_loss")


# ---------------------------------------------------------------------------------------------
# soft-margin, Poisson, Gaussian and multi-label losses; triplets with any distance
def _check_reduction_as_torch(reduction, message):
    if reduction not in _REDUCTIONS:
        raise ValueError(message.format(reduction))


@_torch_node("SoftMarginLossBackward0", 2)
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + e^(-y x)) for labels y (1 or -1), reduced; gradient -y sigmoid(-y x). Computed
    as softplus(-y x), finite for any x where torch's log1p(exp(-y x)) overflows to inf
    (-y x past ~88 in float32, ~709 in float64). A target that requires grad is torch's error
    (with grad enabled): torch has no gradient for it."""
    x = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction_as_torch(reduction, "{} is not a valid value for reduction")
    if isinstance(target, Tensor) and target.requires_grad and _is_grad_enabled():
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect "
                           "to argument 'target'. This input cannot have requires_grad True.")
    y = _target(target, x)
    _broadcast_shapes(x.shape, y.shape)
    if np.broadcast_shapes(x.shape, y.shape) != x.shape:
        raise _InputError(f"output with shape {list(x.shape)} doesn't match the broadcast shape "
                          f"{list(np.broadcast_shapes(x.shape, y.shape))}")
    return _reduce(_softplus(-(x * y)), reduction, "soft_margin_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of targets t ~ Poisson(rate), without log(t!):
    e^x - t x for log-rates x (log_input=True), x - t log(x + eps) for rates x otherwise.
    full adds Stirling's approximation of log(t!), t log t - t + log(2 pi t) / 2, where t > 1
    (0 for t <= 1). As torch's composite, so gradients follow it (for the target too)."""
    x = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction_as_torch(reduction, "{} is not a valid value for reduction")
    t = _target(target, x)
    if log_input:
        loss = x.exp() - t * x
    else:
        loss = x - t * (x + eps).log()
    if full:
        # t log t and log(2 pi t) are -inf or nan at t <= 0, masked as torch's masked_fill
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + _where(t <= 1, 0.0, stirling)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log max(var, eps) + (x - t)^2 / max(var, eps)) / 2, plus log(2 pi) / 2 if full.
    var: a number, one variance per element of input, or fewer (homoscedastic): input's shape
    without its last dim, or input's shape but one dim of size 1 (torch's rules; otherwise
    ValueError). As torch, var is clamped at eps in value only: its gradient is
    (1 / v - (x - t)^2 / v^2) / 2 with v = max(var, eps), also where var < eps."""
    x = _t(input)
    if isinstance(var, (float, int)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor(np.full(x.shape, var, dtype=x.dtype))
    else:
        var = _t(var)
        if np.any(_data(var) < 0):
            raise ValueError("var has negative entry/entries")
    if var.shape != x.shape:
        if x.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (x.ndim == var.ndim and
                  sum(v for n, v in zip(x.shape, var.shape) if n != v) == 1):
            raise ValueError("var is of incorrect size")
    _check_reduction_as_torch(reduction, "{} is not valid")
    clamped = var.detach().clamp(min=eps)
    if var.requires_grad:
        # the clamped value with the gradient of var itself (0 + clamped is exactly clamped)
        clamped = (var - var.detach()) + clamped
    d = x - _target(target, x)
    loss = (clamped.log() + d * d / clamped) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)), weighted, averaged over the classes
    (the last dim), then reduced over the samples; targets t are 0 or 1 per class."""
    x = _t(input)
    if x.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    reduction = _reduction_of(size_average, reduce, reduction)
    t = _target(target, x)
    loss = -(t * logsigmoid(x) + (1.0 - t) * logsigmoid(-x))
    if weight is not None:
        loss = loss * _const_or_tensor(weight, x)
    loss = loss.sum(x.ndim - 1) * (1.0 / x.shape[-1])
    _check_reduction_as_torch(reduction, "{} is not valid")
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def _multilabel_slots(target, n_classes):
    """For targets (N, C) of class indices padded with -1 (torch's layout): each slot's one-hot
    over the classes, (N, C slots, C classes), zero from a sample's first negative slot on, as
    a float64 Tensor made by ops (comparisons, a cumulative product), so that
    autograd.compile follows each call's targets."""
    counts = _no_grad(np.cumprod, target >= 0, axis=-1)         # 1 up to the first negative
    classes = np.arange(n_classes)
    onehot = (target.unsqueeze(-1) == classes).astype(np.float64)
    return onehot * counts.astype(np.float64).unsqueeze(-1)


@_torch_node("MultilabelMarginLossBackward0", 1)
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C for
    scores x (N, C) or (C,) and integer targets of the same shape: each sample's class indices
    first, then -1 (the indices after the first -1 are ignored). A class listed twice counts
    twice (torch's loop)."""
    x = _t(input)
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_reduction_as_torch(reduction, "{} is not a valid value for reduction")
    tdata = _data(target)
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise _InputError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                          f"but got: {list(x.shape)}")
    n_classes = x.shape[-1] if x.ndim else 1
    if x.ndim <= 1:
        fits = tdata.ndim <= 1 and tdata.size == n_classes
    else:
        fits = tdata.shape == x.shape
    if not fits:
        raise _InputError(f"inconsistent target size: {list(tdata.shape)} for input of size: "
                          f"{list(x.shape)}")
    if tdata.dtype != np.int64:
        raise _InputError(f"expected scalar type Long but found "
                          f"{_TORCH_DTYPE_NAMES.get(tdata.dtype.name, tdata.dtype.name)}")
    if tdata.size and (tdata.min() < -1 or tdata.max() >= n_classes):
        raise _InputError("argument #2 'target' is out of range")
    scores = x.reshape(-1, n_classes)
    slots = _multilabel_slots(_target_tensor(target).reshape(-1, n_classes), n_classes)
    slots = slots.astype(x.dtype)
    is_target = _no_grad(np.minimum, slots.sum(1), 1.0)                 # (N, C) 0 or 1
    picked = (scores.unsqueeze(1) * slots).sum(-1)                      # x[t_k]: (N, slots)
    # margins[n, k, i] = 1 - x[t_k] + x[i], counted for listed slots k and non-target i
    margins = (1.0 - picked.unsqueeze(-1) + scores.unsqueeze(1)).relu()
    counted = slots.sum(-1).unsqueeze(-1) * (1.0 - is_target).unsqueeze(1)
    loss = (margins * counted).sum((1, 2)) * (1.0 / n_classes)
    if x.ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction, "multilabel_margin_loss")


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) for any distance d (a function of two Tensors;
    default pairwise_distance); swap takes min(d(a, n), d(p, n)) as the negative distance.
    The gradient at max's kink is 1 (torch's clamp_min)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    if not a.ndim == pos.ndim == neg.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a.ndim}D, "
                           f"positive {pos.ndim}D, and negative {neg.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(a, pos)
    d_neg = distance(a, neg)
    if swap:
        d_neg = d_neg.minimum(distance(pos, neg))
    return _reduce((d_pos - d_neg + margin).clamp(min=0.0), reduction,
                   "triplet_margin_with_distance_loss")


def _param_list(params, fn):
    # a Module, or anything else with parameters() (the scalar nn.MLP/Layer/Neuron)
    if not isinstance(params, Node) and callable(getattr(params, "parameters", None)):
        params = params.parameters()
    elif isinstance(params, Node):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{fn}: got no parameters")
    return params


def _penalty(params, fn, term):
    """sum over parameters of term(p), summed over p's elements when p is a Tensor: a Value
    for scalar Value parameters (micrograd-style MLPs), a 0-d Tensor for Tensors."""
    total = None
    for p in _param_list(params, fn):
        t = term(p)
        if isinstance(t, Tensor):
            t = t.sum()
        total = t if total is None else total + t
    return total


def l1_penalty(params):
    """sum over parameters of sum |p| (the lasso term; multiply by your lambda). `params` is a
    Module (or scalar nn.MLP), a Tensor, a Value, or an iterable of Tensors or of Values (then
    the result is a Value)."""
    return _penalty(params, "l1_penalty", lambda p: p.abs())


def l2_penalty(params):
    """sum over parameters of sum p^2 (the ridge term, without a 1/2; multiply by your
    lambda). Adding lambda * l2_penalty to the loss adds 2 lambda p to each gradient.
    `params` as for l1_penalty."""
    return _penalty(params, "l2_penalty", lambda p: p * p)


__all__ = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "step", "hardtanh", "hardsigmoid",
           "hardswish", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
           "logsigmoid", "prelu", "softmax", "softmin", "log_softmax", "logsumexp", "dropout",
           "dropout1d", "dropout2d", "linear", "pad", "conv1d", "conv2d", "conv3d", "max_pool1d",
           "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "normalize", "cosine_similarity", "pairwise_distance",
           "one_hot", "conv_transpose1d", "conv_transpose2d", "interpolate", "mse_loss",
           "l1_loss", "huber_loss", "smooth_l1_loss", "kl_div",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "nll_loss", "hinge_loss", "hinge", "multi_margin_loss", "hinge_embedding_loss",
           "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss", "l1_penalty",
           "l2_penalty"]
__all__ += ["glu", "hardshrink", "softshrink", "tanhshrink", "threshold", "rrelu", "relu_",
            "leaky_relu_", "hardtanh_", "elu_", "selu_", "celu_", "threshold_", "rrelu_",
            "soft_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
            "multilabel_soft_margin_loss", "multilabel_margin_loss",
            "triplet_margin_with_distance_loss"]
