"""Scalar graphs: one training step of micrograd's demo MLP (2-16-16-1, 100 points), tapegrad
against micrograd 0.1.0 in the same process, with the garbage collector on (the default) and off.

The step is micrograd's demo as written: SVM max-margin loss plus L2 regularization, built
Value by Value, then backward and an SGD update. Both engines get the same weights and data.
"""
import gc
import random
import statistics
import time


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


def _step(layers, xs, ys):
    scores = [_forward(layers, x) for x in xs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    params = [p for layer in layers for w, b in layer for p in w + [b]]
    total = data_loss + 1e-4 * sum(p * p for p in params)
    for p in params:
        p.grad = 0.0
    total.backward()
    for p in params:
        p.data -= 0.05 * p.grad
    return total.data


def _data(n=100, seed=1):
    rnd = random.Random(seed)
    xs = [[rnd.uniform(-2, 2), rnd.uniform(-2, 2)] for _ in range(n)]
    ys = [1.0 if a * b > 0 else -1.0 for a, b in xs]
    return xs, ys


def time_steps(value_cls, gc_on, steps=8):
    """Median seconds per training step (the first step is a warm-up and not counted)."""
    xs, ys = _data()
    layers = _mlp(value_cls, random.Random(0))
    gc.collect()
    was = gc.isenabled()
    (gc.enable if gc_on else gc.disable)()
    times, losses = [], []
    try:
        for _ in range(steps + 1):
            t0 = time.perf_counter()
            losses.append(_step(layers, xs, ys))
            times.append(time.perf_counter() - t0)
    finally:
        (gc.enable if was else gc.disable)()
    return statistics.median(times[1:]), losses


def main():
    from micrograd.engine import Value as MicroValue

    from autograd import Value

    print("Scalar MLP step (micrograd demo: 2-16-16-1, 100 points, SVM loss + L2)")
    rows = {}
    for gc_on in (True, False):
        for name, cls in (("micrograd 0.1.0", MicroValue), ("tapegrad", Value)):
            t, losses = time_steps(cls, gc_on)
            rows[name, gc_on] = (t, losses)
            print(f"  {name:16s} gc {'on ' if gc_on else 'off'}  {t * 1e3:8.1f} ms/step")
    same = all(abs(a - b) < 1e-9 for a, b in zip(rows["tapegrad", True][1],
                                                rows["micrograd 0.1.0", True][1]))
    print(f"  same losses as micrograd step by step: {same}")
    on = rows["micrograd 0.1.0", True][0] / rows["tapegrad", True][0]
    off = rows["micrograd 0.1.0", False][0] / rows["tapegrad", False][0]
    print(f"  speed-up, gc on:  {on:5.2f}x (goal >= 4x)")
    print(f"  speed-up, gc off: {off:5.2f}x (no goal: micrograd's own step is mostly its "
          f"collector's time)")
    return {"gc_on": on, "gc_off": off}


if __name__ == "__main__":
    main()
