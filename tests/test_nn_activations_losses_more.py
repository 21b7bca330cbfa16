"""glu, the shrinkage activations, threshold, rrelu, Softmax2d, the functional in-place
spellings (relu_ ... rrelu_, and inplace=True) and six more losses (soft margin, Poisson,
Gaussian, multi-label soft margin and margin, triplet with any distance) against torch:
values and gradients in float32 and float64 on several shapes and the edge values, torch's
errors, the modules' reprs, and float64 gradcheck."""
import warnings

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from autograd.gradcheck import gradcheck

F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _both(arr, grad=True):
    arr = np.array(arr)
    return Tensor(arr.copy(), requires_grad=grad), torch.tensor(arr.copy(), requires_grad=grad)


def _close(ours, theirs, dtype, what=""):
    ours = ours.data if isinstance(ours, Tensor) else ours
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = np.asarray(ours)
    assert ours.shape == np.shape(theirs), f"{what}: shape {ours.shape} vs {np.shape(theirs)}"
    np.testing.assert_allclose(ours, theirs, equal_nan=True, err_msg=what, **TOL[dtype])


def _compare(ours_fn, torch_fn, arrays, dtype, grad=None, what=""):
    """ours_fn(*Tensors) against torch_fn(*torch tensors): the value, and the gradients of
    <g, out> for a random g w.r.t. the arrays whose index is in `grad` (default all)."""
    grad = range(len(arrays)) if grad is None else grad
    pairs = [_both(np.asarray(a), i in grad) for i, a in enumerate(arrays)]
    yo = ours_fn(*[p[0] for p in pairs])
    yt = torch_fn(*[p[1] for p in pairs])
    _close(yo, yt, dtype, f"{what}: value")
    assert yo.dtype == yt.detach().numpy().dtype, what
    g = np.random.default_rng(7).normal(size=yt.shape).astype(dtype)
    yo.backward(Tensor(g))
    yt.backward(torch.from_numpy(g))
    for i in grad:
        _close(pairs[i][0].grad, pairs[i][1].grad, dtype, f"{what}: gradient of input {i}")


def _with_edges(rng, shape, dtype, edges):
    """Normal values * 2 of `shape` whose first elements are `edges` (as many as fit)."""
    x = (rng.normal(size=shape) * 2).astype(dtype)
    flat = x.reshape(-1)
    k = min(len(edges), flat.size)
    flat[:k] = np.asarray(edges[:k], dtype=dtype)
    return x


def _raises_as_torch(ours, theirs, match_message=True):
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(want.type) as got:
        ours()
    if match_message:
        assert str(got.value) == str(want.value)


# ---------------------------------------------------------------------------------------------
# activations
SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
ACTIVATIONS = {
    "hardshrink": (F.hardshrink, TF.hardshrink, (), [0.5, -0.5, 0.0, -0.0, 0.49, 3.0]),
    "hardshrink-1.5": (lambda x: F.hardshrink(x, 1.5), lambda x: TF.hardshrink(x, 1.5), (),
                       [1.5, -1.5, 0.0, 1.6, -1.4]),
    "hardshrink-0": (lambda x: F.hardshrink(x, 0.0), lambda x: TF.hardshrink(x, 0.0), (),
                     [0.0, -0.0, 1e-3]),
    "softshrink": (F.softshrink, TF.softshrink, (), [0.5, -0.5, 0.0, -0.0, -0.2, 3.0]),
    "softshrink-2": (lambda x: F.softshrink(x, 2), lambda x: TF.softshrink(x, 2), (),
                     [2.0, -2.0, 0.0, 2.5, -1.0]),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, (), [0.0, -0.0, 20.0, -20.0]),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0),
                  (), [0.5, 0.0, 0.51, -3.0]),
    "threshold-0": (lambda x: F.threshold(x, 0.0, 0.0), lambda x: TF.threshold(x, 0.0, 0.0),
                    (), [0.0, -0.0, 1.0]),
    "rrelu-eval": (F.rrelu, TF.rrelu, (), [0.0, -0.0, -1.0, 1.0]),
    "rrelu-eval-bounds": (lambda x: F.rrelu(x, 0.2, 0.7, False),
                          lambda x: TF.rrelu(x, 0.2, 0.7, False), (), [0.0, -2.0]),
    "glu": (F.glu, TF.glu, "even", [0.0, 1.0, -1.0]),
    "glu-dim0": (lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0), "even0", [0.0, 30.0, -30.0]),
}


def _activation_shapes(kind):
    if kind == "even":
        return [(4,), (3, 4), (2, 3, 6)]
    if kind == "even0":
        return [(2,), (4, 3), (2, 3, 2)]
    return SHAPES


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients_equal_torchs(name, dtype):
    ours, theirs, kind, edges = ACTIVATIONS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for shape in _activation_shapes(kind):
        x = _with_edges(rng, shape, dtype, edges)
        _compare(ours, theirs, [x], dtype, what=f"{name} {shape}")


def test_nan_passes_as_torchs():
    x = np.array([np.nan, 1.0, -1.0])
    for ours, theirs in ((F.hardshrink, TF.hardshrink), (F.softshrink, TF.softshrink),
                         (lambda v: F.threshold(v, 0.0, 5.0), lambda v: TF.threshold(v, 0.0, 5.0))):
        _compare(ours, theirs, [x], np.float64, what="nan")


def test_activation_errors_are_torchs():
    x = np.zeros((2, 3))
    cases = [
        (lambda m, v: m.glu(v, 1), x), (lambda m, v: m.glu(v, -1), x),
        (lambda m, v: m.glu(v), np.float64(1.0)),
        (lambda m, v: m.softshrink(v, -1.0), x),
        (lambda m, v: m.softshrink(v, -0.5), x.astype(np.float32)),
        (lambda m, v: m.rrelu(v, 0.5, 0.1), x), (lambda m, v: m.rrelu(v, 0.5, 0.1, True), x),
        (lambda m, v: m.rrelu_(v, 0.5, 0.1), x),
        (lambda m, v: m.celu_(v, 0.0), x),
    ]
    for fn, arr in cases:
        _raises_as_torch(lambda: fn(F, Tensor(arr)), lambda: fn(TF, torch.tensor(arr)))
    with pytest.raises(IndexError):
        F.glu(Tensor(x), 2)
    with pytest.raises(NotImplementedError):
        F.rrelu(Tensor(np.array([1, -2])))
    for shape in ((2, 3), (1, 2, 3, 4, 5)):
        _raises_as_torch(lambda: nn.Softmax2d()(Tensor(np.zeros(shape))),
                         lambda: torch.nn.Softmax2d()(torch.zeros(shape)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax2d_is_softmax_over_the_channels(dtype):
    rng = np.random.default_rng(3)
    for shape in ((2, 3, 4, 5), (3, 4, 5), (1, 1, 2, 2)):
        _compare(nn.Softmax2d(), torch.nn.Softmax2d(), [rng.normal(size=shape).astype(dtype)],
                 dtype, what=f"Softmax2d {shape}")


def test_module_reprs_are_torchs():
    pairs = [("Threshold", (0.1, 2.0), {}), ("Threshold", (1, 20), {"inplace": True}),
             ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("Hardshrink", (), {}),
             ("Hardshrink", (1.5,), {}), ("Softshrink", (1,), {}), ("Tanhshrink", (), {}),
             ("GLU", (), {}), ("GLU", (1,), {}), ("Softmax2d", (), {}),
             ("SoftMarginLoss", (), {}), ("PoissonNLLLoss", (False, True), {}),
             ("GaussianNLLLoss", (), {"full": True}), ("MultiLabelSoftMarginLoss", (), {}),
             ("MultiLabelMarginLoss", (), {}), ("TripletMarginWithDistanceLoss", (), {}),
             ("ReLU", (True,), {}), ("LeakyReLU", (0.2, True), {})]
    for name, args, kwargs in pairs:
        assert repr(getattr(nn, name)(*args, **kwargs)) == \
            repr(getattr(torch.nn, name)(*args, **kwargs)), name


@pytest.mark.parametrize("name", ["Hardshrink", "Softshrink", "Tanhshrink", "Threshold", "GLU",
                                  "RReLU"])
def test_modules_call_their_functions(name):
    args = {"Threshold": (0.2, -1.0), "Hardshrink": (0.7,), "Softshrink": (0.7,),
            "GLU": (0,), "RReLU": (0.05, 0.5)}.get(name, ())
    x = np.random.default_rng(4).normal(size=(4, 3))
    _compare(getattr(nn, name)(*args).eval(), getattr(torch.nn, name)(*args).eval(), [x],
             np.float64, what=name)


# ---------------------------------------------------------------------------------------------
# rrelu in training: torch's draws
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.1, 0.35), (0.3, 0.3)])
def test_rrelu_in_training_draws_torchs_slopes(dtype, bounds):
    """Same seed, same slopes: one draw per element <= 0 (zeros included), in order; the
    gradient is the slope; the generator ends in torch's state."""
    rng = np.random.default_rng(5)
    for shape in ((), (7,), (40, 50), (2, 3, 4)):
        x = _with_edges(rng, shape, dtype, [0.0, -0.0, 1.0, -1.0])
        torch.manual_seed(11)
        autograd.manual_seed(11)
        _compare(lambda v: F.rrelu(v, *bounds, True), lambda v: TF.rrelu(v, *bounds, True),
                 [x], dtype, what=f"rrelu training {shape}")
        assert np.array_equal(autograd.get_rng_state().numpy(), torch.get_rng_state().numpy())


def test_rrelu_module_draws_in_training_mode_only():
    x = np.random.default_rng(6).normal(size=(5, 6))
    m, tm = nn.RReLU(), torch.nn.RReLU()
    autograd.manual_seed(3)
    torch.manual_seed(3)
    _close(m(Tensor(x)), tm(torch.tensor(x)), np.float64, "training")
    _close(m(Tensor(x)), tm(torch.tensor(x)), np.float64, "training, next draws")
    m.eval()
    tm.eval()
    state = autograd.get_rng_state().numpy().copy()
    _close(m(Tensor(x)), tm(torch.tensor(x)), np.float64, "eval")
    assert np.array_equal(autograd.get_rng_state().numpy(), state)     # no draw


def test_compiled_rrelu_draws_anew_at_each_call_as_eager_mode():
    """The slopes are an op that draws: compiled code draws at each call the numbers eager
    code draws from the same seed (values, gradients and the generator's state after)."""
    lin = nn.Linear(4, 6, rng=0, dtype=np.float64)

    def loss_fn(x):
        return F.rrelu(lin(x), 0.05, 0.6, training=True).sum()

    xs = [Tensor(np.random.default_rng(k).normal(size=(3, 4))) for k in range(3)]

    def run(fn):
        autograd.manual_seed(21)
        out = []
        for x in xs:
            lin.zero_grad()
            loss = fn(x)
            loss.backward()
            out.append([loss.detach().numpy().copy(), lin.weight.grad.numpy().copy()])
        return out, autograd.get_rng_state().numpy()

    step = autograd.compile(loss_fn)
    (got, state_c), (want, state_e) = run(step), run(loss_fn)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.array_equal(state_c, state_e)
    assert len(step._programs) == 1
    autograd.manual_seed(21)
    first, second = float(step(xs[0])), float(step(xs[0]))
    assert first != second                  # new slopes at the second call


# ---------------------------------------------------------------------------------------------
# in-place spellings and inplace=True
IN_PLACE = {
    "relu_": ((), ), "leaky_relu_": ((0.2,),), "hardtanh_": ((-0.5, 0.7),), "elu_": ((1.3,),),
    "selu_": ((),), "celu_": ((0.5,),), "threshold_": ((0.1, -4.0),),
    "rrelu_": ((0.1, 0.3),),
}
INPLACE_TRUE = {
    "relu": (), "relu6": (), "leaky_relu": (0.3,), "hardtanh": (-2.0, 1.0), "elu": (0.5,),
    "selu": (), "celu": (2.0,), "silu": (), "mish": (), "hardsigmoid": (), "hardswish": (),
    "threshold": (0.0, 1.5), "rrelu": (0.1, 0.4),
}


def _in_place_case(call, dtype, what, grad_tol=None):
    """call(module, x) on a non-leaf x = leaf * 1: the result is x itself, its values and
    grad_fn's name torch's, and the leaf's gradient through it torch's (to grad_tol's
    tolerance)."""
    rng = np.random.default_rng(8)
    arr = _with_edges(rng, (3, 5), dtype, [0.0, -0.5, 0.7, 6.0, 3.0, -3.0, 1.0, 0.1, -1.0])
    (xo, xt), g = _both(arr), rng.normal(size=(3, 5)).astype(dtype)
    yo, yt = xo * 1.0, xt * 1.0
    zo, zt = call(F, yo), call(TF, yt)
    assert zo is yo and zt is yt, what
    _close(zo, zt, dtype, f"{what}: value")
    assert type(zo.grad_fn).__name__ == type(zt.grad_fn).__name__, what
    zo.backward(Tensor(g))
    zt.backward(torch.from_numpy(g))
    _close(xo.grad, xt.grad, grad_tol or dtype, f"{what}: gradient")
    leaf_o, leaf_t = _both(arr)
    _raises_as_torch(lambda: call(F, leaf_o), lambda: call(TF, leaf_t), match_message=False)
    plain = Tensor(arr.copy())
    assert call(F, plain) is plain
    _close(plain, call(TF, torch.tensor(arr)), dtype, f"{what}: without grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_spellings_write_into_the_input_as_torchs(name, dtype):
    (args,) = IN_PLACE[name]
    _in_place_case(lambda m, x: getattr(m, name)(x, *args), dtype, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(INPLACE_TRUE))
def test_inplace_true_writes_into_the_input_as_torchs(name, dtype):
    """inplace=True is the in-place spelling: x itself returned, torch's values, grad_fn and
    gradient, the leaf error, and a plain tensor overwritten."""
    args = INPLACE_TRUE[name]
    # torch's hardsigmoid gradient is a float32 1/6 (1.0f / 6.0f) in float64 too
    _in_place_case(lambda m, x: getattr(m, name)(x, *args, inplace=True), dtype, name,
                   np.float32 if name == "hardsigmoid" else None)


def test_compiled_in_place_spellings_equal_eager_mode():
    lin = nn.Linear(4, 6, rng=1, dtype=np.float64)

    def fn(x):
        y = lin(x)
        F.elu_(y, 0.5)
        F.hardtanh_(y, -0.3, 0.8)
        F.threshold_(y, 0.1, -1.0)
        return F.leaky_relu_(y, 0.2).sum()

    step = autograd.compile(fn)
    for k in range(3):
        x = Tensor(np.random.default_rng(k).normal(size=(3, 4)))
        lin.zero_grad()
        got = step(x)
        got.backward()
        grad = lin.weight.grad.numpy().copy()
        lin.zero_grad()
        want = fn(x)
        want.backward()
        np.testing.assert_allclose(float(got), float(want), rtol=1e-12)
        np.testing.assert_allclose(grad, lin.weight.grad.numpy(), rtol=1e-12)
    assert len(step._programs) == 1


def test_backward_refuses_an_op_whose_value_was_overwritten():
    """sigmoid's gradient reads its output: relu_ of it afterwards is torch's error."""
    for m, x in ((F, Tensor(np.array([0.5, -1.0]), requires_grad=True)),
                 (TF, torch.tensor([0.5, -1.0], requires_grad=True))):
        y = x.sigmoid()
        m.relu_(y * 1.0)                        # a copy: fine
        y.sum().backward()
        y = x.sigmoid()
        m.relu_(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ---------------------------------------------------------------------------------------------
# losses
def _reductions(fn, tfn, arrays, dtype, grad=None, what="", **kwargs):
    for reduction in REDUCTIONS:
        _compare(lambda *a: fn(*a, reduction=reduction, **kwargs),
                 lambda *a: tfn(*a, reduction=reduction, **kwargs), arrays, dtype, grad,
                 f"{what} {reduction}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_loss(dtype):
    rng = np.random.default_rng(10)
    for shape in ((5,), (3, 4), (2, 3, 4)):
        x = _with_edges(rng, shape, dtype, [0.0, -0.0, 30.0, -30.0])
        y = np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(dtype)
        _reductions(F.soft_margin_loss, TF.soft_margin_loss, [x, y], dtype, grad=(0,),
                    what=str(shape))
    x = rng.normal(size=(3, 4)).astype(dtype)
    _reductions(F.soft_margin_loss, TF.soft_margin_loss, [x, np.ones((3, 1), dtype)], dtype,
                grad=(0,), what="broadcast target")


def test_soft_margin_loss_has_no_target_gradient_as_torch():
    x, y = np.zeros(3), np.ones(3)
    _raises_as_torch(lambda: F.soft_margin_loss(Tensor(x), Tensor(y, requires_grad=True)),
                     lambda: TF.soft_margin_loss(torch.tensor(x),
                                                 torch.tensor(y, requires_grad=True)))
    with autograd.no_grad():
        _close(F.soft_margin_loss(Tensor(x), Tensor(y, requires_grad=True)),
               TF.soft_margin_loss(torch.tensor(x), torch.tensor(y)), np.float64)


def test_soft_margin_loss_stays_finite_where_torchs_overflows():
    """softplus(-y x) where torch's log1p(exp(-y x)) is inf: a deliberate difference."""
    x = Tensor(np.array([-1000.0, 1000.0]), requires_grad=True)
    loss = F.soft_margin_loss(x, Tensor(np.ones(2)), reduction="none")
    np.testing.assert_allclose(loss.data, [1000.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-1.0, 0.0])


# the target's gradient at t = 0 with full=True is nan, as torch's (0 times the Stirling
# term's infinite slope): numpy says so while computing it
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_input, full", [(True, False), (False, False), (True, True),
                                             (False, True)])
def test_poisson_nll_loss(dtype, log_input, full):
    rng = np.random.default_rng(11)
    for shape in ((6,), (3, 4), (2, 2, 3)):
        x = rng.normal(size=shape) if log_input else rng.uniform(0.0, 3.0, size=shape)
        x = x.astype(dtype)
        x.reshape(-1)[0] = 0.0                  # log(0 + eps) for rates
        t = rng.poisson(2.0, size=shape).astype(dtype)
        t.reshape(-1)[:4] = [0.0, 1.0, 2.0, 1.5][:t.size]      # around the Stirling mask
        _reductions(F.poisson_nll_loss, TF.poisson_nll_loss, [x, t], dtype, what=str(shape),
                    log_input=log_input, full=full)
    x, t = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype), rng.uniform(0.5, 4.0, (3, 4))
    _compare(lambda a, b: F.poisson_nll_loss(a, b, log_input, full, eps=0.1),
             lambda a, b: TF.poisson_nll_loss(a, b, log_input, full, eps=0.1),
             [x, t.astype(dtype)], dtype, what="eps, target gradient")


def _gaussian(ours, full=False, eps=1e-6):
    def fn(x, t, v, reduction="mean"):
        m = F if ours else TF
        return m.gaussian_nll_loss(x, t, v, full=full, eps=eps, reduction=reduction)
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_nll_loss(dtype):
    rng = np.random.default_rng(12)
    x, t = rng.normal(size=(4, 3, 2)).astype(dtype), rng.normal(size=(4, 3, 2)).astype(dtype)
    for var_shape in ((4, 3, 2), (4, 3), (4, 1, 2), (4, 3, 1), (1, 3, 2)):
        v = rng.uniform(0.1, 2.0, var_shape).astype(dtype)
        v.reshape(-1)[:3] = [0.0, 1e-6, 1e-8]   # at and under eps: clamped
        for full in (False, True):
            _reductions(_gaussian(True, full), _gaussian(False, full), [x, t, v],
                        dtype, what=f"var {var_shape} full={full}")
    _compare(lambda a, b, c: F.gaussian_nll_loss(a, b, c, eps=0.5),
             lambda a, b, c: TF.gaussian_nll_loss(a, b, c, eps=0.5),
             [x[0, 0], t[0, 0], rng.uniform(0.0, 1.0, 2).astype(dtype)], dtype,
             what="eps 0.5, 1-d")
    for var in (0.0, 0.7):
        _compare(lambda a, b: F.gaussian_nll_loss(a, b, var),
                 lambda a, b: TF.gaussian_nll_loss(a, b, var), [x, t], dtype,
                 what=f"var {var}")


def test_gaussian_nll_loss_errors_are_torchs():
    x = np.zeros((3, 4))
    cases = [(np.ones(4), {}), (np.ones((2, 4)), {}), (np.ones((3, 2)), {}),
             (-np.ones((3, 4)), {}), (-1.0, {}), (np.ones((3, 4)), {"reduction": "bad"}),
             (np.ones((3, 1)), {"reduction": "bad"})]
    for var, kw in cases:
        _raises_as_torch(
            lambda: F.gaussian_nll_loss(Tensor(x), Tensor(x), var if isinstance(var, float)
                                        else Tensor(var), **kw),
            lambda: TF.gaussian_nll_loss(torch.tensor(x), torch.tensor(x), var if isinstance(
                var, float) else torch.tensor(var), **kw))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_soft_margin_loss(dtype):
    rng = np.random.default_rng(13)
    for shape in ((5,), (4, 5)):
        x = _with_edges(rng, shape, dtype, [0.0, 40.0, -40.0])
        t = (rng.random(shape) < 0.5).astype(dtype)
        w = rng.uniform(0.2, 2.0, shape[-1]).astype(dtype)
        _reductions(F.multilabel_soft_margin_loss, TF.multilabel_soft_margin_loss, [x, t],
                    dtype, what=str(shape))
        _reductions(F.multilabel_soft_margin_loss, TF.multilabel_soft_margin_loss, [x, t, w],
                    dtype, what=f"{shape} weight")


def _padded_targets(rng, n, c):
    """Class indices per row (repeats allowed), then -1, then anything in [-1, c)."""
    t = rng.integers(-1, c, size=(n, c))
    for row in t:
        k = rng.integers(0, c + 1)
        row[:k] = rng.integers(0, c, k)
        if k < c:
            row[k] = -1
    return t


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_margin_loss(dtype):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(6, 5)).astype(dtype)
    t = _padded_targets(rng, 6, 5)
    t[0] = [1, 1, -1, 3, 4]             # a repeated class counts twice (torch's loop)
    t[1] = [-1, 0, 1, 2, 3]             # no target
    t[2] = [4, 3, 2, 1, 0]              # every class a target
    x[3] = [0.0, 1.0, 2.0, 3.0, 0.5]
    t[3] = [1, -1, 0, 0, 0]             # 1 - x[1] + x[0] = 0 exactly: gradient 0
    _reductions(F.multilabel_margin_loss, TF.multilabel_margin_loss, [x, t], dtype, grad=(0,))
    for shape in ((4,), (1, 4), ()):
        xx = rng.normal(size=shape).astype(dtype)
        tt = np.array([2, 0, -1, 1][:max(1, int(np.prod(shape)))]).reshape(shape) if shape \
            else np.array(0)
        _reductions(F.multilabel_margin_loss, TF.multilabel_margin_loss, [xx, tt], dtype,
                    grad=(0,), what=str(shape))


def test_multilabel_margin_loss_errors_are_torchs():
    x = np.zeros((3, 4))
    for target in (np.zeros((3, 4)), np.zeros((3, 4), np.int32), np.zeros((3, 3), np.int64),
                   np.full((3, 4), 4), np.array([[-2, -1, 0, 0]] * 3),
                   np.array([[0, -1, 7, 0]] * 3)):
        _raises_as_torch(lambda: F.multilabel_margin_loss(Tensor(x), Tensor(target)),
                         lambda: TF.multilabel_margin_loss(torch.tensor(x), torch.tensor(target)))
    _raises_as_torch(lambda: F.multilabel_margin_loss(Tensor(np.zeros((2, 3, 4))),
                                                      Tensor(np.zeros((2, 3, 4), np.int64))),
                     lambda: TF.multilabel_margin_loss(torch.zeros(2, 3, 4),
                                                       torch.zeros(2, 3, 4, dtype=torch.long)))


def _l1(a, b):
    return (a - b).abs().sum(-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_margin_with_distance_loss(dtype):
    rng = np.random.default_rng(15)
    for shape in ((5, 3), (4,)):
        a, p, n = (rng.normal(size=shape).astype(dtype) for _ in range(3))
        for swap in (False, True):
            _reductions(F.triplet_margin_with_distance_loss, TF.triplet_margin_with_distance_loss,
                        [a, p, n], dtype, what=f"{shape} swap={swap}", swap=swap, margin=0.7)
        for ours, theirs in ((_l1, _l1), (lambda u, v: 1.0 - F.cosine_similarity(u, v, -1),
                                          lambda u, v: 1.0 - TF.cosine_similarity(u, v, -1))):
            _compare(lambda *t: F.triplet_margin_with_distance_loss(
                         *t, distance_function=ours, swap=True),
                     lambda *t: TF.triplet_margin_with_distance_loss(
                         *t, distance_function=theirs, swap=True), [a, p, n], dtype,
                     what=f"{shape} custom distance")
    # ties: d(a, n) = d(p, n) (minimum's gradient splits) and a loss of exactly 0 (clamp_min's
    # gradient is 1 there)
    a, p, n = np.array([[0.0], [0.0]]), np.array([[2.0], [1.0]]), np.array([[1.0], [3.0]])
    _compare(lambda *t: F.triplet_margin_with_distance_loss(*t, distance_function=_l1,
                                                           swap=True, margin=1.0),
             lambda *t: TF.triplet_margin_with_distance_loss(*t, distance_function=_l1,
                                                            swap=True, margin=1.0),
             [a.astype(dtype), p.astype(dtype), n.astype(dtype)], dtype, what="ties")


def test_triplet_margin_with_distance_loss_module():
    rng = np.random.default_rng(16)
    arrays = [rng.normal(size=(4, 3)) for _ in range(3)]
    _compare(nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True),
             torch.nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True), arrays, np.float64)
    _compare(nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1)),
             torch.nn.TripletMarginWithDistanceLoss(
                 distance_function=torch.nn.PairwiseDistance(p=1)), arrays, np.float64)
    _raises_as_torch(lambda: nn.TripletMarginWithDistanceLoss(margin=0.0),
                     lambda: torch.nn.TripletMarginWithDistanceLoss(margin=0.0))


def test_loss_errors_are_torchs():
    x, y = np.zeros((3, 4)), np.ones((3, 4))
    cases = [
        lambda m, a, b: m.soft_margin_loss(a, b, reduction="bad"),
        lambda m, a, b: m.soft_margin_loss(a[:, :1], b),
        lambda m, a, b: m.soft_margin_loss(a, b[:, :3]),
        lambda m, a, b: m.poisson_nll_loss(a, b, reduction="bad"),
        lambda m, a, b: m.multilabel_soft_margin_loss(a, b, reduction="bad"),
        lambda m, a, b: m.multilabel_soft_margin_loss(a[0, 0], b[0, 0]),
        lambda m, a, b: m.triplet_margin_with_distance_loss(a, b, b, reduction="bad"),
        lambda m, a, b: m.triplet_margin_with_distance_loss(a, b, b, margin=-1.0),
        lambda m, a, b: m.triplet_margin_with_distance_loss(a, b, b[0]),
    ]
    for case in cases:
        _raises_as_torch(lambda: case(F, Tensor(x), Tensor(y)),
                         lambda: case(TF, torch.tensor(x), torch.tensor(y)))
    with pytest.raises(RuntimeError):       # torch: The size of tensor a (5) must match ...
        F.poisson_nll_loss(Tensor(x), Tensor(np.ones(5)))


@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True)])
def test_legacy_reduction_keywords(size_average, reduce):
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=(3, 4)), np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0)
    t = _padded_targets(rng, 3, 4)
    for name, args in (("soft_margin_loss", (x, y)), ("poisson_nll_loss", (x, np.abs(y))),
                       ("multilabel_soft_margin_loss", (x, (y > 0).astype(float))),
                       ("multilabel_margin_loss", (x, t))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours = getattr(F, name)(*map(Tensor, args), size_average=size_average,
                                    reduce=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(TF, name)(*map(torch.tensor, args), size_average=size_average,
                                       reduce=reduce)
        _close(ours, theirs, np.float64, name)
        assert any("size_average and reduce args will be deprecated" in str(w.message)
                   for w in caught)
    for cls, args in (("SoftMarginLoss", (x, y)), ("PoissonNLLLoss", (x, np.abs(y))),
                      ("MultiLabelSoftMarginLoss", (x, (y > 0).astype(float))),
                      ("MultiLabelMarginLoss", (x, t))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = getattr(nn, cls)(size_average=size_average, reduce=reduce)(*map(Tensor, args))
            theirs = getattr(torch.nn, cls)(size_average=size_average, reduce=reduce)(
                *map(torch.tensor, args))
        _close(ours, theirs, np.float64, cls)


def test_loss_modules_call_their_functions():
    rng = np.random.default_rng(18)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    v = rng.uniform(0.0, 1.0, (3, 1))
    cases = [("SoftMarginLoss", {"reduction": "sum"}, [x, np.sign(y)]),
             ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 0.01},
              [np.abs(x), np.round(np.abs(y) * 3) + 1]),
             ("GaussianNLLLoss", {"full": True, "eps": 0.1, "reduction": "sum"}, [x, y, v]),
             ("MultiLabelSoftMarginLoss", {"reduction": "none"}, [x, (y > 0) * 1.0]),
             ("MultiLabelMarginLoss", {"reduction": "sum"}, [x, _padded_targets(rng, 3, 4)])]
    for name, kw, arrays in cases:
        grad = (0,) if name in ("MultiLabelMarginLoss", "SoftMarginLoss") else None
        _compare(getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw), arrays, np.float64,
                 grad, name)
    w = rng.uniform(0.5, 2.0, 4)
    _compare(nn.MultiLabelSoftMarginLoss(Tensor(w)), torch.nn.MultiLabelSoftMarginLoss(
        torch.tensor(w)), [x, (y > 0) * 1.0], np.float64, (0,), "weight")


# ---------------------------------------------------------------------------------------------
# float64 gradcheck
def _away_from(rng, shape, kinks, margin=0.05):
    x = rng.normal(size=shape) * 2
    for k in kinks:
        x = np.where(np.abs(x - k) < margin, k + 2 * margin, x)
    return Tensor(x, requires_grad=True)


def test_gradcheck_activations():
    rng = np.random.default_rng(19)

    def rrelu_training(v):
        autograd.manual_seed(0)             # the same slopes at every evaluation
        return F.rrelu(v, 0.1, 0.4, training=True)

    cases = [(F.glu, [0.0]), (lambda v: F.glu(v, 0), [0.0]), (F.hardshrink, [-0.5, 0.5]),
             (lambda v: F.softshrink(v, 1.0), [-1.0, 1.0]), (F.tanhshrink, []),
             (lambda v: F.threshold(v, 0.3, -1.0), [0.3]), (F.rrelu, [0.0]),
             (rrelu_training, [0.0]), (nn.Softmax2d(), [])]
    for fn, kinks in cases:
        shape = (2, 4, 2, 2) if isinstance(fn, nn.Module) else (4, 6)
        assert gradcheck(fn, [_away_from(rng, shape, kinks)])


def test_gradcheck_losses():
    rng = np.random.default_rng(20)

    def t(*shape, low=None, high=None):
        data = rng.normal(size=shape) if low is None else rng.uniform(low, high, shape)
        return Tensor(data, requires_grad=True)

    t_mlm = Tensor(_padded_targets(rng, 3, 4))
    cases = [
        (F.soft_margin_loss, [t(3, 4), Tensor(rng.normal(size=(3, 4)))]),
        (lambda a, b: F.poisson_nll_loss(a, b, full=True), [t(3, 4), t(3, 4, low=1.5, high=4)]),
        (lambda a, b: F.poisson_nll_loss(a, b, log_input=False),
         [t(3, 4, low=0.5, high=2), t(3, 4)]),
        (lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=True),
         [t(3, 4), t(3, 4), t(3, 1, low=0.5, high=2)]),
        (F.multilabel_soft_margin_loss, [t(3, 4), t(3, 4, low=0, high=1)]),
        (lambda a: F.multilabel_margin_loss(a, t_mlm), [_away_from(rng, (3, 4), [])]),
        (lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True),
         [t(4, 3), t(4, 3), t(4, 3)]),
    ]
    for fn, inputs in cases:
        assert gradcheck(fn, inputs)
