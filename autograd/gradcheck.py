"""Gradient checking: analytical gradients (the tape) against central finite differences.

For a scalar function f of inputs x_1..x_k, each element j of each input is perturbed in place:

    numerical_j  = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)      error O(eps^2 f''')
    analytical_j = d f / d x_j from autograd.grad (so `.grad` of the inputs is left alone)

and the pair passes when |analytical - numerical| <= atol + rtol * |numerical| (the rule of
numpy.isclose). A function with a non-scalar output is checked through the scalar projection
f(x) = sum(out * r) for a fixed random r ~ N(0, 1) drawn from `seed`: one backward pass instead of
one per output element, and a wrong Jacobian entry is missed only if the error happens to be
orthogonal to r (probability zero). Several outputs (a tuple or list) are projected and summed.

The 2n perturbed evaluations (n elements) only need f's value, so they run without a graph:
through the compiled form of fn when there are many (autograd.compile: its generated forward code, no nodes), or,
when fn does not compile or its compiled value differs from fn's, fn itself under no_grad.

Why float64 only: with eps = 1e-6, float32 rounding (~1e-7 relative) makes the difference quotient
wrong by ~0.1; a check loose enough to pass in float32 would also pass many wrong gradients.
"""
import warnings

import numpy as np

from .engine import Node, grad, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]

_MAX_ROWS = 10
# from this many checked elements (2x as many evaluations) compiling fn once costs less than
# the graphs the eager evaluations would build
_COMPILE_FROM = 256


class GradcheckError(AssertionError):
    """A gradient check failed; the message is the per-element table, worst first.

    `result` holds the full comparison (every element) for programmatic use."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class _Row:
    """One input element: its analytical and numerical derivative, and the evaluations behind."""
    __slots__ = ("input", "name", "index", "analytical", "numerical", "error", "excess",
                 "f0", "f_plus", "f_minus", "eps")

    def __init__(self, input, name, index, analytical, f0, f_plus, f_minus, eps, atol, rtol):
        self.input, self.name, self.index = input, name, index
        self.f0, self.f_plus, self.f_minus, self.eps = f0, f_plus, f_minus, eps
        self.analytical = float(analytical)
        self.numerical = (f_plus - f_minus) / (2.0 * eps)
        self.error = abs(self.analytical - self.numerical)
        allowed = atol + rtol * abs(self.numerical)
        # nan anywhere (a nan gradient, or f undefined at x +- eps) is the worst possible row
        self.excess = self.error - allowed if np.isfinite(self.error) else np.inf

    @property
    def failed(self):
        return not self.excess <= 0.0

    @property
    def one_sided(self):
        """(left, right) one-sided differences: they differ by O(1) at a kink, O(eps) elsewhere."""
        return (self.f0 - self.f_minus) / self.eps, (self.f_plus - self.f0) / self.eps


class GradcheckResult:
    """Every compared element of one gradcheck run."""

    def __init__(self, rows, eps, atol, rtol, projected):
        self.rows = rows
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.projected = projected

    @property
    def failures(self):
        """Failing rows, worst first (largest excess over the allowed error)."""
        bad = [r for r in self.rows if r.failed]
        bad.sort(key=lambda r: -r.excess)
        return bad

    @property
    def ok(self):
        return not any(r.failed for r in self.rows)

    def table(self, rows=None, max_rows=_MAX_ROWS):
        """The rows (default: the failures) as an aligned text table."""
        rows = self.failures if rows is None else rows
        head = ("input", "element", "analytical", "numerical", "error")
        lines = [head] + [(r.name, _fmt_index(r.index), _num(r.analytical), _num(r.numerical),
                           _num(r.error)) for r in rows[:max_rows]]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(line, widths))).rstrip()
               for line in lines]
        if len(rows) > max_rows:
            out.append(f"... and {len(rows) - max_rows} more")
        return "\n".join(out)

    def message(self, title="gradcheck"):
        bad = self.failures
        n_inputs = len({id(r.input) for r in self.rows})
        head = (f"{title} failed: {len(bad)} of {len(self.rows)} gradient elements of "
                f"{n_inputs} input(s) differ from central differences\n"
                f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}); worst first:")
        lines = [head, self.table(bad)]
        if self.projected:
            lines.append("(non-scalar output: compared the gradients of sum(out * r) for a "
                         "fixed random r)")
        return "\n".join(lines)


def _num(x):
    return f"{x:.6g}"


def _fmt_index(index):
    if index == ():
        return "-"
    return str(index[0]) if len(index) == 1 else "(" + ", ".join(map(str, index)) + ")"


# ---------------------------------------------------------------------------------------------
def _as_inputs(inputs, caller):
    if isinstance(inputs, Node):
        inputs = [inputs]
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Node):
            raise TypeError(f"{caller}: input {i} is a {type(x).__name__}; pass Values or "
                            f"Tensors (with requires_grad=True for those to check)")
        if isinstance(x, Tensor) and x.requires_grad and x._data.dtype != np.float64:
            raise TypeError(
                f"{caller}: input {i} is a {x._data.dtype} Tensor of shape {x._data.shape}; finite "
                f"differences need float64 (in float32 rounding alone is ~0.1 of the derivative "
                f"at eps=1e-6, so a loose check would pass wrong gradients). Make it with "
                f"dtype=np.float64, e.g. Tensor(x._data, dtype=np.float64, requires_grad=True)")
    checked = [x for x in inputs if x.requires_grad]
    if not checked:
        raise ValueError(f"{caller}: none of the {len(inputs)} inputs requires grad, so there "
                         f"is nothing to check")
    return inputs, checked


def _outputs(out, caller):
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    for k, o in enumerate(outs):
        if not isinstance(o, Node):
            raise TypeError(f"{caller}: fn must return a Value or Tensor (or a list of them), "
                            f"got {type(o).__name__}")
        if isinstance(o, Tensor) and o._data.dtype != np.float64:
            raise TypeError(
                f"{caller}: fn returned a {o._data.dtype} Tensor (output {k}, shape "
                f"{o._data.shape}) "
                f"from float64 inputs; something inside fn casts to a lower precision, which "
                f"makes finite differences meaningless. Keep every constant in float64.")
    return outs


def _projection(outs, seed):
    """r_k per output: 1 for a scalar, N(0, 1) draws otherwise (fixed by seed)."""
    rng = np.random.default_rng(seed)
    rs = []
    for o in outs:
        if isinstance(o, Tensor) and o._data.size != 1:
            rs.append(rng.standard_normal(o.shape))
        elif isinstance(o, Tensor):
            rs.append(np.ones(o.shape))
        else:
            rs.append(1.0)
    return rs


def _project(outs, rs):
    total = 0.0
    for o, r in zip(outs, rs):
        total += float(np.sum(o._data * r)) if isinstance(o, Tensor) else o._data * r
    return total


def _analytical(outs, rs, checked):
    """d sum_k <out_k, r_k> / d x for each checked input, as float64 arrays (zeros if unused)."""
    total = [np.zeros(np.shape(x._data)) for x in checked]
    live = [(o, r) for o, r in zip(outs, rs) if o.requires_grad]
    for k, (o, r) in enumerate(live):
        # outputs may share a graph (an LSTM cell's (h, c)): keep it for all but the last pass
        gs = grad(o, checked, grad_outputs=r, allow_unused=True,
                  retain_graph=k < len(live) - 1)
        for i, g in enumerate(gs):
            if g is None:
                continue
            gd = np.asarray(g._data, dtype=np.float64)
            if gd.shape != total[i].shape:
                raise GradcheckError(
                    f"gradcheck: the analytical gradient of input {i} has shape {gd.shape} but "
                    f"the input has shape {total[i].shape}")
            total[i] = total[i] + gd
    return total


def _name(x, i, names):
    if names is not None:
        return names[i]
    return f"{x.label} ({i})" if x.label else f"input {i}"


def compare(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, names=None,
            caller="gradcheck", compiled=None):
    """Run the comparison without judging it: a GradcheckResult with one row per element.

    names: optional display name per input (default: the label, else "input i").
    compiled: evaluate the perturbed values by fn's compiled code (True), eagerly (False), or
        compiled from 256 checked elements on (None)."""
    inputs, checked = _as_inputs(inputs, caller)
    outs = _outputs(fn(*inputs), caller)
    rs = _projection(outs, seed)
    f0 = _project(outs, rs)
    analytical = _analytical(outs, rs, checked)
    del outs                                  # free the graph before the perturbed passes
    f = _evaluator(fn, inputs, rs, f0, caller, compiled)

    analytical_of = {id(x): g for x, g in zip(checked, analytical)}
    rows = []
    for pos, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        ga = analytical_of[id(x)]
        name = _name(x, pos, names)
        orig = x._data
        if isinstance(x, Tensor):
            work = np.array(orig, dtype=np.float64)   # a private copy: the input's array is
            x._data = work                             # never written, even on an exception
            try:
                for idx in np.ndindex(work.shape):
                    v = work[idx]
                    work[idx] = v + eps
                    fp = f()
                    work[idx] = v - eps
                    fm = f()
                    work[idx] = v
                    rows.append(_Row(x, name, idx, ga[idx], f0, fp, fm, eps, atol, rtol))
            finally:
                x._data = orig
        else:
            try:
                x._data = orig + eps
                fp = f()
                x._data = orig - eps
                fm = f()
            finally:
                x._data = orig
            rows.append(_Row(x, name, (), ga, f0, fp, fm, eps, atol, rtol))
    projected = any(isinstance(r, np.ndarray) and r.size != 1 for r in rs)
    return GradcheckResult(rows, eps, atol, rtol, projected)


def _evaluator(fn, inputs, rs, f0, caller, compiled=None):
    """f() = sum(fn(*inputs) * r) for the inputs' current data, computed without a graph."""
    def eager():
        with no_grad():
            return _project(_outputs(fn(*inputs), caller), rs)

    n = sum(np.size(x._data) for x in inputs if x.requires_grad)
    if compiled is False or (compiled is None and n < _COMPILE_FROM):
        return eager
    compiled = _compiled_value(fn, inputs, rs[0] if len(rs) == 1 else None)
    if compiled is None:
        return eager
    try:
        same = abs(compiled() - f0) <= 1e-12 * max(1.0, abs(f0))
    except Exception:  # noqa: BLE001  any failure of the optional path: use the reference one
        same = False
    return compiled if same else eager


def _compiled_value(fn, inputs, r):
    """Speed only: fn's generated forward code, read afresh from the inputs' arrays at each
    call (the perturbation writes them); None when fn does not compile (several outputs, an op
    without a source form, or a trace-time check that fails)."""
    from .compile import Compiled, _Call        # compile builds on the engine gradcheck checks
    if r is None:
        return None
    step = Compiled(fn)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            step(*inputs)
    except Exception:  # noqa: BLE001  fn may not compile; eager evaluation is then the path
        return None
    program, nodes = step._last, step._last.inputs_of(inputs)
    forward = program.forward
    if isinstance(r, np.ndarray) and r.size == 1:
        r = float(r.reshape(()))

    def value():
        out = forward(_Call(), *[x._data for x in nodes])
        return float(np.sum(out * r)) if isinstance(r, np.ndarray) else float(out) * r
    return value


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, compiled=None):
    """Check the gradients of `fn(*inputs)` against central differences; True or AssertionError.

    inputs: a Value, a Tensor or a list of them; those with requires_grad are checked (Tensors
        must be float64), the others are passed through as constants.
    fn: returns a Value or Tensor (or a list of them). A non-scalar output is checked through
        sum(out * r) for a fixed random r drawn from `seed` (see the module docstring).
    Passes when |analytical - numerical| <= atol + rtol * |numerical| for every element.
    compiled: the 2n evaluations of f run fn's compiled code (autograd.compile) when True, or
        from 256 checked elements on when None; eagerly, under no_grad, when False (or when
        fn does not compile, or its compiled value differs from fn's).
    Raises GradcheckError (an AssertionError) whose message is a table of the failing elements,
    worst first: input, element index, analytical, numerical, error. `.grad` of the inputs and
    their data are left as they were.
    """
    __tracebackhide__ = True                  # pytest: the report starts at the caller's line
    result = compare(fn, inputs, eps, atol, rtol, seed, compiled=compiled)
    if not result.ok:
        raise GradcheckError(result.message(), result)
    return True
