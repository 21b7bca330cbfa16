"""Gradient clipping against torch.nn.utils."""
import math

import numpy as np
import pytest

import optim
from autograd import Tensor, Value

torch = pytest.importorskip("torch")


def _grads(seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) * scale for s in [(3, 4), (5,), ()]]


def _params(grads):
    ours = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = Tensor(g.copy()), torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _params(_grads())
    norm_type = float(norm_type)
    total = optim.clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
    assert isinstance(total, float)
    assert abs(total - ref.item()) <= 1e-12 * max(1.0, ref.item())
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_on_values_single_params_and_missing_grads():
    grads = [1.5, -2.0, 0.25]
    values = [Value(0.0) for _ in grads]
    for v, g in zip(values, grads):
        v.grad = g
    theirs = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in grads]
    for q, g in zip(theirs, grads):
        q.grad = torch.tensor(g, dtype=torch.float64)
    total = optim.clip_grad_norm_(values, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert abs(total - ref.item()) < 1e-12
    np.testing.assert_allclose([v.grad for v in values], [q.grad.item() for q in theirs])
    assert all(type(v.grad) is float for v in values)
    # one parameter (not a list), and a parameter without grad next to one with
    p = Tensor(np.zeros(2), requires_grad=True)
    p.grad = Tensor(np.array([3.0, 4.0]))
    assert optim.clip_grad_norm_(p, 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)
    q = Tensor(np.zeros(2), requires_grad=True)
    assert optim.clip_grad_norm_([p, q], 10.0) == pytest.approx(1.0, rel=1e-5)
    assert q.grad is None
    assert optim.clip_grad_norm_([q], 1.0) == 0.0


def test_clip_grad_norm_nonfinite():
    p = Tensor(np.zeros(2), requires_grad=True)
    p.grad = Tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        optim.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert optim.clip_grad_norm_(p, 1.0) == math.inf


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _params(_grads(1))
    optim.clip_grad_value_(ours, clip_value)
    torch.nn.utils.clip_grad_value_(theirs, clip_value, foreach=False)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, q.grad.numpy())
    v = Value(0.0)
    v.grad = -3.0
    optim.clip_grad_value_(v, clip_value)
    assert v.grad == max(-3.0, -clip_value)


def test_clip_is_in_place_for_tensors():
    p = Tensor(np.zeros(3), requires_grad=True)
    g = np.array([10.0, -10.0, 0.5])
    p.grad = Tensor(g)
    held = p.grad
    optim.clip_grad_value_([p], 1.0)
    optim.clip_grad_norm_([p], 1.0)
    assert p.grad is held and p.grad.numpy() is g


def test_reachable_from_nn_utils():
    nn = pytest.importorskip("nn")
    p = Tensor(np.zeros(2), requires_grad=True)
    p.grad = Tensor(np.array([3.0, 4.0]))
    assert nn.utils.clip_grad_norm_([p], 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)
