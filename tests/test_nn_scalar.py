"""The scalar networks: Neuron against hand computation and torch, Perceptron on AND/OR/XOR,
the scalar MLP learning XOR."""
import math

import numpy as np
import pytest

import nn
from autograd import Value

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize("act,fn", [("tanh", math.tanh), ("relu", lambda z: max(z, 0.0)),
                                    ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
                                    ("linear", lambda z: z)])
def test_neuron_forward_and_gradients(act, fn):
    n = nn.Neuron(3, activation=act, rng=0)
    n.b.data = 0.3
    x = [0.5, -1.0, 2.0]
    z = sum(w.data * xi for w, xi in zip(n.w, x)) + 0.3
    out = n(x)
    assert out.data == pytest.approx(fn(z))
    out.backward()
    h = 1e-6
    dfdz = (fn(z + h) - fn(z - h)) / (2 * h)
    for w, xi in zip(n.w, x):
        assert w.grad == pytest.approx(dfdz * xi, rel=1e-5, abs=1e-8)
    assert n.b.grad == pytest.approx(dfdz, rel=1e-5, abs=1e-8)
    assert len(n.parameters()) == 4
    n.zero_grad()
    assert all(p.grad == 0.0 for p in n.parameters())


def test_mlp_matches_torch():
    torch = pytest.importorskip("torch")
    model = nn.MLP(3, [4, 4, 2], rng=1)
    x = [0.2, -0.7, 1.5]
    outs = model(x)
    loss = sum((o * o for o in outs), Value(0.0))
    loss.backward()
    h = torch.tensor(x, dtype=torch.float64)
    tparams = []
    for i, layer in enumerate(model.layers):
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], requires_grad=True,
                         dtype=torch.float64)
        b = torch.tensor([n.b.data for n in layer.neurons], requires_grad=True,
                         dtype=torch.float64)
        tparams.append((W, b))
        h = W @ h + b
        if i < len(model.layers) - 1:
            h = torch.tanh(h)
    tloss = (h * h).sum()
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-12)
    for layer, (W, b) in zip(model.layers, tparams):
        np.testing.assert_allclose([[w.grad for w in n.w] for n in layer.neurons],
                                   W.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose([n.b.grad for n in layer.neurons], b.grad.numpy(),
                                   rtol=1e-9)
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2 + 2
    assert "Layer(nin=4, nout=2, activation='linear')" in repr(model)


def test_scalar_mlp_learns_xor():
    model = nn.MLP(2, [4, 1], rng=0)
    targets = [-1.0, 1.0, 1.0, -1.0]
    for _ in range(150):
        preds = [model(list(x)) for x in XOR_X]
        loss = sum(((p - t) ** 2 for p, t in zip(preds, targets)), Value(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
    preds = [model(list(x)).data for x in XOR_X]
    assert loss.data < 0.05
    assert np.array_equal(np.sign(preds), targets)


@pytest.mark.parametrize("labels", [[0, 0, 0, 1], [0, 1, 1, 1]], ids=["AND", "OR"])
def test_perceptron_converges_on_and_or(labels):
    p = nn.Perceptron(2).fit(XOR_X, labels, epochs=50)
    assert p.errors_[-1] == 0 and len(p.errors_) < 50
    np.testing.assert_array_equal(p.predict(XOR_X), labels)


def test_perceptron_cannot_learn_xor():
    p = nn.Perceptron(2).fit(XOR_X, [0, 1, 1, 0], epochs=100)
    assert len(p.errors_) == 100 and min(p.errors_) > 0
    assert (p.predict(XOR_X) != [0, 1, 1, 0]).any()
    p = nn.Perceptron(2, rng=3).fit(XOR_X, [0, 1, 1, 0], epochs=100, shuffle=True)
    assert min(p.errors_) > 0


def test_scalar_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.Neuron(2, activation="swish")
    with pytest.raises(ValueError, match=r"Neuron\(nin=2\): expected 2 inputs, got 3"):
        nn.Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"Perceptron\(nin=2\).*shape \(4, 3\)"):
        nn.Perceptron(2).predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        nn.Perceptron(2).fit(XOR_X, [0, 2, 1, 0])
