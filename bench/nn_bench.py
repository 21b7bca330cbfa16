"""Tensor networks: time per training step (forward, backward, SGD update) of

- the digits CNN of tests/test_learning.py (conv 1->16, relu, maxpool, conv 16->32, relu,
  maxpool, linear 128->10, cross-entropy), batch 64 of 8x8 images;
- an LSTM (input 8, hidden 64) over 50 steps, batch 32, a linear head on the last hidden
  state, cross-entropy,

for tapegrad, PyTorch (2 threads) and hand-written numpy (forward and backward written out by
hand, the same float32 math) in the same run, all from the same weights and data. Before timing,
each pair's loss and gradients are compared, so the three compute the same thing.
"""
import statistics
import time

import numpy as np

import nn
from nn import functional as F

DT = np.float32
LR = 0.05


# ---------------------------------------------------------------------------------------------
# hand-written numpy
def _softmax_ce(logits, y):
    """(mean cross-entropy, its gradient wrt the logits)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1
    return loss, p / n


def _im2col(x, k, pad):
    """(N, C*k*k, OH*OW) windows of x zero-padded by `pad` (stride 1)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    oh, ow = win.shape[2:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, oh * ow), (oh, ow)


def _col2im(dcols, shape, k, pad):
    n, c, h, w = shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    d = dcols.reshape(n, c, k, k, oh, ow)
    dx = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += d[:, :, i, j]
    return dx[:, :, pad:pad + h, pad:pad + w]


def _windows2(x):
    """(N, C, H/2, W/2, 4): the 2x2 windows of x, row-major within each window."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        n, c, h // 2, w // 2, 4)


def _pool_fwd(x):
    return _windows2(x).max(axis=-1)


def _pool_bwd(x, y, dy):
    """The gradient goes to the first maximum of each window (torch's rule: the background of
    a digit makes many exact ties)."""
    n, c, h, w = x.shape
    first = _windows2(x).argmax(axis=-1)
    d = (np.arange(4) == first[..., None]) * dy[..., None]
    return d.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)


class NumpyCNN:
    def __init__(self, params):
        self.p = {k: v.copy() for k, v in params.items()}

    def loss_and_grads(self, x, y):
        p = self.p
        w1, b1, w2, b2, w3, b3 = (p[k] for k in ("0.weight", "0.bias", "3.weight", "3.bias",
                                                  "7.weight", "7.bias"))
        n = len(x)
        c1, (h1, w1s) = _im2col(x, 3, 1)
        z1 = (w1.reshape(16, -1) @ c1 + b1[:, None]).reshape(n, 16, h1, w1s)
        a1 = np.maximum(z1, 0)
        p1 = _pool_fwd(a1)
        c2, (h2, w2s) = _im2col(p1, 3, 1)
        z2 = (w2.reshape(32, -1) @ c2 + b2[:, None]).reshape(n, 32, h2, w2s)
        a2 = np.maximum(z2, 0)
        p2 = _pool_fwd(a2)
        f = p2.reshape(n, -1)
        logits = f @ w3.T + b3
        loss, dlogits = _softmax_ce(logits, y)
        g = {"7.weight": dlogits.T @ f, "7.bias": dlogits.sum(0)}
        dp2 = (dlogits @ w3).reshape(p2.shape)
        dz2 = _pool_bwd(a2, p2, dp2) * (z2 > 0)
        d2 = dz2.reshape(n, 32, -1)
        g["3.weight"] = (d2 @ c2.transpose(0, 2, 1)).sum(0).reshape(w2.shape)
        g["3.bias"] = d2.sum(axis=(0, 2))
        dp1 = _col2im(w2.reshape(32, -1).T @ d2, p1.shape, 3, 1)
        dz1 = _pool_bwd(a1, p1, dp1) * (z1 > 0)
        d1 = dz1.reshape(n, 16, -1)
        g["0.weight"] = (d1 @ c1.transpose(0, 2, 1)).sum(0).reshape(w1.shape)
        g["0.bias"] = d1.sum(axis=(0, 2))
        return loss, g

    def step(self, x, y):
        loss, g = self.loss_and_grads(x, y)
        for k, v in g.items():
            self.p[k] -= LR * v
        return loss


class NumpyLSTM:
    """LSTM forward with a cache per step, backward through time by hand."""

    def __init__(self, params):
        self.p = {k: v.copy() for k, v in params.items()}

    def loss_and_grads(self, x, y):
        p = self.p
        wih, whh = p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"]
        b = p["lstm.bias_ih_l0"] + p["lstm.bias_hh_l0"]
        wo, bo = p["head.weight"], p["head.bias"]
        T, B, _ = x.shape
        H = whh.shape[1]
        h = np.zeros((B, H), DT)
        c = np.zeros((B, H), DT)
        cache = []
        for t in range(T):
            gates = x[t] @ wih.T + b + h @ whh.T
            s = 1 / (1 + np.exp(-gates))
            g = np.tanh(gates[:, 2 * H:3 * H])
            i, f, o = s[:, :H], s[:, H:2 * H], s[:, 3 * H:]
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            cache.append((h, c, i, f, g, o, tc))
            h, c = o * tc, c_new
        loss, dlogits = _softmax_ce(h @ wo.T + bo, y)
        grads = {"head.weight": dlogits.T @ h, "head.bias": dlogits.sum(0)}
        dh = dlogits @ wo
        dc = np.zeros_like(c)
        dwih, dwhh = np.zeros_like(wih), np.zeros_like(whh)
        db = np.zeros_like(b)
        dgates = np.empty((B, 4 * H), DT)
        for t in reversed(range(T)):
            h_prev, c_prev, i, f, g, o, tc = cache[t]
            dc = dc + dh * o * (1 - tc * tc)
            dgates[:, :H] = dc * g * i * (1 - i)
            dgates[:, H:2 * H] = dc * c_prev * f * (1 - f)
            dgates[:, 2 * H:3 * H] = dc * i * (1 - g * g)
            dgates[:, 3 * H:] = dh * tc * o * (1 - o)
            dc = dc * f
            dwih += dgates.T @ x[t]
            dwhh += dgates.T @ h_prev
            db += dgates.sum(0)
            dh = dgates @ whh
        grads.update({"lstm.weight_ih_l0": dwih, "lstm.weight_hh_l0": dwhh,
                      "lstm.bias_ih_l0": db, "lstm.bias_hh_l0": db})
        return loss, grads

    def step(self, x, y):
        loss, g = self.loss_and_grads(x, y)
        for k, v in g.items():
            self.p[k] -= LR * v
        return loss


# ---------------------------------------------------------------------------------------------
# tapegrad and torch
def _cnn_tapegrad(rng):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10, rng=rng))


def _cnn_torch(torch):
    t = torch.nn
    return t.Sequential(t.Conv2d(1, 16, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(16, 32, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
                        t.Flatten(), t.Linear(128, 10))


class _LSTMClassifier(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.lstm = nn.LSTM(8, 64, rng=rng)
        self.head = nn.Linear(64, 10, rng=rng)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[0])


def _lstm_torch(torch):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(8, 64)
            self.head = torch.nn.Linear(64, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[0])
    return Net()


def _tapegrad_step(model):
    params = list(model.parameters())

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.item()
    return step


def _torch_step(torch, model):
    params = list(model.parameters())

    def step(x, y):
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()
    return step


def _time(steps, x, y, repeats):
    """Median seconds per step of each implementation. The implementations take turns, step by
    step, so that a change in machine load hits them all alike."""
    times = {name: [] for name in steps}
    for step in steps.values():
        step(x, y)                                    # warm-up
    for _ in range(repeats):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step(x, y)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _check(name, model, numpy_impl, x, y):
    """Same loss and gradients from tapegrad and the numpy version (before any update)."""
    loss = F.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    ref_loss, ref = numpy_impl.loss_and_grads(x, y)
    worst = max(float(np.abs(p.grad - ref[k]).max() / (np.abs(ref[k]).max() + 1e-12))
                for k, p in model.named_parameters())
    print(f"  {name}: loss tapegrad {loss.item():.6f} numpy {ref_loss:.6f}; largest relative "
          f"gradient difference {worst:.1e}")
    model.zero_grad()


def _report(name, times):
    base = times["numpy"]
    parts = [f"{k} {v * 1e3:7.2f} ms ({v / base:4.2f}x numpy)" for k, v in times.items()]
    print(f"{name}: " + " | ".join(parts))


def _compare(name, title, model, numpy_model, torch_model, torch, x, y, repeats):
    """Check tapegrad against the hand-written numpy model given the same weights, then time
    both (and torch, when installed) on the same batch and print the ratios."""
    weights = model.state_dict()
    ref = numpy_model(weights)
    _check(name, model, ref, x, y)
    steps = {"tapegrad": _tapegrad_step(model)}
    if torch is not None:
        tm = torch_model(torch)
        tm.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        steps["torch"] = _torch_step(torch, tm)
    steps["numpy"] = ref.step
    _report(title, _time(steps, x, y, repeats))


def main(repeats=30):
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:                               # the bench still runs without torch
        torch = None
    print("nn bench: median time per training step (forward + backward + SGD), float32")
    rng = np.random.default_rng(0)

    # ---- digits CNN
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data[:64] / 16.0).astype(DT).reshape(64, 1, 8, 8)
    y = d.target[:64].astype(np.int64)
    _compare("CNN", "digits CNN, batch 64      ", _cnn_tapegrad(np.random.default_rng(1)),
             NumpyCNN, _cnn_torch, torch, x, y, repeats)

    # ---- LSTM over 50 steps
    T, B = 50, 32
    x = rng.standard_normal((T, B, 8)).astype(DT)
    y = rng.integers(0, 10, B)
    _compare("LSTM", "LSTM 8->64, 50 steps, b 32", _LSTMClassifier(np.random.default_rng(2)),
             NumpyLSTM, _lstm_torch, torch, x, y, repeats)


if __name__ == "__main__":
    main()
