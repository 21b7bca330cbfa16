"""Gradients of slices are added in place (SparseGrad): same values as torch, no aliasing."""
import numpy as np
import pytest

import autograd
from autograd import Tensor

torch = pytest.importorskip("torch")


def _both(fn, x):
    t = Tensor(x, requires_grad=True)
    fn(t, lambda a, k: a[k]).backward()
    tt = torch.tensor(x, requires_grad=True)
    fn(tt, lambda a, k: a[k]).backward()
    return t.grad, tt.grad.numpy()


@pytest.mark.parametrize("case", ["slices", "slices_and_dense", "dense_first", "one_slice",
                                  "shared_upstream", "steps"])
def test_slice_gradients_match_torch(case):
    x = np.random.default_rng(0).normal(size=(3, 4, 2))

    def fn(a, get):
        if case == "slices":
            return (get(a, 0) * 2).sum() + get(a, (slice(None), 1)).sum() + get(a, 0).sum()
        if case == "slices_and_dense":
            return (get(a, 1) ** 2).sum() + (a * 3).sum() + get(a, (Ellipsis, 0)).sum()
        if case == "dense_first":
            return (a.sin() * get(a, 2)).sum() + get(a, (0, slice(1, 3))).sum()
        if case == "one_slice":
            return get(a, (1, 2, 0)) * 5
        if case == "shared_upstream":          # add hands one array to both inputs
            b = get(a, 0) + get(a, 1)
            return (b * b).sum()
        h = get(a, (slice(None), 0))
        for t in range(1, 4):
            h = (h + get(a, (slice(None), t))).tanh()
        return h.sum()
    ours, theirs = _both(fn, x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_shared_array_is_not_written_in_place():
    """x + y hands the same gradient array to x and y: a slice gradient added into x's
    accumulator must not leak into y's."""
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    y = Tensor(np.zeros((2, 3)), requires_grad=True)
    s = x + y
    loss = (s * 1.0).sum() + x[0].sum() * 10.0
    loss.backward()
    np.testing.assert_array_equal(y.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad, [[11.0] * 3, [1.0] * 3])


def test_grad_and_tape_see_dense_gradients():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (g,) = autograd.grad(x[0].sum() + x[1].sum() * 2.0, [x])
    np.testing.assert_array_equal(g.data, [[1.0] * 3, [2.0] * 3])
    with autograd.Tape() as tape:
        y = x[0].sum() + x[:, 1].sum()
    table = tape.explain(y)
    assert "getitem" in str(table)


def test_many_slices_materialize_one_full_array(monkeypatch):
    """T slices of a (B, T, H) input used to cost a full-size zeros array each (O(T^2) work in
    backward); now the slices are added in place into one accumulator."""
    from autograd.ops import SparseGrad
    made = []
    dense = SparseGrad.dense
    monkeypatch.setattr(SparseGrad, "dense", lambda self: made.append(1) or dense(self))
    T = 50
    x = Tensor(np.ones((4, T, 3)), requires_grad=True)
    total = x[:, 0].sum()
    for t in range(1, T):
        total = total + x[:, t].sum()
    total.backward()
    np.testing.assert_array_equal(x.grad, np.ones((4, T, 3)))
    assert len(made) == 1
