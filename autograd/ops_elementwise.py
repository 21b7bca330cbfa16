"""Rows of the op table that Value and Tensor share: the elementwise primitives.

Each row: the forward on floats and on arrays, one VJP per input (g times the local derivative,
written with `xp.*` so that it runs on floats, arrays and recorded nodes), where tests sample
its inputs, and its maths. Subtraction, division and negation are not rows: they are built
from add, mul and pow (a - b = a + b * -1, a / b = a * b ** -1).
"""
import math

import numpy as np

from .backends import f_exp, f_log, f_pow, f_sigmoid, f_sqrt
from .optable import POSITIVE, REAL, Domain, Op


def identity_vjp(xp, g, out, ctx, *inputs):
    """d out / d input = 1: the gradient passes unchanged (add, reshapes of the gradient)."""
    return g


ADD = Op("add", symbol="+", formula="a + b; d/da = d/db = 1",
         scalar=lambda c, a, b: a + b, array=lambda c, a, b: a + b,
         vjps=(identity_vjp, identity_vjp), domains=(REAL, REAL))

MUL = Op("mul", symbol="*", formula="a * b; d/da = b, d/db = a",
         scalar=lambda c, a, b: a * b, array=lambda c, a, b: a * b,
         vjps=(lambda xp, g, out, c, a, b: g * b,
               lambda xp, g, out, c, a, b: g * a),
         domains=(REAL, REAL))


def _pow_dbase(xp, g, out, ctx, a, b):
    # d/da a^b = b a^(b-1); PyTorch defines it as 0 where b == 0 (even at a == 0)
    return g * xp.where(xp.data(b) == 0, 0.0, b * xp.pow(a, b - 1.0))


def _pow_dexp(xp, g, out, ctx, a, b):
    # d/db a^b = a^b ln a; PyTorch defines it as 0 where a == 0 and b >= 0
    ad, bd = xp.data(a), xp.data(b)
    return g * xp.where((ad == 0) & (bd >= 0), 0.0, out * xp.log(a))


POW = Op("pow", symbol="**", formula="a ** b; d/da = b a^(b-1), d/db = a^b ln a",
         scalar=lambda c, a, b: f_pow(a, b), array=lambda c, a, b: np.power(a, b),
         vjps=(_pow_dbase, _pow_dexp), domains=(POSITIVE, Domain(-2.0, 2.0)))

EXP = Op("exp", formula="e^a; d/da = e^a",
         scalar=lambda c, a: f_exp(a), array=lambda c, a: np.exp(a),
         vjps=(lambda xp, g, out, c, a: g * out,), domains=(REAL,))

LOG = Op("log", formula="ln a; -inf at 0; d/da = 1 / a",
         scalar=lambda c, a: f_log(a), array=lambda c, a: np.log(a),
         vjps=(lambda xp, g, out, c, a: g * xp.reciprocal(a),), domains=(POSITIVE,))

TANH = Op("tanh", formula="tanh a; d/da = 1 - tanh^2 a",
          scalar=lambda c, a: math.tanh(a), array=lambda c, a: np.tanh(a),
          vjps=(lambda xp, g, out, c, a: g * (1.0 - out * out),), domains=(REAL,))


def _array_sigmoid(ctx, a):
    """1 / (1 + e^-a) in place in one buffer; out=: stays an array when a is 0-d. Where e^-a
    overflows (a < -88 in float32) the result is 0, the nearest float to the true value."""
    if not isinstance(a, (np.ndarray, np.generic)):
        # autograd.compile writing code: its lines could not keep the errstate below (a
        # compiled sigmoid(-1000) warned, and raised under np.seterr(over="raise")), so the
        # program calls this function by name
        from .source import NoSource
        raise NoSource("an np.errstate")
    t = np.negative(a, out=np.empty_like(a))
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1.0
    return np.reciprocal(t, out=t)


SIGMOID = Op("sigmoid", formula="1 / (1 + e^-a); d/da = s (1 - s). One node instead of four, "
                                "and stable at |a| = 1000",
             scalar=lambda c, a: f_sigmoid(a), array=_array_sigmoid,
             vjps=(lambda xp, g, out, c, a: g * (out * (1.0 - out)),), domains=(REAL,))


def _relu_vjp(xp, g, out, ctx, a):
    # torch's rule, out <= 0 ? 0 : g, read as out != 0 (out is >= 0 or nan): gradient 0 at
    # a == 0, and g passes at a nan input
    return xp.mask(g, xp.data(out) != 0)


def _relu_array_fast(ctx, a, out=None):
    """max(a, 0) against a cached read-only array of zeros, not the scalar 0: numpy takes a
    plain (not SIMD) loop when an operand of maximum is a broadcast scalar (11.8 us against 3.2
    on a (64, 128) float32 array, 12% of a small-MLP step). Past _ZEROS_MAX elements one row of
    zeros is broadcast down the rows, as fast there and holding no memory. out=: written
    there (Tensor.relu_ passes a itself: Tensor._in_place_row)."""
    if a.dtype.kind != "f":
        return np.maximum(a, 0, out=out)
    return np.maximum(a, _zeros(a.shape if a.size <= _ZEROS_MAX else a.shape[-1:], a.dtype),
                      out=out)


_ZEROS_MAX = 1 << 16


def _zeros(shape, dtype, cache={}):
    key = (shape, dtype)
    out = cache.get(key)
    if out is None:
        if len(cache) > 64:
            cache.clear()
        out = cache[key] = np.zeros(shape, dtype=dtype)
        out.flags.writeable = False
    return out


RELU = Op("relu", formula="max(a, 0); d/da = 1 for a > 0, 0 for a <= 0 (0 at the kink)",
          scalar=lambda c, a: 0.0 if a <= 0.0 else a,         # nan stays nan, as in torch
          array=lambda c, a: np.maximum(a, 0),
          vjps=(_relu_vjp,), domains=(Domain(kinks=(0.0,)),),
          fast_array=_relu_array_fast)


def _leaky_vjp(xp, g, out, ctx, a):
    # the slope applies at a == 0 too, as in PyTorch (a > 0 ? g : g * slope)
    return xp.where(xp.data(a) > 0, g, g * ctx)


def _unit_slope(slope):
    """True for a Python number slope in (0, 1]: leaky_relu's max forms hold exactly."""
    return isinstance(slope, (float, int)) and 0.0 < slope <= 1.0


def _leaky_array(ctx, a):
    return np.where(a > 0, a, a * ctx).astype(a.dtype, copy=False)


def _leaky_array_fast(ctx, a):
    """For 0 < slope <= 1, a if a > 0 else slope a is exactly max(a, slope a), -0.0, infs and
    nan included: 6.3 us against 37.6 for np.where's select on a (64, 128) float32 array.
    (slope 0 would make inf * 0 a nan; a slope past 1 flips the max to a min.)"""
    if _unit_slope(ctx) and a.dtype.kind == "f":
        return np.maximum(a, a * float(ctx))     # float: a numpy float64 slope would upcast
    return _leaky_array(ctx, a)


def _leaky_vjp_fast(xp, g, out, ctx, a):
    """g max(mask, slope), a factor of exactly 1 or slope: 12 us against 37 for the select."""
    if not _unit_slope(ctx):
        return _leaky_vjp(xp, g, out, ctx, a)
    return g * np.maximum((a > 0).astype(g.dtype), np.asarray(float(ctx), dtype=g.dtype))


LEAKY_RELU = Op("leaky_relu", formula="a if a > 0 else slope * a (ctx = slope); "
                                      "d/da = 1 for a > 0, slope for a <= 0",
                scalar=lambda c, a: a if a > 0.0 else a * c, array=_leaky_array,
                vjps=(_leaky_vjp,), domains=(Domain(kinks=(0.0,)),),
                examples=[(0.01, ((),)), (0.2, ((3,),)), (0.1, ((2, 3),))],
                fast_array=_leaky_array_fast, fast_vjps=(_leaky_vjp_fast,))

SQRT = Op("sqrt", formula="a ** 0.5; d/da = 1 / (2 sqrt a), inf at 0",
          scalar=lambda c, a: f_sqrt(a), array=lambda c, a: np.sqrt(a),
          vjps=(lambda xp, g, out, c, a: g * (0.5 * xp.reciprocal(out)),), domains=(POSITIVE,))

ABS = Op("abs", formula="|a|; d/da = sign a, 0 at 0",
         scalar=lambda c, a: abs(a), array=lambda c, a: np.abs(a),
         vjps=(lambda xp, g, out, c, a: g * xp.sign(a),), domains=(Domain(kinks=(0.0,)),))

SIN = Op("sin", formula="sin a; d/da = cos a",
         scalar=lambda c, a: math.sin(a), array=lambda c, a: np.sin(a),
         vjps=(lambda xp, g, out, c, a: g * xp.cos(a),), domains=(REAL,))

COS = Op("cos", formula="cos a; d/da = -sin a",
         scalar=lambda c, a: math.cos(a), array=lambda c, a: np.cos(a),
         vjps=(lambda xp, g, out, c, a: -(g * xp.sin(a)),), domains=(REAL,))

ROWS = (ADD, MUL, POW, EXP, LOG, TANH, SIGMOID, RELU, LEAKY_RELU, SQRT, ABS, SIN, COS)
