"""Testing gradients of your own code: ops, layers, homework.

    from autograd.testing import assert_gradients_close, check_directional, check_module

    def test_my_op():
        x = Tensor(np.linspace(-1, 1, 5), dtype=np.float64, requires_grad=True)
        assert_gradients_close(lambda a: my_op(a), x)       # every element, central differences
        check_directional(lambda a: my_op(a), x, order=2)    # second derivatives too

Property tests in three lines with the hypothesis strategies below (hypothesis is only imported
when a strategy is asked for):

    @given(tensors(shape=(3,), elements=away_from_kinks()))
    def test_relu(x):
        assert_gradients_close(lambda a: a.relu(), x)

Every check passes when |analytical - numerical| <= atol + rtol * |numerical|, in float64 only.
"""
import numbers

import numpy as np

from .engine import Node, grad
from .gradcheck import GradcheckError, _as_inputs, _outputs, _projection, _project, compare
from .tensor import Tensor

__all__ = ["assert_gradients_close", "check_directional", "check_module", "tensors",
           "broadcastable_shapes", "away_from_kinks", "GradcheckError"]


# ---------------------------------------------------------------------------------------------
# element by element
def _kink_hints(result, max_hints=3):
    """Failing elements whose one-sided differences disagree: the input sits on a kink.

    Away from a kink (f(x+e) - f(x)) / e and (f(x) - f(x-e)) / e differ by about e * f''; at a
    kink (relu or abs at 0, a tie in max) they differ by the jump of the derivative, O(1)."""
    hints = []
    for r in result.failures:
        left, right = r.one_sided
        scale = 1.0 + max(abs(left), abs(right))
        if np.isfinite(left) and np.isfinite(right) and abs(right - left) > 1e-3 * scale:
            hints.append(
                f"hint: {r.name} element {_index_text(r.index)} sits on a kink: the one-sided "
                f"differences are {left:.6g} (left) and {right:.6g} (right), so no finite "
                f"difference is meaningful there (relu or abs at 0, a tie in max). Sample inputs "
                f"away from kinks, e.g. with autograd.testing.away_from_kinks.")
    if len(hints) > max_hints:
        hints = hints[:max_hints] + [f"({len(hints) - max_hints} more elements on kinks)"]
    return hints


def _index_text(index):
    return "()" if index == () else str(index[0]) if len(index) == 1 else str(index)


def assert_gradients_close(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Assert that the gradients of fn(*inputs) match central differences, element by element.

    The element-by-element comparison of `autograd.gradcheck`, with its eps, atol and rtol
    (non-scalar outputs are projected on a fixed random r drawn from `seed`); gradcheck's
    other checks (a second backward gives the same gradients, a zero output gradient gives
    zero) are not made. On failure raises GradcheckError (an AssertionError and a
    RuntimeError) with the table of failing elements, worst first, followed by a hint for
    each that sits on a kink.
    """
    __tracebackhide__ = True
    result = compare(fn, inputs, eps, atol, rtol, seed, caller="assert_gradients_close")
    if not result.ok:
        msg = result.message("assert_gradients_close")
        raise GradcheckError("\n".join([msg] + _kink_hints(result)), result)


# ---------------------------------------------------------------------------------------------
# along random directions
def _rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def _dot(nodes, directions):
    """sum_i <nodes_i, directions_i> as one node (None when no node requires grad)."""
    total = None
    for g, v in zip(nodes, directions):
        if g is None:
            continue
        term = (g * v).sum() if isinstance(g, Tensor) else g * v
        total = term if total is None else total + term
    return total


def _gradient_along(fn, checked, directions, seed):
    """h(*inputs) = <grad of the projected fn, v>, recorded (create_graph) so it has a gradient."""
    def h(*ins):
        outs = _outputs(fn(*ins), "check_directional")
        rs = _projection(outs, seed)
        total = None
        for o, r in zip(outs, rs):
            if not o.requires_grad:
                continue
            gs = grad(o, checked, grad_outputs=r, create_graph=True, allow_unused=True)
            term = _dot(gs, directions)
            if term is not None:
                total = term if total is None else total + term
        if total is None:                       # fn is constant in its inputs: so is h
            x = checked[0]
            return x._const_like(0.0 if not isinstance(x, Tensor) else np.zeros(()))
        return total
    return h


def check_directional(fn, inputs, order=1, rng=None, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Compare a directional derivative with a central difference along a random direction.

    order=1: with f = fn projected to a scalar (sum(out * r)) and a random direction v,
        analytical <grad f(x), v>  vs  (f(x + eps v) - f(x - eps v)) / (2 eps).
        Two forward passes and one backward whatever the size of x: use it for large inputs.
    order=2: the same check applied to h(x) = <grad f(x), v> (built with create_graph=True), with
        another direction u: <grad h(x), u> = u^T H v against (h(x + eps u) - h(x - eps u)) / 2eps.
        This catches a backward that is right but not itself differentiable correctly.
    rng: a numpy Generator or a seed (default 0). Returns True or raises GradcheckError.
    """
    __tracebackhide__ = True
    if order not in (1, 2):
        raise ValueError(f"check_directional: order must be 1 or 2, got {order!r}")
    rng = _rng(rng)
    inputs, checked = _as_inputs(inputs, "check_directional")
    seed = int(rng.integers(2**31))
    if order == 2:
        v = _directions(checked, rng)
        fn = _gradient_along(fn, checked, v, seed)
    u = _directions(checked, rng)
    outs = _outputs(fn(*inputs), "check_directional")
    rs = _projection(outs, seed)
    analytical = 0.0
    for o, r in zip(outs, rs):
        if o.requires_grad:
            gs = grad(o, checked, grad_outputs=r, allow_unused=True)
            analytical += sum(float(np.sum(np.asarray(g._data) * d))
                              for g, d in zip(gs, u) if g is not None)
    del outs
    f_plus = _shifted(fn, inputs, checked, u, eps, rs)
    f_minus = _shifted(fn, inputs, checked, u, -eps, rs)
    numerical = (f_plus - f_minus) / (2.0 * eps)
    error = abs(analytical - numerical)
    allowed = atol + rtol * abs(numerical)
    if not error <= allowed:
        what = ("<grad f, v>" if order == 1 else
                "u^T H v (the gradient of the gradient, via create_graph)")
        raise GradcheckError(
            f"check_directional failed at order {order}: along a random direction the "
            f"analytical {what} is {analytical:.6g} but the central difference is "
            f"{numerical:.6g} (error {error:.3g} > allowed {allowed:.3g}; eps={eps:g}, "
            f"atol={atol:g}, rtol={rtol:g})")
    return True


def _directions(checked, rng):
    return [rng.standard_normal(np.shape(x._data)) if isinstance(x, Tensor)
            else float(rng.standard_normal()) for x in checked]


def _shifted(fn, inputs, checked, directions, step, rs):
    """The projected fn at x + step * direction (all inputs moved at once), then x restored."""
    saved = [x._data for x in checked]
    try:
        for x, d in zip(checked, directions):
            x._data = x._data + step * d
        return _project(_outputs(fn(*inputs), "check_directional"), rs)
    finally:
        for x, d in zip(checked, saved):
            x._data = d


# ---------------------------------------------------------------------------------------------
# modules
def _named_parameters(module):
    if hasattr(module, "named_parameters"):
        return list(module.named_parameters())
    if hasattr(module, "parameters"):
        return [(str(i), p) for i, p in enumerate(module.parameters())]
    raise TypeError(f"check_module: {type(module).__name__} has neither named_parameters() nor "
                    f"parameters()")


def _as_float64(x):
    """A module input in float64: float Tensors and arrays are cast, anything else kept."""
    if isinstance(x, Tensor) and x._data.dtype.kind == "f":
        return Tensor(x._data, dtype=np.float64, requires_grad=x.requires_grad, label=x.label)
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(np.float64)
    return x


def check_module(module, inputs, loss_fn=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Gradcheck every parameter of a module (anything with named_parameters() or parameters()).

    The parameters are switched to float64 for the check and their original arrays (dtype and
    values) put back afterwards, even on failure. `inputs` is one input or a list, cast to
    float64; input Tensors with requires_grad are checked too. The checked function is
    loss_fn(module(*inputs)) (default: module(*inputs), projected on a random r if not scalar).
    A module must be deterministic for this to mean anything: switch dropout off (eval mode).
    Failures are reported with the parameters' dotted names. Returns True.
    """
    __tracebackhide__ = True
    named = [(n, p) for n, p in _named_parameters(module) if p.requires_grad]
    if isinstance(inputs, (list, tuple)):
        inputs = list(inputs)
    else:
        inputs = [inputs]
    xs = [_as_float64(x) for x in inputs]
    checked_xs = [(f"input {i}", x) for i, x in enumerate(xs)
                  if isinstance(x, Node) and x.requires_grad]
    saved = [p._data for _, p in named]

    def fn(*_):                # the module reads its parameters itself; compare perturbs them
        out = module(*xs)
        return out if loss_fn is None else loss_fn(out)

    try:
        for _, p in named:
            if isinstance(p, Tensor):
                p._data = p._data.astype(np.float64)
        everything = named + checked_xs
        if not everything:
            raise ValueError(f"check_module: {type(module).__name__} has no parameter that "
                             f"requires grad, and no input requires grad")
        result = compare(fn, [p for _, p in everything], eps, atol, rtol, seed,
                         names=[n for n, _ in everything], caller="check_module")
    finally:
        for (_, p), d in zip(named, saved):
            p._data = d
    if not result.ok:
        msg = result.message(f"check_module({type(module).__name__})")
        raise GradcheckError("\n".join([msg] + _kink_hints(result)), result)
    return True


# ---------------------------------------------------------------------------------------------
# hypothesis strategies
def _float_width(dtype):
    return np.dtype(dtype).itemsize * 8


def tensors(shape=(), elements=None, dtype=np.float64, requires_grad=True):
    """A hypothesis strategy of Tensors.

    shape: a tuple, an int, or a strategy of shapes (e.g. hypothesis.extra.numpy.array_shapes()).
    elements: a strategy of floats (default: finite floats in [-3, 3]; see away_from_kinks).
    """
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    if elements is None:
        elements = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False,
                             width=_float_width(dtype))
    return hnp.arrays(np.dtype(dtype), shape, elements=elements).map(
        lambda a: Tensor(a, dtype=dtype, requires_grad=requires_grad))


def broadcastable_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """A hypothesis strategy of pairs of shapes that broadcast together: ((2, 1, 3), (4, 1))."""
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda b: tuple(b.input_shapes))


def away_from_kinks(kinks=(0.0,), margin=0.1, min_value=-3.0, max_value=3.0, width=64):
    """A hypothesis strategy of floats in [min_value, max_value] at least `margin` from every kink.

    kinks: the points where the function is not differentiable (0 for relu and abs), or a Domain
    of the op table (`OPS["relu"].domains[0]`), whose bounds, kinks and margin are then used.
    """
    from hypothesis import strategies as st
    if hasattr(kinks, "kinks") and hasattr(kinks, "low"):
        domain = kinks
        kinks, margin = domain.kinks, domain.margin
        min_value, max_value = domain.low, domain.high
    elif isinstance(kinks, numbers.Real):
        kinks = (kinks,)
    kinks = tuple(float(k) for k in kinks)
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                     width=width).filter(lambda x: all(abs(x - k) >= margin for k in kinks))
