"""Gradient checking of f(A, B) = sum(tanh(A @ B)), A 64x32 and B 32x16, float64:
autograd.gradcheck evaluating f eagerly (compiled=False) and by f's compiled code
(compiled=True, what it does by itself from 256 checked elements on), against central
differences written by hand in numpy, and torch.autograd.gradcheck.

All of them do the same work: one analytical gradient, then for each of the 64*32 + 32*16 =
2560 elements two evaluations of f, at x + eps and x - eps (eps = 1e-6), and the comparison
|analytical - numerical| <= atol + rtol |numerical| (atol 1e-5, rtol 1e-3, gradcheck's
defaults). Before timing, the hand-written numerical and analytical gradients are checked
against the ones autograd.gradcheck computes (its `compare`).
Run: `python -m bench.gradcheck_bench`.
"""
import numpy as np

import autograd
from autograd import Tensor
from autograd.gradcheck import compare

from . import harness

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3


def f(a, b):
    return (a @ b).tanh().sum()


class NumpyGradcheck:
    """Central differences as a careful numpy programmer writes them: A and B perturbed in
    place through flat views, f evaluated into one preallocated (64, 16) buffer, the numerical
    gradients written into preallocated arrays; the analytical gradient by the chain rule,
    d f / d(A @ B) = 1 - tanh^2."""

    def __init__(self, a, b):
        self.a, self.b = a.copy(), b.copy()
        self.z = np.empty((a.shape[0], b.shape[1]))
        self.num_a, self.num_b = np.empty_like(a), np.empty_like(b)

    def f(self):
        z = self.z
        np.matmul(self.a, self.b, out=z)
        np.tanh(z, out=z)
        return float(z.sum())

    def analytical(self):
        z = self.z
        np.matmul(self.a, self.b, out=z)
        np.tanh(z, out=z)
        np.multiply(z, z, out=z)
        np.subtract(1.0, z, out=z)
        return z @ self.b.T, self.a.T @ z

    def numerical(self):
        for x, num in ((self.a, self.num_a), (self.b, self.num_b)):
            flat, out = x.reshape(-1), num.reshape(-1)
            for j in range(flat.size):
                v = flat[j]
                flat[j] = v + EPS
                fp = self.f()
                flat[j] = v - EPS
                fm = self.f()
                flat[j] = v
                out[j] = (fp - fm) / (2.0 * EPS)
        return self.num_a, self.num_b

    def check(self):
        """True when every element passes (as autograd.gradcheck's rule)."""
        ok = True
        for ga, gn in zip(self.analytical(), self.numerical()):
            ok &= bool(np.all(np.abs(ga - gn) <= ATOL + RTOL * np.abs(gn)))
        return ok


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((64, 32)) * 0.3, rng.standard_normal((32, 16)) * 0.3


def _check_same_numbers(ref, compiled, a, b):
    """The hand-written numerical and analytical gradients are gradcheck's, element by element
    (numerical to 1e-6 absolute: a rounding difference of f is divided by 2 eps)."""
    result = compare(f, [a, b], EPS, ATOL, RTOL, compiled=compiled)
    an, nu = ref.analytical(), ref.numerical()
    rows = iter(result.rows)
    for ga, gn in zip(an, nu):
        for idx in np.ndindex(ga.shape):
            row = next(rows)
            assert abs(row.analytical - ga[idx]) <= 1e-12 * max(1.0, abs(ga[idx])), row.index
            assert abs(row.numerical - gn[idx]) <= 1e-6, (row.index, row.numerical, gn[idx])
    assert result.ok and ref.check()


def main(rounds=5, number=1):
    print("gradcheck of sum(tanh(A @ B)), A 64x32, B 32x16, float64 (2560 elements, "
          "5121 evaluations of f)")
    a0, b0 = _inputs()
    a = Tensor(a0, requires_grad=True)
    b = Tensor(b0, requires_grad=True)
    t0 = harness.clock()
    autograd.compile(f)(a, b)
    first = harness.clock() - t0
    ref = NumpyGradcheck(a0, b0)
    _check_same_numbers(ref, False, a, b)
    _check_same_numbers(ref, True, a, b)
    print("  eager and compiled gradcheck: the hand-written analytical and numerical "
          "gradients, element by element")
    print(f"  compiled: first call (trace, write, check against eager) "
          f"{harness.fmt_time(first).strip()}")

    steps = {"numpy": ref.check,
             "eager": lambda: autograd.gradcheck(f, [a, b], eps=EPS, atol=ATOL, rtol=RTOL,
                                                compiled=False),
             "compiled": lambda: autograd.gradcheck(f, [a, b], eps=EPS, atol=ATOL, rtol=RTOL,
                                                   compiled=True)}
    torch = harness.torch_or_none()
    torch_step = None
    if torch is not None:
        at = torch.tensor(a0, requires_grad=True)
        bt = torch.tensor(b0, requires_grad=True)

        def torch_step():
            return torch.autograd.gradcheck(lambda x, y: torch.tanh(x @ y).sum(), (at, bt),
                                            eps=EPS, atol=ATOL, rtol=RTOL)
    goal = harness.goal(16, "gradcheck tanh(A@B).sum(), 64x32@32x16, f64: compiled",
                        "<= 1.5x", 1.5)
    goal.first_call = first
    eager_goal = harness.goal(16, "gradcheck tanh(A@B).sum(), 64x32@32x16, f64: eager",
                              "none (issue: 2.4x)", None)
    for n in harness.THREADS:
        with harness.threads(n):
            result = harness.measure(steps, rounds, number, torch_step)
        harness.print_rows(n, result)
        goal.figures[n] = result["compiled"][1]
        eager_goal.figures[n] = result["eager"][1]


if __name__ == "__main__":
    main()
    harness.print_goals()
