"""Weight initializers with PyTorch's conventions (`torch.nn.init`).

Each takes a Tensor (or numpy array), overwrites its values in place and returns it. Each random
one draws from one of two sources:
- `generator=`: an `autograd.Generator`; with neither `rng` nor `generator` given, the default
  generator (`autograd.manual_seed`). These draw exactly as torch does, so that
  `autograd.manual_seed(0); nn.Linear(3, 2)` has the weights of
  `torch.manual_seed(0); torch.nn.Linear(3, 2)`.
- `rng=`: a `numpy.random.Generator` or an int seed (numpy's streams, not torch's numbers).
An `autograd.Generator` passed as `rng` (e.g. positionally, torch's place for `generator`) counts
as `generator`.

fan_in and fan_out of a weight of shape (out, in, *kernel) are in * prod(kernel) and
out * prod(kernel) (a Linear weight is (out_features, in_features); a Conv2d weight is
(out_channels, in_channels / groups, kh, kw)).
"""
import math

import numpy as np

from autograd import random as _random
from autograd.engine import Node


def as_rng(rng):
    """A numpy Generator from a Generator (returned as is), a seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(rng).__name__}")


def _rng_or_default(rng):
    """A layer's `rng` argument: None stays None (the layer then draws from autograd's default
    generator, in torch's order), a seed or numpy Generator becomes a numpy Generator."""
    return None if rng is None else as_rng(rng)


def _source(rng, generator, fn):
    """(numpy Generator, None) or (None, autograd Generator or None for the default one)."""
    if isinstance(rng, _random.Generator):
        rng, generator = None, rng if generator is None else generator
    if rng is not None and generator is not None:
        raise TypeError(f"{fn}: pass either rng= (numpy) or generator= (autograd.Generator), "
                        f"not both")
    if rng is not None:
        return as_rng(rng), None
    if generator is not None and not isinstance(generator, _random.Generator):
        raise TypeError(f"{fn}: generator must be an autograd.Generator, got "
                        f"{type(generator).__name__}")
    return None, generator


def _draw(tensor, fill, args, generator, fn):
    """Fill the tensor's array in place as torch's kernel `fill` fills a tensor."""
    arr = _array(tensor, fn)
    if arr.flags.writeable:
        fill(arr, *args, generator=generator)
        return tensor
    values = np.empty(arr.shape, dtype=arr.dtype)
    fill(values, *args, generator=generator)
    return _fill(tensor, values, fn)


def _array(tensor, fn):
    if isinstance(tensor, Node):
        arr = tensor._data
    elif isinstance(tensor, np.ndarray):
        arr = tensor
    else:
        raise TypeError(f"{fn}: expected a Tensor or numpy array, got {type(tensor).__name__}")
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{fn}: expected a Tensor or numpy array, got a scalar "
                        f"{type(tensor).__name__}")
    return arr


def _fill(tensor, values, fn):
    arr = _array(tensor, fn)
    values = np.asarray(values, dtype=arr.dtype)
    if arr.flags.writeable:
        arr[...] = values
    else:                               # e.g. a broadcast view: give the tensor its own array
        tensor._data = np.array(np.broadcast_to(values, arr.shape), dtype=arr.dtype)
    return tensor


def _calculate_fan_in_and_fan_out(tensor):
    shape = _array(tensor, "fan computation").shape
    if len(shape) < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {shape})")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain:
    linear, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu(slope): sqrt(2 / (1 +
    slope^2)), slope 0.01 by default; selu: 3/4."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def uniform_(tensor, a=0.0, b=1.0, rng=None, generator=None):
    """Fill with samples of U(a, b)."""
    rng, generator = _source(rng, generator, "uniform_")
    if rng is None:
        return _draw(tensor, _random._uniform_fill, (a, b), generator, "uniform_")
    arr = _array(tensor, "uniform_")
    return _fill(tensor, rng.uniform(a, b, size=arr.shape), "uniform_")


def normal_(tensor, mean=0.0, std=1.0, rng=None, generator=None):
    """Fill with samples of N(mean, std^2)."""
    rng, generator = _source(rng, generator, "normal_")
    if rng is None:
        return _draw(tensor, _random._normal_fill, (mean, std), generator, "normal_")
    arr = _array(tensor, "normal_")
    return _fill(tensor, rng.normal(mean, std, size=arr.shape), "normal_")


def constant_(tensor, val):
    """Fill with the value val."""
    return _fill(tensor, val, "constant_")


def zeros_(tensor):
    return _fill(tensor, 0.0, "zeros_")


def ones_(tensor):
    return _fill(tensor, 1.0, "ones_")


def xavier_uniform_(tensor, gain=1.0, rng=None, generator=None):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, rng, generator)


def xavier_normal_(tensor, gain=1.0, rng=None, generator=None):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, rng, generator)


def _kaiming_std(tensor, a, mode, nonlinearity, fn):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{fn}: cannot initialize a tensor with a zero-size fan ({mode}) "
                         f"(shape {_array(tensor, fn).shape})")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None,
                     generator=None):
    """He: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
    PyTorch's Linear and Conv default is a = sqrt(5), giving b = 1 / sqrt(fan_in)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None,
                    generator=None):
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(tensor, 0.0, std, rng, generator)


__all__ = ["as_rng", "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def eye_(tensor):
    """The identity matrix (ones where the row equals the column) of a 2-D tensor."""
    arr = _array(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*arr.shape), "eye_")


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix, as torch's: normal samples of shape (rows, cols) with rows
    = shape[0] and cols the rest flattened, Q of their QR decomposition (of the transpose when
    rows < cols), its columns' signs made those of R's diagonal, times gain."""
    arr = _array(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if arr.size == 0:
        return tensor
    rows, cols = arr.shape[0], arr.size // arr.shape[0]
    flat = np.empty((rows, cols), dtype=arr.dtype)
    _random._normal_fill(flat, 0.0, 1.0, generator=generator)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(arr.shape), "orthogonal_")


def _erfinv(y):
    """erf^-1 of y in (-1, 1), in float64: Giles' single-precision approximation refined by
    two Newton steps on erf (autograd's vectorized erf)."""
    from autograd.ops_more import _np_erf
    y = np.asarray(y, dtype=np.float64)
    w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = np.where(small, w - 2.5, np.sqrt(np.maximum(w, 5.0)) - 3.0)
    p_small = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
               -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
    p_big = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
             -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]
    ps, pb = np.full(y.shape, p_small[0]), np.full(y.shape, p_big[0])
    for cs, cb in zip(p_small[1:], p_big[1:]):
        ps = ps * ws + cs
        pb = pb * ws + cb
    x = np.where(small, ps, pb) * y
    for _ in range(2):
        x = x - (_np_erf(x) - y) / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
    return x


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) truncated to [a, b], as torch draws it: uniforms between the normal CDF
    at a and at b, mapped through the inverse CDF (erfinv), then clamped to [a, b]."""
    arr = _array(tensor, "trunc_normal_")

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    lo, hi = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    u = np.empty(arr.shape, dtype=arr.dtype)
    _random._uniform_fill(u, 2 * lo - 1, 2 * hi - 1, generator=generator)
    x = _erfinv(u).astype(arr.dtype)
    x = x * arr.dtype.type(std * math.sqrt(2.0)) + arr.dtype.type(mean)
    return _fill(tensor, np.clip(x, a, b), "trunc_normal_")
