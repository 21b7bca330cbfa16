"""Hypothesis sweep of every row of `autograd.OPS`: generated shapes, contexts and values.

For each op, >= 200 examples (derandomized, so every run draws the same ones), in float64:
  * the row's gradient against central differences (autograd.testing.assert_gradients_close),
  * its value and its vector-Jacobian product against torch (tests/torch_oracle.TORCH), to 1e-6,
  * for rows with a scalar forward, the `Value` method on one element of the same draw.
Inputs that sit on a kink or a tie (relu at 0, two equal maxima) make finite differences
meaningless, so values there come from a grid offset by half a step from every kink and tie
(edges are pinned separately in tests/test_hardening_edges.py).

Figures for RELIABILITY.md: `pytest tests/test_hardening_ops.py -s -q | grep reliability`.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import OPS, Value
from autograd.ops_nn import CrossEntropy
from autograd.tensor import Tensor
from autograd.testing import assert_gradients_close

torch = pytest.importorskip("torch")
torch.set_num_threads(2)
from torch_oracle import TORCH  # noqa: E402  (imports torch: only after importorskip)

EXAMPLES = 200
TOL = dict(rtol=1e-6, atol=1e-6)
SWEEP = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])
FIGURES = {"examples": {}, "gradchecked": set(), "max_abs_err": 0.0, "max_rel_err": 0.0,
           "worst": ""}


# ---------------------------------------------------------------------------------------------
# values
def _real(lo=-3.0, hi=3.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _grid(offset=0.005, lo=-300, hi=299):
    """k / 100 + offset: with offset 0.005 never within 0.005 of a multiple of 0.01 (kinks at 0,
    +-0.5, +-1 and the other grid), so a central difference with eps=1e-6 never crosses one."""
    return st.integers(lo, hi).map(lambda k: k / 100.0 + offset)


def _array(draw, shape, elements, unique=False):
    return draw(hnp.arrays(np.float64, shape, elements=elements, unique=unique))


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
NONEMPTY_DIMS = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def _pair_shapes(draw):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                  max_side=4)).input_shapes


def _axes(draw, ndim):
    """A reduction's ctx axis: None or a sorted tuple of distinct axes."""
    if ndim == 0 or draw(st.booleans()):
        return None
    return tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1))))


# ---------------------------------------------------------------------------------------------
# one strategy per row: draw -> (ctx, [arrays])
def _unary(elements):
    def case(draw):
        return None, [_array(draw, draw(SHAPES), elements)]
    return case


def _binary(first, second):
    def case(draw):
        sa, sb = _pair_shapes(draw)
        return None, [_array(draw, sa, first), _array(draw, sb, second)]
    return case


def _leaky(draw):
    slope = draw(st.floats(0.0, 1.0))
    return slope, [_array(draw, draw(SHAPES), _grid())]


def _matmul(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                   max_side=3)).input_shapes
    a_vec, b_vec = draw(st.booleans()), draw(st.booleans())
    sa = (k,) if a_vec else batch[0] + (n, k)
    sb = (k,) if b_vec else batch[1] + (k, m)
    return None, [_array(draw, sa, _real()), _array(draw, sb, _real())]


def _linear(draw):
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = draw(st.sampled_from([(), (3,), (2, 3)]))
    return None, [_array(draw, lead + (n_in,), _real()), _array(draw, (n_out, n_in), _real()),
                  _array(draw, (n_out,), _real())]


def _reduction(elements, unique=False):
    def case(draw):
        shape = draw(SHAPES)
        ctx = (_axes(draw, len(shape)), draw(st.booleans()))
        return ctx, [_array(draw, shape, elements, unique)]
    return case


def _reshape(draw):
    shape = draw(SHAPES)
    size = int(np.prod(shape))
    choices = [(-1,), (size,), tuple(reversed(shape)), (1,) + shape + (1,), ()]
    if size != 1:
        choices.pop()                    # () holds one element only
    return draw(st.sampled_from(choices)), [_array(draw, shape, _real())]


def _transpose(draw):
    shape = draw(SHAPES)
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return perm, [_array(draw, shape, _real())]


def _broadcast_to(draw):
    target = draw(NONEMPTY_DIMS)
    keep = draw(st.integers(0, len(target)))
    src = tuple(1 if draw(st.booleans()) else n for n in target[len(target) - keep:])
    return target, [_array(draw, src, _real())]


def _where(draw):
    sm, sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                        max_side=4)).input_shapes
    mask = draw(hnp.arrays(np.bool_, sm))
    return None, [mask, _array(draw, sa, _real()), _array(draw, sb, _real())]


def _numpy_row(draw):
    shape = draw(SHAPES)
    fn = draw(st.sampled_from([np.greater, np.less_equal, np.equal]))
    return (fn, {}), [_array(draw, shape, _grid()), _array(draw, shape, _grid())]


def _index(draw, shape):
    """A numpy index torch also accepts: int, slice (positive step), int array with repeats
    and negatives, boolean mask, or a tuple of int/slice/None."""
    n = shape[0]
    kind = draw(st.sampled_from(["int", "slice", "array", "mask", "tuple"]))
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "slice":
        return slice(draw(st.integers(0, n)), draw(st.integers(0, n)), draw(st.integers(1, 3)))
    if kind == "array":
        return draw(hnp.arrays(np.int64, draw(st.integers(1, 5)), elements=st.integers(-n, n - 1)))
    if kind == "mask":
        return draw(hnp.arrays(np.bool_, shape))
    items = [draw(st.one_of(st.integers(-m, m - 1), st.just(slice(None)),
                            st.builds(slice, st.integers(0, m), st.integers(0, m))))
             for m in shape[:draw(st.integers(1, len(shape)))]]
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


def _getitem(draw):
    shape = draw(NONEMPTY_DIMS)
    return _index(draw, shape), [_array(draw, shape, _real())]


def _scatter(draw):
    shape = draw(NONEMPTY_DIMS)
    index = _index(draw, shape)
    return (index, shape), [_array(draw, np.zeros(shape)[index].shape, _real())]


def _astype(draw):
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    return dtype, [_array(draw, draw(SHAPES), _real())]


def _clip(draw):
    lo = draw(st.one_of(st.none(), _grid(0.0, -200, 100)))
    hi = draw(st.one_of(st.none(), _grid(0.0, -100, 200)))
    if lo is None and hi is None:
        hi = 0.5
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return (lo, hi), [_array(draw, draw(SHAPES), _grid())]


def _one_axis(elements, unique=False):
    def case(draw):
        shape = draw(NONEMPTY_DIMS)
        return draw(st.integers(0, len(shape) - 1)), [_array(draw, shape, elements, unique)]
    return case


def _concatenate(draw):
    base = list(draw(NONEMPTY_DIMS))
    axis = draw(st.integers(0, len(base) - 1))
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, 3))
        arrays.append(_array(draw, tuple(base), _real()))
    return axis, arrays


def _pad(draw):
    shape = draw(SHAPES)
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
    return (widths, draw(_real())), [_array(draw, shape, _real())]


def _windows(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return n, c, h, w, kh, kw, sh, sw


def _im2col(draw):
    n, c, h, w, kh, kw, sh, sw = _windows(draw)
    return (kh, kw, sh, sw), [_array(draw, (n, c, h, w), _real())]


def _col2im(draw):
    n, c, h, w, kh, kw, sh, sw = _windows(draw)
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    return (kh, kw, sh, sw, h, w), [_array(draw, (n, c, kh, kw, oh, ow), _real())]


def _conv2d(draw):
    n, c, h, w, kh, kw, sh, sw = _windows(draw)
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    o = draw(st.integers(1, 3))
    return (sh, sw, ph, pw), [_array(draw, (n, c, h, w), _real()),
                              _array(draw, (o, c, kh, kw), _real()), _array(draw, (o,), _real())]


def _pool(unique):
    def case(draw):
        n, c, h, w, kh, kw, sh, sw = _windows(draw)
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
        x = _array(draw, (n, c, h, w), _grid(0.0) if unique else _real(), unique)
        return (kh, kw, sh, sw, ph, pw), [x]
    return case


def _cross_entropy(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    target = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    ignore = draw(st.sampled_from([-100, 0]))      # 0: some targets may be ignored
    if not (target != ignore).any():
        ignore = -100                   # all ignored: a 'mean' of nothing is nan (edges test it)
    weight = draw(st.one_of(st.none(), hnp.arrays(np.float64, c, elements=_real(0.1, 2.0))))
    ctx = CrossEntropy(weight, ignore, draw(st.sampled_from(["mean", "sum", "none"])))
    return ctx, [_array(draw, (n, c), _real(-10.0, 10.0)), target]


def _setitem(draw):
    shape = draw(NONEMPTY_DIMS)
    index = tuple(draw(st.integers(0, n - 1)) for n in shape[:draw(st.integers(1, len(shape)))])
    part = shape[len(index):]
    value_shape = part[draw(st.integers(0, len(part))):]      # v broadcast to a[index]
    return index, [_array(draw, shape, _real()), _array(draw, value_shape, _real())]


def _bce(draw):
    shape = draw(SHAPES)
    return None, [_array(draw, shape, _real(0.05, 0.95)), _array(draw, shape, _real(0.0, 1.0))]


def _lstm(draw):
    b, h = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return {}, [_array(draw, (b, 4 * h), _real()), _array(draw, (b, h), _real())]


def _lstm_layer(draw):
    t, b, h = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return {}, [_array(draw, (t, b, 4 * h), _real()), _array(draw, (b, h), _real()),
                _array(draw, (b, h), _real()), _array(draw, (4 * h, h), _real(-1.0, 1.0))]


# at least 0.2 from every integer, where floor, ceil and trunc jump
_BETWEEN_INTEGERS = st.builds(lambda k, f: k + 0.5 + f, st.integers(-3, 2), _real(-0.3, 0.3))


def _round(draw):
    decimals = draw(st.sampled_from([0, 0, 1, 2]))
    # values a quarter step from every rounding boundary (halves of 10^-decimals)
    step = 10.0 ** -decimals
    grid = st.integers(-300, 299).map(lambda k: (k + 0.25) * step)
    return decimals, [_array(draw, draw(SHAPES), grid)]


def _one_axis_any(elements):
    def case(draw):
        shape = draw(NONEMPTY_DIMS)
        return draw(st.integers(0, len(shape) - 1)), [_array(draw, shape, elements)]
    return case


def _einsum(draw):
    """An equation over up to three operands from a few shapes of letters: matrix products,
    batched products, outer products, transposes, traces and diagonals, sums over a letter."""
    from autograd.ops_torch import Subscripts
    sizes = {c: draw(st.integers(1, 3)) for c in "bijkl"}
    terms = draw(st.sampled_from([
        (["ij", "jk"], "ik"), (["i", "i"], ""), (["ij"], "ji"), (["ij"], "i"), (["ii"], "i"),
        (["ii"], ""), (["bij", "bjk"], "bik"), (["i", "j"], "ij"), (["ij", "jk", "kl"], "il"),
        (["ij", "ij"], "ij"), (["bi", "ij"], "bj"), (["ijk"], "kij"), (["ij", "k"], "ijk")]))
    inputs, output = terms
    arrays = [_array(draw, tuple(sizes[c] for c in t), _real()) for t in inputs]
    return Subscripts(inputs, output), arrays


def _solve(draw):
    """A well-conditioned A (identity plus a small perturbation) and a vector or matrix b."""
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    batch = draw(st.sampled_from([(), (2,)]))
    a = np.eye(n) * 2.0 + _array(draw, batch + (n, n), _real(-0.4, 0.4))
    b_shape = batch + ((n,) if not batch and draw(st.booleans()) else (n, k))
    return None, [a, _array(draw, b_shape, _real())]


def _logdet(draw):
    """Well-conditioned square matrices (det > 0, where log det is smooth), batched or not."""
    n = draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    return None, [np.eye(n) * 2.0 + _array(draw, batch + (n, n), _real(-0.4, 0.4))]


CASES = {
    "add": _binary(_real(), _real()),
    "mul": _binary(_real(), _real()),
    "pow": _binary(_real(0.2, 3.0), _real(-2.0, 2.0)),
    "exp": _unary(_real()),
    "log": _unary(_real(0.2, 3.0)),
    "tanh": _unary(_real()),
    "sigmoid": _unary(_real(-8.0, 8.0)),
    "relu": _unary(_grid()),
    "leaky_relu": _leaky,
    "sqrt": _unary(_real(0.2, 3.0)),
    "abs": _unary(_grid()),
    "sin": _unary(_real(-6.0, 6.0)),
    "cos": _unary(_real(-6.0, 6.0)),
    "matmul": _matmul,
    "linear": _linear,
    "sum": _reduction(_real()),
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "where": _where,
    "getitem": _getitem,
    "scatter": _scatter,
    "astype": _astype,
    "clip": _clip,
    "maximum": _binary(_grid(), _grid(0.0)),     # disjoint grids: never a tie
    "minimum": _binary(_grid(), _grid(0.0)),
    "amax": _reduction(_grid(0.0), unique=True),  # distinct values 0.01 apart: no tie
    "amin": _reduction(_grid(0.0), unique=True),
    "logsumexp": _reduction(_real(-10.0, 10.0)),
    "log_softmax": _one_axis(_real(-10.0, 10.0)),
    "cross_entropy": _cross_entropy,
    "concatenate": _concatenate,
    "pad": _pad,
    "im2col": _im2col,
    "col2im": _col2im,
    "conv2d": _conv2d,
    "max_pool2d": _pool(unique=True),     # distinct values: no tie inside a window
    "avg_pool2d": _pool(unique=False),
    "binary_cross_entropy": _bce,
    "setitem": _setitem,
    "numpy": _numpy_row,
    "lstm_c": _lstm,
    "lstm_h": _lstm,
    "lstm_layer": _lstm_layer,
    "erf": _unary(_real(-6.5, 6.5)),
    "expm1": _unary(_real(-10.0, 10.0)),
    "log2": _unary(_real(0.2, 3.0)),
    "log10": _unary(_real(0.2, 3.0)),
    "log1p": _unary(_real(-0.8, 3.0)),
    "sign": _unary(_grid()),
    "floor": _unary(_BETWEEN_INTEGERS),
    "ceil": _unary(_BETWEEN_INTEGERS),
    "trunc": _unary(_BETWEEN_INTEGERS),
    "round": _round,
    "prod": _reduction(_real(0.3, 2.0)),
    "cumsum": _one_axis_any(_real()),
    "einsum": _einsum,
    # a on a grid offset from every multiple of the divisors b: the quotient is never within
    # 1e-3 of an integer, where the result jumps
    "remainder": _binary(_grid(0.005, -300, 299), st.sampled_from([0.7, 1.3, -1.7, 2.1])),
    "fmod": _binary(_grid(0.005, -300, 299), st.sampled_from([0.7, 1.3, -1.7, 2.1])),
    "solve": _solve,
    "logdet": _logdet,
    # y > 0, where log y is smooth; x anywhere, zeros included (the 0 branch's gradient is
    # still log y, as torch's)
    "xlogy": _binary(st.one_of(_real(), st.just(0.0)), _real(0.2, 3.0)),
}


def test_every_row_has_a_sweep_strategy():
    assert sorted(OPS) == sorted(CASES), (
        f"rows without a hypothesis strategy here: {sorted(set(OPS) - set(CASES))}")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    n = FIGURES["examples"]
    if n:
        print(f"\n[reliability] ops swept: {len(n)}; examples run: {sum(n.values())} "
              f"(min per op {min(n.values())} for '{min(n, key=n.get)}')")
        print(f"[reliability] ops gradchecked in float64: {len(FIGURES['gradchecked'])}")
        print(f"[reliability] largest error against torch: abs {FIGURES['max_abs_err']:.3g}, "
              f"rel {FIGURES['max_rel_err']:.3g} ({FIGURES['worst']})")


def _note_error(name, ours, theirs, what):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.size == 0:
        return
    diff = np.abs(ours - theirs)
    abs_err = float(diff.max())
    rel_err = float((diff / np.maximum(np.abs(theirs), 1.0)).max())
    if abs_err > FIGURES["max_abs_err"]:
        FIGURES["max_abs_err"] = abs_err
        FIGURES["worst"] = f"{name} {what}"
    FIGURES["max_rel_err"] = max(FIGURES["max_rel_err"], rel_err)


def check_row(name, ctx, arrays, seed=0):
    """Gradcheck the row on `arrays` (float64), then compare value and VJP with torch."""
    op = OPS[name]
    takes = [op.takes_gradient(i) for i in range(len(arrays))]
    xs = [Tensor(a, dtype=np.float64, requires_grad=True) if t else Tensor(a)
          for a, t in zip(arrays, takes)]
    fn = lambda *ins: op(*ins, ctx=ctx)  # noqa: E731
    out = fn(*xs)
    if out.dtype == np.float64 and op.vjps is not None:   # astype to float32: vs torch below
        assert_gradients_close(fn, xs)
        FIGURES["gradchecked"].add(name)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if t
          else torch.from_numpy(np.array(a)) for a, t in zip(arrays, takes)]
    t_out = TORCH[name](ctx, *ts)
    assert tuple(t_out.shape) == out.shape, f"{name}: shape {out.shape} vs torch {t_out.shape}"
    t_val = t_out.detach().numpy()
    np.testing.assert_allclose(out.data, t_val, **TOL, err_msg=f"{name}: value vs torch")
    _note_error(name, out.data, t_val, "value")
    if op.vjps is None:
        return
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    wanted = [i for i, t in enumerate(takes) if t]
    grads = autograd.grad(out, [xs[i] for i in wanted], grad_outputs=w, allow_unused=True)
    t_grads = torch.autograd.grad(t_out, [ts[i] for i in wanted], torch.from_numpy(w),
                                  allow_unused=True)
    for i, g, tg in zip(wanted, grads, t_grads):
        tg = np.zeros(arrays[i].shape) if tg is None else tg.numpy()
        g = np.zeros(arrays[i].shape) if g is None else g.data
        np.testing.assert_allclose(g, tg, **TOL, err_msg=f"{name}: gradient {i} vs torch")
        _note_error(name, g, tg, f"gradient of input {i}")
    if op.scalar is not None:
        _check_value(name, ctx, [a.flat[0] if a.size else 0.0 for a in arrays])


def _check_value(name, ctx, points):
    """The same row on Values at one point, against torch."""
    op = OPS[name]
    vals = [Value(float(p)) for p in points]
    if op.symbol == "**":
        out = vals[0] ** vals[1]
    elif op.nin == 2:
        out = getattr(vals[0], f"__{op.name}__")(vals[1])
    else:
        method = getattr(vals[0], op.name)
        out = method() if ctx is None else method(ctx)
    out.backward()
    ts = [torch.tensor(float(p), dtype=torch.float64, requires_grad=True) for p in points]
    t_out = TORCH[name](ctx, *ts)
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-6, abs=1e-6), f"Value.{name}"
    for v, t in zip(vals, ts):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-6, abs=1e-6), f"Value.{name} grad"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_sweep(name):
    strategy = st.composite(lambda draw: CASES[name](draw))()

    @SWEEP
    @given(case=strategy, seed=st.integers(0, 2**16))
    def run(case, seed):
        FIGURES["examples"][name] = FIGURES["examples"].get(name, 0) + 1
        ctx, arrays = case
        check_row(name, ctx, arrays, seed)

    run()
    assert FIGURES["examples"][name] >= EXAMPLES
