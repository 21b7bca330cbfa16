"""Tensor training step: tapegrad against the same step hand-written in numpy, and torch (CPU).

One step = forward, softmax cross-entropy, backward, SGD update, of a ReLU MLP in float32:
- small: 64-128-64-10 on a batch of 64 (per-op overhead dominates),
- big: 1024-1024-1024-10 on a batch of 1024 (the matmuls dominate).
Run: `python -m bench.tensor_bench` (or `make bench`). Prints the time per step over
several repeats (the best run) and the ratios tapegrad / numpy and tapegrad / torch.
"""
import time

import numpy as np

from autograd import Tensor
from autograd import functional as F
import nn
from nn import functional as NF

LR = 0.01


def _init(sizes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_in, fan_out)).astype(np.float32) * np.sqrt(2.0 / fan_in)
        params += [w.astype(np.float32), np.zeros(fan_out, dtype=np.float32)]
    return params


def _data(sizes, batch, seed):
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    onehot = np.zeros((batch, sizes[-1]), dtype=np.float32)
    onehot[np.arange(batch), y] = 1.0
    return x, y, onehot


def tapegrad_step(sizes, batch, seed=0):
    # the parameters of nn.Linear layers (weight (out, in), stored as Linear stores it), given
    # the shared initial values; the step runs F.linear on them: x W^T + b
    params = []
    init = _init(sizes, seed)
    for w, b in zip(init[::2], init[1::2]):
        layer = nn.Linear(*w.shape)
        layer.weight.data[...] = w.T
        layer.bias.data[...] = b
        params += [layer.weight, layer.bias]
    x, y, _ = _data(sizes, batch, seed)
    x = Tensor(x)

    def step():
        h = x
        last = len(params) - 2
        for i in range(0, len(params), 2):
            h = F.linear(h, params[i], params[i + 1])
            if i != last:
                h = h.relu()
        loss = NF.cross_entropy(h, y)
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
            p.grad = None
        return loss
    return step


def numpy_step(sizes, batch, seed=0):
    params = _init(sizes, seed)
    x, _, onehot = _data(sizes, batch, seed)

    def step():
        acts, pre = [x], []
        h = x
        last = len(params) - 2
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i != last:
                pre.append(h)
                h = np.maximum(h, 0)
                acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -((z - np.log(s)) * onehot).sum() / batch
        dz = (e / s - onehot) * np.float32(1.0 / batch)
        for i in range(len(params) - 2, -1, -2):
            a = acts[i // 2]
            gw, gb = a.T @ dz, dz.sum(axis=0)
            if i:
                dz = (dz @ params[i].T) * (pre[i // 2 - 1] > 0)
            params[i] -= LR * gw
            params[i + 1] -= LR * gb
        return loss
    return step


def torch_step(sizes, batch, seed=0):
    import torch
    params = [torch.tensor(p, requires_grad=True) for p in _init(sizes, seed)]
    x, y, _ = _data(sizes, batch, seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    f = torch.nn.functional

    def step():
        h = x
        last = len(params) - 2
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i != last:
                h = torch.relu(h)
        loss = f.cross_entropy(h, y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss
    return step


def _time(step, number, repeat):
    """Seconds per call: the best of `repeat` runs of `number` calls, after a warm-up. The
    minimum, not the mean: on a shared machine a run is only ever slowed down by other load
    (OpenBLAS threads that wait for a busy core stall a 64x64 matmul for milliseconds)."""
    for _ in range(max(1, number // 10)):
        step()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        runs.append((time.perf_counter() - t0) / number)
    return min(runs)


def _check_same_loss(sizes, batch):
    """The three steps compute the same loss (same init and data), so the timings compare
    like with like."""
    losses = [_float(make(sizes, batch)()) for make in _makers()]
    assert np.allclose(losses, losses[0], rtol=1e-3), losses
    return losses[0]


def _float(loss):
    return float(loss.detach() if hasattr(loss, "detach") else loss)


def _makers():
    makers = [tapegrad_step, numpy_step]
    try:
        import torch
        torch.set_num_threads(2)
        makers.append(torch_step)
    except ImportError:
        pass
    return makers


def run(sizes, batch, number, repeat, goal=""):
    loss = _check_same_loss(sizes, batch)
    steps = {make.__name__.replace("_step", ""): make(sizes, batch) for make in _makers()}
    runs = {k: [] for k in steps}
    # tapegrad and numpy interleaved, so that load from elsewhere hits both alike; torch in a
    # block of its own afterwards: its OpenMP threads keep spinning after each call and slowed
    # whatever ran next on these 2 cores (numpy's own step by up to 1.5x)
    for group in (["tapegrad", "numpy"], ["torch"]):
        for _ in range(repeat):
            for k in group:
                if k in steps:
                    runs[k].append(_time(steps[k], number, 1))
    times = {k: min(v) for k, v in runs.items()}
    name = "-".join(map(str, sizes))
    print(f"MLP {name}, batch {batch} (float32, first loss {loss:.4f}): time per step")
    for k, t in times.items():
        print(f"  {k:9s} {t * 1e6:10.1f} us")
    print(f"  tapegrad / numpy = {times['tapegrad'] / times['numpy']:.2f}x", end="")
    if "torch" in times:
        print(f", tapegrad / torch = {times['tapegrad'] / times['torch']:.2f}x")
    else:
        print(" (torch not installed)")
    # The ratio of the two best runs can pair a lucky moment of one side with an unlucky one of
    # the other; the median of the per-round ratios (each round times both sides back to back)
    # is the steadier figure on a loaded machine, so it is printed beside it.
    paired = np.median(np.array(runs["tapegrad"]) / np.array(runs["numpy"]))
    print(f"  median over the {repeat} interleaved rounds of tapegrad / numpy = {paired:.2f}x")
    if goal:
        print(f"  goal: {goal}")
    return times


def main():
    print("Tensor MLP training step: tapegrad vs hand-written numpy vs torch (2 threads)")
    small = run((64, 128, 64, 10), 64, number=200, repeat=20,
                goal="tapegrad / numpy <= 1.4x (the eager reference engine)")
    big = run((1024, 1024, 1024, 10), 1024, number=2, repeat=5, goal="tapegrad / numpy <= 1.1x")
    return small, big


if __name__ == "__main__":
    main()
