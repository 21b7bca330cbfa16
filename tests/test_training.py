"""optim.fit: the thin training loop."""
import math

import numpy as np
import pytest

import optim
from autograd import Tensor


def _problem(seed=0, n=64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X @ np.array([[1.5], [-2.0]]) + 0.3
    return X, y


def _batches(X, y, size=16):
    return [(Tensor(X[i:i + size]), Tensor(y[i:i + size])) for i in range(0, len(X), size)]


class Affine:
    """A model without nn: y = x W + b, parameters as plain Tensors."""

    def __init__(self):
        self.W = Tensor(np.zeros((2, 1)), requires_grad=True)
        self.b = Tensor(np.zeros(1), requires_grad=True)

    def __call__(self, x):
        return x @ self.W + self.b

    def parameters(self):
        return [self.W, self.b]


def mse(out, y):
    d = out - y
    return (d * d).mean()


def mae(out, y):
    return float(np.abs(out.data - y.data).mean())


def test_fit_trains_and_returns_a_history():
    X, y = _problem()
    model = Affine()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    hist = optim.fit(model, mse, opt, _batches(X, y), epochs=30,
                     val_data=_batches(*_problem(1, 32)), metric=mae, progress=False)
    assert set(hist) == {"loss", "metric", "val_loss", "val_metric", "lr"}
    assert all(len(v) == 30 for v in hist.values())
    assert hist["loss"][-1] < 1e-3 * hist["loss"][0]
    assert hist["val_loss"][-1] < 1e-3
    np.testing.assert_allclose(model.W.data.ravel(), [1.5, -2.0], atol=1e-2)


def test_fit_history_is_the_mean_over_batches():
    X, y = _problem()
    model = Affine()
    opt = optim.SGD(model.parameters(), lr=0.0)        # lr 0: the loss stays the start's
    hist = optim.fit(model, mse, opt, _batches(X, y), epochs=2, metric=mae, progress=False)
    expected = np.mean([float((yb.data ** 2).mean()) for _, yb in _batches(X, y)])
    assert hist["loss"] == pytest.approx([expected, expected])
    assert all(math.isnan(v) for v in hist["val_loss"])


def test_fit_with_scheduler_early_stopping_clipping_and_a_data_callable():
    X, y = _problem()
    model = Affine()
    opt = optim.Adam(model.parameters(), lr=0.5)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    stopper = optim.EarlyStopping(patience=2, min_delta=1e-2)
    seen = []

    def data(epoch):            # reshuffled each epoch with an explicit seed
        seen.append(epoch)
        order = np.random.default_rng(epoch).permutation(len(X))
        return _batches(X[order], y[order])

    hist = optim.fit(model, mse, opt, data, epochs=200, scheduler=sched,
                     early_stopping=stopper, clip_norm=1.0, progress=False)
    n = len(hist["loss"])
    assert stopper.should_stop and n < 200 and seen == list(range(n))
    assert hist["lr"][:5] == [0.5, 0.5, 0.25, 0.25, 0.125]


def test_fit_trains_nn_modules_and_scalar_mlps_with_a_progress_bar(capsys):
    nn = pytest.importorskip("nn")
    pytest.importorskip("tqdm")
    X, y = _problem(n=32)
    model = nn.Sequential(nn.Linear(2, 8, rng=0, dtype=np.float64), nn.Tanh(),
                          nn.Linear(8, 1, rng=1, dtype=np.float64))
    opt = optim.Adam(model.parameters(), lr=0.02)
    hist = optim.fit(model, mse, opt, _batches(X, y), epochs=40, metric=mae)
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    assert "loss=" in capsys.readouterr().err
    # the scalar MLP of Values, same fit and the same optimizer class
    mlp = nn.MLP(2, [4, 1], rng=0)
    samples = [(list(x), float(t[0])) for x, t in zip(X[:8], y[:8])]

    def scalar_loss(outs, targets):
        return sum((o - t) ** 2 for o, t in zip(outs, targets)) * (1.0 / len(targets))

    def scalar_model(xs):
        return [mlp(x) for x in xs]

    batches = [([x for x, _ in samples], [t for _, t in samples])]
    opt = optim.Adam(mlp.parameters(), lr=0.05)
    hist = optim.fit(scalar_model, scalar_loss, opt, batches, epochs=30, progress=False)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]


def test_fit_rejects_empty_data():
    model = Affine()
    with pytest.raises(ValueError, match="the data gave no batches"):
        optim.fit(model, mse, optim.SGD(model.parameters(), lr=0.1), [], progress=False)
