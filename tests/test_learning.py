"""Learning on real data with fixed seeds: the layers, losses and optimizer together.

- an MLP reaches >= 95% test accuracy on scikit-learn's digits (8x8 images, no download);
- a small CNN reaches >= 96% on the same split;
- an LSTM solves the adding problem (the sum of the two values marked somewhere in a sequence of
  30) that a feedforward net with as many parameters, trained as long, cannot.
"""
import numpy as np
import pytest

import nn
import optim
from autograd import no_grad
from nn import functional as F

datasets = pytest.importorskip("sklearn.datasets")


def _digits():
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1], a fixed 75/25 split."""
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(0.75 * len(y))
    tr, te = order[:cut], order[cut:]
    return x[tr], y[tr], x[te], y[te]


def _train(model, x, y, epochs, lr, seed, batch=32):
    """Adam on cross-entropy, shuffled minibatches from a seeded generator."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for i in range(0, len(y), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def _accuracy(model, x, y):
    model.eval()
    with no_grad():
        pred = model(x).data.numpy().argmax(axis=1)
    model.train()
    return float((pred == np.asarray(y)).mean())


def test_mlp_learns_digits():
    xtr, ytr, xte, yte = _digits()
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(64, 64, rng=rng), nn.ReLU(), nn.Linear(64, 10, rng=rng))
    chance = _accuracy(model, xte, yte)
    _train(model, xtr, ytr, epochs=15, lr=3e-3, seed=2)
    acc = _accuracy(model, xte, yte)
    assert chance < 0.3
    assert acc >= 0.95, f"MLP test accuracy {acc:.3f} on digits"


@pytest.mark.slow
def test_cnn_learns_digits():
    xtr, ytr, xte, yte = _digits()
    xtr, xte = xtr.reshape(-1, 1, 8, 8), xte.reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(128, 10, rng=rng))
    _train(model, xtr, ytr, epochs=15, lr=3e-3, seed=4)
    acc = _accuracy(model, xte, yte)
    assert acc >= 0.96, f"CNN test accuracy {acc:.3f} on digits"


# ---------------------------------------------------------------------------------------------
def _adding(n, T, rng):
    """The adding problem: x[:, t] = (value ~ U(0, 1), marker); exactly two markers, one in
    each half of the sequence; the target is the sum of the two marked values."""
    v = rng.uniform(0, 1, (n, T))
    m = np.zeros((n, T))
    rows = np.arange(n)
    m[rows, rng.integers(0, T // 2, n)] = 1
    m[rows, rng.integers(T // 2, T, n)] = 1
    return np.stack([v, m], -1).astype(np.float32), (v * m).sum(1).astype(np.float32)


class _LSTMRegressor(nn.Module):
    def __init__(self, hidden, rng):
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, batch_first=True, rng=rng)
        self.head = nn.Linear(hidden, 1, rng=rng)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[0]).reshape(-1)


class _FeedForward(nn.Module):
    def __init__(self, T, hidden, rng):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(2 * T, hidden, rng=rng), nn.ReLU(),
                                 nn.Linear(hidden, 1, rng=rng))

    def forward(self, x):
        return self.net(x).reshape(-1)


def _fit_adding(model, T, steps, lr, seed):
    """Adam on the squared error, a fresh batch of 64 every step; returns the fraction of 1000
    held-out sequences predicted to within 0.1 (a constant guess of 1 scores about 0.19)."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        x, y = _adding(64, T, rng)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _adding(1000, T, np.random.default_rng(seed + 1))
    with no_grad():
        return float((np.abs(model(x).data - y) < 0.1).float().mean())


@pytest.mark.slow
def test_lstm_learns_what_a_feedforward_net_of_its_size_cannot():
    T, steps = 30, 1000
    lstm = _LSTMRegressor(16, np.random.default_rng(0))
    # a ReLU net needs about one hidden unit per position to pick out the marked values
    # (relu(v + m - 1) = v * m); with the LSTM's parameter count it gets 21 for 30 positions
    ff = _FeedForward(T, 21, np.random.default_rng(0))
    n_lstm, n_ff = lstm.num_parameters(), ff.num_parameters()
    assert abs(n_lstm - n_ff) <= 0.01 * n_lstm, (n_lstm, n_ff)
    acc_ff = _fit_adding(ff, T, steps, lr=3e-3, seed=0)
    acc_lstm = _fit_adding(lstm, T, steps, lr=1e-2, seed=0)
    assert acc_lstm >= 0.9, f"LSTM solves {acc_lstm:.3f} of the adding problems"
    assert acc_ff <= 0.4, f"feedforward net solves {acc_ff:.3f} of the adding problems"
