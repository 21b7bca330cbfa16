"""What every benchmark shares: thread limits, interleaved timing, the printed rows, the goals.

Timing. The implementations of one workload take turns round by round (numpy, eager,
compiled, numpy, eager, compiled, ...) after a warm-up, each timing `number` back-to-back steps
per round, so that a change in the load of this shared 2-core machine hits them all alike. Two
figures, both medians over rounds:
- the time per step of each implementation: the median of its rounds;
- its ratio to numpy: the median of the per-round ratios (each round times both sides back
  to back, so a paired ratio cancels most of the drift of the machine's speed; the ratio of
  two medians would pair moments that were minutes apart). Goals are judged on it.
torch runs in a block of its own after the others, its ratio the ratio of the medians: its
OpenMP threads keep spinning after each call and slowed whatever ran next on these 2 cores
(numpy's own step by up to 1.5x).

Threads. Every measurement runs under threadpoolctl's limit on the BLAS and OpenMP pools of
numpy (and torch.set_num_threads to match), once with 1 thread and once with 2.
"""
import contextlib
import statistics
import time

import numpy as np

import autograd
import optim
from nn import functional as F

THREADS = (1, 2)
TORCH_BUDGET = 10.0          # seconds of timed torch rounds per measurement, at most
clock = time.perf_counter


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


@contextlib.contextmanager
def threads(n):
    """numpy's BLAS (and any OpenMP pool threadpoolctl sees) and torch limited to n threads."""
    from threadpoolctl import threadpool_limits
    torch = torch_or_none()
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def time_rounds(steps, rounds, number, warmup=2, before=None):
    """{name: [seconds per step, one per round]}: the steps take turns, each round running each
    step `number` times back to back. `steps` maps a name to a callable of no arguments;
    `before`, if given, runs (untimed) before each block of `number` steps."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    runs = {name: [] for name in steps}
    clock = time.perf_counter
    for _ in range(rounds):
        for name, step in steps.items():
            if before is not None:
                before()
            t0 = clock()
            for _ in range(number):
                step()
            runs[name].append((clock() - t0) / number)
    return runs


def measure(steps, rounds, number, torch_step=None, base="numpy", warmup=2, before=None):
    """Time `steps` interleaved (see the module docstring), then torch alone. Returns
    {name: (median seconds per step, ratio to `base`)}; the ratio of each interleaved step is
    the median of its per-round ratios, torch's the ratio of the medians.

    torch gets at most TORCH_BUDGET seconds of rounds: with 2 threads on this loaded 2-core
    machine its OpenMP threads can wait on each other for seconds per small op (gradcheck's
    5121 evaluations once took 15 s a call); it then runs as many rounds as fit, at least its
    first, timed, call."""
    runs = time_rounds(steps, rounds, number, warmup, before)
    ref = np.array(runs[base])
    out = {name: (statistics.median(r), float(np.median(np.array(r) / ref)))
           for name, r in runs.items()}
    if torch_step is not None:
        t0 = clock()
        torch_step()
        once = clock() - t0
        fit = int(TORCH_BUDGET / (once * (number + warmup / rounds)))
        if fit >= 1:
            t = statistics.median(time_rounds({"torch": torch_step}, min(rounds, fit), number,
                                              warmup=min(warmup, fit))["torch"])
        else:
            t = once
        out["torch"] = (t, t / out[base][0])
    return out


def fmt_time(seconds):
    if seconds >= 1.0:
        return f"{seconds:7.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:7.2f} ms"
    return f"{seconds * 1e6:7.1f} us"


def print_rows(n, result, base="numpy"):
    """The thread count, then one line per implementation: time per step, ratio to the base."""
    print(f"  {n} thread{'s' if n > 1 else ''}: median time per step, ratio to {base}")
    for name, (t, ratio) in result.items():
        print(f"    {name:15s} {fmt_time(t)}  {ratio:6.2f}x")


# ---------------------------------------------------------------------------------------------
# a training step in every implementation
def tapegrad_step(model, x, y, lr, compiled):
    """(step, loss function, first-call seconds): one SGD step of cross-entropy on `model`.
    compiled=False: eager; "loss": the loss function `autograd.compile`d, backward and the
    update eager code as a user writes them, with optim.SGD (faster than
    `p.data -= lr * p.grad`: tensor_bench); "step": the whole training step compiled
    (zero_grad, loss, backward, optimizer step), whose first call takes one step."""
    opt = optim.SGD(model.parameters(), lr=lr)
    if compiled == "step":
        def train_step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        fn = autograd.compile(train_step)
        t0 = time.perf_counter()
        fn(x, y)                      # the trace (a step), its check against eager mode
        return (lambda: fn(x, y)), fn, time.perf_counter() - t0

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)
    fn = autograd.compile(loss_fn) if compiled else loss_fn
    t0 = time.perf_counter()
    fn(x, y)                          # compiled: the trace, and its check against eager mode
    first = time.perf_counter() - t0

    def step():
        loss = fn(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, fn, first


def check_grads(ref, model, rtol=1e-4):
    """The .grad of model's parameters (left by one training step from the initial weights)
    are the hand-written numpy gradients at those weights."""
    ref.loss_and_grads()
    for (name, p), g in zip(model.named_parameters(), ref.grads()):
        err = np.abs(p.grad._data - g).max() / max(np.abs(g).max(), 1e-30)
        assert err <= rtol, f"gradient of {name} (compiled step): relative difference {err:.1e}"


def check(ref, model, fn, x, y, rtol=1e-4):
    """fn(x, y) (eager or compiled) gives the hand-written numpy loss and gradients, before
    any update: the largest difference of each gradient, relative to its largest entry, is
    below rtol. Returns the loss."""
    loss = fn(x, y)
    model.zero_grad()
    loss.backward()
    ref_loss = ref.loss_and_grads()
    assert abs(loss.item() - ref_loss) <= rtol * max(1.0, abs(ref_loss)), (loss.item(), ref_loss)
    for (name, p), g in zip(model.named_parameters(), ref.grads()):
        err = np.abs(p.grad._data - g).max() / max(np.abs(g).max(), 1e-30)
        assert err <= rtol, f"gradient of {name}: relative difference {err:.1e}"
    model.zero_grad()
    return ref_loss


def run_workload(title, short, make_ref, make_model, x, y, lr, rounds, number, target, today,
                 torch_step=None, floor=None):
    """Check tapegrad eager and compiled against the numpy step, then time numpy, eager,
    compiled (interleaved) and torch at each thread count; print the rows and add two rows to
    the goals: the compiled ratio against issue 16's `target`, and the eager ratio beside
    issue 16's `today` figure. make_ref() and make_model() give fresh copies of the same
    initial weights. floor = (name, make): another numpy step, checked to compute the same
    loss and gradients, timed with the others and shown beside the goals."""
    eager_model, loss_model, step_model = make_model(), make_model(), make_model()
    eager, eager_fn, _ = tapegrad_step(eager_model, x, y, lr, compiled=False)
    comp, comp_fn, first_loss = tapegrad_step(loss_model, x, y, lr, compiled="loss")
    loss = check(make_ref(), eager_model, eager_fn, x, y)
    check(make_ref(), loss_model, comp_fn, x, y)
    # the compiled step's first call took one step: its .grad is the numpy gradient at the
    # initial weights
    whole, whole_fn, first = tapegrad_step(step_model, x, y, lr, compiled="step")
    check_grads(make_ref(), step_model)
    ref = make_ref()
    print(f"{title}: first loss {loss:.4f}, eager and compiled loss and gradients = numpy's")
    print(f"  compiled step: zero_grad, loss, backward and SGD step in one compiled function; "
          f"compiled loss: the loss compiled, backward and step eager")
    print(f"  first call (trace, write, check against eager): compiled step "
          f"{fmt_time(first).strip()}, compiled loss {fmt_time(first_loss).strip()}")
    compiled_goal = goal(16, f"{short}: compiled step", f"<= {target}x", target)
    compiled_goal.first_call = first
    loss_goal = goal(16, f"{short}: compiled loss", "none", None)
    loss_goal.first_call = first_loss
    eager_goal = goal(16, f"{short}: eager", f"none (issue: {today})", None)
    steps = {"numpy": ref.step, "eager": eager, "compiled loss": comp, "compiled step": whole}
    if floor is not None:
        name, make_floor = floor
        other = make_floor()
        same_numbers(make_ref(), other, name)
        steps[name] = other.step
        floor_goal = goal(16, f"{short}: {name}", "none (the floor of tapegrad's layout)",
                          None)
    for n in THREADS:
        with threads(n):
            result = measure(steps, rounds, number, torch_step)
        print_rows(n, result)
        compiled_goal.figures[n] = result["compiled step"][1]
        loss_goal.figures[n] = result["compiled loss"][1]
        eager_goal.figures[n] = result["eager"][1]
        if floor is not None:
            floor_goal.figures[n] = result[name][1]
    return comp_fn


def same_numbers(ref, other, name, rtol=1e-4):
    """Two numpy steps compute the same loss and gradients (in tapegrad's layout)."""
    a, b = ref.loss_and_grads(), other.loss_and_grads()
    assert abs(a - b) <= rtol * max(1.0, abs(a)), f"{name}: loss {b} against {a}"
    for k, (g, h) in enumerate(zip(ref.grads(), other.grads())):
        err = np.abs(g - h).max() / max(np.abs(g).max(), 1e-30)
        assert err <= rtol, f"{name}: gradient {k}, relative difference {err:.1e}"


# ---------------------------------------------------------------------------------------------
# goals
class Goal:
    """One row of the goals table: a figure per thread count (a ratio), compared with `target`
    (at_most: figure <= target, else figure >= target); no target: a figure shown beside the
    goals, judged by nothing."""

    def __init__(self, issue, text, goal_text, target, at_most=True):
        self.issue, self.text, self.goal_text = issue, text, goal_text
        self.target, self.at_most = target, at_most
        self.figures = {}
        self.first_call = None           # seconds of a compiled function's first call
        self.fmt = lambda f: f"{f:.2f}x"

    def verdict(self):
        if self.target is None:
            return ""
        if not self.figures:
            return "not measured"
        ok = [(f <= self.target) if self.at_most else (f >= self.target)
              for f in self.figures.values()]
        return "met" if all(ok) else "NOT met" if not any(ok) else "met at " + ", ".join(
            f"{n} thr" for n, k in zip(self.figures, ok) if k)


GOALS = []


def goal(issue, text, goal_text, target, at_most=True):
    g = Goal(issue, text, goal_text, target, at_most)
    GOALS.append(g)
    return g


def print_goals():
    rows = [("issue", "workload", "goal", *(f"{n} thread{'s' if n > 1 else ''}"
                                            for n in THREADS), "verdict", "first call")]
    for g in GOALS:
        cells = [g.fmt(g.figures[n]) if n in g.figures else "-" for n in THREADS]
        first = fmt_time(g.first_call).strip() if g.first_call is not None else ""
        rows.append((f"#{g.issue}", g.text, g.goal_text, *cells, g.verdict(), first))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("\nGoals (ratios: median over paired rounds; x numpy unless said)")
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
