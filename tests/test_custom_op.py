"""A user-defined op: an `Op` row called like a function, on Tensors and on Values."""
import math

import numpy as np
import pytest

from autograd import Tensor, Value, gradcheck
from autograd.ops import REAL, Op

square = Op("square", lambda c, a: a * a, lambda c, a: a * a,
            (lambda xp, g, out, c, a: 2.0 * g * a,), (REAL,), "a^2")
scaled = Op("scaled", None, lambda c, a: c * a, (lambda xp, g, out, c, a: c * g,), (REAL,), "c a")


def test_custom_op_on_values_and_tensors():
    v = Value(3.0)
    y = square(v)
    y.backward()
    assert y.data == 9.0 and v.grad == 6.0
    t = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    square(t).sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, -4.0])
    assert gradcheck(lambda a: square(a).sin(), [Value(0.7)])


def test_custom_op_ctx_and_second_derivative():
    import autograd
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = scaled(square(x), ctx=3.0).sum()           # 3 x^2
    (g,) = autograd.grad(y, [x], create_graph=True)
    np.testing.assert_allclose(g.data, 6.0 * x.data)
    (h,) = autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.data, [6.0, 6.0])
    assert math.isclose(float(y.data), 3 * (0.25 + 2.25))


def test_custom_op_errors_name_the_op():
    with pytest.raises(TypeError, match="op 'square' takes 1 input"):
        square(Value(1.0), Value(2.0))
    with pytest.raises(TypeError, match="op 'scaled' has no float forward"):
        scaled(Value(1.0), ctx=2.0)
    with pytest.raises(TypeError, match="op 'square' needs all Tensors or all Values"):
        square(1.0)


def test_three_input_value_op_gets_every_gradient():
    """Regression: the scalar replay handled one and two inputs only."""
    fma = Op("fma", lambda c, a, b, d: a * b + d, lambda c, a, b, d: a * b + d,
             (lambda xp, g, out, c, a, b, d: g * b, lambda xp, g, out, c, a, b, d: g * a,
              lambda xp, g, out, c, a, b, d: g), (REAL, REAL, REAL), "a b + d")
    a, b, d = Value(2.0), Value(3.0), Value(5.0)
    y = fma(a, b, d)
    y.backward()
    assert (y.data, a.grad, b.grad, d.grad) == (11.0, 3.0, 2.0, 1.0)
    assert gradcheck(lambda a, b, d: fma(a, b, d).tanh(), [Value(0.1), Value(0.2), Value(0.3)])
