"""`Value`: edge values as in PyTorch, Python numbers mixing in, repr, refusing Tensors."""
import math

import numpy as np
import pytest

from autograd import Tensor, Value


def _value_and_grad(fn, x):
    v = Value(x)
    out = fn(v)
    out.backward()
    return out.data, v.grad


def _torch_value_and_grad(torch, fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(t)
    out.backward()
    return out.item(), t.grad.item()


# name, our function, torch's, input: the edges where float math raises or is undefined
EDGES = [
    ("relu at 0", lambda v: v.relu(), lambda t: t.relu(), 0.0),
    ("abs at 0", lambda v: v.abs(), lambda t: t.abs(), 0.0),
    ("abs at -0.0", lambda v: abs(v), lambda t: t.abs(), -0.0),
    ("leaky_relu at 0", lambda v: v.leaky_relu(0.1),
     lambda t: __import__("torch").nn.functional.leaky_relu(t, 0.1), 0.0),
    ("sqrt at 0", lambda v: v.sqrt(), lambda t: t.sqrt(), 0.0),
    ("sqrt of negative", lambda v: v.sqrt(), lambda t: t.sqrt(), -1.0),
    ("log at 0", lambda v: v.log(), lambda t: t.log(), 0.0),
    ("log of negative", lambda v: v.log(), lambda t: t.log(), -2.0),
    ("exp overflow", lambda v: v.exp(), lambda t: t.exp(), 1000.0),
    ("exp underflow", lambda v: v.exp(), lambda t: t.exp(), -1000.0),
    ("sigmoid far left", lambda v: v.sigmoid(), lambda t: t.sigmoid(), -1000.0),
    ("sigmoid far right", lambda v: v.sigmoid(), lambda t: t.sigmoid(), 1000.0),
    ("tanh far", lambda v: v.tanh(), lambda t: t.tanh(), 50.0),
    ("divide by zero", lambda v: v / 0.0, lambda t: t / 0.0, 1.0),
    ("negative divided by zero", lambda v: v / 0.0, lambda t: t / 0.0, -1.0),
    ("zero divided by zero", lambda v: v / 0.0, lambda t: t / 0.0, 0.0),
    ("number over zero", lambda v: 1.0 / v, lambda t: 1.0 / t, 0.0),
    ("reciprocal of -0.0", lambda v: v ** -1, lambda t: t ** -1, -0.0),
    ("negative base, integer power", lambda v: v ** 3, lambda t: t ** 3, -2.0),
    ("negative base, even power", lambda v: v ** 2, lambda t: t ** 2, -1.5),
    ("negative base, fractional power", lambda v: v ** 0.5, lambda t: t ** 0.5, -2.0),
    ("zero to a negative power", lambda v: v ** -2, lambda t: t ** -2, 0.0),
    ("zero to the zero", lambda v: v ** 0, lambda t: t ** 0, 0.0),
    ("power overflow", lambda v: v ** 400, lambda t: t ** 400, 10.0),
    ("number to a Value power at 0", lambda v: 0.0 ** v, lambda t: 0.0 ** t, 2.0),
    ("negative number to a Value power", lambda v: (-2.0) ** v, lambda t: (-2.0) ** t, 2.0),
]


@pytest.mark.parametrize("fn, tfn, x", [e[1:] for e in EDGES], ids=[e[0] for e in EDGES])
def test_edge_values_match_torch(fn, tfn, x):
    torch = pytest.importorskip("torch")
    got = _value_and_grad(fn, x)
    want = _torch_value_and_grad(torch, tfn, x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)


def test_edge_grads_by_hand():
    assert _value_and_grad(lambda v: v.relu(), 0.0) == (0.0, 0.0)
    assert _value_and_grad(lambda v: v.abs(), 0.0) == (0.0, 0.0)
    assert _value_and_grad(lambda v: v.sqrt(), 0.0) == (0.0, math.inf)
    assert _value_and_grad(lambda v: v.log(), 0.0) == (-math.inf, math.inf)
    assert _value_and_grad(lambda v: v.exp(), 1000.0) == (math.inf, math.inf)
    assert _value_and_grad(lambda v: v / 0.0, 1.0) == (math.inf, math.inf)
    assert _value_and_grad(lambda v: v ** 3, -2.0) == (-8.0, 12.0)


def test_division_by_zero_number_regression():
    # Regression: v / 0.0 raised ZeroDivisionError (Python's 0.0 ** -1.0) instead of giving inf
    assert (Value(2.0) / 0).data == math.inf
    assert (Value(-2.0) / 0.0).data == -math.inf
    assert math.isnan((Value(0.0) / 0.0).data)


def test_numbers_mix_on_both_sides():
    x = Value(3.0)
    out = [x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 6 / x, x ** 2, 2 ** x, -x]
    assert [o.data for o in out] == [4.0, 4.0, 2.0, -2.0, 6.0, 6.0, 1.5, 2.0, 9.0, 8.0, -3.0]
    y = 1 - x / 2 + 2 ** x
    y.backward()
    assert x.grad == pytest.approx(-0.5 + 8.0 * math.log(2.0), rel=1e-12)


def test_numpy_scalars_mix():
    x = Value(2.0)
    y = np.float64(3.0) * x + np.int64(1)
    assert isinstance(y, Value) and y.data == 7.0


def test_value_exponent_gradient():
    a, b = Value(2.0), Value(3.0)
    y = a ** b
    y.backward()
    assert (y.data, a.grad) == (8.0, 12.0)
    assert b.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-12)


def test_comparisons_use_data():
    a, b = Value(1.0), Value(2.0)
    assert a < b and b > a and a <= 1.0 and b >= 2 and max([a, b]) is b


def test_repr():
    assert repr(Value(2.0)) == "Value(data=2, grad=0)"
    v = Value(-0.123456789, label="w1")
    v.grad = 1.5
    assert repr(v) == "Value(data=-0.123457, grad=1.5, label='w1')"


def test_constructor_errors():
    with pytest.raises(TypeError, match="real number, got str 'a'"):
        Value("a")
    with pytest.raises(TypeError, match="needs a number, got a Tensor"):
        Value(Tensor([1.0]))
    assert Value(np.float32(0.5)).data == 0.5
    assert Value(True).data == 1.0


@pytest.mark.parametrize("op, name", [
    (lambda v, t: v + t, "add"), (lambda v, t: v * t, "mul"), (lambda v, t: v ** t, "pow"),
    (lambda v, t: v - t, "sub"), (lambda v, t: v / t, "div"),
])
def test_value_with_tensor_raises(op, name):
    with pytest.raises(TypeError, match=f"'{name}' between a Value and a Tensor"):
        op(Value(1.0), Tensor([1.0, 2.0]))


@pytest.mark.parametrize("op", [
    lambda v, t: t + v, lambda v, t: t * v, lambda v, t: t ** v,
])
def test_tensor_with_value_raises(op):
    with pytest.raises(TypeError, match="between a Tensor and a Value"):
        op(Value(1.0), Tensor([1.0, 2.0]))


def test_value_with_string_is_unsupported():
    # NotImplemented lets Python raise its usual error (str * Value tries repetition first)
    for op in (lambda v: v + "a", lambda v: v - "a", lambda v: v / "a", lambda v: v ** "a"):
        with pytest.raises(TypeError, match="unsupported operand"):
            op(Value(1.0))


def test_detach_and_zero_grad():
    x = Value(2.0)
    d = x.detach()
    y = x * d
    y.backward()
    assert x.grad == 2.0 and d.grad == 0.0 and not d.requires_grad
    x.zero_grad()
    assert x.grad == 0.0


def test_float_and_item():
    v = Value(1.25)
    assert float(v) == 1.25 and v.item() == 1.25


def test_every_node_keeps_grad():
    x = Value(1.0, label="x")
    h = x * 3.0
    y = h.tanh()
    y.backward()
    assert h.grad == pytest.approx(1 - math.tanh(3.0) ** 2)
    assert y.grad == 1.0
