"""Tensor ops against torch (values and gradients to 1e-6) and central differences, in float64.

Covers the ops of issue #3 beyond the generated op-table tests: clip, maximum/minimum, max/min,
var/std, logsumexp, softmax/log_softmax, concatenate/stack/pad, conv2d and the pools, on scalar,
vector, matrix, batched and broadcast shapes; second derivatives against torch's double
backward; numerical stability; and the error messages.
"""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, gradcheck
from autograd.ops import ELEMENTWISE

torch = pytest.importorskip("torch")
F = torch.nn.functional

B, T, H = 2, 3, 4
BROADCAST_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((1,), (2, 3)), ((2, 3), (1,)),
                   ((B, 1, T, 1), (B, 1, T, H)), ((2, 1, 3), (4, 3)), ((), (2, 2))]
UNARY_SHAPES = [(), (4,), (3, 4), (B, T, H), (B, 1, T, 1)]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _compare(fn, tfn, arrays, check_grad=True, atol=1e-6):
    """fn on Tensors and tfn on torch tensors: equal values and equal gradients of the random
    projection sum(out * r); then a central-difference gradcheck of fn."""
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*ours), tfn(*theirs)
    assert out.shape == tuple(tout.shape), (out.shape, tuple(tout.shape))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6, atol=atol)
    r = _rng(99).standard_normal(out.shape)
    (out * r).sum().backward()
    (tout * torch.tensor(r)).sum().backward()
    for mine, ref in zip(ours, theirs):
        assert mine.grad.shape == mine.shape
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-6, atol=atol)
    if check_grad:
        gradcheck(fn, [Tensor(a, requires_grad=True) for a in arrays])


# ---------------------------------------------------------------------------------------------
# elementwise
@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_broadcast(name, sa, sb):
    rng = _rng()
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    _compare(lambda x, y: getattr(ag, name)(x, y), getattr(torch, name), [a, b])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(name):
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 0.0, 5.0])
    _compare(lambda x, y: getattr(x, name)(y), getattr(torch, name), [a, b], check_grad=False)
    x = Tensor(a, requires_grad=True)
    getattr(x, name)(b).sum().backward()
    assert x.grad[0] == 0.5


def test_maximum_with_a_number_and_an_array():
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    y = x.maximum(0.0) + ag.minimum(np.array([1.0, 1.0]), x)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, 3.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


@pytest.mark.parametrize("shape", UNARY_SHAPES)
@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (None, 0.5), (-0.5, None)])
def test_clip(shape, lo, hi):
    x = ag.ops.OPS["clip"].domains[0].sample(_rng(), shape)
    _compare(lambda t: t.clip(lo, hi), lambda t: torch.clamp(t, lo, hi), [x])


def test_clip_gradient_passes_at_the_bounds():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    _compare(lambda t: t.clamp(-1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), [x],
             check_grad=False)


def test_astype_is_differentiable_and_keeps_grad_dtype():
    a = _rng().normal(size=(2, 3)).astype(np.float32)
    x = Tensor(a, requires_grad=True)
    y = (x.double() * x.double()).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2 * a, rtol=1e-6)
    z = Tensor(a.astype(np.float64), requires_grad=True)
    w = z.float()
    assert w.dtype == np.float32
    (w * 3.0).sum().backward()
    assert z.grad.dtype == np.float64
    np.testing.assert_allclose(z.grad, 3.0)
    assert z.astype(np.float64) is z
    assert not z.astype(np.int64).requires_grad


def test_astype_gradient_dtype_in_create_graph():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (g,) = ag.grad((x.double() ** 3).sum(), x, create_graph=True)
    assert g.dtype == np.float32
    (gg,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, [6.0, 12.0])


# ---------------------------------------------------------------------------------------------
# reductions
REDUCTIONS = [(None, False), (0, False), (-1, True), ((0, 2), False), ((1,), True)]


def _dims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return axis if isinstance(axis, tuple) else (axis,)


@pytest.mark.parametrize("axis,keepdims", REDUCTIONS)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min(name, axis, keepdims):
    x = _rng().normal(size=(B, T, H))
    tname = "amax" if name == "max" else "amin"
    _compare(lambda t: getattr(t, tname)(() if axis is None else axis, keepdims),
             lambda t: getattr(torch, tname)(t, dim=_dims(axis, 3), keepdim=keepdims), [x])


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_max_min_all_axes_small_shapes(shape):
    x = _rng(1).normal(size=shape)
    _compare(lambda t: t.max(), torch.amax, [x])
    _compare(lambda t: t.min(), torch.amin, [x])


def test_max_ties_share_the_gradient_evenly_like_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    _compare(lambda t: t.max(), torch.amax, [x], check_grad=False)
    _compare(lambda t: t.amax(1), lambda t: torch.amax(t, dim=1), [x], check_grad=False)
    t = Tensor(x, requires_grad=True)
    t.amax(axis=1).sum().backward()
    np.testing.assert_allclose(t.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    # max(dim), as torch's, sends the gradient to the index it returns: the first maximum
    t = Tensor(x, requires_grad=True)
    t.max(axis=1).values.sum().backward()
    np.testing.assert_allclose(t.grad, [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("axis,keepdims", REDUCTIONS)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std(axis, keepdims, correction):
    x = _rng().normal(size=(B, T, H))
    dims = _dims(axis, 3)
    if int(np.prod([x.shape[d] for d in dims])) <= correction:
        pytest.skip("n <= correction: the estimate is undefined (tested below)")
    _compare(lambda t: t.var(axis, keepdim=keepdims, correction=correction),
             lambda t: torch.var(t, dim=dims, keepdim=keepdims, correction=correction), [x])
    _compare(lambda t: t.std(axis, keepdim=keepdims, correction=correction),
             lambda t: torch.std(t, dim=dims, keepdim=keepdims, correction=correction), [x])


def test_var_default_is_torch_unbiased_and_ddof_is_numpy_name():
    x = _rng().normal(size=(6,))
    t = Tensor(x)
    np.testing.assert_allclose(t.var().data, np.var(x, ddof=1))
    np.testing.assert_allclose(t.var(ddof=0).data, np.var(x))
    np.testing.assert_allclose(t.std(ddof=0).data, np.std(x))
    assert np.isnan(Tensor(np.array([2.0])).var().item())     # as torch: n - 1 == 0


@pytest.mark.parametrize("axis,keepdims", REDUCTIONS)
def test_logsumexp(axis, keepdims):
    x = _rng().normal(size=(B, T, H))
    _compare(lambda t: t.logsumexp(axis, keepdims),
             lambda t: torch.logsumexp(t, dim=_dims(axis, 3), keepdim=keepdims), [x])


@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((B, T, H), -1),
                                        ((B, 1, T, H), 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_log_softmax(name, shape, axis):
    x = _rng().normal(size=shape) * 3
    _compare(lambda t: getattr(ag, name)(t, axis), lambda t: getattr(torch, name)(t, axis), [x])


def test_mean_matches_torch():
    x = _rng().normal(size=(B, T, H))
    _compare(lambda t: t.mean(axis=(0, 2), keepdims=True),
             lambda t: t.mean(dim=(0, 2), keepdim=True), [x])


# ---------------------------------------------------------------------------------------------
# hypothesis: elementwise and reductions on generated shapes and values
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_FLOATS = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
_SETTINGS = settings(max_examples=30, deadline=None)


@_SETTINGS
@given(data=st.data(), name=st.sampled_from(["add", "mul", "maximum", "minimum", "sub", "div"]))
def test_hypothesis_binary_elementwise(data, name):
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3,
                                                         max_side=3)).input_shapes
    a = data.draw(hnp.arrays(np.float64, sa, elements=_FLOATS))
    b = data.draw(hnp.arrays(np.float64, sb, elements=st.floats(0.5, 3.0)))
    ours = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "sub": lambda x, y: x - y,
            "div": lambda x, y: x / y, "maximum": ag.maximum, "minimum": ag.minimum}[name]
    theirs = {"maximum": torch.maximum, "minimum": torch.minimum}.get(name, ours)
    _compare(ours, theirs, [a, b], check_grad=False)


@_SETTINGS
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                    elements=_FLOATS),
       name=st.sampled_from(["exp", "tanh", "sigmoid", "sin", "cos", "relu", "abs", "clip"]))
def test_hypothesis_unary_elementwise(x, name):
    ours = (lambda t: t.clip(-1.0, 1.0)) if name == "clip" else (lambda t: getattr(t, name)())
    theirs = (lambda t: torch.clamp(t, -1.0, 1.0)) if name == "clip" else getattr(torch, name)
    _compare(ours, theirs, [x], check_grad=False)


@_SETTINGS
@given(data=st.data(), name=st.sampled_from(["sum", "mean", "max", "min", "var", "logsumexp"]),
       keepdims=st.booleans())
def test_hypothesis_reductions(data, name, keepdims):
    x = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                             elements=_FLOATS, unique=True))
    axes = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True))
    axes = tuple(sorted(axes))
    if name == "var" and int(np.prod([x.shape[a] for a in axes])) < 2:
        return
    tname = {"max": "amax", "min": "amin"}.get(name, name)
    _compare(lambda t: getattr(t, tname)(axes, keepdim=keepdims),
             lambda t: getattr(torch, tname)(t, dim=axes, keepdim=keepdims), [x],
             check_grad=False)


# ---------------------------------------------------------------------------------------------
# joining and padding
def test_concatenate_and_stack():
    rng = _rng()
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 1)), rng.normal(size=(2, 2))
    _compare(lambda *t: ag.concatenate(t, axis=1), lambda *t: torch.cat(t, dim=1), [a, b, c])
    _compare(lambda *t: ag.concatenate(t, axis=-1), lambda *t: torch.cat(t, dim=-1), [a, b])
    d = rng.normal(size=(2, 3))
    for axis in (0, 1, 2, -1):
        _compare(lambda *t: ag.stack(t, axis), lambda *t: torch.stack(t, axis), [a, d])


def test_concatenate_mixed_with_constants_and_dtypes():
    x = Tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)
    y = ag.concatenate([x, np.zeros((2, 2)), Tensor(np.ones((1, 2)))], axis=0)
    assert y.shape == (4, 2)
    (y * np.arange(8.0).reshape(4, 2)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0]])


@pytest.mark.parametrize("shape,pad", [((3,), (1, 2)), ((2, 3), (1, 0, 2, 1)),
                                       ((B, 2, T, H), (1, 1, 2, 0))])
def test_pad_torch_style(shape, pad):
    x = _rng().normal(size=shape)
    _compare(lambda t: ag.pad(t, pad, value=0.5), lambda t: F.pad(t, pad, value=0.5), [x])


def test_pad_numpy_style():
    x = _rng().normal(size=(2, 3))
    for width in (1, ((1, 2), (0, 3)), ((2, 1),)):
        np.testing.assert_array_equal(ag.pad(Tensor(x), width).data, np.pad(x, width))
    t = Tensor(x, requires_grad=True)
    ag.pad(t, ((1, 2), (0, 3))).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------
# convolution and pooling
CONV_CASES = [  # x shape, weight shape, stride, padding, bias
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0, True),
    ((1, 2, 6, 5), (3, 2, 3, 2), (2, 1), (1, 2), True),
    ((2, 1, 4, 4), (2, 1, 1, 1), 1, 0, False),
    ((1, 2, 7, 7), (1, 2, 3, 3), 2, 1, False),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 0, True),
]


@pytest.mark.parametrize("xs,ws,stride,padding,bias", CONV_CASES)
def test_conv2d(xs, ws, stride, padding, bias):
    rng = _rng()
    arrays = [rng.normal(size=xs), rng.normal(size=ws)] + ([rng.normal(size=ws[0])] if bias
                                                           else [])
    _compare(lambda x, w, *b: ag.conv2d(x, w, *(b or [None]), stride=stride, padding=padding),
             lambda x, w, *b: F.conv2d(x, w, *(b or [None]), stride=stride, padding=padding),
             arrays)


POOL_CASES = [((2, 3, 4, 4), 2, None, 0), ((1, 2, 5, 6), 3, 1, 0), ((1, 1, 5, 5), (2, 3), 2, 1),
              ((2, 2, 6, 6), 3, 2, 1)]


@pytest.mark.parametrize("xs,kernel,stride,padding", POOL_CASES)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pools(name, xs, kernel, stride, padding):
    x = _rng().normal(size=xs)
    _compare(lambda t: getattr(ag, name)(t, kernel, stride, padding),
             lambda t: getattr(F, name)(t, kernel, stride, padding), [x])


def test_max_pool_tie_goes_to_the_first_maximum_like_torch():
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 2.0],
                    [3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]]])
    _compare(lambda t: ag.max_pool2d(t, 2), lambda t: F.max_pool2d(t, 2), [x], check_grad=False)
    _compare(lambda t: ag.max_pool2d(t, 3, 1), lambda t: F.max_pool2d(t, 3, 1), [x],
             check_grad=False)
    t = Tensor(x, requires_grad=True)
    ag.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad[0, 0], [[1, 0, 0, 1], [0, 0, 0, 0],
                                                 [1, 0, 1, 0], [0, 0, 0, 0]])


def test_conv_net_end_to_end_matches_torch():
    rng = _rng(3)
    arrays = [rng.normal(size=(2, 1, 8, 8)), rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3),
              rng.normal(size=(10, 27))]

    def ours(x, w, b, v):
        h = ag.max_pool2d(ag.conv2d(x, w, b, padding=1).relu(), 2)
        return ag.avg_pool2d(h, 2).flatten(1) @ v.T

    def theirs(x, w, b, v):
        h = F.max_pool2d(F.conv2d(x, w, b, padding=1).relu(), 2)
        return F.avg_pool2d(h, 2).flatten(1) @ v.T

    arrays[3] = rng.normal(size=(10, 3 * 2 * 2))
    _compare(ours, theirs, arrays)


# ---------------------------------------------------------------------------------------------
# second derivatives: autograd.grad(create_graph=True) against torch's double backward
def _double_backward(fn, tfn, arrays):
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*ours), tfn(*theirs)
    r = _rng(5).standard_normal(out.shape)
    gs = ag.grad((out * r).sum(), ours, create_graph=True)
    tgs = torch.autograd.grad((tout * torch.tensor(r)).sum(), theirs, create_graph=True)
    vs = [_rng(6 + i).standard_normal(a.shape) for i, a in enumerate(arrays)]
    gv = sum((g * v).sum() for g, v in zip(gs, vs))
    tgv = sum((g * torch.tensor(v)).sum() for g, v in zip(tgs, vs))
    # a piecewise linear op (relu, add, maximum) has a gradient that is constant in the inputs
    hv = ag.grad(gv, ours, allow_unused=True) if gv.requires_grad else [None] * len(ours)
    thv = (torch.autograd.grad(tgv, theirs, allow_unused=True) if tgv.requires_grad
           else [None] * len(ours))
    for mine, ref in zip(gs, tgs):
        np.testing.assert_allclose(mine.data, ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    for mine, ref, a in zip(hv, thv, arrays):
        mine = np.zeros(a.shape) if mine is None else mine.data
        ref = np.zeros(a.shape) if ref is None else ref.numpy(force=True)
        np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=1e-6)


_UNARY_TORCH = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh,
                "sigmoid": torch.sigmoid, "relu": torch.relu, "sqrt": torch.sqrt,
                "abs": torch.abs, "sin": torch.sin, "cos": torch.cos,
                "leaky_relu": lambda t: F.leaky_relu(t, 0.01)}


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n in _UNARY_TORCH])
def test_second_derivative_unary(name):
    x = ag.ops.OPS[name].domains[0].sample(_rng(), (2, 3))
    _double_backward(lambda t: getattr(t, name)(), _UNARY_TORCH[name], [x])


@pytest.mark.parametrize("name", ["add", "mul", "pow", "sub", "div", "maximum", "minimum"])
@pytest.mark.parametrize("sa,sb", [((2, 3), (2, 3)), ((1,), (2, 3)), ((B, 1, T, 1), (B, 1, T, H))])
def test_second_derivative_binary(name, sa, sb):
    rng = _rng()
    a, b = rng.uniform(0.5, 2.0, size=sa), rng.uniform(-2.0, 2.0, size=sb)
    fns = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "pow": lambda x, y: x ** y,
           "sub": lambda x, y: x - y, "div": lambda x, y: x / y}
    ours = fns.get(name) or getattr(ag, name)
    theirs = fns.get(name) or getattr(torch, name)
    _double_backward(ours, theirs, [a, b])


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 2)),
                                   ((2, 3), (3,)), ((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2))])
def test_second_derivative_matmul(sa, sb):
    rng = _rng()
    _double_backward(lambda x, y: (x @ y).tanh(), lambda x, y: (x @ y).tanh(),
                     [rng.normal(size=sa), rng.normal(size=sb)])


@pytest.mark.parametrize("case", ["clip", "log_softmax", "softmax", "logsumexp", "max", "var",
                                  "conv2d", "max_pool2d", "avg_pool2d", "concatenate", "pad"])
def test_second_derivative_new_ops(case):
    rng = _rng()
    x = rng.normal(size=(2, 2, 4, 4))
    w = rng.normal(size=(3, 2, 2, 2))
    cases = {
        "clip": (lambda t: t.clip(-0.5, 0.5) * t, lambda t: t.clamp(-0.5, 0.5) * t),
        "log_softmax": (lambda t: ag.log_softmax(t, 1), lambda t: torch.log_softmax(t, 1)),
        "softmax": (lambda t: ag.softmax(t, -1), lambda t: torch.softmax(t, -1)),
        "logsumexp": (lambda t: t.logsumexp((1, 3)), lambda t: t.logsumexp((1, 3))),
        "max": (lambda t: t.amax(axis=2) ** 2, lambda t: t.amax(dim=2) ** 2),
        "var": (lambda t: t.var(axis=(0, 3)), lambda t: t.var(dim=(0, 3))),
        "conv2d": (lambda t: ag.conv2d(t, Tensor(w), padding=1) ** 2,
                   lambda t: F.conv2d(t, torch.tensor(w), padding=1) ** 2),
        "max_pool2d": (lambda t: ag.max_pool2d(t * t, 2), lambda t: F.max_pool2d(t * t, 2)),
        "avg_pool2d": (lambda t: ag.avg_pool2d(t * t, 3, 1, 1),
                       lambda t: F.avg_pool2d(t * t, 3, 1, 1)),
        "concatenate": (lambda t: ag.concatenate([t, t * t], 1) ** 2,
                        lambda t: torch.cat([t, t * t], 1) ** 2),
        "pad": (lambda t: ag.pad(t * t, (1, 2, 0, 1)) ** 2,
                lambda t: F.pad(t * t, (1, 2, 0, 1)) ** 2),
    }
    _double_backward(*cases[case], [x])


def test_conv2d_second_derivative_in_weight_and_input():
    rng = _rng()
    _double_backward(lambda x, w: ag.conv2d(x, w, stride=2, padding=1).tanh(),
                     lambda x, w: F.conv2d(x, w, stride=2, padding=1).tanh(),
                     [rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(2, 2, 3, 3))])


# ---------------------------------------------------------------------------------------------
# stability
def test_log_softmax_at_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    _compare(lambda t: ag.log_softmax(t, 1), lambda t: torch.log_softmax(t, 1), [x],
             check_grad=False)
    _compare(lambda t: ag.softmax(t, 1), lambda t: torch.softmax(t, 1), [x], check_grad=False)
    assert np.isfinite(ag.log_softmax(Tensor(x), 1).data).all()


def test_log_softmax_at_huge_logits_in_float32():
    """Regression: a - (m + log s) lost the log term's digits to m = 1e4 in float32
    (-1.0986328 where torch gives -1.0986123); (a - m) - log s keeps them."""
    x = np.array([[-1e4] * 3, [1e4, 1e4, -1e4]], np.float32)
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    np.testing.assert_allclose(t.log_softmax(1).data, torch.log_softmax(tt, 1).detach().numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(t.softmax(1).data, torch.softmax(tt, 1).detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    w = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)
    (t.log_softmax(1) * w).sum().backward()
    (torch.log_softmax(tt, 1) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_sigmoid_at_plus_minus_1000():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    _compare(lambda t: t.sigmoid(), torch.sigmoid, [x], check_grad=False)
    for dt in (np.float32, np.float64):
        t = Tensor(x.astype(dt), requires_grad=True)
        t.sigmoid().sum().backward()
        assert np.isfinite(t.grad).all()


def test_logsumexp_of_large_values():
    x = np.array([[1e4, 1e4 - 1.0, 0.0], [-1e4, -1e4, -1e4], [800.0, 700.0, 900.0]])
    _compare(lambda t: t.logsumexp(axis=1), lambda t: torch.logsumexp(t, 1), [x],
             check_grad=False)
    _compare(lambda t: t.logsumexp(), lambda t: torch.logsumexp(t, (0, 1)), [x],
             check_grad=False)
    inf = Tensor(np.array([-np.inf, -np.inf])).logsumexp()
    assert inf.item() == -np.inf


# ---------------------------------------------------------------------------------------------
# error messages
def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\) and \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_broadcast_mismatch_names_both_shapes_and_op():
    with pytest.raises(ValueError, match=r"maximum.*\(2, 3\) and \(4,\)"):
        Tensor(np.ones((2, 3))).maximum(np.ones(4))
    with pytest.raises(ValueError, match=r"add.*\(2, 3\) and \(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_conv_channel_mismatch_names_both():
    with pytest.raises(ValueError, match=r"3 channels \(shape \(1, 3, 5, 5\)\).*expects 2 "
                                         r"\(shape \(4, 2, 3, 3\)\)"):
        ag.conv2d(Tensor(np.ones((1, 3, 5, 5))), Tensor(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        ag.conv2d(Tensor(np.ones((1, 2, 5, 5))), np.ones((4, 2, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"kernel 3x3 is larger.*2x2"):
        ag.conv2d(Tensor(np.ones((1, 2, 2, 2))), np.ones((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"max_pool2d: expected an NCHW.*\(3, 4\)"):
        ag.max_pool2d(Tensor(np.ones((3, 4))), 2)


def test_index_out_of_range_says_which_axis():
    with pytest.raises(IndexError, match=r"shape \(3, 2\).*axis 1"):
        Tensor(np.ones((3, 2)))[0, 5]
    with pytest.raises(IndexError, match=r"Dimension out of range.*\[-3, 2\], but got 3"):
        Tensor(np.ones((3, 2, 1))).max(axis=3)


def test_join_and_pad_errors():
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\), \(3, 2\)"):
        ag.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))], axis=1)
    with pytest.raises(ValueError, match=r"stack: .*\(2,\), \(3,\)"):
        ag.stack([Tensor(np.ones(2)), Tensor(np.ones(3))])
    with pytest.raises(ValueError, match="negative widths"):
        ag.pad(Tensor(np.ones(2)), (-1, 0))
    with pytest.raises(ValueError, match="clip: at least one"):
        Tensor(np.ones(2)).clip()
    with pytest.raises(TypeError, match="maximum.*Value"):
        Tensor(np.ones(2)).maximum(ag.Value(1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (5,), (3, 7), (300, 300)])    # 300 x 300: past _ZEROS_MAX
def test_relu_forward_special_values_match_torch(dtype, shape):
    """relu's forward meets a cached array of zeros (a whole one for small inputs, one row for
    large ones) instead of the scalar 0: nan, +-inf and -0.0 still give torch's values, in
    row-major, column-major and transposed inputs, and the result is a fresh writable array,
    never the cached zeros."""
    rng = _rng(3)
    a = rng.standard_normal(shape).astype(dtype)
    if a.size >= 4:
        a.ravel()[:4] = [np.nan, np.inf, -np.inf, -0.0]
    for arr in (a, np.asfortranarray(a), a.T):
        out = Tensor(arr).relu()
        np.testing.assert_array_equal(out.data, torch.relu(torch.tensor(arr)).numpy())
        assert out.data.dtype == dtype
        if out.data.ndim:                    # a 0-d result is a numpy scalar, as from any ufunc
            out.data[...] = 7.0              # must not reach the zeros the next call meets
    again = Tensor(a).relu().data
    np.testing.assert_array_equal(again, torch.relu(torch.tensor(a)).numpy())
    assert Tensor(np.arange(-2, 3)).relu().data.tolist() == [0, 0, 0, 1, 2]   # ints: as before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_gradient_at_special_inputs_matches_torch(dtype):
    """torch's relu backward is `out <= 0 ? 0 : g`: 0 at 0 and -0.0, g at a nan input (nan <= 0
    is false) and at +inf. The Tensor VJP and the Value row follow it, and Value's forward
    keeps a nan as torch does."""
    x = np.array([np.nan, -1.0, 0.0, -0.0, 2.0, np.inf, -np.inf], dtype=dtype)
    up = np.array([5.0, 5.0, 5.0, 5.0, -3.0, np.inf, np.inf], dtype=dtype)
    t = Tensor(x, requires_grad=True)
    (g,) = ag.grad(t.relu(), [t], grad_outputs=up)
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(up))
    np.testing.assert_array_equal(g.data, tx.grad.numpy())
    for xi in x.tolist():
        v = ag.Value(xi)
        out = v.relu()
        out.backward()
        tv = torch.tensor(xi, dtype=torch.float64, requires_grad=True)
        torch.relu(tv).backward()
        np.testing.assert_array_equal(out.data, torch.relu(tv).item())
        assert v.grad == tv.grad.item()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 1, np.float64(0.3), 1.5, 0.0, -0.3,
                                   np.float32(0.1)])
def test_leaky_relu_special_values_match_torch(dtype, slope):
    """leaky_relu takes max(a, slope a) forward and g max(mask, slope) backward for a slope in
    (0, 1], np.where otherwise: either way torch's values and gradients bit for bit, the sign
    of -0.0 included, at +-inf, nan and denormals, with infs and nan upstream too."""
    x = np.array([-np.inf, -2.0, -0.0, 0.0, 1e-30, 3.0, np.inf, np.nan, -1e-40, 5e-39],
                 dtype=dtype)
    up = np.array([1, np.inf, -np.inf, 2, np.nan, 3, 4, 5, -6, np.inf], dtype=dtype)
    t = Tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):         # slope 0 at -inf is nan, as in torch
        out = t.leaky_relu(slope)
        (g,) = ag.grad(out, [t], grad_outputs=up)
    tx = torch.tensor(x, requires_grad=True)
    expect = torch.nn.functional.leaky_relu(tx, float(slope))
    expect.backward(torch.tensor(up))
    np.testing.assert_array_equal(out.data, expect.detach().numpy())
    np.testing.assert_array_equal(np.signbit(out.data), np.signbit(expect.detach().numpy()))
    np.testing.assert_array_equal(g.data, tx.grad.numpy())
    assert out.data.dtype == g.data.dtype == dtype
