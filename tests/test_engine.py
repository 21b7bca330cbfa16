"""Graph mechanics of the tape: reuse, deep chains, freeing, grad modes, higher derivatives,
memory. Values are checked against closed forms; the Tensor cases against closed forms too."""
import gc
import math
import weakref

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value
from autograd.engine import STATE


@pytest.fixture
def no_gc():
    """The cycle collector off: whatever dies here died by reference counting alone."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# --------------------------------------------------------------------------------- reuse
def test_reuse_square():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0


def test_reuse_sum_of_sums():
    a = Value(-2.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_reuse_across_ops():
    # f = x * exp(x) + x: f' = exp(x) + x exp(x) + 1
    x = Value(0.7)
    f = x * x.exp() + x
    f.backward()
    assert x.grad == pytest.approx(math.exp(0.7) * 1.7 + 1, rel=1e-12)


def test_diamond_tensor():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3.0
    y = (h * h + h).sum()           # d/dx = (2h + 1) * 3
    y.backward()
    np.testing.assert_allclose(x.grad, (2 * 3.0 * x.data + 1) * 3.0)


# ---------------------------------------------------------------------------- deep chains
def test_deep_chain_million_nodes():
    x = Value(0.5)
    out = x
    for _ in range(1_000_000):
        out = out + 1.0
    out.backward()
    assert x.grad == 1.0
    assert out.data == 1_000_000.5


def test_deep_chain_drop_without_recursion_error(no_gc):
    # Freeing a long chain goes node by node through reference counting; the interpreter's
    # trashcan keeps that from overflowing the C stack.
    x = Value(1.0)
    out = x
    for _ in range(200_000):
        out = out * 1.0
    r = weakref.ref(out)
    del out
    assert r() is None


# --------------------------------------------------------------- freeing and retain_graph
def test_second_backward_raises_with_hint():
    x = Value(2.0)
    y = x.tanh() * 3.0
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True") as info:
        y.backward()
    assert "second time" in str(info.value)


def test_second_backward_raises_tensor():
    x = Tensor(np.ones(3), requires_grad=True)
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_twice_accumulates():
    x = Value(0.5)
    y = x.tanh()
    y.backward(retain_graph=True)
    first = x.grad
    y.backward()
    assert first == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-12)
    assert x.grad == pytest.approx(2 * first, rel=1e-12)
    assert y.grad == 2.0


def test_failed_backward_leaves_no_pending_gradients():
    x = Value(1.0)
    h = x.exp()
    y = h * h
    y.backward()
    grads = [n.grad for n in (x, h, y)]
    with pytest.raises(RuntimeError):
        y.backward()
    assert [n.grad for n in (x, h, y)] == grads


def test_grad_retain_graph_default():
    x = Value(1.5)
    y = x.sin()
    (g,) = autograd.grad(y, [x], retain_graph=True)
    (g2,) = autograd.grad(y, [x])
    assert g.data == g2.data == pytest.approx(math.cos(1.5))
    with pytest.raises(RuntimeError, match="retain_graph"):
        autograd.grad(y, [x])


# ------------------------------------------------------------------------------ grad modes
def test_no_grad_records_nothing():
    x = Value(2.0)
    with autograd.no_grad():
        y = x * 3.0 + 1.0
        assert not autograd.is_grad_enabled()
    assert autograd.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.data == 7.0
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_enable_grad_inside_no_grad():
    x = Value(2.0)
    with autograd.no_grad():
        with autograd.enable_grad():
            y = x * x
        z = x * x
    assert y.requires_grad and not z.requires_grad
    y.backward()
    assert x.grad == 4.0


def test_no_grad_restores_on_error():
    with pytest.raises(ValueError):
        with autograd.no_grad():
            raise ValueError("boom")
    assert autograd.is_grad_enabled()


def test_no_grad_tensor():
    x = Tensor(np.ones(2), requires_grad=True)
    with autograd.no_grad():
        y = x * 2.0
    assert not y.requires_grad


def test_constant_branch_gets_no_gradient():
    x = Value(2.0)
    c = Value(5.0, requires_grad=False)
    y = x * c + c
    y.backward()
    assert x.grad == 5.0 and c.grad == 0.0


# ---------------------------------------------------------------------- autograd.grad
def test_grad_leaves_dot_grad_untouched():
    x = Value(3.0)
    y = x * x
    (g,) = autograd.grad(y, [x])
    assert g.data == 6.0 and x.grad == 0.0
    assert isinstance(g, Value)


def test_grad_single_input_and_unused():
    x, z = Value(1.0), Value(2.0)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = autograd.grad(y, [x, z], allow_unused=True)
    assert gx.data == 2.0 and gz is None


def test_grad_rejects_non_nodes():
    x = Value(1.0)
    with pytest.raises(TypeError, match="input 1 is a float"):
        autograd.grad(x * x, [x, 2.0])


def test_tanh_derivatives_closed_form():
    x0 = 0.3
    x = Value(x0)
    (g1,) = autograd.grad(x.tanh(), [x], create_graph=True)
    (g2,) = autograd.grad(g1, [x], create_graph=True)
    (g3,) = autograd.grad(g2, [x])
    t = math.tanh(x0)
    assert g1.data == pytest.approx(1 - t * t, rel=1e-12)
    assert g2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-12)
    assert g3.data == pytest.approx(-2 * (1 - t * t) ** 2 + 4 * t * t * (1 - t * t), rel=1e-12)


def test_cube_derivatives_closed_form():
    x = Value(-1.7)
    (g1,) = autograd.grad(x ** 3, [x], create_graph=True)
    (g2,) = autograd.grad(g1, [x], create_graph=True)
    (g3,) = autograd.grad(g2, [x])
    assert g1.data == pytest.approx(3 * 1.7 ** 2, rel=1e-12)
    assert g2.data == pytest.approx(6 * -1.7, rel=1e-12)
    assert g3.data == pytest.approx(6.0, rel=1e-12)


def test_create_graph_backward_fills_grad():
    # d/dx of (dy/dx) by .backward(): y = x^3, dy/dx = 3x^2, d2y/dx2 = 6x
    x = Value(2.0)
    (g,) = autograd.grad(x ** 3, [x], create_graph=True)
    g.backward()
    assert x.grad == 12.0


def _f_and_hessian(x, y):
    """f(x, y) = x^2 y + sin(x y); its Hessian in closed form."""
    s, c = math.sin(x * y), math.cos(x * y)
    hxx = 2 * y - y * y * s
    hxy = 2 * x + c - x * y * s
    hyy = -x * x * s
    return np.array([[hxx, hxy], [hxy, hyy]])


def test_hessian_vector_product_values():
    x, y = Value(0.8), Value(-1.3)
    f = x * x * y + (x * y).sin()
    gx, gy = autograd.grad(f, [x, y], create_graph=True)
    v = (0.4, -2.0)
    hv = autograd.grad(gx * v[0] + gy * v[1], [x, y])
    expected = _f_and_hessian(0.8, -1.3) @ np.array(v)
    np.testing.assert_allclose([hv[0].data, hv[1].data], expected, rtol=1e-12)


def test_hessian_vector_product_tensor():
    # f(w) = sum(tanh(A w)); H = A^T diag(-2 t (1 - t^2)) A with t = tanh(A w)
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 3))
    w0 = rng.normal(size=3)
    v = rng.normal(size=3)
    w = Tensor(w0, requires_grad=True)
    f = (Tensor(A) @ w).tanh().sum()
    (g,) = autograd.grad(f, [w], create_graph=True)
    (hv,) = autograd.grad((g * Tensor(v)).sum(), [w])
    t = np.tanh(A @ w0)
    H = A.T @ np.diag(-2 * t * (1 - t * t)) @ A
    np.testing.assert_allclose(hv.data, H @ v, rtol=1e-10)


# ------------------------------------------------------------------------------- memory
def test_intermediates_freed_when_output_dropped(no_gc):
    x = Value(1.0)
    h = x.tanh()
    r = weakref.ref(h)
    y = h * 2.0 + h.exp()
    del h
    y.backward()
    assert r() is not None          # still part of y's graph
    del y
    assert r() is None              # freed by reference counting: no cycles


def test_intermediates_freed_without_backward(no_gc):
    x = Value(1.0)
    y = (x * x).sigmoid()
    r = weakref.ref(y._parents[0])
    del y
    assert r() is None


def test_tensor_intermediates_freed(no_gc):
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    h = (x * 2.0).tanh()
    r = weakref.ref(h)
    y = (h @ Tensor(np.ones((2, 1)))).sum()
    del h
    y.backward()
    del y
    assert r() is None


def test_create_graph_frees_everything(no_gc):
    x = Value(0.4)
    h = x.tanh()
    r = weakref.ref(h)
    y = h * h
    del h
    (g,) = autograd.grad(y, [x], create_graph=True)
    (g2,) = autograd.grad(g, [x])
    del y, g, g2
    assert r() is None


def test_interrupted_create_graph_backward_frees_graph(no_gc):
    # Regression: a backward that raised midway left pending gradient *nodes* on the nodes not
    # yet visited; with create_graph those point back into the graph (a cycle), so the graph
    # outlived the caller's references. The order of creation below makes `b` visited (its VJP
    # g * b assigned to a._g) before the anomaly in sqrt's backward stops the pass.
    x = Value(0.0)
    a = x * 1.0
    s = x.sqrt()
    b = a.exp()
    z = b * s
    r = weakref.ref(b)
    with autograd.detect_anomaly(strict=True):
        with pytest.raises(FloatingPointError, match="'sqrt'"):
            autograd.grad(z, [x], create_graph=True)
    del a, s, b, z
    assert r() is None


def test_no_global_state_keeps_graphs(no_gc):
    refs = []
    for _ in range(3):
        x = Value(1.0)
        y = x.exp() * x
        y.backward()
        refs.append(weakref.ref(y))
        del x, y
    assert all(r() is None for r in refs)
    assert STATE.tapes == [] and STATE.hooks is False


def test_backward_on_leaf():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


def test_backward_with_seed():
    x = Value(2.0)
    y = x * 3.0
    y.backward(0.5)
    assert x.grad == 1.5


def test_grad_options_are_keyword_only():
    """grad(y, [x], True) must not silently read True as grad_outputs."""
    import pytest

    import autograd
    from autograd import Value
    x = Value(0.5)
    with pytest.raises(TypeError):
        autograd.grad(x ** 3, [x], True)
    (g,) = autograd.grad(x ** 3, [x], create_graph=True)
    (g2,) = autograd.grad(g, [x])
    assert abs(g2.data - 6 * 0.5) < 1e-12


# ---------------------------------------------------- accumulating and capturing gradients
def _mixed_graph(x, w, b, c):
    """Broadcasting, a shared add, slices (sparse gradients), a leaf used three times, a
    constant input and a retained intermediate: every branch of the Tensor replay loop."""
    h = (x @ w + b).tanh()
    h.retain_grad()
    s = h[:, :2].sum() + h[1:, 1:].exp().sum() + (h + h).mean()
    return s + (x * c).relu().sum() + (w * w).sum(), h


def test_backward_loop_equals_general_loop():
    """backward() accumulates into .grad, adopting unshared arrays; autograd.grad captures.
    Both give the same gradients, and no two leaves' .grad share memory."""
    rng = np.random.default_rng(0)
    leaves = [Tensor(rng.normal(size=s), requires_grad=True, dtype=np.float64)
              for s in ((3, 4), (4, 3), (3,))]
    c = Tensor(rng.normal(size=(3, 4)))
    out, h = _mixed_graph(*leaves, c)
    expected = autograd.grad(out, leaves, retain_graph=True)
    out.backward()
    for leaf, g in zip(leaves, expected):
        np.testing.assert_array_equal(leaf.grad, g.data)
    assert h.grad is not None and h.grad.shape == (3, 3)
    leaves[0].grad += 1.0
    np.testing.assert_array_equal(leaves[1].grad, expected[1].data)
    np.testing.assert_array_equal(leaves[2].grad, expected[2].data)


def test_backward_seed_is_not_adopted_by_a_leaf_root():
    """A 1-element leaf's own backward fills .grad with ones it owns: changing it changes no
    later seed."""
    x = Tensor([2.0], requires_grad=True)
    x.backward()
    x.grad *= 5.0
    y = Tensor([3.0], requires_grad=True)
    y.backward()
    np.testing.assert_array_equal(y.grad, [1.0])


def test_an_in_place_activation_after_a_conv2d_keeps_its_gradient():
    """F.relu_ / leaky_relu_ on a conv2d's output (ResNet's and DCGAN's ReLU(inplace=True)):
    conv2d's VJPs read only (stride, padding) from ctx, never its output, so backward goes
    on, as in torch (it refused: a VJP reading ctx counted as reading everything); an op
    whose ctx holds arrays still counts so."""
    import nn
    import nn.functional as F
    from autograd import Tensor
    from autograd.optable import _may_hold_arrays
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(1, 2, 3, rng=rng, dtype=np.float64)
    x = Tensor(rng.standard_normal((2, 1, 5, 5)), requires_grad=True)
    for act_, act in ((F.relu_, F.relu), (lambda y: F.leaky_relu_(y, 0.2),
                                          lambda y: F.leaky_relu(y, 0.2))):
        y = conv(x)
        act_(y)
        y.sum().backward()
        grads = [conv.weight.grad._data.copy(), x.grad._data.copy()]
        conv.zero_grad()
        x.grad = None
        act(conv(x)).sum().backward()
        np.testing.assert_array_equal(grads[0], conv.weight.grad._data)
        np.testing.assert_array_equal(grads[1], x.grad._data)
        conv.zero_grad()
        x.grad = None
    assert not _may_hold_arrays((1, 1, 0, 0)) and _may_hold_arrays((np.ones(2), 1))
