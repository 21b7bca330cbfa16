"""nn.utils.plot_grad_flow: mean and max |grad| per parameter tensor on a log scale, read
through a helper that takes arrays, Tensors (`.numpy()`) or anything with `.data`."""
import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor
from nn.utils import _grad_array, grad_flow, plot_grad_flow

pytest.importorskip("matplotlib")


def trained(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(5, 7, rng=0), nn.Sigmoid(), nn.Linear(7, 3, rng=1))
    x = Tensor(rng.normal(size=(10, 5)).astype(np.float32))
    F.cross_entropy(model(x), rng.integers(0, 3, 10)).backward()
    return model


def test_grad_array_takes_every_form():
    g = np.arange(4.0).reshape(2, 2)
    for form in (g, Tensor(g), type("Holder", (), {"data": g})()):
        np.testing.assert_array_equal(_grad_array(form), g)
    assert _grad_array(None) is None and _grad_array(0.5).item() == 0.5
    assert _grad_array(np.float32(2.0)).dtype == np.float64


def test_bars_are_mean_and_max_of_each_tensor():
    model = trained()
    rows = grad_flow(model)
    assert [r[0] for r in rows] == [n for n, _ in model.named_parameters()]
    for (name, mean, big), (_, p) in zip(rows, model.named_parameters()):
        a = np.abs(p.grad.astype(np.float64))
        assert mean == pytest.approx(a.mean()) and big == pytest.approx(a.max())
    fig = plot_grad_flow(model)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [r[0] for r in rows]
    wide, narrow = ax.containers
    np.testing.assert_allclose([b.get_height() for b in wide], [r[2] for r in rows])
    np.testing.assert_allclose([b.get_height() for b in narrow], [r[1] for r in rows])
    width, height = fig.get_size_inches() * fig.dpi
    assert width <= 800 and height <= 400


def test_missing_and_zero_gradients_are_marked():
    model = trained()
    model[2].bias.grad = None
    model[0].bias.grad = Tensor(np.zeros_like(model[0].bias.data))
    rows = dict((n, (m, b)) for n, m, b in grad_flow(model))
    assert rows["2.bias"] == (None, None) and rows["0.bias"] == (0.0, 0.0)
    ax = plot_grad_flow(model).axes[0]
    marks = sorted(t.get_text() for t in ax.texts)
    assert marks == ["0", "none"]


def test_scalar_mlp_by_layer_and_into_given_axes():
    from matplotlib.figure import Figure
    m = nn.MLP(3, [4, 1], rng=0)
    m([1.0, -2.0, 0.5]).backward()
    rows = grad_flow(m)
    assert [r[0] for r in rows] == ["layers.0", "layers.1"]
    ax = Figure().add_subplot()
    assert plot_grad_flow(m, ax=ax) is ax.figure
    with pytest.raises(ValueError, match="no parameters"):
        plot_grad_flow(nn.ReLU())
