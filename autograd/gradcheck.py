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
through the compiled form of fn when there are many (autograd.compile: its generated forward
code, no nodes), or, when fn does not compile or its compiled value differs from fn's, fn itself
under no_grad.

Why float64 only: with eps = 1e-6, float32 rounding (~1e-7 relative) makes the difference quotient
wrong by ~0.1; a check loose enough to pass in float32 would also pass many wrong gradients.
(torch only warns and goes on; tapegrad refuses such an input with a TypeError.)

Second derivatives: gradgradcheck(func, inputs, grad_outputs) is gradcheck of

    new_func(x, v) = VJP of func at x along v = d <func(x), v> / dx      (recorded: create_graph)

with respect to x and v, as torch builds it. Its Jacobian holds the Hessian-vector products
d^2 <func, v> / dx^2 and the Jacobian of func itself, so a backward that is right but not
differentiable correctly (computed on detached data, say) fails here and passes gradcheck.

Besides the comparison, as torch does: the gradients are computed twice and must agree to within
nondet_tol (a backward that draws random numbers fails), and all-zero output gradients must
give zero (or no) input gradients (a backward that ignores its grad_output fails).

check_undefined_grad (torch: each backward must accept an undefined output gradient) has nothing
left to add here: the comparison already backpropagates one output at a time, so every backward
meets undefined gradients there (an autograd.Function with several outputs gets zeros for the
others, or None under ctx.set_materialize_grads(False)), and torch's all-undefined case is the
all-zero check above. So True and False check the same.

The error: GradcheckError, torch's `torch.autograd.gradcheck.GradcheckError` (a RuntimeError),
here also an AssertionError so that pytest.raises(AssertionError) and older callers still catch
it. `from autograd.gradcheck import GradcheckError` finds it as in torch; so do
`autograd.GradcheckError` and `autograd.gradcheck.GradcheckError` (an attribute of the function,
which the package name `autograd.gradcheck` denotes, as `torch.autograd.gradcheck` does).
"""
import warnings

import numpy as np

from .engine import Node, enable_grad, grad, is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

_MAX_ROWS = 10
# from this many checked elements (2x as many evaluations) compiling fn once costs less than
# the graphs the eager evaluations would build
_COMPILE_FROM = 256


class GradcheckError(RuntimeError, AssertionError):
    """A gradient check failed; the message is the per-element table, worst first.

    A RuntimeError as torch's, and an AssertionError (tapegrad's gradcheck raised that first).
    `result` holds the full comparison (every element) for programmatic use, or None when the
    check that failed compares no elements (a backward that is not reentrant, say)."""

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


def _analytical(outs, rs, checked, retain_graph=False, check_grad_dtypes=False):
    """d sum_k <out_k, r_k> / d x for each checked input, as float64 arrays (zeros if unused)."""
    total = [np.zeros(np.shape(x._data)) for x in checked]
    live = [(o, r) for o, r in zip(outs, rs) if o.requires_grad]
    for k, (o, r) in enumerate(live):
        # outputs may share a graph (an LSTM cell's (h, c)): keep it for all but the last pass
        gs = grad(o, checked, grad_outputs=r, allow_unused=True,
                  retain_graph=retain_graph or k < len(live) - 1)
        for i, g in enumerate(gs):
            if g is None:
                continue
            if (check_grad_dtypes and isinstance(g, Tensor)
                    and g._data.dtype != checked[i]._data.dtype):
                raise GradcheckError("Gradient has dtype mismatch")
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
            caller="gradcheck", compiled=None, nondet_tol=None, check_grad_dtypes=False):
    """Run the comparison without judging it: a GradcheckResult with one row per element.

    names: optional display name per input (default: the label, else "input i").
    compiled: evaluate the perturbed values by fn's compiled code (True), eagerly (False), or
        compiled from 256 checked elements on (None).
    nondet_tol: when given, the gradients are computed twice on the same graph and must agree
        to within it (else GradcheckError, as torch's reentrancy check).
    check_grad_dtypes: a gradient whose dtype is not its input's raises GradcheckError."""
    inputs, checked = _as_inputs(inputs, caller)
    outs = _outputs(fn(*inputs), caller)
    rs = _projection(outs, seed)
    if any(o.requires_grad for o in outs):
        # as torch: outputs that do not require grad are left out (their numerical Jacobian is
        # only checked to be zero when no output requires grad)
        rs = [r if o.requires_grad else r * 0.0 for o, r in zip(outs, rs)]
    f0 = _project(outs, rs)
    twice = nondet_tol is not None
    analytical = _analytical(outs, rs, checked, twice, check_grad_dtypes)
    if twice:
        _check_reentrant(analytical, _analytical(outs, _fresh(rs), checked), nondet_tol)
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


def _fresh(rs):
    """Copies of the output gradients: an autograd.Function keeps its last backward's result
    for the same gradient object (the engine asks input by input), which would hide a second
    backward that differs."""
    return [np.array(r) if isinstance(r, np.ndarray) else r for r in rs]


def _check_reentrant(first, second, nondet_tol):
    """The same backward twice must give the same gradients, to within nondet_tol."""
    for a, b in zip(first, second):
        if np.max(np.abs(a - b), initial=0.0) > nondet_tol:
            raise GradcheckError(
                "Backward is not reentrant, i.e., running backward with same input and "
                "grad_output multiple times gives different values, although analytical "
                f"gradient matches numerical gradient. The tolerance for nondeterminism was "
                f"{nondet_tol}. (A backward that draws random numbers, or reads state that "
                f"the first backward changed, does this; pass nondet_tol=<tol> if intended.)")


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


# ---------------------------------------------------------------------------------------------
# torch's options
def _refuse(caller, **options):
    """Options tapegrad cannot honour: True is refused by name, False (the default) accepted."""
    why = {"check_batched_grad": "tapegrad has no vmap to batch the gradients with",
           "check_batched_forward_grad": "tapegrad has no vmap and no forward-mode AD",
           "check_forward_ad": "tapegrad has no forward-mode AD (dual numbers), only reverse",
           "check_fwd_over_rev": "tapegrad has no forward-mode AD (dual numbers), only reverse"}
    for name, value in options.items():
        if value:
            raise NotImplementedError(
                f"{caller}({name}=True) is not supported: {why[name]}. Pass {name}=False "
                f"(the default); the reverse-mode gradients are checked either way.")


def _zeros_like(o):
    return o._const_like(np.zeros(o.shape) if isinstance(o, Tensor) else 0.0)


def _check_zero_grad_outputs(func, inputs, caller):
    """torch's check that backward is multiplied by grad_output: with every output gradient
    zero, each input gradient is zero or None (a VJP is linear in the output gradient), of its
    input's dtype and shape."""
    __tracebackhide__ = True
    checked = [x for x in inputs if x.requires_grad]
    outs = [o for o in _outputs(func(*inputs), caller) if o.requires_grad]
    if not outs:                 # nothing differentiable: the comparison saw zero gradients
        return
    gs = grad(outs, checked, grad_outputs=[_zeros_like(o) for o in outs], allow_unused=True)
    for g, x in zip(gs, checked):
        if g is None:
            continue
        if not np.all(np.asarray(g._data) == 0):
            raise GradcheckError("backward not multiplied by grad_output: with all output "
                                 "gradients zero an input gradient is not zero")
        if isinstance(x, Tensor) and g._data.dtype != x._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if np.shape(g._data) != np.shape(x._data):
            raise GradcheckError("grad is incorrect size")


def _first_mismatch(func, inputs, result, eps, atol, rtol, seed, names, caller):
    """torch's first line: the first failing (output, input) pair, each counted among the
    outputs and inputs that require grad, as torch counts them. Several outputs are projected
    together, so on failure each is compared alone to find the first wrong one."""
    checked = [id(x) for x in inputs if x.requires_grad]
    outs = _outputs(func(*inputs), caller)
    diff = [p for p, o in enumerate(outs) if o.requires_grad]
    del outs
    if not diff:
        return "Numerical gradient for function expected to be zero"

    def first_input(res):
        failing = {id(r.input) for r in res.failures}
        return next(j for j, x in enumerate(checked) if x in failing)
    found = (0, first_input(result))
    if len(diff) > 1:
        for k, p in enumerate(diff):
            alone = compare(lambda *a, p=p: _outputs(func(*a), caller)[p], inputs, eps, atol,
                            rtol, seed, names, caller, compiled=False)
            if not alone.ok:
                found = (k, first_input(alone))
                break
    return f"Jacobian mismatch for output {found[0]:d} with respect to input {found[1]:d},"


def _fast(func, inputs, caller, names, eps, atol, rtol, nondet_tol, check_grad_dtypes, seed):
    """torch's fast mode. For checked input i and output j, with u_i and v_j random nonnegative
    unit vectors (uniform, normalized; drawn from seed):

        analytical  v_j^T J_ji u_i = <VJP of output j along v_j, u_i>
        numerical   (<f_j(x + eps u_i), v_j> - <f_j(x - eps u_i), v_j>) / (2 eps)

    compared with atol * sum(u_i) * sum(v_j) (torch's adjusted atol: every Jacobian entry's atol
    projected the same way) and rtol. Two evaluations per input instead of two per element. On
    a failure the element-wise comparison runs for the report."""
    __tracebackhide__ = True
    inputs, checked = _as_inputs(inputs, caller)
    rng = np.random.default_rng(seed)

    def unit(x):
        u = rng.uniform(0.0, 1.0, np.shape(x._data))
        return u / np.linalg.norm(u) if u.size else u
    us = [unit(x) for x in checked]
    outs = _outputs(func(*inputs), caller)
    vs = [unit(o) for o in outs]
    diff = [j for j, o in enumerate(outs) if o.requires_grad] or list(range(len(outs)))
    analytical = {}
    for j in diff:
        o = outs[j]
        gs = _analytical([o], [vs[j]], checked, True, check_grad_dtypes)
        if nondet_tol is not None and o.requires_grad:
            _check_reentrant(gs, _analytical([o], _fresh([vs[j]]), checked, True), nondet_tol)
        for i, g in enumerate(gs):
            analytical[i, j] = float(np.sum(g * us[i]))
    del outs

    def values():
        with no_grad():
            got = _outputs(func(*inputs), caller)
        return [_project([got[j]], [vs[j]]) for j in diff]
    for i, x in enumerate(checked):
        orig = x._data
        try:
            x._data = orig + eps * us[i] if isinstance(x, Tensor) else float(orig + eps)
            plus = values()
            x._data = orig - eps * us[i] if isinstance(x, Tensor) else float(orig - eps)
            minus = values()
        finally:
            x._data = orig
        for k, j in enumerate(diff):
            numerical = (plus[k] - minus[k]) / (2.0 * eps)
            allowed = atol * float(np.sum(us[i])) * float(np.sum(vs[j])) + rtol * abs(numerical)
            if abs(analytical[i, j] - numerical) <= allowed:
                continue
            head = (f"Jacobian mismatch for output {diff.index(j):d} with respect to input "
                    f"{i:d},\nnumerical:{numerical!r}\nanalytical:{analytical[i, j]!r}\n"
                    f"(fast mode: u^T J^T v for random unit u, v)")
            result = compare(func, inputs, eps, atol, rtol, seed, names, caller, compiled=False)
            if result.ok:
                raise GradcheckError(
                    head + "\nFast gradcheck failed but element-wise differences are small. "
                    "This means that the test might've passed in slow_mode! Call with "
                    "fast_mode=False to check element by element.")
            raise GradcheckError(head + "\n" + result.message(caller), result)


def _gradcheck(func, inputs, caller, names, eps, atol, rtol, nondet_tol, check_grad_dtypes,
               fast_mode, seed, compiled):
    """The check behind gradcheck and gradgradcheck: True, or GradcheckError."""
    __tracebackhide__ = True
    if fast_mode:
        _fast(func, inputs, caller, names, eps, atol, rtol, nondet_tol, check_grad_dtypes, seed)
    else:
        result = compare(func, inputs, eps, atol, rtol, seed, names, caller, compiled,
                         nondet_tol, check_grad_dtypes)
        if not result.ok:
            inputs, _ = _as_inputs(inputs, caller)
            head = _first_mismatch(func, inputs, result, eps, atol, rtol, seed, names, caller)
            raise GradcheckError(head + "\n" + result.message(caller), result)
    _check_zero_grad_outputs(func, _as_inputs(inputs, caller)[0], caller)
    return True


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None, seed=0, compiled=None):
    """Check the gradients of `func(*inputs)` against central differences: True, or
    GradcheckError (False with raise_exception=False). torch.autograd.gradcheck's signature.

    inputs: a Value, a Tensor or a list of them; those with requires_grad are checked (Tensors
        must be float64: a float32 one is a TypeError, where torch warns), the others are
        passed through as constants.
    func: returns a Value or Tensor (or a list of them). A non-scalar output is checked through
        sum(out * r) for a fixed random r drawn from `seed` (see the module docstring).
    Passes when |analytical - numerical| <= atol + rtol * |numerical| for every element, the
    backward gives the same gradients twice (to within nondet_tol), and zero output gradients
    give zero input gradients. check_undefined_grad: see the module docstring (every backward
    meets undefined output gradients in the comparison already).
    check_grad_dtypes: a gradient whose dtype is not its input's fails.
    fast_mode: torch's fast mode: per input, compare u^T J^T v for random nonnegative unit u,
        v (one directional difference per input) instead of every element; on a failure the
        full comparison runs for the report.
    masked: only changes sparse inputs in torch; tapegrad's inputs are dense, so it is accepted
        and changes nothing, as in torch for dense inputs.
    check_batched_grad, check_batched_forward_grad, check_forward_ad: True raises
        NotImplementedError (no vmap, no forward-mode AD); check_backward_ad=False leaves
        nothing to check (AssertionError, as torch's without check_forward_ad).
    seed, compiled (tapegrad's own): the projection's seed; compiled=True evaluates the 2n
        perturbed values with func's compiled code (autograd.compile), None from 256 checked
        elements on, False eagerly under no_grad (also when func does not compile or its
        compiled value differs from func's).
    The error's message starts with torch's line ("Jacobian mismatch for output 0 with respect
    to input 0,") followed by a table of the failing elements, worst first: input, element
    index, analytical, numerical, error. `.grad` of the inputs and their data are left as they
    were.
    """
    __tracebackhide__ = True                  # pytest: the report starts at the caller's line
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError(
            "Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    _refuse("gradcheck", check_forward_ad=check_forward_ad, check_batched_grad=check_batched_grad,
            check_batched_forward_grad=check_batched_forward_grad)
    try:
        return _gradcheck(func, inputs, "gradcheck", None, eps, atol, rtol, nondet_tol,
                          check_grad_dtypes, fast_mode, seed, compiled)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _random_grad_outputs(func, inputs, seed, non_contiguous):
    """torch's default grad_outputs: uniform in [-1, 1), one per output that requires grad,
    of its shape and dtype, requiring grad (drawn from `seed`, not from the global RNG)."""
    rng = np.random.default_rng(seed)
    made = []
    for o in _outputs(func(*inputs), "gradgradcheck"):
        if not o.requires_grad:
            continue
        if not isinstance(o, Tensor):
            made.append(o.__class__(float(rng.uniform(-1.0, 1.0)), requires_grad=True))
            continue
        values = rng.uniform(-1.0, 1.0, o.shape).astype(o._data.dtype)
        go = Tensor(values, dtype=o._data.dtype, requires_grad=True)
        if non_contiguous and values.size > 1:
            # every other element of a buffer twice as long: a strided view, as torch's
            # noncontiguous=True, so backward code that assumes C order is exercised
            buffer = np.zeros(values.shape + (2,), dtype=values.dtype)
            buffer[..., 0] = values
            go._data = buffer[..., 0]
        made.append(go)
    return made


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False, seed=0):
    """Check second derivatives: gradcheck of the VJP of func, as torch.autograd.gradgradcheck.

    With v the grad_outputs (one per output of func that requires grad), gradcheck runs on

        new_func(*inputs, *v) = d sum_k <func(*inputs)_k, v_k> / d inputs

    (the gradients with respect to the inputs that require grad, recorded with
    create_graph=True; unused ones left out), against central differences in the inputs and in
    the v that require grad. So d^2 <func, v> / dx^2 (Hessian-vector products) and d/dv (the
    Jacobian of func) are both checked: a backward that is right but does not differentiate
    correctly (computed from .detach()ed or numpy data, or a wrong double backward of an
    autograd.Function) fails here while gradcheck passes.

    grad_outputs: a Value/Tensor or a list of them; by default drawn uniform in [-1, 1) from
        `seed` with requires_grad=True (torch: from the global RNG); gen_non_contig_grad_outputs
        makes them strided views.
    Works for Value programs as for Tensor ones. Returns True or raises GradcheckError (False
    with raise_exception=False); the other options are gradcheck's. check_fwd_over_rev and
    check_batched_grad: True raises NotImplementedError (no forward-mode AD, no vmap);
    check_rev_over_rev=False leaves nothing to check (AssertionError, as torch's).
    """
    __tracebackhide__ = True
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_rev_over_rev to be True")
    _refuse("gradgradcheck", check_fwd_over_rev=check_fwd_over_rev,
            check_batched_grad=check_batched_grad)
    inputs, _ = _as_inputs(inputs, "gradgradcheck")
    if grad_outputs is None:
        grad_outputs = _random_grad_outputs(func, inputs, seed, gen_non_contig_grad_outputs)
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Node) else list(grad_outputs)
        for k, v in enumerate(grad_outputs):
            if not isinstance(v, Node):
                raise TypeError(f"gradgradcheck: grad_outputs[{k}] is a {type(v).__name__}; "
                                f"pass Values or Tensors, one per output that requires grad")
    n_in, n_out = len(inputs), len(grad_outputs)
    wrt = [i for i, x in enumerate(inputs) if x.requires_grad]

    def new_func(*args):
        xs, vs = args[:n_in], args[n_in:]
        # the 2n perturbed evaluations run under no_grad: the first-order backward still needs
        # the forward graph, but not a recorded graph of its own
        record = is_grad_enabled()
        with enable_grad():
            outs = [o for o in _outputs(func(*xs), "gradgradcheck") if o.requires_grad]
            if len(outs) != n_out:
                raise ValueError(f"gradgradcheck: {n_out} grad_outputs for {len(outs)} outputs "
                                 f"that require grad; pass one per such output")
            if not outs:
                return ()
            # <out, v> built from ops (not a seed), so that v is differentiable too
            total = None
            for o, v in zip(outs, vs):
                if np.shape(o._data) != np.shape(v._data):
                    raise ValueError(f"gradgradcheck: a grad_output has shape "
                                     f"{np.shape(v._data)}, its output {np.shape(o._data)}")
                term = (o * v).sum() if isinstance(o, Tensor) else o * v
                total = term if total is None else total + term
            gs = grad(total, [xs[i] for i in wrt], create_graph=record, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    names = ([_name(x, i, None) for i, x in enumerate(inputs)]
             + [f"grad_outputs[{k}]" for k in range(n_out)])
    try:
        # eagerly: new_func calls autograd.grad, which a compiled step does not trace
        return _gradcheck(new_func, inputs + grad_outputs, "gradgradcheck", names, eps, atol,
                          rtol, nondet_tol, check_grad_dtypes, fast_mode, seed, compiled=False)
    except GradcheckError:
        if raise_exception:
            raise
        return False


# `autograd.gradcheck` is this function (the package binds the name), as torch.autograd.gradcheck
gradcheck.GradcheckError = GradcheckError
