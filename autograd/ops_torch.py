"""Rows of the op table that torch programs need beyond the core: logarithms in other bases,
the piecewise-constant rounding family, products, cumulative sums and einsum.

Same conventions as the other row files: `array(ctx, *ins)` forward, one
`vjp(xp, g, out, ctx, *ins)` per input written with arithmetic and `xp.*`, so that each also
runs on recorded nodes (create_graph). These rows are Tensor-only (no float forward).
"""
import math
import string

import numpy as np

from .ops_tensor import REDUCE_EXAMPLES, SCATTER, kept_shape
from .optable import POSITIVE, REAL, Domain, Op, PerInput

_INV_LN2 = 1.0 / math.log(2.0)
_INV_LN10 = 1.0 / math.log(10.0)

# logarithms ------------------------------------------------------------------------------------
# Rows, not log(a) / ln 2: torch computes log2 and log10 directly, so that log2(8) is exactly 3
# (log(8) * (1 / ln 2) is 2.9999999999999996) and prints as `3.`, not `3.0000`.
LOG2 = Op("log2", formula="log2 a; d/da = 1 / (a ln 2)",
          array=lambda c, a: np.log2(a),
          vjps=(lambda xp, g, out, c, a: g * (xp.reciprocal(a) * _INV_LN2),), domains=(POSITIVE,))

LOG10 = Op("log10", formula="log10 a; d/da = 1 / (a ln 10)",
           array=lambda c, a: np.log10(a),
           vjps=(lambda xp, g, out, c, a: g * (xp.reciprocal(a) * _INV_LN10),),
           domains=(POSITIVE,))

# log(1 + a) loses the digits of a small a to the 1 (at a = 1e-10 every digit): log1p keeps them
LOG1P = Op("log1p", formula="ln(1 + a), exact near 0; d/da = 1 / (1 + a)",
           array=lambda c, a: np.log1p(a),
           vjps=(lambda xp, g, out, c, a: g * xp.reciprocal(a + 1.0),),
           domains=(Domain(-0.8, 3.0),))


# piecewise constant: the gradient is 0 wherever it exists, as torch defines it everywhere ------
def _zero_vjp(xp, g, out, ctx, a):
    # d/da = 0 (torch's gradient of sign, floor, ceil, round, trunc, even at the jumps)
    return g * 0.0


_INTEGERS = tuple(float(k) for k in range(-3, 4))
_HALVES = tuple(k + 0.5 for k in range(-4, 4))

SIGN = Op("sign", formula="-1, 0 or 1 as a < 0, a == 0, a > 0; d/da = 0",
          array=lambda c, a: np.sign(a), vjps=(_zero_vjp,), domains=(Domain(kinks=(0.0,)),))
FLOOR = Op("floor", formula="the largest integer <= a; d/da = 0",
           array=lambda c, a: np.floor(a), vjps=(_zero_vjp,),
           domains=(Domain(kinks=_INTEGERS),))
CEIL = Op("ceil", formula="the smallest integer >= a; d/da = 0",
          array=lambda c, a: np.ceil(a), vjps=(_zero_vjp,), domains=(Domain(kinks=_INTEGERS),))
TRUNC = Op("trunc", formula="a rounded toward 0; d/da = 0",
           array=lambda c, a: np.trunc(a), vjps=(_zero_vjp,),
           domains=(Domain(kinks=_INTEGERS),))


def _round_fwd(decimals, a):
    # half to even, as torch (nearbyint); with decimals, torch's round(a * 10^d) / 10^d
    if not decimals:
        return np.round(a)
    return np.round(a, decimals)


ROUND = Op("round", formula="a rounded to ctx decimals, halves to even; d/da = 0",
           array=_round_fwd, vjps=(_zero_vjp,), domains=(Domain(kinks=_HALVES),),
           examples=[(0, ((2, 3),)), (0, ((),)), (1, ((4,),))])


# products ---------------------------------------------------------------------------------------
def _prod_fwd(ctx, a):
    axis, keepdims = ctx
    return np.multiply.reduce(a, axis=axis, keepdims=keepdims)


def _prod_vjp(xp, g, out, ctx, a):
    # d prod / d a_i = the product of the others: out / a_i where a_i != 0. Where a_i == 0 it is
    # the product of the nonzero others if a_i is the only zero of its group, else 0. The
    # division goes through a safe denominator, so no inf or nan enters (create_graph too).
    axis, keepdims = ctx
    ad = xp.data(a)
    kept = kept_shape(ad.shape, axis)
    if not keepdims:
        g = xp.reshape(g, kept)
        out = xp.reshape(out, kept)
    zero = ad == 0
    if not zero.any():
        return g * out * xp.reciprocal(a)
    safe = xp.where(zero, 1.0, a)
    nonzero_prod = xp.apply(PROD, (axis, True), safe)
    single = np.add.reduce(zero, axis=axis, keepdims=True) == 1
    at_zero = xp.where(single, nonzero_prod, 0.0)
    return g * xp.where(zero, at_zero, out * xp.reciprocal(safe))


PROD = Op("prod", formula="product of a over axis; d/da_i = product of the others (exact at "
                          "zeros)",
          array=_prod_fwd, vjps=(_prod_vjp,), domains=(Domain(0.3, 2.0),),
          examples=REDUCE_EXAMPLES)


# cumulative sums ---------------------------------------------------------------------------------
def _flip(axis):
    return (slice(None),) * axis + (slice(None, None, -1),)


def _cumsum_vjp(xp, g, out, ctx, a):
    # out_j = sum_{i <= j} a_i, so d/da_i = sum_{j >= i} g_j: the cumulative sum of g reversed
    flip = _flip(ctx)
    return xp.getitem(xp.apply(CUMSUM, ctx, xp.getitem(g, flip)), flip)


CUMSUM = Op("cumsum", formula="running sum of a along axis ctx; d/da_i = sum of g_j for j >= i",
            array=lambda c, a: np.cumsum(a, axis=c), vjps=(_cumsum_vjp,), domains=(REAL,),
            examples=[(0, ((4,),)), (1, ((2, 3),)), (0, ((3, 2),)), (2, ((2, 2, 3),))])


# einsum ------------------------------------------------------------------------------------------
class Subscripts:
    """ctx of the einsum row: the equation in explicit form, one subscript string per input
    and the output's ("ij,jk->ik"), ellipses replaced by letters of their own."""
    __slots__ = ("inputs", "output")

    def __init__(self, inputs, output):
        self.inputs, self.output = tuple(inputs), output

    @property
    def equation(self):
        return ",".join(self.inputs) + "->" + self.output

    def __repr__(self):
        return f"Subscripts({self.equation!r})"

    def __eq__(self, other):
        return isinstance(other, Subscripts) and self.equation == other.equation

    def __hash__(self):
        return hash(self.equation)


def parse_einsum(equation, ndims):
    """torch.einsum's equation for operands of ndims dimensions as Subscripts: spaces dropped,
    '...' given letters of their own, an implicit output made explicit (the letters used once,
    sorted, after the ellipsis dims). ValueError naming what does not fit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum(): {len(terms)} operand subscripts in '{equation}' for "
                         f"{len(ndims)} operands")
    used = set(eq) - set(",->.")
    for c in used:
        if c not in string.ascii_letters:
            raise ValueError(f"einsum(): invalid subscript '{c}' in '{equation}': subscripts "
                             f"are letters a-z and A-Z")
    spare = [c for c in string.ascii_letters if c not in used]
    ell = None
    out_terms = []
    for term, nd in zip(terms, ndims):
        if "..." in term:
            head, _, tail = term.partition("...")
            n = nd - len(head) - len(tail)
            if n < 0:
                raise ValueError(f"einsum(): '{term}' has more subscripts than the operand's "
                                 f"{nd} dimensions")
            if ell is None or len(ell) < n:
                ell = (ell or "") + "".join(spare[len(ell or ""):n])
            term = head + ell[len(ell) - n:] + tail
        elif len(term) != nd:
            raise ValueError(f"einsum(): the number of subscripts in '{term}' ({len(term)}) does "
                             f"not match the number of dimensions ({nd})")
        out_terms.append(term)
    if arrow:
        if "..." in rhs:
            rhs = rhs.replace("...", ell or "")
        output = rhs
    else:
        counts = {}
        for term in out_terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        ell_set = set(ell or "")
        output = (ell or "") + "".join(sorted(c for c, k in counts.items()
                                              if k == 1 and c not in ell_set))
    for c in output:
        if not any(c in t for t in out_terms):
            raise ValueError(f"einsum(): output subscript '{c}' appears in no input of "
                             f"'{equation}'")
    return Subscripts(out_terms, output)


def _einsum_fwd(ctx, *ins):
    return np.einsum(ctx.equation, *ins, optimize=len(ins) > 2)


def _einsum_piece(i):
    def vjp(xp, g, out, ctx, *ins):
        # d out / d input_i contracted with g: einsum of g with the other inputs onto input i's
        # letters; letters found nowhere else were summed over, so the gradient is broadcast
        # along them; a letter repeated in input i (a diagonal) puts it on that diagonal
        term = ctx.inputs[i]
        letters = "".join(dict.fromkeys(term))
        others = [t for k, t in enumerate(ctx.inputs) if k != i]
        present = "".join(c for c in letters if c in ctx.output or any(c in t for t in others))
        sizes = {c: n for c, n in zip(term, xp.data(ins[i]).shape)}
        r = xp.apply(EINSUM, Subscripts([ctx.output] + others, present),
                     g, *[x for k, x in enumerate(ins) if k != i])
        if present != letters:
            # size-1 axes for the letters summed away, then broadcast along them
            r = xp.reshape(r, tuple(sizes[c] if c in present else 1 for c in letters))
            r = xp.broadcast_to(r, tuple(sizes[c] for c in letters))
        if letters == term:
            return r
        # a repeated letter: r holds the diagonal; scatter it onto the operand's shape
        grids = np.indices(tuple(sizes[c] for c in letters), sparse=True)
        index = tuple(grids[letters.index(c)] for c in term)
        return xp.apply(SCATTER, (index, xp.data(ins[i]).shape), r)
    return vjp


EINSUM = Op("einsum", formula="sum over the letters not in the output of the product of the "
                              "inputs (ctx = Subscripts); d/d input_i = einsum of g with the "
                              "other inputs onto input i's letters",
            array=_einsum_fwd, vjps=PerInput(_einsum_piece), domains=PerInput(lambda i: REAL),
            examples=[(Subscripts(["ij", "jk"], "ik"), ((2, 3), (3, 4))),
                      (Subscripts(["i", "i"], ""), ((3,), (3,))),
                      (Subscripts(["ij"], "ji"), ((2, 3),)),
                      (Subscripts(["ij"], "i"), ((2, 3),)),
                      (Subscripts(["bij", "bjk"], "bik"), ((2, 2, 3), (2, 3, 2))),
                      (Subscripts(["ii"], "i"), ((3, 3),)),
                      (Subscripts(["i", "j"], "ij"), ((2,), (3,))),
                      (Subscripts(["ij", "jk", "kl"], "il"), ((2, 3), (3, 2), (2, 2)))])

ROWS = (LOG2, LOG10, LOG1P, SIGN, FLOOR, CEIL, TRUNC, ROUND, PROD, CUMSUM, EINSUM)


# remainder and fmod ------------------------------------------------------------------------------
# Rows, not a - floor(a / b) * b: the composite's rounding (a / b rounded, then floored) can be
# off by b near a multiple, where numpy's remainder is exact.
def _mod_db(rounding):
    def vjp(xp, g, out, ctx, a, b):
        # out = a - round(a / b) b, the rounding piecewise constant: d/db = -round(a / b)
        q = rounding(np.true_divide(xp.data(a), xp.data(b)))
        return g * -q
    return vjp


REMAINDER = Op("remainder", symbol="%",
               formula="a - floor(a / b) b (the sign of b); d/da = 1, d/db = -floor(a / b)",
               array=lambda c, a, b: np.remainder(a, b),
               vjps=(lambda xp, g, out, c, a, b: g, _mod_db(np.floor)),
               domains=(Domain(0.1, 3.0), Domain(0.7, 1.3)))
FMOD = Op("fmod", formula="a - trunc(a / b) b (the sign of a); d/da = 1, d/db = -trunc(a / b)",
          array=lambda c, a, b: np.fmod(a, b),
          vjps=(lambda xp, g, out, c, a, b: g, _mod_db(np.trunc)),
          domains=(Domain(-3.0, 3.0), Domain(0.7, 1.3)))

ROWS += (REMAINDER, FMOD)


# linear solve --------------------------------------------------------------------------------
def _solve_fwd(ctx, a, b):
    # b a vector (n,) or a matrix (n, k) (or batches of either), as torch.linalg.solve
    if b.ndim == a.ndim - 1:
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


def _solve_db(xp, g, out, ctx, a, b):
    # x = A^-1 b: d/db = A^-T g, itself a solve
    return xp.apply(SOLVE, None, xp.mT(a), g)


def _solve_da(xp, g, out, ctx, a, b):
    # d/dA = -(A^-T g) x^T
    gb = xp.apply(SOLVE, None, xp.mT(a), g)
    if xp.data(b).ndim == xp.data(a).ndim - 1:
        return -(xp.unsqueeze(gb, -1) * xp.unsqueeze(out, -2))
    return -xp.matmul(gb, xp.mT(out))


class _WellConditioned(Domain):
    """Square matrices 2 I + U(-0.4, 0.4): far from singular, so finite differences of a solve
    are accurate."""

    def sample(self, rng, shape):
        n = shape[-1]
        return 2.0 * np.eye(n) + rng.uniform(-0.4, 0.4, size=shape)


SOLVE = Op("solve", formula="x with A x = b (b a vector or a matrix); d/db = A^-T g, "
                            "d/dA = -(A^-T g) x^T",
           array=_solve_fwd, vjps=(_solve_da, _solve_db), domains=(_WellConditioned(), REAL),
           examples=[(None, ((3, 3), (3,))), (None, ((2, 2), (2, 3))),
                     (None, ((2, 3, 3), (2, 3, 1)))])

ROWS += (SOLVE,)


# log-determinant ---------------------------------------------------------------------------
def _logdet_fwd(ctx, a):
    # torch.logdet: log |det A| where det > 0, -inf where det = 0, nan where det < 0
    sign, logabs = np.linalg.slogdet(a)
    return np.where(sign > 0, logabs, np.where(sign == 0, -np.inf, np.nan)).astype(a.dtype)


def _logdet_da(xp, g, out, ctx, a):
    # d log det A / dA = A^-T, as the solve A^T X = g I (g one number per matrix)
    eye = np.eye(xp.data(a).shape[-1], dtype=xp.data(a).dtype)
    return xp.apply(SOLVE, None, xp.mT(a), xp.unsqueeze(xp.unsqueeze(g, -1), -1) * eye)


LOGDET = Op("logdet", formula="log det A (nan for det < 0, -inf for det = 0); d/dA = A^-T",
            array=_logdet_fwd, vjps=(_logdet_da,), domains=(_WellConditioned(),),
            examples=[(None, ((3, 3),)), (None, ((2, 2, 2),)), (None, ((1, 1),))])

ROWS += (LOGDET,)


# x log y -------------------------------------------------------------------------------------
# A row, not where(x == 0, 0, x * log y): torch's gradient in x is log y even where x = 0 (the
# composite's where would give 0 there), and 0 where x = 0 and y <= 0
def _xlogy_fwd(ctx, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((a == 0) & ~np.isnan(b), 0, a * np.log(b))
    return out.astype(np.result_type(a, b), copy=False)


def _xlogy_da(xp, g, out, ctx, a, b):
    # torch: xlogy(g, b) with 0 where a = 0 and b <= 0; xlogy(0, b) = 0 unless b is nan
    ad, bd, gd = xp.data(a), xp.data(b), xp.data(g)
    zero = ((ad == 0) & (bd <= 0)) | ((gd == 0) & ~np.isnan(bd))
    return xp.where(zero, 0.0, g * xp.log(b))


XLOGY = Op("xlogy", formula="a ln b, 0 where a = 0 (b not nan); d/da = ln b (0 where a = 0 and "
                            "b <= 0), d/db = a / b",
           array=_xlogy_fwd,
           vjps=(_xlogy_da, lambda xp, g, out, c, a, b: g * (a * xp.reciprocal(b))),
           domains=(REAL, POSITIVE))

ROWS += (XLOGY,)
