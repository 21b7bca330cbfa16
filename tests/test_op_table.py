"""Tests generated from the op table `autograd.OPS`: a row registered is a row tested.

For every row, in float64:
- each example (ctx, input shapes) of the row, or for elementwise rows (examples None) scalar,
  vector, matrix and broadcast shapes, with inputs sampled from the row's domains:
  * gradients against central differences (autograd.testing, so the helpers run on every op),
  * a random-direction check to second order (the VJP is itself differentiable),
  * values and gradients against torch (tests/torch_oracle.py; a row without an entry fails);
- rows with a scalar forward: the `Value` method at several sample points, against finite
  differences and torch.
Then composite Value expressions and second derivatives of the elementwise rows against torch.
"""
import operator
import zlib

import numpy as np
import pytest

import autograd
from autograd import OPS, Tensor, Value
from autograd.testing import assert_gradients_close, check_directional

torch = pytest.importorskip("torch")
torch.set_num_threads(2)
from torch_oracle import TORCH  # noqa: E402  (imports torch: only after importorskip)

TOL = dict(rtol=1e-6, atol=1e-6)
UNARY_SHAPES = [((),), ((3,),), ((2, 3),)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)),
                 ((2, 3), (1, 3)), ((1,), (2, 3)), ((2, 1, 3, 1), (2, 1, 3, 4))]
VALUE_POINTS = 5
DUNDERS = {"+": operator.add, "*": operator.mul, "**": operator.pow}


def _rng(*key):
    """A generator seeded by the test's identity: same draws on every run, different per case."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _examples(op):
    if op.examples is not None:
        return list(op.examples)
    shapes = UNARY_SHAPES if op.nin == 1 else BINARY_SHAPES
    return [(None, s) for s in shapes]


def _cases():
    cases = []
    for name, op in OPS.items():
        for i, (ctx, shapes) in enumerate(_examples(op)):
            cases.append(pytest.param(name, ctx, shapes, id=f"{name}-{i}-{shapes}"))
    return cases


def _value_cases():
    cases = []
    for name, op in OPS.items():
        if op.scalar is None:
            continue
        ctxs = [None] if op.examples is None else sorted({c for c, _ in op.examples})
        cases += [pytest.param(name, ctx, id=f"{name}-{ctx}") for ctx in ctxs]
    return cases


def _inputs(op, shapes, rng):
    """The row's example inputs as Tensors: those with a VJP in float64 requiring grad, the
    others (conditions, class targets) as they are."""
    return [Tensor(a, requires_grad=op.takes_gradient(i))
            for i, a in enumerate(op.example_inputs(rng, shapes))]


def _oracle(name):
    if name not in TORCH:
        pytest.fail(f"op '{name}' has no torch oracle: add TORCH[{name!r}] = lambda ctx, *ins: "
                    f"... to tests/torch_oracle.py (below the 'ADD NEW ROWS HERE' marker)")
    return TORCH[name]


def _torch_leaves(arrays):
    return [torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)
            for a in arrays]


def _torch_inputs(xs):
    """torch twins of the inputs xs: float64 leaves where ours require grad, else the same
    values and dtype."""
    return [torch.tensor(np.asarray(x.data), dtype=torch.float64, requires_grad=True)
            if x.requires_grad else torch.from_numpy(np.array(x.data)) for x in xs]


# ---------------------------------------------------------------------------------------------
# every row, on Tensors
@pytest.mark.parametrize("name, ctx, shapes", _cases())
def test_row_gradcheck(name, ctx, shapes):
    op = OPS[name]
    if op.vjps is None:
        pytest.skip(f"{name} has no gradient")
    xs = _inputs(op, shapes, _rng(name, shapes, "fd"))
    fn = lambda *ins: op(*ins, ctx=ctx)  # noqa: E731
    out = fn(*xs)
    if out.dtype != np.float64:
        pytest.skip(f"{name} with ctx {ctx!r} outputs {out.dtype}: finite differences need "
                    f"float64 (its gradient is still compared with torch)")
    assert_gradients_close(fn, xs)
    check_directional(fn, xs, order=1, rng=_rng(name, shapes, "d1"))
    check_directional(fn, xs, order=2, rng=_rng(name, shapes, "d2"))


@pytest.mark.parametrize("name, ctx, shapes", _cases())
def test_row_matches_torch(name, ctx, shapes):
    op = OPS[name]
    oracle = _oracle(name)
    rng = _rng(name, shapes, "torch")
    xs = _inputs(op, shapes, rng)
    out = op(*xs, ctx=ctx)
    ts = _torch_inputs(xs)
    t_out = oracle(ctx, *ts)
    assert tuple(t_out.shape) == out.shape, f"{name}: shape {out.shape} vs torch {t_out.shape}"
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), **TOL,
                               err_msg=f"{name}: forward differs from torch")
    if op.vjps is None:
        return
    w = rng.standard_normal(out.shape).astype(out.dtype)
    wanted = [i for i, x in enumerate(xs) if x.requires_grad]
    grads = autograd.grad(out, [xs[i] for i in wanted], grad_outputs=w, allow_unused=True)
    t_grads = torch.autograd.grad(t_out, [ts[i] for i in wanted],
                                  torch.from_numpy(w).to(t_out.dtype), allow_unused=True)
    for i, g, tg in zip(wanted, grads, t_grads):
        tg = np.zeros(ts[i].shape) if tg is None else tg.detach().numpy(force=True)
        g = np.zeros(xs[i].shape) if g is None else g.data
        np.testing.assert_allclose(g, tg, **TOL,
                                   err_msg=f"{name}: gradient of input {i} differs from torch")


@pytest.mark.parametrize("name, ctx, shapes", _cases())
def test_row_ignores_memory_layout(name, ctx, shapes):
    """Inputs given column-major (as a transposed view's data is) or as strided views give
    the values and gradients of row-major ones, through backward(): cross_entropy's VJP once
    subtracted at the targets in a raveled copy, and lost it."""
    op = OPS[name]
    rng = _rng(name, shapes, "layout")
    arrays = op.example_inputs(rng, shapes)
    if not any(a.ndim for a in arrays):
        pytest.skip("scalar inputs only: one layout")
    results = []
    for layout in (np.ascontiguousarray, np.asfortranarray, _strided):
        xs = [Tensor(layout(a), requires_grad=op.takes_gradient(i))
              for i, a in enumerate(arrays)]
        out = op(*xs, ctx=ctx)
        if op.vjps is not None:
            out.backward(_rng(name, shapes, "w").standard_normal(out.shape))
        results.append([out.data] + [x.grad for x in xs if x.requires_grad])
    for other in results[1:]:
        for i, (c, f) in enumerate(zip(results[0], other)):
            what = "output" if i == 0 else f"gradient {i - 1}"
            np.testing.assert_allclose(f, c, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name}: {what} depends on the inputs' layout")


def _strided(a):
    """The values of a as a view with gaps between elements (every other one of a copy twice
    as wide): neither C- nor F-contiguous."""
    if a.ndim == 0:
        return a.copy()
    return np.repeat(a, 2, axis=-1)[..., ::2]


def test_every_row_has_a_torch_oracle():
    missing = sorted(set(OPS) - set(TORCH))
    assert not missing, (f"ops without a torch oracle: {missing}; add them to "
                         f"tests/torch_oracle.py below the 'ADD NEW ROWS HERE' marker")


# ---------------------------------------------------------------------------------------------
# rows with a scalar forward, on Values
def _value_call(op, ctx, *vals):
    """The Value method (or operator) of the row, applied to Values."""
    if op.symbol in DUNDERS:
        return DUNDERS[op.symbol](*vals)
    method = getattr(vals[0], op.name, None)
    assert method is not None, f"Value has no method '{op.name}' for the op-table row"
    return method(*vals[1:]) if ctx is None else method(ctx, *vals[1:])


@pytest.mark.parametrize("name, ctx", _value_cases())
def test_value_method(name, ctx):
    op = OPS[name]
    oracle = _oracle(name)
    rng = _rng(name, ctx, "value")
    for _ in range(VALUE_POINTS):
        vals = [Value(float(op.domains[i].sample(rng, ()))) for i in range(op.nin)]
        out = _value_call(op, ctx, *vals)
        assert out._op is op, f"Value.{name} does not record the '{name}' row of OPS"
        assert_gradients_close(lambda *v: _value_call(op, ctx, *v), vals)
        ts = _torch_leaves([v.data for v in vals])
        t_out = oracle(ctx, *ts)
        t_out.backward()
        out.backward()
        assert out.data == pytest.approx(t_out.item(), rel=1e-6, abs=1e-6)
        for v, t in zip(vals, ts):
            assert v.grad == pytest.approx(t.grad.item(), rel=1e-6, abs=1e-6), f"{name}: {vals}"


# ---------------------------------------------------------------------------------------------
# composite Value expressions against torch
COMPOSITES = {
    "sub": lambda a, b: a - b,
    "rsub": lambda a, b: 2.5 - a + b,
    "div": lambda a, b: a / b,
    "rdiv": lambda a, b: 3.0 / a - b / 2.0,
    "neg": lambda a, b: -a * b,
    "numbers": lambda a, b: 2 * a + 1 - b * 0.5 + a ** 2,
    "rpow": lambda a, b: 2.0 ** a + a ** b,
    "reuse": lambda a, b: a * a * a + (a + a) * b,
    "neuron": lambda a, b: (a * -0.7 + b * 1.3 + 0.2).tanh(),
    "mixed": lambda a, b: (a.exp() + 1).log() * b.sigmoid() - (a - b).relu() + (a * b).sin(),
    "sqrt_abs": lambda a, b: (a * b).sqrt() + (a - b).abs() + b.cos(),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_value_expression(name):
    fn = COMPOSITES[name]
    rng = _rng(name, "composite")
    for _ in range(3):
        a0, b0 = rng.uniform(0.3, 2.0, size=2)
        a, b = Value(a0), Value(b0)
        out = fn(a, b)
        out.backward()
        ta, tb = _torch_leaves([a0, b0])
        t_out = fn(ta, tb)
        t_out.backward()
        assert out.data == pytest.approx(t_out.item(), rel=1e-6, abs=1e-6)
        assert a.grad == pytest.approx(ta.grad.item(), rel=1e-6, abs=1e-6)
        assert b.grad == pytest.approx(tb.grad.item(), rel=1e-6, abs=1e-6)
        assert_gradients_close(fn, [Value(a0), Value(b0)])


def test_neuron_of_values_matches_torch():
    """The README's neuron: tanh(w . x + b), by hand from Values."""
    rng = _rng("neuron")
    xs, ws, b = rng.standard_normal(3), rng.standard_normal(3), 0.3
    vx, vw, vb = [Value(x) for x in xs], [Value(w) for w in ws], Value(b)
    out = (sum((w * x for w, x in zip(vw, vx)), vb)).tanh()
    out.backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    t_out = ((tw * tx).sum() + tb).tanh()
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-6, abs=1e-6)
    np.testing.assert_allclose([w.grad for w in vw], tw.grad.numpy(), **TOL)
    np.testing.assert_allclose([x.grad for x in vx], tx.grad.numpy(), **TOL)
    assert vb.grad == pytest.approx(tb.grad.item(), rel=1e-6, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# second derivatives of the elementwise rows against torch's double backward
def _second_cases():
    cases = []
    for name, op in OPS.items():
        if op.scalar is None:
            continue
        ctx = None if op.examples is None else op.examples[0][0]
        shapes = ((2, 3),) if op.nin == 1 else ((2, 3), (1, 3))
        cases.append(pytest.param(name, ctx, shapes, id=name))
    return cases


@pytest.mark.parametrize("name, ctx, shapes", _second_cases())
def test_second_derivative_matches_torch(name, ctx, shapes):
    """d/dx <d out/dx^T w, v> (a Hessian-vector product) with create_graph vs torch."""
    op = OPS[name]
    rng = _rng(name, "second")
    xs = _inputs(op, shapes, rng)
    out = op(*xs, ctx=ctx)
    w = rng.standard_normal(out.shape)
    vs = [rng.standard_normal(s) for s in shapes]
    gs = autograd.grad(out, xs, grad_outputs=w, create_graph=True)
    s = sum(((g * v).sum() for g, v in zip(gs, vs)), Tensor(0.0, dtype=np.float64))
    second = (autograd.grad(s, xs, allow_unused=True) if s.requires_grad
              else [None] * len(xs))
    ts = _torch_leaves([x.data for x in xs])
    t_out = TORCH[name](ctx, *ts)
    t_gs = torch.autograd.grad(t_out, ts, torch.from_numpy(w), create_graph=True)
    t_s = sum((g * torch.from_numpy(v)).sum() for g, v in zip(t_gs, vs))
    t_second = (torch.autograd.grad(t_s, ts, allow_unused=True) if t_s.requires_grad
                else [None] * len(ts))
    for i, (g, tg) in enumerate(zip(second, t_second)):
        g = np.zeros(shapes[i]) if g is None else g.data
        tg = np.zeros(shapes[i]) if tg is None else tg.detach().numpy(force=True)
        np.testing.assert_allclose(g, tg, **TOL,
                                   err_msg=f"{name}: second derivative of input {i} vs torch")


@pytest.mark.parametrize("name, ctx, shapes", _second_cases())
def test_second_derivative_of_value(name, ctx, shapes):
    """The same on Values: d2 out / dx_i dx_j through create_graph, against torch."""
    op = OPS[name]
    rng = _rng(name, "second-value")
    vals = [Value(float(op.domains[i].sample(rng, ()))) for i in range(op.nin)]
    out = _value_call(op, ctx, *vals)
    gs = autograd.grad(out, vals, create_graph=True)
    ts = _torch_leaves([v.data for v in vals])
    t_gs = torch.autograd.grad(TORCH[name](ctx, *ts), ts, create_graph=True)
    for i in range(op.nin):
        second = (autograd.grad(gs[i], vals, allow_unused=True) if gs[i].requires_grad
                  else [None] * op.nin)
        t_second = (torch.autograd.grad(t_gs[i], ts, allow_unused=True, retain_graph=True)
                    if t_gs[i].requires_grad else [None] * op.nin)
        for j in range(op.nin):
            got = 0.0 if second[j] is None else second[j].data
            want = 0.0 if t_second[j] is None else t_second[j].item()
            assert got == pytest.approx(want, rel=1e-6, abs=1e-6), f"{name}: d2/dx{i}dx{j}"
        if gs[i].requires_grad:
            check_directional(lambda *v: autograd.grad(_value_call(op, ctx, *v), v[i],
                                                       create_graph=True)[0],
                              vals, rng=rng)
