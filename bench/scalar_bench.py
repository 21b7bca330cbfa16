"""Scalar graphs: one training step of micrograd's demo MLP (2-16-16-1, 100 points), in
micrograd 0.1.0, tapegrad's eager Value and a compiled Value program, in the same process with
the garbage collector on (the default).

The step is micrograd's demo.ipynb as written: 100 points of make_moons(noise=0.1), labels
+-1, inputs wrapped as Values (once, outside the loss function: autograd.compile refuses a fn
that makes Values of its own, as they require grad by default), SVM max-margin loss plus 1e-4
L2, built Value by Value, then zero grads, backward and an SGD update
(`p.data -= 0.05 * p.grad`, floats; the notebook's decaying rate would only change the
numbers). All three get the same weights and data and
take the same steps (the losses are compared step by step).
The compiled variant is `autograd.compile` of the loss function, closing over the parameters
(about 65,000 ops: its first call traces them, writes them out as Python and checks the
result against eager mode, which takes seconds); backward and the update stay eager.

Each block of steps starts after an untimed gc.collect(), so that no implementation pays for
collecting another's garbage; within a block, a step pays for the collections that its own
allocations trigger, as in a training loop (micrograd's closures make reference cycles, so its
step is mostly collector time; with the collector off it is about 8x faster, printed as well).
Medians, not minima: whether a block includes a full collection swings a step by 2x.

micrograd and eager are timed before the compile, eager and compiled after it: while the
compiled program lives (its code is some 260,000 lines of float arithmetic, with their
constants), eager's step is slower by a quarter to a half, with the collector off as well as
on (so it is memory, not collection; deleting the program restores the speed), and
micrograd's as much. A micrograd user's process holds no such program, so micrograd is timed
without it; the compiled step is timed with it, as a user runs it. The speed-up is a ratio of
those medians.
"""
import gc
import random
import statistics
import time

import autograd

from . import harness

LR = 0.05


def _mlp(value_cls, rnd):
    sizes = [2, 16, 16, 1]
    return [[([value_cls(rnd.uniform(-1, 1)) for _ in range(sizes[i])], value_cls(0.0))
             for _ in range(sizes[i + 1])] for i in range(3)]


def _forward(layers, x):
    for depth, layer in enumerate(layers):
        out = []
        for w, b in layer:
            act = sum((wi * xi for wi, xi in zip(w, x)), b)
            out.append(act.relu() if depth < 2 else act)
        x = out
    return x[0]


def _data(n=100, seed=1):
    from sklearn.datasets import make_moons
    x, y = make_moons(n_samples=n, noise=0.1, random_state=seed)
    return x.tolist(), (y * 2 - 1).astype(float).tolist()


def _params(layers):
    return [p for layer in layers for w, b in layer for p in w + [b]]


def make_step(value_cls, compiled=False):
    """(step, first-call seconds, the compiled function or None): step() runs one training
    step and returns the loss."""
    xs, ys = _data()
    layers = _mlp(value_cls, random.Random(0))
    params = _params(layers)

    inputs = [list(map(value_cls, row)) for row in xs]

    def loss_fn():
        scores = [_forward(layers, x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return data_loss + 1e-4 * sum(p * p for p in params)
    fn, first, program = loss_fn, 0.0, None
    if compiled:
        fn = autograd.compile(loss_fn)
        t0 = time.perf_counter()
        fn()                           # the trace, its source, its check against eager mode
        first = time.perf_counter() - t0
        program = fn

    def step():
        total = fn()
        for p in params:
            p.grad = 0.0
        total.backward()
        for p in params:
            p.data -= LR * p.grad
        return total.data
    return step, first, program


def main():
    from micrograd.engine import Value as MicroValue

    from autograd import Value

    print("Scalar MLP step (micrograd demo: 2-16-16-1, 100 points, SVM loss + L2), gc on")
    # what the benchmarks before this one left in the process (torch, data sets) is frozen:
    # full collections then walk only what the steps make, as in a fresh interpreter
    gc.collect()
    gc.freeze()
    micro, eager = make_step(MicroValue)[0], make_step(Value)[0]
    losses = [[step() for _ in range(3)] for step in (micro, eager)]
    # micrograd and eager first, in a process that holds no compiled program (see above)
    before = {}
    for n in harness.THREADS:
        with harness.threads(n):
            before[n] = harness.time_rounds({"micrograd": micro, "eager": eager}, rounds=3,
                                            number=2, warmup=0, before=gc.collect)
    compiled, first, program = make_step(Value, compiled=True)
    lines = program.source.count("\n")
    losses.append([compiled() for _ in range(3)])
    assert all(abs(a - b) < 1e-9 for run in losses[1:] for a, b in zip(run, losses[0])), losses
    print(f"  eager and compiled take the same steps as micrograd (losses equal); compiled: "
          f"first call (trace, write, check against eager) {first:.1f} s")
    print(f"  time per step: median of blocks of 2 steps, interleaved, each after gc.collect();"
          f" micrograd and eager timed before the compile, eager and compiled after it")
    text = "micrograd demo step (2-16-16-1, 100 points), gc on"
    g = harness.goal(16, f"{text}: compiled", ">= 30x faster than micrograd", 30.0,
                     at_most=False)
    g.first_call = first
    ge = harness.goal(14, f"{text}: eager", ">= 4x faster than micrograd", 4.0, at_most=False)
    for n in harness.THREADS:
        with harness.threads(n):
            after = harness.time_rounds({"eager": eager, "compiled": compiled}, rounds=3,
                                        number=2, warmup=0, before=gc.collect)
        m = statistics.median(before[n]["micrograd"])
        rows = [("micrograd", m), ("eager", statistics.median(before[n]["eager"])),
                ("compiled", statistics.median(after["compiled"]))]
        print(f"  {n} thread{'s' if n > 1 else ''}:")
        for name, t in rows:
            print(f"    {name:10s} {harness.fmt_time(t)}  {m / t:6.1f}x faster than micrograd")
        eager_after = harness.fmt_time(statistics.median(after["eager"])).strip()
        print(f"    (eager beside the compiled program, {lines:,} lines: {eager_after})")
        g.figures[n] = m / rows[-1][1]
        ge.figures[n] = m / rows[1][1]
    # the same without the collector, once: how much of micrograd's step is the collector
    was = gc.isenabled()
    gc.disable()
    try:
        off = harness.time_rounds({"micrograd": micro, "compiled": compiled}, rounds=3,
                                  number=2, warmup=0, before=gc.collect)
    finally:
        if was:
            gc.enable()
    m, c = statistics.median(off["micrograd"]), statistics.median(off["compiled"])
    print(f"  gc off (no goal): micrograd {harness.fmt_time(m).strip()}, compiled "
          f"{harness.fmt_time(c).strip()}: {m / c:.1f}x faster")
    del compiled
    gc.collect()
    gc.unfreeze()
    chain()


def chain(n=1_000_000):
    """Issue 14's limit: backward through a chain of n Values (x + 1.0 + 1.0 ...) runs, with
    no recursion; the seconds of building and of backward, gc on."""
    from autograd import Value
    g = harness.goal(14, f"eager Value chain of {n:,} nodes: backward", "runs", float("inf"))
    g.fmt = lambda t: harness.fmt_time(t).strip()
    t0 = harness.clock()
    x = Value(0.5)
    out = x
    for _ in range(n):
        out = out + 1.0
    t1 = harness.clock()
    try:
        out.backward()
    except RecursionError as e:
        print(f"  chain of {n:,} Values: backward failed: {e!r}")
        g.figures[1] = float("nan")
        return
    t2 = harness.clock()
    assert x.grad == 1.0 and out.data == n + 0.5
    print(f"  eager chain of {n:,} Values, gc on: built in {t1 - t0:.2f} s, backward "
          f"{t2 - t1:.2f} s, d out / d x = 1")
    g.figures[1] = t2 - t1
    del out, x


if __name__ == "__main__":
    main()
    harness.print_goals()
