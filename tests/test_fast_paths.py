"""The fast paths (autograd/fast.py and the rows' fast_array / fast_vjps) against the reference
engine: every op-table case gives the same values and gradients with `autograd.fast_paths(False)`,
each fast VJP equals its row's textbook VJP, and buffer adoption never makes two gradients share
memory."""
import zlib

import numpy as np
import pytest

import autograd
import nn
import optim
import nn.functional as F
from autograd import OPS, Tensor
from autograd.backends import ARRAY
from autograd.fast import FAST_ARRAY, SparseGrad
from test_compile import _train_step

UNARY_SHAPES = [((),), ((3,),), ((2, 3),)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (1, 3)), ((1,), (2, 3))]
TIGHT = dict(rtol=1e-12, atol=1e-14)


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _cases():
    cases = []
    for name, op in OPS.items():
        examples = op.examples
        if examples is None:
            examples = [(None, s) for s in (UNARY_SHAPES if op.nin == 1 else BINARY_SHAPES)]
        for i, (ctx, shapes) in enumerate(examples):
            cases.append(pytest.param(name, ctx, shapes, id=f"{name}-{i}-{shapes}"))
    return cases


def _run(op, ctx, arrays, w, fast):
    with autograd.fast_paths(fast):
        xs = [Tensor(a.copy(), requires_grad=op.takes_gradient(i))
              for i, a in enumerate(arrays)]
        out = op(*xs, ctx=ctx)
        if op.vjps is not None:
            out.backward(w)
    return [out.data] + [x.grad for x in xs if x.requires_grad]


@pytest.mark.parametrize("name, ctx, shapes", _cases())
def test_every_case_gives_the_reference_result_with_fast_paths(name, ctx, shapes):
    op = OPS[name]
    rng = _rng(name, shapes)
    arrays = op.example_inputs(rng, shapes)
    with autograd.fast_paths(False):
        out_shape = op(*[Tensor(a) for a in arrays], ctx=ctx).shape
    w = rng.standard_normal(out_shape)
    fast = _run(op, ctx, arrays, w, True)
    reference = _run(op, ctx, arrays, w, False)
    for i, (f, r) in enumerate(zip(fast, reference)):
        what = "output" if i == 0 else f"gradient of input {i - 1}"
        np.testing.assert_allclose(f, r, **TIGHT, err_msg=f"{name}: {what} differs")


def _fast_vjp_cases():
    cases = []
    for name, op in OPS.items():
        if op.fast_vjps is op.vjps or op.vjps is None:
            continue
        examples = op.examples or [(None, s) for s in UNARY_SHAPES]
        for i, (ctx, shapes) in enumerate(examples):
            cases.append(pytest.param(name, ctx, shapes, id=f"{name}-{i}"))
    return cases


@pytest.mark.parametrize("name, ctx, shapes", _fast_vjp_cases())
def test_fast_vjp_equals_the_textbook_vjp(name, ctx, shapes):
    """Called directly: on the latest forward's output (the fast VJPs may read what that
    forward left in ctx), and on an earlier output of the same ctx (they must fall back)."""
    op = OPS[name]
    rng = _rng(name, shapes, "vjp")
    ins = op.example_inputs(rng, shapes)
    earlier = op.array(ctx, *ins)
    later_ins = [x * 0.5 if op.takes_gradient(i) else x for i, x in enumerate(ins)]
    later = op.array(ctx, *later_ins)                 # ctx now describes `later`
    for out, xs in ((later, later_ins), (earlier, ins)):
        g = rng.standard_normal(np.shape(out))
        for i, (fast, textbook) in enumerate(zip(op.fast_vjps, op.vjps)):
            if fast is textbook or fast is None:
                continue
            f = fast(FAST_ARRAY, g, out, ctx, *xs)
            if type(f) is SparseGrad:
                f = f.dense()
            np.testing.assert_allclose(f, textbook(ARRAY, g, out, ctx, *xs), **TIGHT,
                                       err_msg=f"{name}: fast VJP of input {i}")


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 2.5, -2.5])


@pytest.mark.parametrize("name, ctx", [("relu", None), ("leaky_relu", 0.01),
                                       ("leaky_relu", 1.0), ("leaky_relu", 3.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_forms_are_exact_at_special_values(name, ctx, dtype):
    """relu's and leaky_relu's fast forward and mask are exact: the same bits as the
    reference forms, signs of zero, infs and nans included, with infs and nans upstream too."""
    a = SPECIAL.astype(dtype)
    g = np.array([1.0, np.inf, -np.inf, np.nan, 2.0, -3.0, 1.0, np.inf, 0.5], dtype=dtype)
    results = []
    for fast in (True, False):
        with autograd.fast_paths(fast):
            x = Tensor(a.copy(), requires_grad=True)
            y = OPS[name](x, ctx=ctx)
            y.backward(g)
        results.append((y.data, x.grad))
    for f, r in zip(*results):
        assert f.dtype == r.dtype
        np.testing.assert_array_equal(np.signbit(f), np.signbit(r))
        np.testing.assert_array_equal(f, r)


def test_fast_mask_selects_when_the_gradient_is_not_finite():
    keep = np.array([True, False, True])
    g = np.array([np.inf, np.inf, 1.0])
    np.testing.assert_array_equal(FAST_ARRAY.mask(g, keep), [np.inf, 0.0, 1.0])


def test_fast_mask_multiplies_a_finite_gradient_whose_squares_overflow():
    """g . g (its finiteness test) overflows for a finite float32 g of 1e30: the sum then
    decides, and the product keeps its signed zeros, as for any finite g (the select would
    give +0.0 where g is negative and not kept)."""
    keep = np.array([True, False, True, False])
    for g in (np.array([1e30, -1e30, 2.0, -3.0], np.float32), np.array([1.0, -2.0, 3.0, -4.0])):
        got = FAST_ARRAY.mask(g, keep)
        np.testing.assert_array_equal(got, g * keep)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(g * keep))
        out = g.copy()
        assert FAST_ARRAY.mask(out, keep, out=out) is out
        np.testing.assert_array_equal(np.signbit(out), np.signbit(g * keep))
    g = np.array([np.nan, -1.0, np.inf, -np.inf], np.float32)      # not finite: the select
    want = np.where(keep, g, np.float32(0))
    np.testing.assert_array_equal(FAST_ARRAY.mask(g, keep), want)
    np.testing.assert_array_equal(np.signbit(FAST_ARRAY.mask(g, keep)), np.signbit(want))


# ---------------------------------------------------------------------------------------------
# buffer adoption
def _returns(arrays_made):
    """A row whose VJP hands back a fresh array and notes its id (and keeps no reference)."""
    def vjp(xp, g, out, ctx, a):
        result = np.full(np.shape(a), 2.0)
        arrays_made.append(id(result))
        return result
    return autograd.ops.Op("fresh", array=lambda c, a: a * 2.0, vjps=(vjp,),
                           domains=(autograd.ops.REAL,), formula="2 a")


def test_a_fresh_gradient_is_adopted_not_copied():
    """x's gradient is the array fresh's VJP made, kept as it is. (k is replayed between
    fresh and x: the loop's local still names the last contribution it computed, and a leaf
    reached right after its own edge sees one reference too many and copies, the safe way.)"""
    made = []
    x = Tensor(np.ones(3), requires_grad=True)
    w = Tensor(np.ones(3), requires_grad=True)
    k = w * 1.0
    (_returns(made)(x) + k).backward(np.ones(3))
    assert id(x.grad.numpy()) == made[0]
    with autograd.fast_paths(False):                  # the reference engine always copies
        y = Tensor(np.ones(3), requires_grad=True)
        k = w * 1.0
        (_returns(made)(y) + k).backward(np.ones(3))
    assert id(y.grad.numpy()) != made[1]


@pytest.mark.parametrize("form", ["loss", "step"])
def test_a_compiled_calls_gradients_are_adopted_not_copied(form):
    """The arrays the generated backward returns become the parameters' .grad as they are
    (fast.give_gradients hands each over before keep_grad adopts it), for a compiled loss
    and for a compiled training step."""
    model = nn.Linear(4, 3).double()
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = autograd.compile(_train_step(model, opt) if form == "step" else
                                (lambda x, y: F.cross_entropy(model(x), y)))
    x, y = Tensor(np.ones((5, 4))), np.arange(5) % 3
    compiled(x, y)
    program, returned = compiled._last, []
    generated = program.backward

    def backward(ctx, g):
        out = generated(ctx, g)
        returned[:] = [id(a) for a in out if a is not None]
        return out
    program.backward = backward
    model.zero_grad()
    out = compiled(x, y)
    if form == "loss":
        out.backward()
    assert [id(p.grad.numpy()) in returned for p in model.parameters()] == [True, True]


@pytest.mark.parametrize("fast", [True, False])
def test_gradients_never_share_memory(fast):
    """add's VJP hands the same array to both inputs, a reshape's a view of g, and the seed
    is the caller's: every .grad must still be its own array."""
    with autograd.fast_paths(fast):
        a = Tensor(np.ones((2, 3)), requires_grad=True)
        b = Tensor(np.ones((2, 3)), requires_grad=True)
        c = Tensor(np.ones(6), requires_grad=True)
        seed = np.full((2, 3), 3.0)
        (a + b + c.reshape(2, 3)).backward(seed)
    grads = [a.grad, b.grad, c.grad]
    for i, p in enumerate(grads):
        assert not np.shares_memory(p, seed)
        for q in grads[i + 1:]:
            assert not np.shares_memory(p, q)
    a.grad *= 0.0                                     # an in-place update of one (clipping)
    np.testing.assert_array_equal(b.grad, seed)
    np.testing.assert_array_equal(c.grad, seed.ravel())
    leaf = Tensor(np.ones(2), requires_grad=True)
    mine = np.array([5.0, 6.0])
    leaf.backward(mine)
    assert not np.shares_memory(leaf.grad, mine)


# ---------------------------------------------------------------------------------------------
# whole models: both engines train alike
def _mlp_step(fast):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(5, 8, rng=1), nn.ReLU(), nn.Linear(8, 8, rng=2),
                          nn.LeakyReLU(0.1), nn.Linear(8, 3, rng=3))
    model.double()
    x = Tensor(rng.standard_normal((7, 5)))
    y = rng.integers(0, 3, 7)
    with autograd.fast_paths(fast):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    return [loss.data] + [p.grad for p in model.parameters()]


def _lstm_step(fast):
    rng = np.random.default_rng(1)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True, rng=5)
    lstm.double()
    x = Tensor(rng.standard_normal((2, 6, 3)), requires_grad=True)
    with autograd.fast_paths(fast):
        out, _ = lstm(x)
        out.sum().backward()
    return [out.data, x.grad] + [p.grad for p in lstm.parameters()]


@pytest.mark.parametrize("step", [_mlp_step, _lstm_step], ids=["mlp", "lstm"])
def test_models_train_alike_on_both_engines(step):
    for f, r in zip(step(True), step(False)):
        np.testing.assert_allclose(f, r, **TIGHT)


def _sgd_steps(fast, lr):
    """Three plain SGD steps (the last with one parameter's gradient set to None), then a
    backward through a graph recorded before the last step: (parameters, the error)."""
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Linear(4, 5, rng=7), nn.Tanh(), nn.Linear(5, 2, rng=8))
    model.double()
    opt = optim.SGD(model.parameters(), lr=lr)
    x = Tensor(rng.standard_normal((6, 4)))
    with autograd.fast_paths(fast):
        for k in range(3):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            if k == 2:
                model[0].bias.grad = None
                stale = (model(x) ** 2).mean()
            opt.step()
        with pytest.raises(RuntimeError) as err:
            stale.backward()
    return [p.data.numpy().copy() for p in model.parameters()], str(err.value)


@pytest.mark.parametrize("lr", [0.1, 0.0])
def test_plain_sgd_fast_path_equals_the_general_update(lr):
    """optim.SGD's one loop for plain SGD: the same parameters, bit for bit, as the general
    loop (a parameter without a gradient left alone), and the same error for a graph that
    read a parameter before the step changed it."""
    fast, fast_error = _sgd_steps(True, lr)
    reference, reference_error = _sgd_steps(False, lr)
    for f, r in zip(fast, reference):
        assert np.array_equal(f, r)
    assert "modified by an inplace operation" in fast_error
    assert fast_error == reference_error


def test_plain_sgd_fast_path_steps_values_as_the_general_update():
    """Values (floats, rebound) and Tensors in one group take the general update's numbers."""
    def run(fast):
        vs = [autograd.Value(0.3), autograd.Value(-1.7)]
        t = Tensor(np.array([0.5, 2.0]), requires_grad=True)
        opt = optim.SGD(vs + [t], lr=0.1)
        with autograd.fast_paths(fast):
            for k in range(3):
                for v in vs:
                    v.grad = 0.25 * k - v.data
                t.grad = Tensor(np.array([0.1, -0.2]) * k)
                opt.step()
        return [v.data for v in vs] + list(t.data.numpy())
    assert run(True) == run(False)


# ---------------------------------------------------------------------------------------------
# Value graphs: fast.backpropagate_floats against engine.backpropagate
def _value_graph(rows, seed):
    """A random expression over every scalar row, with shared nodes (one value used by
    several later ops), returning (leaves, every node, the output)."""
    from autograd import Value
    rng = np.random.default_rng(seed)
    leaves = [Value(float(v)) for v in rng.uniform(0.5, 1.5, 4)]
    nodes = list(leaves)
    for name in rows:
        op = OPS[name]
        args = [nodes[int(k)] for k in rng.integers(0, len(nodes), op.nin)]
        domains = op.domains or ()
        if any(d is not None and (d.low or 0) > 0 for d in domains):
            args = [a * a + 0.5 for a in args]          # strictly positive where required
        ctx = None if op.examples is None else sorted({c for c, _ in op.examples},
                                                       key=repr)[0]
        out = getattr(args[0], name)(*args[1:]) if ctx is None else \
            getattr(args[0], name)(ctx, *args[1:])
        nodes.append(out * 0.5 + nodes[-1] * 0.25)      # the previous node used again
    out = sum(nodes[4:], nodes[0])
    return leaves, nodes, out


def test_value_backward_fast_path_equals_the_reference():
    from autograd.engine import fast_paths
    from test_op_table import DUNDERS
    rows = [n for n, op in OPS.items() if op.scalar is not None and op.symbol not in DUNDERS
            and n not in ("pow",)]
    assert len(rows) >= 8
    for seed in range(5):
        results = []
        for fast in (True, False):
            leaves, nodes, out = _value_graph(rows, seed)
            with fast_paths(fast):
                out.backward(retain_graph=True)
                out.backward(2.0)           # a second pass adds, with another seed
            results.append([n.grad for n in nodes] + [out.grad])
        assert results[0] == results[1]     # bit for bit: the same VJPs in the same order


# ---------------------------------------------------------------------------------------------
# Tensor graphs: fast.backpropagate_arrays against engine.backpropagate on the same backend
def _tensor_graph(seed):
    """An LSTM (getitem's sparse gradients, shared nodes), a broadcast bias, a retained
    intermediate and a leaf used twice, returning (the nodes whose .grad is compared, out)."""
    rng = np.random.default_rng(seed)
    lstm = nn.LSTM(3, 4, batch_first=True, rng=seed)
    lstm.double()
    x = Tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal((1, 4)), requires_grad=True)
    out, _ = lstm(x)
    h = (out[:, -1] + b).relu()
    h.retain_grad()
    out = (h * h + x[:, 0, :1] * b).sum()
    return [x, b, h] + list(lstm.parameters()), out


def test_tensor_backward_fast_path_equals_the_general_loop():
    from autograd.engine import run_backward
    for seed in range(3):
        results = []
        for general in (False, True):
            nodes, out = _tensor_graph(seed)
            if general:       # engine.backpropagate with the fast backend, as before fast.py's
                run_backward(out, out._seed(None), True, False, out._keep_grad)
                run_backward(out, out._seed(2.0), False, False, out._keep_grad)
            else:
                out.backward(retain_graph=True)
                out.backward(2.0)
            results.append([n.grad._data for n in nodes])
        for f, r in zip(*results):
            np.testing.assert_array_equal(f, r)     # bit for bit: same VJPs, same order


def test_tensor_backward_fast_path_keeps_the_errors():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    z = (y * y).sum()
    with autograd.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    w = (x * x).sum()
    w.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        w.backward()


def _compiled_call(seed):
    """A compiled step over a model's parameters, a retained output and a leaf that already
    has a gradient: (the leaves whose .grad is compared, out)."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4, rng=seed), nn.Tanh(), nn.Linear(4, 2, rng=seed + 1))
    model.double()
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    b.grad = Tensor(rng.standard_normal(2))
    step = autograd.compile(lambda x, y: F.cross_entropy(model(x) + b, y))
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    out = step(x, np.arange(5) % 2)
    out.retain_grad()
    return [x, b] + list(model.parameters()), out


def test_compiled_call_backward_equals_the_general_loop():
    """fast._backward_of_a_call (a compiled call on leaves, all gradients from one run of the
    generated backward) against engine.backpropagate on the same node, bit for bit, through a
    retained graph and into a .grad that already holds a value."""
    from autograd.engine import backpropagate
    for seed in range(3):
        results = []
        for general in (False, True):
            nodes, out = _compiled_call(seed)
            if general:
                backpropagate(out, out._seed(None), FAST_ARRAY, True, out._keep_grad, None)
                backpropagate(out, out._seed(2.0), FAST_ARRAY, False, out._keep_grad, None)
            else:
                out.backward(retain_graph=True)
                out.backward(2.0)
            results.append([n.grad._data for n in nodes + [out]])
        for f, r in zip(*results):
            np.testing.assert_array_equal(f, r)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.backward()


def test_compiled_call_on_one_leaf_twice_sums_it_first():
    """step(x, x): the leaf's two terms are one gradient before it reaches .grad, as in the
    general loop (the fast path declines the call)."""
    step = autograd.compile(lambda a, b: (a * b.exp()).sum())
    x = Tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    x.grad = Tensor(np.full(4, 0.1))
    step(x, x).backward()
    e = np.exp(x._data)
    np.testing.assert_array_equal(x.grad._data, 0.1 + (e + x._data * e))


def test_buffers_are_reused_with_the_fast_paths_only():
    """take_buffer hands back an array given earlier (same shape and dtype) when the fast paths
    are on; the reference engine always allocates."""
    from autograd.fast import give_buffers, take_buffer
    shape = (3, 5, 7)
    a = take_buffer(shape, np.float32)
    give_buffers(a)
    assert take_buffer(shape, np.float32) is a
    give_buffers(a)
    with autograd.fast_paths(False):
        assert take_buffer(shape, np.float32) is not a
        b = np.empty(shape, np.float32)
        give_buffers(b)
    assert take_buffer(shape, np.float32) is a      # b was not kept
    assert take_buffer(shape, np.float32) is not b
    assert take_buffer(shape, np.float64).dtype == np.float64


@pytest.mark.parametrize("case", ["finite", "nan_in_out", "inf_in_g", "nan_in_g", "overflow"])
def test_max_pool_finite_checks_answer_as_the_two_sums(case):
    """The max-pool gradient's one dot product decides both checks only when it is finite;
    an inf or nan in either array, or a product that overflows, goes to the exact sums."""
    from autograd.ops_tensor import _finite_checks
    rng = np.random.default_rng(11)
    g = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    out = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    if case == "nan_in_out":
        out[1, 2, 0, 1] = np.nan
    elif case == "inf_in_g":
        g[0, 0, 1, 1] = -np.inf
    elif case == "nan_in_g":
        g[0, 1, 0, 0] = np.nan
    elif case == "overflow":
        g[:] = 3e38
        out[:] = 3e38
    sums = (np.isfinite(np.add.reduce(g, axis=None)), np.isnan(np.add.reduce(out, axis=None)))
    assert _finite_checks(g, out) == tuple(map(bool, sums))
