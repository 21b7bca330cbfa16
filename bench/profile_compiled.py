"""Where the time of a compiled step goes, for the compiled steps that `make bench` times, on
one thread: first the step's phases timed apart (the compiled call, zero_grad, backward,
the optimizer's step; medians, no profiler), then cProfile's functions with the most own
time (the generated code shows as `<compiled loss_fn>` forward and backward; numpy's calls
from it count as its own time).

Run: `python -m bench.profile_compiled [mlp|mlp1024|cnn|lstm|gradcheck ...]` (all by default).
cProfile's own cost per call inflates small calls, so read the shares, not the times.
"""
import cProfile
import pstats
import statistics
import sys

import numpy as np

import autograd
import optim
from autograd import Tensor
from nn import functional as F

from . import gradcheck_bench, harness, nn_bench, tensor_bench


def _mlp(sizes, batch):
    layers = tensor_bench._init(sizes, 0)
    x, y = tensor_bench._data(sizes, batch, 0)
    return tensor_bench._model(layers), Tensor(x), y, tensor_bench.LR


def _cnn():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data[:64] / 16.0).astype(np.float32).reshape(64, 1, 8, 8)
    y = d.target[:64].astype(np.int64)
    return nn_bench._cnn(), Tensor(x), y, nn_bench.LR


def _lstm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 32, 16)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    return nn_bench._LSTMClassifier(), Tensor(x), y, nn_bench.LR


def _train_step(make):
    """The compiled-loss step `make bench` times (harness.tapegrad_step(compiled="loss")),
    with its phases apart; a compiled training step runs the same generated code, then the
    gradients into .grad and the optimizer's step, with no engine backward in between."""
    model, x, y, lr = make()
    fn = autograd.compile(lambda x, y: F.cross_entropy(model(x), y))
    opt = optim.SGD(model.parameters(), lr=lr)
    state = {}

    def call():
        state["loss"] = fn(x, y)

    def backward():
        state["loss"].backward()

    phases = {"compiled call (forward)": call, "zero_grad": opt.zero_grad,
              "backward": backward, "optimizer step": opt.step}

    def step():
        for phase in phases.values():
            phase()
    return step, phases


def _gradcheck():
    a0, b0 = gradcheck_bench._inputs()
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    fn = autograd.compile(gradcheck_bench.f)
    fn(a, b)

    def step():
        autograd.gradcheck(fn, [a, b])
    return step, {"autograd.gradcheck(compiled)": step}


WORKLOADS = {"mlp": (lambda: _train_step(lambda: _mlp((64, 128, 64, 10), 64)), 2000),
             "mlp1024": (lambda: _train_step(lambda: _mlp((1024, 1024, 1024, 10), 1024)), 10),
             "cnn": (lambda: _train_step(_cnn), 1000),
             "lstm": (lambda: _train_step(_lstm), 30),
             "gradcheck": (_gradcheck, 5)}


def profile(name, top=12):
    make, steps = WORKLOADS[name]
    step, phases = make()
    with harness.threads(1):
        for _ in range(3):
            step()
        times = {p: [] for p in phases}
        for _ in range(steps):
            for p, run in phases.items():
                t0 = harness.clock()
                run()
                times[p].append(harness.clock() - t0)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(steps):
            step()
        prof.disable()
    print(f"\n=== compiled {name}, 1 thread: median time of each phase of a step ===")
    medians = {p: statistics.median(t) for p, t in times.items()}
    total = sum(medians.values())
    for p, t in medians.items():
        print(f"    {p:30s} {harness.fmt_time(t)}  {100 * t / total:5.1f}%")
    print(f"    {'sum':30s} {harness.fmt_time(total)}")
    print(f"  cProfile of {steps} steps:")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(names):
    for name in names or list(WORKLOADS):
        profile(name)


if __name__ == "__main__":
    main(sys.argv[1:])
