"""Edge values pinned to PyTorch's choices, compared with torch itself (not with constants).

Each case is f applied to float64 inputs on a kink, a tie, a pole or an overflow; the value and
the gradient (of sum(f)) must equal torch's exactly where torch gives inf or nan, and to 1e-12
elsewhere. Elementwise cases run on Tensor and, point by point, on Value.
"""
import warnings

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value

torch = pytest.importorskip("torch")

inf, nan = np.inf, np.nan

# name: (our fn on Tensors, torch fn, input arrays, also on Value point by point)
CASES = {
    "relu-at-0": (lambda x: x.relu(), torch.relu, [[0.0, -0.0, 1.0, -1.0]], True),
    "abs-at-0": (lambda x: x.abs(), torch.abs, [[0.0, -0.0, 2.0, -2.0]], True),
    "leaky-at-0": (lambda x: x.leaky_relu(0.1),
                   lambda x: torch.nn.functional.leaky_relu(x, 0.1), [[0.0, -1.0, 1.0]], False),
    "sqrt-at-0": (lambda x: x.sqrt(), torch.sqrt, [[0.0, 4.0]], True),
    "sqrt-negative": (lambda x: x.sqrt(), torch.sqrt, [[-1.0]], True),
    "log-of-0": (lambda x: x.log(), torch.log, [[0.0, 1.0]], True),
    "log-negative": (lambda x: x.log(), torch.log, [[-1.0]], True),
    "exp-overflow": (lambda x: x.exp(), torch.exp, [[710.0, -800.0, 1.0]], True),
    "sigmoid-extremes": (lambda x: x.sigmoid(), torch.sigmoid, [[-1000.0, 1000.0, 0.0]], True),
    "tanh-extremes": (lambda x: x.tanh(), torch.tanh, [[-1000.0, 1000.0]], True),
    "pow-base0-int-exps": (lambda a, b: a ** b, lambda a, b: a ** b,
                           [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0]], True),
    "pow-base0-negative-exps": (lambda a, b: a ** b, lambda a, b: a ** b,
                                [[0.0, 0.0, -0.0], [-1.0, -2.0, -1.0]], True),
    "pow-base0-fractional": (lambda a, b: a ** b, lambda a, b: a ** b,
                             [[0.0, 0.0], [0.5, -0.5]], True),
    "pow-negative-base-int": (lambda a, b: a ** b, lambda a, b: a ** b,
                              [[-2.0, -2.0, -3.0], [2.0, 3.0, -1.0]], True),
    "pow-negative-base-fractional": (lambda a, b: a ** b, lambda a, b: a ** b,
                                     [[-2.0, -8.0], [0.5, 1.0 / 3.0]], True),
    "pow-overflow": (lambda a, b: a ** b, lambda a, b: a ** b, [[10.0, -10.0], [400.0, 401.0]],
                     True),
    "div-by-0": (lambda a, b: a / b, lambda a, b: a / b, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]],
                 True),
    "max-ties-full": (lambda x: x.max(), torch.amax, [[1.0, 3.0, 3.0, 2.0, 3.0]], False),
    "min-ties-full": (lambda x: x.min(), torch.amin, [[1.0, -3.0, -3.0, 2.0]], False),
    "max-ties-axis": (lambda x: x.amax(axis=1), lambda x: torch.amax(x, dim=1),
                      [[[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]]], False),
    "min-ties-axis0-keepdims": (lambda x: x.amin(axis=0, keepdims=True),
                                lambda x: torch.amin(x, dim=0, keepdim=True),
                                [[[1.0, 2.0], [1.0, 0.0], [1.0, 0.0]]], False),
    "maximum-ties": (lambda a, b: a.maximum(b), torch.maximum,
                     [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]], False),
    "minimum-ties": (lambda a, b: a.minimum(b), torch.minimum,
                     [[1.0, 2.0, 3.0], [1.0, 5.0, 3.0]], False),
    "clip-at-bounds": (lambda x: x.clip(-1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0),
                       [[-1.0, 1.0, 0.0, 2.0]], False),
    # tensor bounds: each bound takes the gradient where it is the result; ties go to x, and
    # a min above the max gives the max, as min(max(x, lo), hi)
    "clamp-tensor-bounds": (lambda x, lo, hi: x.clamp(min=lo, max=hi),
                            lambda x, lo, hi: torch.clamp(x, min=lo, max=hi),
                            [[-2.0, -1.0, 0.0, 1.0, 2.0, 0.5, nan, 2.0, 0.0, 0.3, 0.3],
                             [-1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 0.0, 0.5, 0.5, nan, 0.0],
                             [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.5, 1.0, nan]], False),
    "clamp-tensor-min": (lambda x, lo: x.clamp(min=lo), lambda x, lo: torch.clamp(x, min=lo),
                         [[-2.0, 0.0, 3.0], [0.0, 0.0, 0.0]], False),
    "clamp-tensor-max": (lambda x, hi: x.clamp(max=hi), lambda x, hi: torch.clamp(x, max=hi),
                         [[-2.0, 0.0, 3.0], [0.0, 0.0, 0.0]], False),
    "logsumexp-all-minus-inf": (lambda x: x.logsumexp(axis=0),
                                lambda x: torch.logsumexp(x, dim=0), [[-inf, -inf]], False),
    "logsumexp-large": (lambda x: x.logsumexp(axis=0), lambda x: torch.logsumexp(x, dim=0),
                        [[1000.0, 1000.0, -1000.0]], False),
    "log_softmax-large": (lambda x: x.log_softmax(0), lambda x: torch.log_softmax(x, 0),
                          [[1e4, 0.0, -1e4]], False),
    # the unsafe pattern: nan in the branch not taken still poisons the gradient (0 * inf)
    "where-nan-unselected": (lambda x: autograd.where(x.data > 0, x.sqrt(), x * 0.0),
                             lambda x: torch.where(x > 0, torch.sqrt(x), x * 0.0),
                             [[-1.0, 0.0, 4.0]], False),
    "where-log-unselected": (lambda x: autograd.where(x.data > 0, x.log(), x * 0.0),
                             lambda x: torch.where(x > 0, torch.log(x), x * 0.0),
                             [[0.0, 2.0]], False),
    # the safe pattern: where on the input first, so the unsafe op only sees safe values
    "where-safe-pattern": (lambda x: autograd.where(
                               x.data > 0, autograd.where(x.data > 0, x, 1.0).sqrt(), 0.0),
                           lambda x: torch.where(
                               x > 0, torch.sqrt(torch.where(x > 0, x, 1.0)), 0.0),
                           [[-1.0, 0.0, 4.0]], False),
    "mean-empty": (lambda x: x.mean(), torch.mean, [np.zeros(0)], False),
    "sum-empty": (lambda x: x.sum(), torch.sum, [np.zeros((0, 3))], False),
}

XFAIL = {}


def _close(ours, theirs, what):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True,
                               err_msg=f"{what} differs from torch")
    assert np.array_equal(np.signbit(ours[np.isinf(ours)]), np.signbit(theirs[np.isinf(ours)]))


def _params():
    out = []
    for name in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_tensor_edge_matches_torch(name):
    fn, tfn, arrays, _ = CASES[name]
    xs = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ts = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fn(*xs)
        out.sum().backward()
    t_out = tfn(*ts)
    t_out.sum().backward()
    _close(out.data, t_out.detach().numpy(), f"{name}: value")
    for i, (x, t) in enumerate(zip(xs, ts)):
        _close(np.zeros(x.shape) if x.grad is None else x.grad, t.grad.numpy(),
               f"{name}: gradient of input {i}")


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3]])
def test_value_edge_matches_torch(name):
    fn, tfn, arrays, _ = CASES[name]
    for point in zip(*arrays):
        vs = [Value(p) for p in point]
        out = fn(*vs)
        out.backward()
        ts = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
        t_out = tfn(*ts)
        t_out.backward()
        _close(out.data, t_out.item(), f"{name} at {point}: Value")
        for i, (v, t) in enumerate(zip(vs, ts)):
            _close(v.grad, t.grad.item(), f"{name} at {point}: Value gradient {i}")


# ---------------------------------------------------------------------------------------------
# integer inputs
def test_int_array_operands_are_cast_to_the_tensor_dtype():
    """An int array operand behaves like torch's type promotion with a float tensor."""
    x = Tensor(np.array([1.5, 2.5]), requires_grad=True)
    y = x * np.array([2, 3]) + np.array([1, 1], dtype=np.int8)
    assert y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])
    t = torch.tensor([1.5, 2.5], dtype=torch.float64, requires_grad=True)
    (t * torch.tensor([2, 3]) + torch.tensor([1, 1], dtype=torch.int8)).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_int_tensor_cannot_require_grad_like_torch():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_int_tensor_constant_in_graph_gets_no_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    k = Tensor(np.array([3, 4]))
    (x * k).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert k.grad is None


def test_value_of_int_is_float():
    v = Value(3)
    assert isinstance(v.data, float)
    (v * v).backward()
    assert v.grad == 6.0 and isinstance(v.grad, float)


def test_leaky_relu_takes_its_slope_as_a_number_as_torch_does():
    """negative_slope is a number; a 0-d tensor is read as one, a longer tensor or a string
    is torch's TypeError (a tensor slope once went to numpy as an array, elementwise)."""
    x = np.array([-2.0, 0.5])
    got = Tensor(x).leaky_relu(Tensor(np.array(0.25)))
    want = torch.nn.functional.leaky_relu(torch.tensor(x), torch.tensor(0.25))
    _close(got.data, want.numpy(), "0-d slope")
    for slope in (Tensor(np.array([0.1, 0.2])), "a"):
        with pytest.raises(TypeError, match="must be Number") as ours:
            Tensor(x).leaky_relu(slope)
        theirs = torch.tensor([0.1, 0.2]) if isinstance(slope, Tensor) else slope
        with pytest.raises(TypeError) as torchs:
            torch.nn.functional.leaky_relu(torch.tensor(x), theirs)
        assert str(ours.value) == str(torchs.value)
