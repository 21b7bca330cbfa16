"""torch's functions added in autograd/torch_functions_more.py (and poisson, special, multi_dot)
against torch: values, dtypes, shapes, errors, gradients in float64 (compared with torch's and
gradchecked), the Tensor-method forms, and a compiled run of each differentiable composite."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
from torch_surface import assert_same, raises_like_torch, same  # noqa: E402


def _arrays(shapes, seed, low=-2.0, high=2.0):
    rng = np.random.default_rng(seed)
    return [s if isinstance(s, np.ndarray) else rng.uniform(low, high, size=s) for s in shapes]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def same_gradients(fn, shapes, seed=0, low=-2.0, high=2.0, check=True):
    """fn(m, *inputs) on float64 inputs that require grad: the same values and input gradients
    as torch's for a random upstream gradient, and (check) autograd.gradcheck passes."""
    arrays = _arrays(shapes, seed, low, high)
    ours = [autograd.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    o, t = _first(fn(autograd, *ours)), _first(fn(torch, *theirs))
    assert_same(o, t, rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(t.shape))
    o.backward(autograd.tensor(g))
    t.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=f"input {i}")
    if check:
        fresh = [autograd.tensor(a, requires_grad=True) for a in arrays]
        assert autograd.gradcheck(lambda *xs: _first(fn(autograd, *xs)), fresh)


def compiles_alike(fn, shapes, seed=0, low=-2.0, high=2.0):
    """autograd.compile(fn) gives eager's values and gradients, on a second call with new
    values too (so masks and shifts are computed per call, not kept from the trace)."""
    compiled = autograd.compile(lambda *xs: _first(fn(autograd, *xs)))
    for s in (seed, seed + 7):
        arrays = _arrays(shapes, s, low, high)
        eager = [autograd.tensor(a, requires_grad=True) for a in arrays]
        comp = [autograd.tensor(a, requires_grad=True) for a in arrays]
        e, c = _first(fn(autograd, *eager)), compiled(*comp)
        np.testing.assert_allclose(c.detach().numpy(), e.detach().numpy(), rtol=1e-12,
                                   equal_nan=True)
        e.sum().backward()
        c.sum().backward()
        for a, b in zip(comp, eager):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ the fused products
PRODUCTS = {
    "addmm": (lambda m, i, a, b: m.addmm(i, a, b), [(2, 4), (2, 3), (3, 4)]),
    "addmm broadcast": (lambda m, i, a, b: m.addmm(i, a, b, beta=0.5, alpha=-2),
                        [(4,), (2, 3), (3, 4)]),
    "addmv": (lambda m, i, a, b: m.addmv(i, a, b, alpha=3), [(2,), (2, 3), (3,)]),
    "addr": (lambda m, i, a, b: m.addr(i, a, b, beta=2), [(2, 3), (2,), (3,)]),
    "baddbmm": (lambda m, i, a, b: m.baddbmm(i, a, b, beta=-1, alpha=0.5),
                [(2, 2, 4), (2, 2, 3), (2, 3, 4)]),
    "baddbmm broadcast": (lambda m, i, a, b: m.baddbmm(i, a, b), [(1, 4), (2, 2, 3), (2, 3, 4)]),
    "addbmm": (lambda m, i, a, b: m.addbmm(i, a, b, alpha=2), [(2, 4), (3, 2, 3), (3, 3, 4)]),
    "tensordot 1": (lambda m, a, b: m.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    "tensordot lists": (lambda m, a, b: m.tensordot(a, b, ([0, 2], [1, 0])),
                        [(2, 3, 4), (4, 2, 5)]),
    "tensordot 0": (lambda m, a, b: m.tensordot(a, b, dims=0), [(2,), (3,)]),
    "kron": (lambda m, a, b: m.kron(a, b), [(2, 3), (3, 2)]),
    "kron ranks": (lambda m, a, b: m.kron(a, b), [(2,), (2, 3, 1)]),
    "trace": (lambda m, a: m.trace(a), [(3, 4)]),
    "rot90": (lambda m, a: m.rot90(a, 1, [1, 2]), [(2, 3, 4)]),
    "rot90 -3": (lambda m, a: m.rot90(a, -3), [(2, 3)]),
    "rot90 2": (lambda m, a: m.rot90(a, 2, (1, 0)), [(2, 3)]),
    "rot90 3": (lambda m, a: m.rot90(a, 3), [(2, 3)]),
    "block_diag": (lambda m, a, b, c: m.block_diag(a, b, c), [(2, 2), (), (3,)]),
    "cartesian_prod": (lambda m, a, b: m.cartesian_prod(a, b), [(2,), (3,)]),
    "combinations": (lambda m, a: m.combinations(a, 2), [(4,)]),
    "combinations rep": (lambda m, a: m.combinations(a, 3, with_replacement=True), [(3,)]),
    "cummax": (lambda m, a: m.cummax(a, 1), [(3, 5)]),
    "cummin": (lambda m, a: m.cummin(a, dim=0), [(4, 2)]),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b), [(2, 3), (3,)]),
    "logaddexp2": (lambda m, a, b: m.logaddexp2(a, b), [(2, 3), (2, 1)]),
    "hypot": (lambda m, a, b: m.hypot(a, b), [(2, 3), (3,)]),
    "cov": (lambda m, a: m.cov(a), [(3, 5)]),
    "cov 1-D": (lambda m, a: m.cov(a, correction=0), [(5,)]),
    "cov weights": (lambda m, a, w: m.cov(a, fweights=m.tensor([1, 2, 1, 3]), aweights=w.abs()),
                    [(2, 4), (4,)]),
    "corrcoef": (lambda m, a: m.corrcoef(a), [(3, 6)]),
    "diag_embed": (lambda m, a: m.diag_embed(a, 1, 0, 2), [(2, 3)]),
    "diag_embed default": (lambda m, a: m.diag_embed(a, -1), [(2, 3)]),
    "diagflat": (lambda m, a: m.diagflat(a, -1), [(2, 2)]),
    "multi_dot": (lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [(3,), (3, 2), (2, 4)]),
    "renorm": (lambda m, a: m.renorm(a, 2, 0, 1.5), [(3, 4)]),
    "renorm p1": (lambda m, a: m.renorm(a, 1, 1, 2.0), [(3, 4)]),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_values_and_gradients_as_torch(name):
    fn, shapes = PRODUCTS[name]
    same_gradients(fn, shapes)


@pytest.mark.parametrize("name", ["addmm", "baddbmm", "tensordot lists", "kron", "logaddexp",
                                  "hypot", "cummax", "cov", "corrcoef", "renorm",
                                  "diag_embed", "block_diag"])
def test_compiled_as_eager(name):
    fn, shapes = PRODUCTS[name]
    compiles_alike(fn, shapes)


@pytest.mark.parametrize("kw", [{"N": 4}, {"increasing": True}])
def test_vander_values_and_gradient(kw):
    # torch 2.13's own vander backward fails (an in-place cumprod: "one of the variables needed
    # for gradient computation has been modified"), so its values are compared and ours is
    # gradchecked, and checked against the powers' derivative j x^(j-1)
    data = np.array([0.5, -1.5, 2.0])
    same(lambda m: m.vander(m.tensor(data), **kw))
    x = autograd.tensor(data, requires_grad=True)
    assert autograd.gradcheck(lambda t: autograd.vander(t, **kw), [x])
    autograd.vander(x, **kw).sum().backward()
    n = kw.get("N", 3)
    want = sum(j * data ** (j - 1) for j in range(1, n))
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_logdet_values_and_gradient():
    a = 2 * np.eye(3) + np.random.default_rng(0).uniform(-0.4, 0.4, (2, 3, 3))
    same_gradients(lambda m, x: m.logdet(x), [a])
    same_gradients(lambda m, x: x.logdet(), [a[0]])
    same(lambda m: m.logdet(m.tensor([[-1.0, 0], [0, 2]])))          # det < 0: nan
    same(lambda m: m.logdet(m.zeros(2, 2)))                            # det = 0: -inf
    same(lambda m: m.logdet(m.eye(2, dtype=m.float64)))


def test_xlogy_values_gradients_and_zero():
    same_gradients(lambda m, x, y: m.xlogy(x, y), [(2, 3), (3,)], low=0.2, high=3.0)
    same(lambda m: m.xlogy(m.tensor([0.0, 0.0, 0.0, 1.0, 2.0]),
                           m.tensor([0.0, float("nan"), -1.0, 0.0, -1.0])))
    # at x = 0: d/dx is log y for y > 0 and 0 for y <= 0; d/dy is x / y (nan at 0 / 0)
    xs, ys = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0], [0.0, 3.0, -1.0, float("nan"), 0.0, -1.0, 3.0]
    x = [autograd.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)]
    y = [autograd.tensor(ys, requires_grad=True), torch.tensor(ys, requires_grad=True)]
    for m, a, b in ((autograd, x[0], y[0]), (torch, x[1], y[1])):
        m.xlogy(a, b).sum().backward()
    np.testing.assert_allclose(x[0].grad.numpy(), x[1].grad.numpy(), equal_nan=True)
    np.testing.assert_allclose(y[0].grad.numpy(), y[1].grad.numpy(), equal_nan=True)
    # an upstream gradient of 0 gives 0, even where log y is -inf (torch's xlogy(g, y))
    for m, a, b in ((autograd, x[0], y[0]), (torch, x[1], y[1])):
        a.grad = None
        (m.xlogy(a, b) * m.tensor([0.0, 1, 1, 1, 0, 1, 1], dtype=a.dtype)).sum().backward()
    np.testing.assert_allclose(x[0].grad.numpy(), x[1].grad.numpy(), equal_nan=True)


def test_xlog1py_gradient_in_x_at_zero_is_torchs():
    xs, ys = [0.0, 0.0, 0.0, 1.0, 2.0], [-1.0, 3.0, -2.0, 0.5, -0.5]
    x = [autograd.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)]
    y = [autograd.tensor(ys, requires_grad=True), torch.tensor(ys, requires_grad=True)]
    outs = []
    for m, a, b in ((autograd, x[0], y[0]), (torch, x[1], y[1])):
        out = m.special.xlog1py(a, b)
        out.sum().backward()
        outs.append(out)
    assert_same(outs[0], outs[1])
    np.testing.assert_allclose(x[0].grad.numpy(), x[1].grad.numpy(), equal_nan=True)
    np.testing.assert_allclose(y[0].grad.numpy()[1:], y[1].grad.numpy()[1:])


def test_hypot_logaddexp_edge_values():
    inf, nan = float("inf"), float("nan")
    same(lambda m: m.hypot(m.tensor([1e200, inf, nan, 0.0, 3.0], dtype=m.float64),
                           m.tensor([1e200, nan, inf, 0.0, -4.0], dtype=m.float64)))
    same(lambda m: m.logaddexp(m.tensor([-inf, inf, inf, -inf, nan, 1000.0]),
                               m.tensor([-inf, inf, -inf, 1.0, 1.0, 1000.0])))
    same(lambda m: m.logaddexp2(m.tensor([-inf, inf, 1000.0, -1000.0]),
                                m.tensor([-inf, inf, 1000.0, -1000.0])))
    # gradient at (0, 0): nan, as torch's self / result
    a, b = autograd.zeros(1, requires_grad=True), autograd.zeros(1, requires_grad=True)
    ta, tb = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    autograd.hypot(a, b).sum().backward()
    torch.hypot(ta, tb).sum().backward()
    np.testing.assert_array_equal(np.isnan(a.grad.numpy()), np.isnan(ta.grad.numpy()))


@pytest.mark.parametrize("expr", [
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(3, 2), beta=0.5, alpha=2),
    lambda m: m.addmm(m.ones(2, 2, dtype=m.int64), m.ones(2, 3, dtype=m.int64),
                      m.ones(3, 2, dtype=m.int64), beta=0.5, alpha=1.5),
    lambda m: m.addmm(m.full((2, 2), float("nan")), m.ones(2, 3), m.ones(3, 2), beta=0),
    lambda m: m.addmv(m.ones(2, dtype=m.int64), m.ones(2, 3, dtype=m.int64),
                      m.ones(3, dtype=m.int64), alpha=1.5),
    lambda m: m.addr(m.ones(2, 3, dtype=m.int64), m.ones(2), m.ones(3)),
    lambda m: m.addr(m.ones(2, 3), m.ones(2, dtype=m.float64), m.ones(3)),
    lambda m: m.addr(m.zeros(2, 3, dtype=m.bool), m.tensor([True, False]),
                     m.tensor([True, False, True])),
    lambda m: m.addr(m.ones(2, 3, dtype=m.bool), m.tensor([True, False]),
                     m.tensor([True, False, True]), beta=0),
    lambda m: m.baddbmm(m.ones(2, 2), m.ones(2, 2, 3), m.ones(2, 3, 2)),
    lambda m: m.addbmm(m.ones(2, 2), m.ones(4, 2, 3), m.ones(4, 3, 2)),
    lambda m: m.trace(m.arange(9).reshape(3, 3)),
    lambda m: m.trace(m.ones(2, 2, dtype=m.int32)),
    lambda m: m.kron(m.ones(2, 3), m.arange(4).reshape(2, 2)),
    lambda m: m.kron(m.tensor(2.0), m.ones(3)),
    lambda m: m.kron(m.tensor([True, False]), m.tensor([True, True])),
    lambda m: m.rot90(m.arange(6).reshape(2, 3), 1, [0, -1]),
    lambda m: m.tensordot(m.arange(6.0).reshape(2, 3), m.arange(6.0).reshape(3, 2), 1),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), [[0], [0]]),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), m.tensor(0)),
    lambda m: m.block_diag(m.ones(2, 2), m.tensor(3), m.tensor([4, 5])),
    lambda m: m.block_diag(m.ones(2, dtype=m.bool), m.ones(1, dtype=m.int32)),
    lambda m: m.block_diag(m.ones(0, 2), m.ones(1, 1)),
    lambda m: m.block_diag(),
    lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3, 4, 5]), m.tensor([6, 7])),
    lambda m: m.cartesian_prod(m.tensor([1, 2])),
    lambda m: m.combinations(m.tensor([1, 2, 3])),
    lambda m: m.combinations(m.tensor([1, 2, 3]), 4),
    lambda m: m.combinations(m.tensor([1, 2, 3]), 0),
    lambda m: m.combinations(m.tensor([1, 2, 3]), 1),
    lambda m: m.combinations(m.tensor([1.0, 2.0, 3.0]), with_replacement=True),
    lambda m: m.cummax(m.tensor([1, 3, 2, 3, 0]), 0),
    lambda m: m.cummin(m.tensor([3, 1, 2, 1]), dim=0),
    lambda m: m.cummin(m.tensor([1.0, float("nan"), 0.0, float("nan"), -1.0]), 0),
    lambda m: m.cummax(m.tensor([0.0, float("nan"), 5.0]), 0),
    lambda m: m.cummax(m.tensor(2.0), 0),
    lambda m: m.cummax(m.tensor([True, False]), 0),
    lambda m: m.cummax(m.ones(2, 0), 1),
    lambda m: m.logaddexp(m.tensor([1.0, 2.0]), m.tensor([1, 2])),
    lambda m: m.logaddexp(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)),
    lambda m: m.hypot(m.tensor([3.0, 5.0]), m.tensor([4, 12])),
    lambda m: m.xlogy(m.tensor([1, 2]), m.tensor([3, 4])),
    lambda m: m.xlogy(2, m.tensor([1.0, 2.0])),
    lambda m: m.xlogy(m.tensor([1.0, 2.0]), 2),
    lambda m: m.xlogy(m.tensor([True]), m.tensor([True])),
    lambda m: m.heaviside(m.tensor([-1.0, 0.0, 2.0, float("nan")]), m.tensor(0.5)),
    lambda m: m.heaviside(m.tensor([-1, 0, 2]), m.tensor([7, 8, 9])),
    lambda m: m.cov(m.tensor([[1, 2, 4], [0, 1, 1]])),
    lambda m: m.cov(m.tensor([1.0, 2.0, 3.0])),
    lambda m: m.cov(m.arange(6.0).reshape(2, 3).double(), aweights=m.tensor([1, 2, 3.0])),
    lambda m: m.cov(m.arange(6.0).reshape(2, 3), fweights=m.tensor([1, 0, 2]),
                    correction=0),
    lambda m: m.corrcoef(m.tensor([1.0, 2.0, 3.0])),
    lambda m: m.corrcoef(m.tensor([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0], [3.0, 1.0, 0.0]])),
    lambda m: m.diag_embed(m.arange(6).reshape(2, 3), 1),
    lambda m: m.diagflat(m.tensor(3)),
    lambda m: m.diagflat(m.arange(4).reshape(2, 2), 2),
    lambda m: m.tril_indices(3, 4, 1),
    lambda m: m.triu_indices(3, 4, -1),
    lambda m: m.tril_indices(0, 3),
    lambda m: m.triu_indices(3, 3, 10),
    lambda m: m.triu_indices(3, 3, dtype=m.int32),
    lambda m: m.vander(m.tensor([1, 2, 3])),
    lambda m: m.vander(m.tensor([1, 2, 3]), N=0),
    lambda m: m.vander(m.tensor([True, False])),
    lambda m: m.vander(m.tensor([1, 2], dtype=m.int32)),
    lambda m: m.vander(m.tensor([1.0, 2.0]), 2, True),
    lambda m: m.linalg.multi_dot([m.ones(2), m.ones(2, 2), m.ones(2)]),
    lambda m: m.renorm(m.arange(6.0).reshape(2, 3), 2, 0, 3),
    lambda m: m.renorm(m.arange(6.0).reshape(2, 3), 1, -1, 5),
    lambda m: m.special.expit(m.tensor([1, 2])),
    lambda m: m.special.logit(m.tensor([0.0, 0.25, 1.0, 2.0])),
    lambda m: m.special.logit(m.tensor([0.05, 0.5, 0.99]), eps=0.1),
    lambda m: m.special.logit(m.tensor([1, 0])),
    lambda m: m.special.entr(m.tensor([-1.0, 0.0, 0.5, float("inf"), float("nan")])),
    lambda m: m.special.entr(m.tensor([1, 2])),
    lambda m: m.special.sinc(m.tensor([0.0, 0.5, -1.5, 2.0])),
    lambda m: m.special.erfc(m.tensor([-1.0, 0.0, 2.0])),
    lambda m: m.special.ndtr(m.tensor([1, 2])),
    lambda m: m.special.xlog1py(m.tensor([0.0, 1.0, 2.0]), m.tensor([-1.0, 0.5, 3.0])),
    lambda m: m.special.xlogy(m.tensor([0.0, 1.0]), m.tensor([0.0, 3.0])),
    lambda m: m.special.erf(m.tensor([0.5])),
    lambda m: m.special.log1p(m.tensor([0.5])),
    lambda m: m.special.softmax(m.tensor([[0.5, 1.0]]), 1),
    lambda m: m.logit(m.tensor([0.25])),
    lambda m: m.sinc(m.tensor([0.25])),
    lambda m: m.erfc(m.tensor([0.25])),
])
def test_values_dtypes_as_torch(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same(expr, rtol=1e-6, atol=1e-6)


BOUNDARIES = [1, 3, 5, 7]
VALUES = [[3, 6, 9], [0, 1, 7]]


@pytest.mark.parametrize("kw", [{}, {"right": True}, {"side": "right"}, {"side": "left"},
                                {"out_int32": True}, {"right": False, "side": "left"}])
def test_searchsorted_and_bucketize(kw):
    same(lambda m: m.searchsorted(m.tensor(BOUNDARIES), m.tensor(VALUES), **kw))
    same(lambda m: m.searchsorted(m.tensor(BOUNDARIES, dtype=m.float32),
                                  m.tensor(VALUES), **kw))
    if "side" not in kw:
        same(lambda m: m.bucketize(m.tensor(VALUES), m.tensor(BOUNDARIES), **kw))
        same(lambda m: m.bucketize(m.tensor(VALUES, dtype=m.float64), m.tensor(BOUNDARIES),
                                   **kw))


@pytest.mark.parametrize("expr", [
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), 3),
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), 3.5),
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor(3)),
    lambda m: m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([[2], [3]])),
    lambda m: m.searchsorted(m.tensor([[1, 3, 3], [2, 4, 4]]), m.tensor([[3, 4], [4, 5]]),
                             right=True),
    lambda m: m.searchsorted(m.tensor([5, 1, 3]), m.tensor([2, 4, 6]),
                             sorter=m.tensor([1, 2, 0])),
    lambda m: m.searchsorted(m.tensor([1.0, float("nan")]), m.tensor([float("nan"), 2.0])),
    lambda m: m.searchsorted(m.tensor([1.0, float("nan")]), m.tensor([float("nan"), 2.0]),
                             right=True),
    lambda m: m.searchsorted(m.tensor([1.0, 2.0]), m.tensor([2.5], requires_grad=True)),
    lambda m: m.searchsorted(m.tensor([1, 2, 2, 2, 3]), m.tensor([2]), right=True),
    lambda m: m.bucketize(3, m.tensor([1, 3, 5])),
    lambda m: m.bucketize(m.tensor([]), m.tensor([1, 3, 5])),
])
def test_searchsorted_edges(expr):
    same(expr)


def test_searchsorted_matches_torch_on_random_ties():
    rng = np.random.default_rng(3)
    b = np.sort(rng.integers(0, 10, size=(3, 12)), axis=1)
    v = rng.integers(-1, 11, size=(3, 7))
    for right in (False, True):
        same(lambda m: m.searchsorted(m.tensor(b), m.tensor(v), right=right))


@pytest.mark.parametrize("expr", [
    lambda m: m.addmm(m.ones(2, 3), m.ones(2, 3), m.ones(3, 2)),
    lambda m: m.addmm(m.ones(2, 3), m.ones(3), m.ones(2, 3)),
    lambda m: m.addmm(m.ones(2, 3), m.ones(2, 3), m.ones(3)),
    lambda m: m.addmm(m.ones(2, 3), m.ones(2, 3), m.ones(2, 3)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3, dtype=m.int64), m.ones(3, 2, dtype=m.int64)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3, dtype=m.float64), m.ones(3, 2)),
    lambda m: m.addmm(m.ones(3, 2), m.ones(2, 3), m.ones(3, 2)),
    lambda m: m.addmv(m.ones(2), m.ones(2, 3), m.ones(2)),
    lambda m: m.addmv(m.ones(3), m.ones(2, 3), m.ones(3)),
    lambda m: m.addmv(m.ones(2), m.ones(2, 3), m.ones(2, 3)),
    lambda m: m.addmv(m.ones(2), m.ones(2, 3, dtype=m.float64), m.ones(3)),
    lambda m: m.addr(m.ones(2, 3), m.ones(2, 1), m.ones(3)),
    lambda m: m.addr(m.ones(2, 3), m.ones(2), m.ones(2)),
    lambda m: m.addr(m.ones(2, 3, dtype=m.int64), m.ones(2, dtype=m.int64),
                     m.ones(3, dtype=m.int64), beta=0.5),
    lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3), m.ones(3, 3, 2)),
    lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3), m.ones(2, 2, 2)),
    lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3, dtype=m.float64), m.ones(2, 3, 2)),
    lambda m: m.addbmm(m.ones(2, 2), m.ones(4, 2, 3), m.ones(3, 3, 2)),
    lambda m: m.addbmm(m.ones(2, 2), m.ones(4, 2, 3), m.ones(4, 2, 2)),
    lambda m: m.trace(m.ones(3)),
    lambda m: m.trace(m.ones(2, 2, 2)),
    lambda m: m.trace(m.ones(2, 2, dtype=m.bool)),
    lambda m: m.rot90(m.ones(2, 3), 1, [0]),
    lambda m: m.rot90(m.ones(2, 3), 1, [0, 0]),
    lambda m: m.rot90(m.ones(2, 3), 1, [0, 2]),
    lambda m: m.rot90(m.ones(3), 1),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3, dtype=m.float64), 2),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), 3),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), -1),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), ([0], [1])),
    lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), ([0], [0, 1])),
    lambda m: m.logdet(m.ones(3)),
    lambda m: m.logdet(m.ones(2, 3)),
    lambda m: m.logdet(m.eye(2, dtype=m.int64)),
    lambda m: m.searchsorted(m.tensor([1, 3]), m.tensor([1]), side="left", right=True),
    lambda m: m.searchsorted(m.tensor([1, 3]), m.tensor([1]), side="middle"),
    lambda m: m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([2, 3])),
    lambda m: m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([[2], [3], [4]])),
    lambda m: m.searchsorted(m.tensor(3), m.tensor([1])),
    lambda m: m.bucketize(m.tensor([1]), m.ones(2, 2)),
    lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3.0])),
    lambda m: m.cartesian_prod(m.ones(2, 2)),
    lambda m: m.cartesian_prod(),
    lambda m: m.combinations(m.ones(2, 2)),
    lambda m: m.combinations(m.tensor([1, 2, 3]), -1),
    lambda m: m.block_diag(m.ones(2, 2, 2)),
    lambda m: m.cummax(m.ones(2, 2), 2),
    lambda m: m.logaddexp(m.tensor([1, 2]), m.tensor([1, 2])),
    lambda m: m.logaddexp(m.tensor([1.0]), 2),
    lambda m: m.logaddexp2(m.tensor([1, 2]), m.tensor([1, 2])),
    lambda m: m.hypot(m.tensor([1, 2]), m.tensor([1, 2])),
    lambda m: m.hypot(m.tensor(True), m.tensor(True)),
    lambda m: m.hypot(m.tensor([1.0]), 2),
    lambda m: m.heaviside(m.tensor([1.0]), m.tensor([1])),
    lambda m: m.heaviside(m.tensor([1.0]), 0.5),
    lambda m: m.cov(m.ones(2, 2, 2)),
    lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1.0, 2.0, 3.0])),
    lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, 2, -3])),
    lambda m: m.cov(m.ones(2, 3), aweights=m.tensor([1.0, 2.0, -3.0])),
    lambda m: m.cov(m.ones(2, 3), aweights=m.tensor([1, 2, 3])),
    lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, 2])),
    lambda m: m.diag_embed(m.ones(2, 3), 0, 0, 0),
    lambda m: m.diag_embed(m.ones(2, 3), 0, 0, 3),
    lambda m: m.tril_indices(-1, 3),
    lambda m: m.tril_indices(3, 3, dtype=m.float32),
    lambda m: m.vander(m.ones(2, 2)),
    lambda m: m.vander(m.tensor([1.0, 2.0]), -1),
    lambda m: m.linalg.multi_dot([m.ones(2, 3)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(2, 3)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(3, 2, dtype=m.float64)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 2, 2), m.ones(2, 3)]),
    lambda m: m.renorm(m.ones(2, 3), 2, 2, 3),
    lambda m: m.renorm(m.ones(2, 3), -1, 0, 3),
    lambda m: m.renorm(m.ones(2, 3), 2, 0, -1),
    lambda m: m.renorm(m.ones(3), 2, 0, 1),
    lambda m: m.xlogy(3, 4),
    lambda m: m.poisson(m.tensor([1, 2])),
    lambda m: m.poisson(m.tensor([-1.0])),
])
def test_errors_as_torch(expr):
    raises_like_torch(expr)


@pytest.mark.parametrize("expr", [
    lambda m, x: x.addmm(m.ones(2, 3, dtype=m.float64), m.ones(3, 2, dtype=m.float64),
                         beta=2),
    lambda m, x: x[0].addmv(x, m.ones(2, dtype=m.float64)),
    lambda m, x: x.addr(m.ones(2, dtype=m.float64), m.ones(2, dtype=m.float64)),
    lambda m, x: x.baddbmm(m.ones(1, 2, 3, dtype=m.float64), m.ones(1, 3, 2, dtype=m.float64)),
    lambda m, x: x.addbmm(m.ones(3, 2, 3, dtype=m.float64), m.ones(3, 3, 2, dtype=m.float64)),
    lambda m, x: x.trace(),
    lambda m, x: x.logdet(),
    lambda m, x: x.kron(x),
    lambda m, x: x.rot90(),
    lambda m, x: x.rot90(2, [1, 0]),
    lambda m, x: x.cummax(0),
    lambda m, x: x.cummin(1),
    lambda m, x: x.logaddexp(x * 2),
    lambda m, x: x.logaddexp2(x * 2),
    lambda m, x: x.hypot(x * 2),
    lambda m, x: x.xlogy(x * 2),
    lambda m, x: x.cov(),
    lambda m, x: x.corrcoef(),
    lambda m, x: x.diag_embed(),
    lambda m, x: x.diagflat(1),
    lambda m, x: x.renorm(2, 0, 1.0),
    lambda m, x: x.logit(),
    lambda m, x: x.logit(0.2),
    lambda m, x: x.sinc(),
    lambda m, x: x.erfc(),
])
def test_tensor_methods_as_torch(expr):
    data = np.array([[0.3, 0.6], [0.2, 0.9]])
    ours = autograd.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    o, t = _first(expr(autograd, ours)), _first(expr(torch, theirs))
    assert_same(o, t, rtol=1e-10, atol=1e-12)
    o.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_heaviside_method_and_no_gradient():
    same(lambda m: m.tensor([-1.0, 0.0, 1.0]).heaviside(m.tensor([0.5, 0.5, 0.5])))


@pytest.mark.parametrize("name", ["logaddexp", "hypot", "xlogy", "logit", "sinc", "erfc",
                                  "ndtr", "entr", "xlog1py"])
def test_special_gradients_as_torch(name):
    unary = {"logit": (0.1, 0.9), "sinc": (-2.0, 2.0), "erfc": (-2.0, 2.0),
             "ndtr": (-2.0, 2.0), "entr": (0.1, 3.0)}
    if name in unary:
        low, high = unary[name]
        fn = getattr(autograd.special, name)
        same_gradients(lambda m, x: getattr(m.special, name)(x), [(2, 3)], low=low, high=high)
        assert fn is getattr(autograd.special, name)
        return
    same_gradients(lambda m, x, y: getattr(m.special if name == "xlog1py" else m, name)(x, y),
                   [(2, 3), (3,)], low=0.2, high=3.0)


def test_sinc_gradient_at_zero_is_torchs():
    x, t = autograd.tensor([0.0, 1.0], requires_grad=True), torch.tensor([0.0, 1.0],
                                                                          requires_grad=True)
    autograd.sinc(x).sum().backward()
    torch.sinc(t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-7)


def test_addmm_beta_zero_gives_input_a_zero_gradient():
    i = [autograd.full((2, 2), float("nan"), requires_grad=True),
         torch.full((2, 2), float("nan"), requires_grad=True)]
    for m, x in zip((autograd, torch), i):
        out = m.addmm(x, m.ones(2, 3), m.ones(3, 2), beta=0)
        assert not np.isnan(out.detach().numpy()).any()
        out.sum().backward()
    np.testing.assert_array_equal(i[0].grad.numpy(), i[1].grad.numpy())


def test_cummax_gradient_goes_to_the_index_on_ties():
    data = [1.0, 3.0, 2.0, 3.0, 0.0]
    x, t = autograd.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    autograd.cummax(x, 0).values.sum().backward()
    torch.cummax(t, 0).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_out_keyword_as_torch():
    for m in (autograd, torch):
        out = m.empty(2, 2)
        got = m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(3, 2), out=out)
        assert got is out
        np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 4.0))
    same(lambda m: m.searchsorted(m.tensor([1, 3]), m.tensor([2, 4]),
                                  out=m.empty(2, dtype=m.int64)))
    same(lambda m: m.kron(m.ones(2), m.ones(2), out=m.empty(4)))


def test_chain_matmul_warns_and_multiplies():
    mats = [np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2),
            np.arange(4.0).reshape(2, 2)]
    for m in (autograd, torch):
        with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
            m.chain_matmul(*[m.tensor(a) for a in mats])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same(lambda m: m.chain_matmul(*[m.tensor(a) for a in mats]))
        same(lambda m: m.chain_matmul(m.tensor(mats[0])))
        raises_like_torch(lambda m: m.chain_matmul())
        raises_like_torch(lambda m: m.chain_matmul(m.tensor(mats[0]), m.tensor(mats[0])))


def test_cov_warns_where_degrees_of_freedom_run_out():
    for m in (autograd, torch):
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            m.cov(m.ones(2, 3), correction=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same(lambda m: m.cov(m.arange(6.0).reshape(2, 3), correction=5))


@pytest.mark.parametrize("seed", [0, 1, 2024])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_poisson_draws_torchs_samples(seed, dtype):
    rates = np.array([0.0, 0.01, 0.5, 1.0, 3.0, 9.99, 10.0, 20.0, 150.0, 1e4] * 3)

    def draw(m):
        m.manual_seed(seed)
        out = m.poisson(m.tensor(rates, dtype=getattr(m, dtype)).reshape(5, 6))
        return out, m.rand(3)           # the generator left where torch leaves it
    same(draw, rtol=0, atol=0)


def test_poisson_generator_and_gradient():
    g = autograd.Generator().manual_seed(5)
    tg = torch.Generator().manual_seed(5)
    a = autograd.poisson(autograd.full((4,), 4.0), generator=g)
    b = torch.poisson(torch.full((4,), 4.0), generator=tg)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    rates = autograd.full((3,), 2.0, requires_grad=True)
    out = autograd.poisson(rates)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(rates.grad.numpy(), np.zeros(3))


def test_poisson_draws_anew_in_a_compiled_function():
    f = autograd.compile(lambda r: autograd.poisson(r) * 1.0)
    r = autograd.full((50,), 5.0)
    autograd.manual_seed(0)
    first, second = f(r), f(r)
    torch.manual_seed(0)
    want = torch.poisson(torch.full((50,), 5.0)), torch.poisson(torch.full((50,), 5.0))
    np.testing.assert_array_equal(first.numpy(), want[0].numpy())
    np.testing.assert_array_equal(second.numpy(), want[1].numpy())


def test_functions_exist_where_torch_has_them():
    names = ["searchsorted", "bucketize", "kron", "trace", "logdet", "addmm", "addmv",
             "addbmm", "baddbmm", "addr", "rot90", "tensordot", "block_diag", "cartesian_prod",
             "combinations", "poisson", "chain_matmul", "diag_embed", "diagflat", "vander",
             "tril_indices", "triu_indices", "cov", "corrcoef", "cummax", "cummin", "renorm",
             "heaviside", "hypot", "logaddexp", "logaddexp2", "xlogy", "logit", "sinc", "erfc"]
    for name in names:
        assert hasattr(torch, name) and hasattr(autograd, name), name
    methods = ["kron", "trace", "logdet", "addmm", "addmv", "addbmm", "baddbmm", "addr",
               "rot90", "diag_embed", "diagflat", "cov", "corrcoef", "cummax", "cummin",
               "renorm", "heaviside", "hypot", "logaddexp", "logaddexp2", "xlogy", "logit",
               "sinc", "erfc"]
    for name in methods:
        assert hasattr(torch.Tensor, name) and hasattr(autograd.Tensor, name), name
    assert hasattr(autograd.linalg, "multi_dot")
    for name in ["expit", "logit", "xlogy", "xlog1py", "entr", "erf", "erfc", "ndtr", "sinc"]:
        assert hasattr(torch.special, name) and hasattr(autograd.special, name), name


GRAD_FN_CASES = {
    "addmm": lambda m, x: m.addmm(x, x, x.T),
    "addmv": lambda m, x: m.addmv(x[:, 0], x, x[0]),
    "addr": lambda m, x: m.addr(x, x[0], x[1]),
    "baddbmm": lambda m, x: m.baddbmm(x[None], x[None], x[None]),
    "addbmm": lambda m, x: m.addbmm(x, x[None], x[None]),
    "trace": lambda m, x: m.trace(x),
    "kron": lambda m, x: m.kron(x, x),
    "rot90": lambda m, x: m.rot90(x),
    "tensordot": lambda m, x: m.tensordot(x, x, 1),
    "logdet": lambda m, x: m.logdet(x + 3 * m.eye(3, dtype=m.float64)),
    "block_diag": lambda m, x: m.block_diag(x, x),
    "combinations": lambda m, x: m.combinations(x[0]),
    "cummax": lambda m, x: m.cummax(x, 0)[0],
    "cummin": lambda m, x: m.cummin(x, 0)[0],
    "logaddexp": lambda m, x: m.logaddexp(x, x),
    "hypot": lambda m, x: m.hypot(x, x),
    "xlogy": lambda m, x: m.xlogy(x, x),
    "cov": lambda m, x: m.cov(x),
    "corrcoef": lambda m, x: m.corrcoef(x),
    "diag_embed": lambda m, x: m.diag_embed(x),
    "diagflat": lambda m, x: m.diagflat(x),
    "vander": lambda m, x: m.vander(x[0]),
    "renorm": lambda m, x: m.renorm(x, 2, 0, 1),
    "logit": lambda m, x: m.logit(x),
    "sinc": lambda m, x: m.sinc(x),
    "erfc": lambda m, x: m.erfc(x),
    "entr": lambda m, x: m.special.entr(x),
    "xlog1py": lambda m, x: m.special.xlog1py(x, x),
}


@pytest.mark.parametrize("name", list(GRAD_FN_CASES))
def test_grad_fn_names_as_torch(name):
    """grad_fn names the node torch's function ends in (what a learner printing it sees)."""
    a = np.random.default_rng(0).uniform(0.1, 0.9, (3, 3))
    fn = GRAD_FN_CASES[name]
    ours = fn(autograd, autograd.tensor(a, requires_grad=True))
    theirs = fn(torch, torch.tensor(a, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()


@pytest.mark.parametrize("expr", [
    lambda m, x: x.addmm_(m.ones(2, 3, dtype=m.float64), m.ones(3, 2, dtype=m.float64),
                          beta=2),
    lambda m, x: x.addr_(m.ones(2, dtype=m.float64), m.ones(2, dtype=m.float64), alpha=3),
    lambda m, x: x.addbmm_(m.ones(3, 2, 3, dtype=m.float64), m.ones(3, 3, 2, dtype=m.float64)),
    lambda m, x: x.hypot_(x * 2),
    lambda m, x: x.xlogy_(3),
    lambda m, x: x.logit_(0.25),
    lambda m, x: x.sinc_(),
    lambda m, x: x.erfc_(),
    lambda m, x: x.renorm_(2, 0, 0.5),
])
def test_in_place_forms_as_torch(expr):
    """The result written into the tensor, and the gradient through the change (a non-leaf)."""
    data = np.array([[0.3, 0.6], [0.2, 0.9]])
    leaves = [autograd.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)]
    results = []
    for m, leaf in zip((autograd, torch), leaves):
        x = leaf * 1.0
        out = expr(m, x)
        assert out is x
        out.sum().backward()
        results.append(out)
    assert_same(results[0], results[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(leaves[0].grad.numpy(), leaves[1].grad.numpy(), rtol=1e-9)


def test_in_place_forms_keep_dtype_rules():
    raises_like_torch(lambda m: m.ones(2, 2, dtype=m.int64).xlogy_(m.ones(2)))
    raises_like_torch(lambda m: m.ones(2, 2, requires_grad=True).hypot_(m.ones(2)), chars=60)
    same(lambda m: m.ones(2, 2, dtype=m.float64).xlogy_(m.full((2,), 2.0)))
    same(lambda m: m.ones(2).addmv_(m.ones(2, 3), m.arange(3.0), beta=0.5))
    same(lambda m: m.ones(2, 2, 2).baddbmm_(m.ones(2, 2, 3), m.ones(2, 3, 2), alpha=2))
    same(lambda m: m.tensor([-1.0, 0.0, 1.0]).heaviside_(m.tensor([0.5, 0.5, 0.5])))


HIST_DATA = [1.0, 2.0, 1.0, 4.0, 2.5, 3.25, 1.75]


@pytest.mark.parametrize("expr", [
    lambda m: m.histogram(m.tensor(HIST_DATA), bins=4),
    lambda m: m.histogram(m.tensor(HIST_DATA), bins=m.tensor([0.0, 1.0, 2.0, 5.0])),
    lambda m: m.histogram(m.tensor(HIST_DATA), 3, range=(0.0, 3.0),
                          weight=m.arange(7.0), density=True),
    lambda m: m.histogram(m.tensor(HIST_DATA, dtype=m.float64), 5, density=True),
    lambda m: m.histogram(m.tensor(HIST_DATA).reshape(7, 1), 2),
    lambda m: m.histogram(m.tensor([]), 2),
    lambda m: m.histogram(m.tensor([1.0, 1.0]), 2),
    lambda m: m.histogram(m.tensor(HIST_DATA), bins=m.tensor([1.0, 0.0])),
    lambda m: m.tensor(HIST_DATA).histogram(2),
    lambda m: m.tensor(HIST_DATA).histogram(m.tensor([1.0, 2.0, 4.0]), weight=m.ones(7)),
])
def test_histogram_as_torch(expr):
    same(expr)


def test_histogram_random_data_as_torch():
    data = np.random.default_rng(4).standard_normal(500).astype(np.float32)
    same(lambda m: m.histogram(m.tensor(data), 17))
    same(lambda m: m.histogram(m.tensor(data), 9, range=(-1.0, 2.0)))


@pytest.mark.parametrize("expr", [
    lambda m: m.histogram(m.tensor([1, 2]), 2),
    lambda m: m.histogram(m.tensor([1.0, 2.0]), 0),
    lambda m: m.histogram(m.tensor([1.0, 2.0]), 2, range=(2.0, 1.0)),
    lambda m: m.histogram(m.tensor([1.0, 2.0]), 2, weight=m.ones(3)),
    lambda m: m.histogram(m.tensor([1.0, float("nan")]), 2),
])
def test_histogram_errors_as_torch(expr):
    raises_like_torch(expr)


@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 300), 1),
                                       ((257, 2), 0)])
def test_logcumsumexp_values_and_gradients_as_torch(shape, dim):
    """Several blocks of 128 (300 and 257 entries) as well as one."""
    same_gradients(lambda m, x: m.logcumsumexp(x * 3, dim), [shape], check=shape[0] < 100)


@pytest.mark.parametrize("data", [[1000.0, 1000.0, -1000.0], [-1000.0, 0.0],
                                  [-float("inf"), -float("inf"), 1.0],
                                  [float("inf"), 1.0, float("nan"), 2.0]])
def test_logcumsumexp_neither_overflows_nor_underflows(data):
    # the former exp().cumsum().log() gave inf for 1000 and -inf for -1000
    same(lambda m: m.logcumsumexp(m.tensor(data), 0))
    same(lambda m: m.tensor(data).logcumsumexp(-1))


def test_logcumsumexp_dtypes_and_errors():
    same(lambda m: m.logcumsumexp(m.tensor(2.0), 0))
    same(lambda m: m.logcumsumexp(m.ones(2, 0), 1))
    raises_like_torch(lambda m: m.logcumsumexp(m.tensor([1, 2]), 0))
    raises_like_torch(lambda m: m.logcumsumexp(m.ones(2), 1))


def test_logcumsumexp_compiles():
    compiles_alike(lambda m, x: m.logcumsumexp(x, 1), [(2, 150)])


@pytest.mark.parametrize("fn", [lambda m, x, y: m.special.xlog1py(x, y),
                                lambda m, x, y: m.xlogy(x, y.abs()),
                                lambda m, x, y: m.special.sinc(x) + m.special.entr(y.abs())])
def test_special_compiles(fn):
    compiles_alike(fn, [(2, 3), (3,)])
