"""Graph mechanics under stress: deep Tensor chains, 10,000 training steps with flat memory,
intermediates freed after backward, backward twice, retain_graph, create_graph.

The 1e6-node Value chain is tests/test_engine.py::test_deep_chain_million_nodes (not repeated).
Figures for RELIABILITY.md: `pytest tests/test_hardening_graph.py -s -q | grep reliability`.
"""
import gc
import os
import weakref

import numpy as np
import pytest

import autograd
import nn
import optim
from autograd import Tensor, Value

TENSOR_CHAIN = 100_000
TRAIN_STEPS = 10_000
WARMUP = 1_000
DRIFT_BOUND_MB = 8.0


def _rss_mb():
    """Resident set size now (not the peak), from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
def test_tensor_chain_of_1e5_ops_backward():
    """x -> x * 1.00001 + 0 ... 1e5 ops deep: no recursion limit, exact gradient."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for i in range(TENSOR_CHAIN // 2):
        y = y * 1.00001
        y = y + 0.0
    y.sum().backward()
    expected = 1.00001 ** (TENSOR_CHAIN // 2)
    np.testing.assert_allclose(x.grad, [expected, expected], rtol=1e-9)
    print(f"\n[reliability] deepest Tensor graph backpropagated: {TENSOR_CHAIN} ops "
          f"(Value: 1,000,000 nodes in tests/test_engine.py::test_deep_chain_million_nodes)")


@pytest.mark.slow
def test_training_loop_memory_stays_flat():
    """10,000 SGD steps of a small MLP: resident memory after warm-up must not grow."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 16, rng=rng, dtype=np.float64), nn.Tanh(),
                          nn.Linear(16, 1, rng=rng, dtype=np.float64))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = Tensor(rng.standard_normal((32, 4)))
    y = Tensor(np.sin(x.data.sum(axis=1, keepdims=True)))
    first = None
    samples = []
    for step in range(TRAIN_STEPS):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2.0).mean()
        loss.backward()
        opt.step()
        if step == 0:
            first = loss.item()
        if step == WARMUP:
            gc.collect()
            start = _rss_mb()
        if step > WARMUP and step % 1000 == 0:
            samples.append(_rss_mb())
    gc.collect()
    end = _rss_mb()
    drift = end - start
    print(f"\n[reliability] training loop: {TRAIN_STEPS} steps, resident memory {start:.1f} MB "
          f"after {WARMUP} steps -> {end:.1f} MB at the end (drift {drift:+.2f} MB; bound "
          f"{DRIFT_BOUND_MB} MB); loss {first:.4f} -> {loss.item():.4f}")
    assert loss.item() < first
    assert drift < DRIFT_BOUND_MB, f"memory grew by {drift:.1f} MB: {samples}"


def test_intermediates_die_after_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    a = x * 2.0
    b = a.exp()
    out = b.sum()
    refs = [weakref.ref(t) for t in (a, b, out)]
    del a, b
    out.backward()
    del out
    assert all(r() is None for r in refs), "an intermediate outlived its graph"
    assert x.grad is not None


def test_value_intermediates_die_after_backward():
    x = Value(1.5)
    h = (x * x).tanh()
    out = h + 1.0
    refs = [weakref.ref(h), weakref.ref(out)]
    out.backward()
    del h, out
    assert all(r() is None for r in refs)


def test_create_graph_result_frees_its_graph():
    """grad(create_graph=True) returns a node pointing into the graph; dropping it frees all."""
    x = Tensor(np.array([0.3, 0.7]), requires_grad=True)
    y = (x ** 3.0).sum()
    (g,) = autograd.grad(y, [x], create_graph=True)
    refs = [weakref.ref(y), weakref.ref(g)]
    g.sum().backward()
    np.testing.assert_allclose(x.grad, 6.0 * x.data)
    del y, g
    assert all(r() is None for r in refs)


def test_no_cycle_collector_needed():
    """Graphs are freed by reference counting alone: with gc disabled nothing survives."""
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones((4, 4)), requires_grad=True)
        before = len(gc.get_objects())
        for _ in range(50):
            out = (x @ x).tanh().sum()
            out.backward()
            del out
        after = len(gc.get_objects())
    finally:
        gc.enable()
    assert after - before < 50


def test_backward_twice_raises_then_retain_graph_accumulates():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = (x * x).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_array_equal(x.grad, 2 * 2.0 * x.data)
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()


def test_value_backward_twice():
    x = Value(3.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == 12.0
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_create_graph_third_derivative_matches_torch():
    torch = pytest.importorskip("torch")
    x = Tensor(np.array([0.4, -1.3]), requires_grad=True)
    tx = torch.tensor([0.4, -1.3], dtype=torch.float64, requires_grad=True)
    f = lambda a: (a.sin() * a ** 2.0).sum()  # noqa: E731
    g = f(x)
    tg = (torch.sin(tx) * tx ** 2).sum()
    for _ in range(3):
        (g,) = autograd.grad(g, [x], create_graph=True)
        (tg,) = torch.autograd.grad(tg, [tx], create_graph=True)
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12)
        g, tg = g.sum(), tg.sum()


def test_failed_backward_leaves_no_pending_state():
    """An anomaly in the middle of backward must not leave gradients half accumulated."""
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with autograd.detect_anomaly(strict=True):
        out = x.sqrt().sum()
        with pytest.raises(FloatingPointError):
            out.backward()
    assert x.grad is None
    y = (x * 2.0).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
