"""autograd.gradcheck on correct and deliberately wrong gradients.

Wrong gradients come from fake ops: `autograd.ops.Op` rows with a wrong VJP, applied with
op(...) (Tensor) or `Value._node` (Value) and never registered in OPS.
"""
import re
import sys

import numpy as np
import pytest

from autograd import Tensor, Value, gradcheck, grad
from autograd.gradcheck import GradcheckError
from autograd.ops import REAL, Op


def _op(name, array, vjps, scalar=None):
    return Op(name, scalar, array, vjps, (REAL,) * len(vjps), name)


def _sin_op(factor):
    """sin with a VJP scaled by factor: 1 is right, -1 the wrong sign, 2 the wrong factor."""
    return _op("sin_x%g" % factor, lambda c, a: np.sin(a),
               (lambda xp, g, out, c, a: factor * (g * xp.cos(a)),),
               scalar=lambda c, a: float(np.sin(a)))


def _add_row_op(reduce):
    """a (2, 3) + b (1, 3). Right: b's gradient sums g over rows. Wrong: takes row 0 only
    (the broadcast reduction forgotten; shapes agree, so the engine cannot notice)."""
    def db(xp, g, out, c, a, b):
        return g.sum(axis=0, keepdims=True) if reduce else g[:1]
    return _op("add_row", lambda c, a, b: a + b, (lambda xp, g, out, c, a, b: g, db))


def _t(shape, seed=0, low=-2.0, high=2.0):
    return Tensor(np.random.default_rng(seed).uniform(low, high, shape), dtype=np.float64,
                  requires_grad=True)


def _rows(message):
    """The data rows of a failure table: (input, element, analytical, numerical, error)."""
    lines = message.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("input "))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith(("(", "...", "hint")):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


# ---------------------------------------------------------------------------------------------
# correct gradients pass
def test_correct_value_function_passes():
    x, y = Value(0.7, label="x"), Value(-1.3, label="y")
    assert gradcheck(lambda a, b: (a * b).tanh() + a ** 3 / b - (a - b).exp(), [x, y]) is True


def test_correct_tensor_functions_pass():
    a, b = _t((2, 3), 1), _t((3, 4), 2)
    assert gradcheck(lambda p, q: (p @ q).tanh(), [a, b])
    assert gradcheck(lambda p: (p * p).sum(), a)                    # scalar Tensor output
    assert gradcheck(lambda p, q: p + q, [_t((2, 3)), _t((1, 3))])  # engine's broadcast undo
    assert gradcheck(lambda p: _sin_op(1.0)(p), a)
    assert gradcheck(lambda p, q: _add_row_op(True)(p, q),
                     [_t((2, 3)), _t((1, 3), 5)])


def test_single_input_may_be_passed_bare_or_in_a_list():
    x = Value(0.3)
    assert gradcheck(lambda a: a.sin(), x) and gradcheck(lambda a: a.sin(), [x])


def test_inputs_without_requires_grad_are_constants():
    a, c = _t((3,)), Tensor(np.array([1.0, 2.0, 3.0]), dtype=np.float64)
    assert gradcheck(lambda p, q: (p * q).exp(), [a, c])


def test_list_of_outputs():
    a = _t((3,))
    assert gradcheck(lambda p: [p.sin(), (p * p).sum()], a)


def test_grad_and_data_are_left_alone():
    x = Value(0.5)
    x.grad = 7.0
    t = _t((2, 2))
    t.grad = Tensor(np.full((2, 2), 3.0))
    data = t.detach().numpy()
    before = np.array(data)
    gradcheck(lambda a, b: (a * b).sum().tanh(), [t, Tensor(np.ones((2, 2)))])
    gradcheck(lambda a: a * a, x)
    assert x.grad == 7.0 and x.data == 0.5
    assert t.detach().numpy() is data and np.array_equal(data, before)
    np.testing.assert_array_equal(t.grad, np.full((2, 2), 3.0))


def test_data_restored_when_fn_raises_midway():
    t = _t((3,))
    data, before = t.detach().numpy(), np.array(t.data)
    calls = []

    def fn(a):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return a.sin(), a.cos()     # two outputs: evaluated eagerly, so fn's call 3 is a pass
    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(fn, t)
    assert t.detach().numpy() is data and np.array_equal(t.data, before)


# ---------------------------------------------------------------------------------------------
# wrong gradients are caught and reported
@pytest.mark.parametrize("factor", [-1.0, 2.0, 1.01])
def test_wrong_tensor_vjp_is_caught(factor):
    t = _t((2, 3))
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda a: _sin_op(factor)(a), t)
    assert isinstance(e.value, GradcheckError)
    msg = str(e.value)
    assert "input" in msg and "element" in msg and "analytical" in msg
    assert "numerical" in msg and "error" in msg
    assert len(_rows(msg)) == 6


@pytest.mark.parametrize("factor", [-1.0, 2.0])
def test_wrong_value_vjp_is_caught(factor):
    op = _sin_op(factor)
    x = Value(0.4, label="x")
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda a: Value._node(op.scalar(None, a.data), op, (a,)), x)
    (row,) = _rows(str(e.value))
    assert row[0] == "x (0)" and row[1] == "-"
    assert float(row[2]) == pytest.approx(factor * np.cos(0.4), rel=1e-5)
    assert float(row[3]) == pytest.approx(np.cos(0.4), rel=1e-5)


def test_missing_broadcast_reduction_is_caught_on_that_input_only():
    a, b = _t((2, 3)), _t((1, 3), 5)
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda p, q: _add_row_op(False)(p, q), [a, b])
    rows = _rows(str(e.value))
    assert {r[0] for r in rows} == {"input 1"}
    assert {r[1] for r in rows} == {"(0, 0)", "(0, 1)", "(0, 2)"}


def test_one_wrong_jacobian_entry_is_caught_through_the_projection():
    """Non-scalar outputs are checked via sum(out * r): one bad entry still shows."""
    def vjp(xp, g, out, c, a):
        wrong = np.ones(a.shape)
        wrong[1, 2] = 1.5
        return g * xp.cos(a) * wrong
    op = _op("sin_bad_entry", lambda c, a: np.sin(a), (vjp,))
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda a: op(a), _t((2, 3)))
    assert [r[1] for r in _rows(str(e.value))] == ["(1, 2)"]
    assert "sum(out * r)" in str(e.value)


def test_worst_offender_first():
    def vjp(xp, g, out, c, a):
        return g * np.array([1.0, 1.5, 3.0, 2.0])
    op = _op("scaled", lambda c, a: a, (vjp,))
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda a: op(a).sum(), _t((4,)))
    assert [r[1] for r in _rows(str(e.value))] == ["2", "3", "1"]
    errors = [float(r[4]) for r in _rows(str(e.value))]
    assert errors == sorted(errors, reverse=True)


def test_long_tables_are_cut():
    with pytest.raises(AssertionError) as e:
        gradcheck(lambda a: _sin_op(-1.0)(a), _t((4, 5)))
    assert len(_rows(str(e.value))) == 10
    assert "... and 10 more" in str(e.value)


def test_nan_gradient_is_a_failure():
    op = _op("nan_grad", lambda c, a: a * 2.0, (lambda xp, g, out, c, a: g * np.nan,))
    with pytest.raises(AssertionError, match="nan"):
        gradcheck(lambda a: op(a), _t((2,)))


def test_gradient_of_the_wrong_shape_is_named():
    op = _op("bad_shape", lambda c, a: a.sum(), (lambda xp, g, out, c, a: g * np.ones(3),))
    x = Tensor(np.ones((3, 1)), dtype=np.float64, requires_grad=True)
    with pytest.raises(Exception, match=r"shape"):
        gradcheck(lambda a: op(a), x)


# ---------------------------------------------------------------------------------------------
# bad input is refused by name
def test_float32_tensor_is_refused():
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float32)
    with pytest.raises(TypeError, match=r"input 0 is a float32 Tensor.*float64"):
        gradcheck(lambda a: a.sin(), x)


def test_float32_output_is_refused():
    x = _t((2,))
    to32 = _op("to32", lambda c, a: a.astype(np.float32), (lambda xp, g, out, c, a: g,))
    with pytest.raises(TypeError, match=r"returned a float32 Tensor"):
        gradcheck(lambda a: to32(a), x)


def test_nothing_to_check():
    with pytest.raises(ValueError, match="none of the 1 inputs requires grad"):
        gradcheck(lambda a: a.sin(), Tensor(np.ones(2), dtype=np.float64))


def test_non_node_input_and_output():
    with pytest.raises(TypeError, match="input 1 is a float"):
        gradcheck(lambda a, b: a * b, [Value(1.0), 2.0])
    with pytest.raises(TypeError, match="fn must return a Value or Tensor"):
        gradcheck(lambda a: 3.0, Value(1.0))


def test_grad_helper_unaffected_by_gradcheck():
    """gradcheck uses autograd.grad and leaves the graph usable for the caller."""
    x = Value(1.5)
    y = x * x
    gradcheck(lambda a: a * a, x)
    assert grad(y, x)[0].data == pytest.approx(3.0)


def test_outputs_sharing_one_graph_are_checked_together():
    """Regression: a tuple of outputs with a common subgraph (an LSTM cell's (h, c)) ran one
    backward per output and the second hit the freed graph."""
    import numpy as np

    from autograd import Tensor, gradcheck
    x = Tensor(np.array([0.3, -0.7]), requires_grad=True)

    def f(x):
        shared = (x * x).tanh()
        return shared * 2.0, shared.exp()
    assert gradcheck(f, [x])


# ---------------------------------------------------------------------------------------------
# many elements: the perturbed evaluations run the compiled forward code
def test_many_elements_are_evaluated_by_compiled_code_with_the_same_values():
    gc = sys.modules["autograd.gradcheck"]     # the module: the package's name is the function
    a, b = _t((24, 16), seed=1), _t((16, 8), seed=2)

    def fn(a, b):
        return (a @ b).tanh().sum()
    f0 = fn(a, b).item()
    value = gc._evaluator(fn, [a, b], [np.ones(())], f0, "test")
    assert value.__name__ == "value"            # the compiled path, not the eager fallback
    orig = a._data
    a._data = orig.copy()
    try:
        a._data[3, 4] += 1e-3
        with gc.no_grad():
            expected = fn(a, b).item()
        assert value() == pytest.approx(expected, rel=1e-13, abs=0)
    finally:
        a._data = orig


def test_a_wrong_gradient_is_caught_with_many_elements():
    t = _t((20, 20))
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: _sin_op(2.0)(a).sum(), t)
    assert gradcheck(lambda a: (a.sin() * a).sum(), t)
