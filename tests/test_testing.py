"""autograd.testing on correct and deliberately wrong gradients.

Every wrong one is caught (wrong sign, wrong factor, missing broadcast reduction, wrong second
derivative) and no correct one is flagged."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import OPS, Tensor, Value
from autograd.ops import REAL, Domain, Op
from autograd.testing import (GradcheckError, assert_gradients_close, away_from_kinks,
                              broadcastable_shapes, check_directional, check_module, tensors)

SETTINGS = settings(max_examples=15, deadline=None)


def _op(name, array, vjps):
    return Op(name, None, array, vjps, (REAL,) * len(vjps), name)


def _sin(factor):
    return _op("sin_x%g" % factor, lambda c, a: np.sin(a),
               (lambda xp, g, out, c, a: factor * (g * xp.cos(a)),))


def _add_row(reduce):
    def db(xp, g, out, c, a, b):
        return g.sum(axis=0, keepdims=True) if reduce else g[:1]
    return _op("add_row", lambda c, a, b: a + b, (lambda xp, g, out, c, a, b: g, db))


def _square(differentiable):
    """a^2 with VJP 2 a g. The wrong one uses xp.data(a): a constant in create_graph mode, so the
    first derivative is right and the second derivative is 0 instead of 2."""
    def vjp(xp, g, out, c, a):
        return g * (2.0 * (a if differentiable else xp.data(a)))
    return _op("square", lambda c, a: a * a, (vjp,))


def _t(shape, seed=0, low=-2.0, high=2.0):
    return Tensor(np.random.default_rng(seed).uniform(low, high, shape), dtype=np.float64,
                  requires_grad=True)


WRONG = {  # name: (fn, input shapes)
    "wrong sign": (lambda a: _sin(-1.0)(a), [(2, 3)]),
    "wrong factor": (lambda a: _sin(1.05)(a), [(2, 3)]),
    "missing broadcast reduction": (lambda a, b: _add_row(False)(a, b),
                                    [(2, 3), (1, 3)]),
}
RIGHT = {
    "sin": (lambda a: _sin(1.0)(a), [(2, 3)]),
    "broadcast reduction": (lambda a, b: _add_row(True)(a, b), [(2, 3), (1, 3)]),
    "square": (lambda a: _square(True)(a), [(4,)]),
    "matmul tanh": (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 2)]),
}


def _inputs(shapes):
    return [_t(s, i) for i, s in enumerate(shapes)]


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(WRONG))
def test_assert_gradients_close_catches(name):
    fn, shapes = WRONG[name]
    with pytest.raises(AssertionError, match="assert_gradients_close failed"):
        assert_gradients_close(fn, _inputs(shapes))


@pytest.mark.parametrize("name", sorted(WRONG))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_directional_catches(name, seed):
    fn, shapes = WRONG[name]
    with pytest.raises(AssertionError, match="check_directional failed at order 1"):
        check_directional(fn, _inputs(shapes), rng=seed)


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_correct_gradients_pass_every_check(name):
    fn, shapes = RIGHT[name]
    xs = _inputs(shapes)
    before = [np.array(x.data) for x in xs]
    assert assert_gradients_close(fn, xs) is None
    for seed in range(3):
        assert check_directional(fn, xs, order=1, rng=seed)
        assert check_directional(fn, xs, order=2, rng=np.random.default_rng(seed))
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.data, b)
        assert x.grad is None


def test_wrong_second_derivative_caught_only_at_order_2():
    fn = lambda a: _square(False)(a)  # noqa: E731
    x = _t((4,))
    assert_gradients_close(fn, x)                    # first derivative is right
    assert check_directional(fn, x, order=1)
    with pytest.raises(AssertionError, match="order 2.*gradient of the gradient"):
        check_directional(fn, x, order=2)


def test_directional_second_order_on_values():
    assert check_directional(lambda a, b: (a * b).tanh() + a ** 3, [Value(0.3), Value(-0.8)],
                             order=2, rng=3)
    x = Value(0.5)
    op = Op("vsq", lambda c, a: a * a, None, (lambda xp, g, out, c, a: g * 2.0 * xp.data(a),),
            (REAL,), "a^2")
    wrong = lambda a: Value._node(a.data * a.data, op, (a,))  # noqa: E731
    check_directional(wrong, x, order=1)
    with pytest.raises(AssertionError, match="order 2"):
        check_directional(wrong, x, order=2)


def test_directional_is_reproducible_and_validates_order():
    fn, shapes = WRONG["wrong factor"]
    msgs = []
    for _ in range(2):
        with pytest.raises(AssertionError) as e:
            check_directional(fn, _inputs(shapes), rng=7)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        check_directional(fn, _inputs(shapes), order=3)


# ---------------------------------------------------------------------------------------------
# kink hints
def test_kink_hint_for_relu_at_zero():
    """(abs at 0 is no failure: its central difference, 0, agrees with PyTorch's gradient 0.)"""
    x = Tensor(np.array([0.0, 1.0, -2.0]), dtype=np.float64, requires_grad=True)
    assert_gradients_close(lambda a: a.abs(), x)
    for fn in (lambda a: a.relu(), lambda a: a.leaky_relu(0.1)):
        with pytest.raises(AssertionError) as e:
            assert_gradients_close(fn, x)
        msg = str(e.value)
        assert "hint: input 0 element 0 sits on a kink" in msg
        assert "element 1 " not in msg and "element 2 " not in msg


def test_kink_hint_for_a_tie_in_max():
    """max of a vector sending the gradient to its first maximum; a tie is a kink."""
    def vjp(xp, g, out, c, a):
        onehot = np.zeros(a.shape)
        onehot[np.argmax(a)] = 1.0
        return g * onehot
    op = _op("max_first_fake", lambda c, a: a.max(), (vjp,))
    tie = Tensor(np.array([1.0, 1.0, 0.0]), dtype=np.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="hint: input 0 element 0 sits on a kink"):
        assert_gradients_close(lambda a: op(a), tie)
    assert_gradients_close(lambda a: op(a), _t((3,)))   # no tie: fine


def test_no_kink_hint_for_a_smooth_wrong_gradient():
    with pytest.raises(AssertionError) as e:
        assert_gradients_close(*(lambda f, s: (f, _inputs(s)))(*WRONG["wrong sign"]))
    assert "hint" not in str(e.value)


# ---------------------------------------------------------------------------------------------
# check_module
class _Affine:
    """A module by duck typing: named_parameters() and __call__, float32 parameters."""

    def __init__(self, vjp_factor=1.0):
        rng = np.random.default_rng(0)
        self.weight = Tensor(rng.standard_normal((3, 2)), dtype=np.float32, requires_grad=True)
        self.bias = Tensor(rng.standard_normal(2), dtype=np.float32, requires_grad=True)
        self.act = _sin(vjp_factor)

    def named_parameters(self):
        return [("weight", self.weight), ("bias", self.bias)]

    def __call__(self, x):
        return self.act(x @ self.weight + self.bias)


def test_check_module_passes_and_restores_dtype():
    m = _Affine()
    saved = [p.detach().numpy() for _, p in m.named_parameters()]
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), dtype=np.float32)
    assert check_module(m, x, loss_fn=lambda out: (out * out).sum())
    assert check_module(m, [x])                                     # non-scalar output
    for (_, p), d in zip(m.named_parameters(), saved):
        assert p.detach().numpy() is d and p.data.dtype == np.float32 and p.grad is None


def test_check_module_names_the_wrong_parameter():
    m = _Affine(vjp_factor=-1.0)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), dtype=np.float32)
    with pytest.raises(GradcheckError) as e:
        check_module(m, x, loss_fn=lambda out: out.sum())
    msg = str(e.value)
    assert "check_module(_Affine) failed" in msg
    assert "weight" in msg and "bias" in msg
    assert m.weight.data.dtype == np.float32 and m.bias.data.dtype == np.float32


def test_check_module_on_nn_linear():
    nn = pytest.importorskip("nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear not available yet")
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    dtypes = [p.data.dtype for p in layer.parameters()]
    x = Tensor(np.random.default_rng(2).standard_normal((5, 3)))
    assert check_module(layer, x, loss_fn=lambda out: out.tanh().sum())
    assert [p.data.dtype for p in layer.parameters()] == dtypes


def test_check_module_without_parameters():
    class Empty:
        def parameters(self):
            return []

        def __call__(self, x):
            return x
    with pytest.raises(ValueError, match="no parameter that requires grad"):
        check_module(Empty(), Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="neither named_parameters"):
        check_module(object(), Tensor(np.ones(2)))


# ---------------------------------------------------------------------------------------------
# check_module on an nn.Module whose own parameter VJPs are deliberately wrong
def _quad(dw="right", db="right"):
    """quad(x, w, b) = x * w^2 + b, w and b of shape (F,) broadcast over a batch x of (N, F).

    d/dw = 2 g x w and d/db = g; the engine sums both over the batch (unbroadcast), so the right
    VJPs return them un-reduced. The wrong ones: a factor, a sign, a second derivative lost
    (xp.data(w) is a constant under create_graph), and two broadcast reductions done wrong by
    hand: the gradient of one batch row only, or the batch mean (a sum divided by N)."""
    dws = {"right": lambda xp, g, x, w: 2.0 * g * x * w,
           "wrong factor": lambda xp, g, x, w: 2.1 * g * x * w,
           "wrong sign": lambda xp, g, x, w: -2.0 * g * x * w,
           "wrong second derivative": lambda xp, g, x, w: 2.0 * g * x * xp.data(w)}
    dbs = {"right": lambda g: g,
           "summed by hand": lambda g: g.sum(axis=0),
           "one broadcast slice": lambda g: g[:1],
           "divided by the batch size": lambda g: g.mean(axis=0)}
    return Op("quad", None, lambda c, x, w, b: x * w * w + b,
              (lambda xp, g, out, c, x, w, b: g * w * w,
               lambda xp, g, out, c, x, w, b: dws[dw](xp, g, x, w),
               lambda xp, g, out, c, x, w, b: dbs[db](g)),
              (REAL,) * 3, "x * w^2 + b")


def _quad_module(dw="right", db="right"):
    nn = pytest.importorskip("nn")

    class Quad(nn.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(3)
            self.weight = nn.Parameter(rng.uniform(0.5, 1.5, 3).astype(np.float32))
            self.bias = nn.Parameter(rng.standard_normal(3).astype(np.float32))
            self.op = _quad(dw, db)

        def forward(self, x):
            return self.op(x, self.weight, self.bias).tanh()   # the op row, called like a function

    return Quad()


def _batch():
    return Tensor(np.random.default_rng(4).uniform(-2.0, 2.0, (4, 3)), dtype=np.float32)


@pytest.mark.parametrize("db", ["right", "summed by hand"])
def test_check_module_passes_correct_parameter_vjps(db):
    m = _quad_module(db=db)
    saved = [p.detach().numpy() for p in m.parameters()]
    assert check_module(m, _batch(), loss_fn=lambda out: (out * out).sum())
    assert check_module(m, _batch())                                 # projected output
    for p, d in zip(m.parameters(), saved):
        assert p.detach().numpy() is d and p.data.dtype == np.float32 and p.grad is None


@pytest.mark.parametrize("dw", ["wrong factor", "wrong sign"])
def test_check_module_catches_a_wrong_weight_vjp(dw):
    m = _quad_module(dw=dw)
    with pytest.raises(GradcheckError) as e:
        check_module(m, _batch(), loss_fn=lambda out: (out * out).sum())
    msg = str(e.value)
    assert "check_module(Quad) failed: 3 of 6 gradient elements" in msg
    assert "weight" in msg and "bias" not in msg                     # only the wrong one named
    assert all(p.data.dtype == np.float32 for p in m.parameters())


@pytest.mark.parametrize("db", ["one broadcast slice", "divided by the batch size"])
def test_check_module_catches_a_missing_broadcast_reduction(db):
    m = _quad_module(db=db)
    for loss_fn in (lambda out: (out * out).sum(), None):
        with pytest.raises(GradcheckError) as e:
            check_module(m, _batch(), loss_fn=loss_fn)
        msg = str(e.value)
        assert "check_module(Quad) failed: 3 of 6 gradient elements" in msg
        assert "bias" in msg and "weight" not in msg


def test_module_wrong_second_derivative_needs_check_directional_order_2():
    """check_module compares first derivatives only, so a parameter VJP that is right but not
    differentiable passes it; check_directional at order 2 over the module's parameters (which
    it perturbs in place, as the module reads them) catches it, and passes the right one."""
    x = Tensor(_batch().data, dtype=np.float64)
    loss = lambda out: (out * out).sum()  # noqa: E731
    for dw in ("right", "wrong second derivative"):
        m = _quad_module(dw=dw)
        assert check_module(m, x, loss_fn=loss)
        params = list(m.parameters())
        for p in params:
            p.data = p.data.astype(np.float64)
        fn = lambda *_: loss(m(x))  # noqa: E731
        assert check_directional(fn, params, order=1, rng=0)
        if dw == "right":
            assert check_directional(fn, params, order=2, rng=0)
        else:
            with pytest.raises(GradcheckError, match="order 2"):
                check_directional(fn, params, order=2, rng=0)


# ---------------------------------------------------------------------------------------------
# hypothesis strategies
@SETTINGS
@given(tensors(shape=(2, 3)))
def test_tensors_strategy(x):
    assert isinstance(x, Tensor) and x.shape == (2, 3) and x.dtype == np.float64
    assert x.requires_grad and np.all(np.abs(x.data) <= 3.0)


@SETTINGS
@given(broadcastable_shapes())
def test_broadcastable_shapes_broadcast(shapes):
    a, b = shapes
    np.broadcast_shapes(a, b)


@SETTINGS
@given(away_from_kinks(kinks=(0.0, 1.0), margin=0.2), away_from_kinks(OPS["relu"].domains[0]))
def test_away_from_kinks(x, y):
    assert abs(x) >= 0.2 and abs(x - 1.0) >= 0.2
    assert abs(y) >= 0.1 and -3.0 <= y <= 3.0


@SETTINGS
@given(tensors(shape=(3,), elements=away_from_kinks()))
def test_user_property_test_in_three_lines(x):
    assert_gradients_close(lambda a: a.relu() * a.abs(), x)


@SETTINGS
@given(broadcastable_shapes(max_dims=3, max_side=3).flatmap(
    lambda s: st.tuples(tensors(shape=s[0]), tensors(shape=s[1]))))
def test_broadcast_mul_property(pair):
    a, b = pair
    assert_gradients_close(lambda p, q: p * q + p, [a, b])


@SETTINGS
@given(broadcastable_shapes(max_dims=2, max_side=3).flatmap(
    lambda s: st.tuples(tensors(shape=s[0]), tensors(shape=s[1]))))
def test_missing_broadcast_reduction_caught_whenever_a_row_is_broadcast(pair):
    """add with b's VJP taking row 0 of g instead of summing: wrong exactly when the output is
    2-D with more than one row (a wrong value if b was broadcast, a wrong shape if not)."""
    a, b = pair
    wrong_db = lambda xp, g, out, c, a, b: g[:1] if g.ndim == 2 else g   # noqa: E731
    op = _op("add_first_row", lambda c, a, b: a + b, (lambda xp, g, out, c, a, b: g, wrong_db))
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    broadcast_rows = len(out_shape) == 2 and out_shape[0] > 1
    fn = lambda p, q: op(p, q)  # noqa: E731
    if broadcast_rows:
        with pytest.raises(AssertionError):
            assert_gradients_close(fn, [a, b])
    else:
        assert_gradients_close(fn, [a, b])


@settings(max_examples=3, deadline=None)
@given(tensors(shape=(2,), dtype=np.float32))
def test_strategies_float32_tensors(x):
    assert x.dtype == np.float32
    with pytest.raises(TypeError, match="float32"):
        assert_gradients_close(lambda a: a.sin(), x)


@SETTINGS
@given(away_from_kinks(Domain(0.5, 2.0, kinks=(1.0,), margin=0.3)))
def test_domain_is_accepted_by_away_from_kinks(x):
    assert 0.5 <= x <= 2.0 and abs(x - 1.0) >= 0.3
