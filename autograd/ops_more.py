"""More rows of the op table: erf (for GELU) and expm1 (for ELU, SELU, CELU).

Same conventions as the other row files: `array(ctx, *ins)` forward, one
`vjp(xp, g, out, ctx, *ins)` per input written with arithmetic and `xp.*` (so that it also runs
on recorded nodes). Both have a float forward too (math.erf, math.expm1).
"""
import math

import numpy as np

from .optable import REAL, Op


# erf -------------------------------------------------------------------------------------------
# numpy has no erf, and math.erf element by element (np.frompyfunc) costs 110 ns an element.
# This one is vectorized: 48 ns an element on 2**20 float64 normals, 3 ulp at most from math.erf
# (tests/test_ops_more.py sweeps 400001 points of [-7, 7] and 8000 from 1e-310 to 10;
# 2 million points were checked once, with the same bound).
#   |x| < 1/2:      x * sum_n c_n x^(2n), the Taylor series, 14 terms (the last is < 1e-18);
#   1/2 <= |x| < 6: 1 - erfc(x), erfc interpolated on 22 intervals of width 1/4 by polynomials of
#                   degree 12 through its values (math.erfc) at Chebyshev nodes, made at import;
#                   erfc rather than erf because its small values keep the sum's rounding small;
#   |x| >= 6:       +-1 (erfc(6) = 2e-17 is below half an ulp of 1).
_TAYLOR = np.array([2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                    for n in range(14)])[::-1]
_LO, _HI, _WIDTH, _DEGREE = 0.5, 6.0, 0.25, 12


def _erfc_pieces():
    """(DEGREE + 1, n_intervals) power-basis coefficients, highest first, of erfc on each
    interval as a polynomial in u in [-1, 1] (u = -1 at its left end)."""
    n = round((_HI - _LO) / _WIDTH)
    nodes = np.cos(np.pi * (np.arange(_DEGREE + 1) + 0.5) / (_DEGREE + 1))
    out = np.empty((_DEGREE + 1, n))
    for i in range(n):
        xs = _LO + i * _WIDTH + (nodes + 1.0) * (_WIDTH / 2)
        cheb = np.polynomial.chebyshev.chebfit(nodes, [math.erfc(x) for x in xs], _DEGREE)
        out[:, i] = np.polynomial.chebyshev.cheb2poly(cheb)[::-1]
    return out


_ERFC_PIECES = _erfc_pieces()


def _np_erf(x):
    """erf of a float array, computed in float64 and returned in x's dtype; nan stays nan,
    erf(+-inf) = +-1, erf(-0.0) = -0.0."""
    x = np.asarray(x)
    a = np.abs(x, dtype=np.float64)
    out = np.empty(a.shape)
    small = a < _LO
    if small.any():
        xs = a[small]
        t = xs * xs
        acc = np.full(t.shape, _TAYLOR[0])
        for c in _TAYLOR[1:]:
            acc *= t
            acc += c
        out[small] = np.copysign(acc * xs, x[small])
    big = ~small
    if big.any():
        ab = a[big]
        # fmin: an inf or a nan lands on the last interval (their results are set below)
        k = np.fmin((ab - _LO) * (1.0 / _WIDTH), _ERFC_PIECES.shape[1] - 0.5)
        i = k.astype(np.intp)
        u = 2.0 * (k - i) - 1.0
        acc = _ERFC_PIECES[0].take(i)
        for coefficients in _ERFC_PIECES[1:]:
            acc *= u
            acc += coefficients.take(i)
        erf = np.where(ab >= _HI, 1.0, 1.0 - acc)
        erf[np.isnan(ab)] = np.nan
        out[big] = np.copysign(erf, x[big])
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_vjp(xp, g, out, ctx, a):
    # d erf(a) / da = 2 / sqrt(pi) e^(-a^2)
    return g * (_TWO_OVER_SQRT_PI * xp.exp(-(a * a)))


ERF = Op("erf", formula="2 / sqrt(pi) int_0^a e^(-t^2) dt; d/da = 2 / sqrt(pi) e^(-a^2)",
         scalar=lambda c, a: math.erf(a), array=lambda c, a: _np_erf(a), vjps=(_erf_vjp,),
         domains=(REAL,))


# expm1 -----------------------------------------------------------------------------------------
# e^a - 1 without the cancellation of exp(a) - 1 near 0 (at a = -1e-10 that loses 8 digits):
# what torch's elu, selu and celu compute their negative side with.
def _expm1_vjp(xp, g, out, ctx, a):
    # d/da (e^a - 1) = e^a = out + 1, torch's formula
    return g * (out + 1.0)


EXPM1 = Op("expm1", formula="e^a - 1, exact near 0; d/da = e^a",
           scalar=lambda c, a: _f_expm1(a), array=lambda c, a: np.expm1(a),
           vjps=(_expm1_vjp,), domains=(REAL,))


def _f_expm1(a):
    try:
        return math.expm1(a)
    except OverflowError:
        return math.inf


ROWS = (ERF, EXPM1)
