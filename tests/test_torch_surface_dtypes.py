"""Tensors and torch's dtypes: Tensor.dtype, the module's dtype names, type promotion in every
binary op, unary ops and reductions on integers, in-place casts, requires_grad on integers, the
default dtype. Every case runs on tapegrad and on torch and compares dtypes, values and errors.
"""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
from autograd import Tensor  # noqa: E402
from torch_surface import assert_same, raises_like_torch, same  # noqa: E402

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
_VALUES = {"bool": [True, False, True], "uint8": [1, 2, 3], "int8": [1, -2, 3],
           "int16": [4, -5, 6], "int32": [7, 8, -9], "int64": [1, 2, -3],
           "float16": [0.5, -1.5, 2.0], "float32": [0.25, 1.5, -2.0],
           "float64": [0.75, -0.5, 3.0]}


def _t(m, name, zero_dim=False):
    values = _VALUES[name][0] if zero_dim else _VALUES[name]
    return m.tensor(values, dtype=getattr(m, name))


def test_dtype_objects_are_torchs():
    x = Tensor(np.ones(2, np.float32))
    assert x.dtype is autograd.float32 and x.dtype == np.float32
    assert str(x.dtype) == "torch.float32" and repr(autograd.int64) == "torch.int64"
    assert autograd.float is autograd.float32 and autograd.long is autograd.int64
    assert autograd.double is autograd.float64 and autograd.half is autograd.float16
    assert autograd.int is autograd.int32 and autograd.bool.is_floating_point is False
    assert isinstance(x.dtype, autograd.dtype)
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "bool", "float", "double", "long", "int", "half", "short"):
        assert str(getattr(autograd, name)) == str(getattr(torch, name))


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, repeat=2)))
@pytest.mark.parametrize("op", ["add", "mul", "truediv", "maximum", "lt", "eq"])
def test_binary_promotion_of_two_tensors(op, a, b):
    fn = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y,
          "truediv": lambda x, y: x / y, "maximum": lambda m, x, y: m.maximum(x, y),
          "lt": lambda x, y: x < y, "eq": lambda x, y: x == y}[op]
    if op == "maximum":
        same(lambda m: fn(m, _t(m, a), _t(m, b)), rtol=1e-3)
    else:
        same(lambda m: fn(_t(m, a), _t(m, b)), rtol=1e-3)


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "rsub", "rtruediv"])
def test_binary_promotion_with_a_python_number(op, a, number):
    fn = {"add": lambda x: x + number, "sub": lambda x: x - number,
          "mul": lambda x: x * number, "truediv": lambda x: x / number,
          "pow": lambda x: x ** number, "rsub": lambda x: number - x,
          "rtruediv": lambda x: number / x}[op]
    same(lambda m: fn(_t(m, a)), rtol=1e-3)


@pytest.mark.parametrize("a,b", [("float32", "float64"), ("int64", "float64"),
                                 ("int8", "int64"), ("uint8", "int8"), ("float16", "int64"),
                                 ("bool", "float64"), ("int32", "float32")])
def test_a_zero_dim_tensor_acts_like_a_number(a, b):
    same(lambda m: _t(m, a) * _t(m, b, zero_dim=True), rtol=1e-3)
    same(lambda m: _t(m, a, zero_dim=True) + _t(m, b), rtol=1e-3)


def test_where_promotes_its_values():
    same(lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), 0.5))
    same(lambda m: m.where(m.tensor([True, False]), m.tensor([1.0, 2.0]), 0))
    same(lambda m: m.where(m.tensor([True, False]), 1.0, 0.0))
    same(lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]),
                           m.tensor([1.5, 2.5], dtype=m.float64)))
    raises_like_torch(lambda m: m.where(m.tensor([1.0, 0.0]), m.tensor([1.0, 2.0]), 0.0))


@pytest.mark.parametrize("a", ["bool", "uint8", "int32", "int64", "float16", "float64"])
@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sigmoid", "tanh", "sin", "abs", "relu",
                                "neg", "log2", "floor", "round", "sign", "square"])
def test_unary_ops_on_every_dtype(op, a):
    same(lambda m: getattr(_t(m, a), op)(), rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("a", ["bool", "uint8", "int32", "int64", "float32"])
@pytest.mark.parametrize("op", ["sum", "prod", "mean", "std", "amax", "cumsum", "argmax",
                                "logsumexp"])
def test_reduction_dtypes(op, a):
    args = {"cumsum": (0,), "logsumexp": (0,)}.get(op, ())
    same(lambda m: getattr(_t(m, a), op)(*args), rtol=1e-5)


def test_reduction_dtype_argument():
    same(lambda m: m.tensor([1, 2, 3]).sum(dtype=m.float64))
    same(lambda m: m.tensor([1, 2, 3]).mean(dtype=m.float32))
    same(lambda m: m.tensor([1.5, 2.5]).sum(dtype=m.int64))
    raises_like_torch(lambda m: m.tensor([1, 2, 3]).mean())
    raises_like_torch(lambda m: m.tensor([True, False]).mean())


@pytest.mark.parametrize("self_dtype,op,other", [
    ("int64", "iadd", 1.5), ("int64", "itruediv", 2), ("bool", "iadd", 1), ("int32", "imul", 2.0),
    ("int64", "iadd", 2), ("float32", "iadd", 2), ("float32", "imul", "float64"),
    ("uint8", "iadd", 300), ("int64", "isub", True)])
def test_in_place_ops_write_into_their_dtype_or_raise_torchs_error(self_dtype, op, other):
    def run(m):
        x = _t(m, self_dtype)
        y = _t(m, other) if isinstance(other, str) else other
        fn = {"iadd": x.__iadd__, "isub": x.__isub__, "imul": x.__imul__,
              "itruediv": x.__itruediv__}[op]
        return fn(y)
    if self_dtype == "bool" or (op == "itruediv") or isinstance(other, float) and \
            self_dtype != "float32":
        raises_like_torch(run)
    elif op == "isub" and other is True:
        raises_like_torch(run)
    else:
        same(run)


def test_integer_item_assignment_keeps_the_dtype():
    def run(m):
        n = m.zeros((3, 3), dtype=m.int32)
        n[1, 2] += 1
        n[0] = 7
        return n
    same(run)


def test_only_float_tensors_require_grad():
    raises_like_torch(lambda m: m.tensor([1, 2], requires_grad=True))
    raises_like_torch(lambda m: m.tensor([1, 2]).requires_grad_())
    raises_like_torch(lambda m: m.ones(2, dtype=m.long, requires_grad=True))
    same(lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True))


def test_matmul_does_not_promote():
    raises_like_torch(lambda m: m.ones(2, 3) @ m.ones(3, 2, dtype=m.float64))
    raises_like_torch(lambda m: m.ones(3) @ m.ones(3, dtype=m.float64))
    raises_like_torch(lambda m: m.ones(2, 3, dtype=m.int64) @ m.ones(3, 2))
    same(lambda m: m.ones(2, 3, dtype=m.int64) @ m.ones(3, 2, dtype=m.int64))


def test_mixed_float_gradients_come_back_in_each_inputs_dtype():
    def run(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([3.0, 4.0], dtype=m.float64, requires_grad=True)
        (a * b).sum().backward()
        return a.grad, b.grad
    same(run)


def test_default_dtype_switch():
    try:
        for m in (autograd, torch):
            m.set_default_dtype(m.float64)
        same(lambda m: m.tensor([1.0, 2.0]))
        same(lambda m: m.zeros(2))
        same(lambda m: m.tensor([1, 2]) / 2)
        assert autograd.get_default_dtype() is autograd.float64
        raises_like_torch(lambda m: m.set_default_dtype(m.int32))
    finally:
        for m in (autograd, torch):
            m.set_default_dtype(m.float32)
    assert Tensor([1.0]).dtype is autograd.float32


def test_promotion_functions_are_torchs():
    assert_same(autograd.promote_types(autograd.uint8, autograd.int8),
                torch.promote_types(torch.uint8, torch.int8))
    assert_same(autograd.result_type(Tensor(np.arange(3)), 2.5),
                torch.result_type(torch.arange(3), 2.5))
    assert autograd.can_cast(autograd.float32, autograd.int32) is \
        torch.can_cast(torch.float32, torch.int32)
    assert autograd.finfo(autograd.float32).eps == torch.finfo(torch.float32).eps
    assert autograd.iinfo(autograd.int8).max == torch.iinfo(torch.int8).max


def test_the_fast_path_keeps_float32_with_numbers():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    for y in (x * 2, 2 * x, x + 2.5, x - 1, 1 - x, x / 3, 3 / x, x ** 2, -x):
        assert y.dtype is autograd.float32


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge", "eq", "ne"])
@pytest.mark.parametrize("dtype, number", [("float32", 0.7), ("float16", 0.1),
                                           ("float64", 0.7), ("int64", 0.5), ("int32", 2),
                                           ("float32", 16777217), ("bool", True)])
def test_comparison_with_a_python_number_is_in_the_promoted_dtype(op, dtype, number):
    """A number is a wrapped number, as in every binary op: float32(0.7) < 0.7 is False in
    torch (0.7 is rounded to float32 first); compared as a float64 array it was True."""
    values = {"bool": [True, False], "int64": [0, 1], "int32": [2, 3]}.get(
        dtype, [number, 0.1, 2.0])
    same(lambda m: getattr(m.tensor(values, dtype=getattr(m, dtype)), op)(number))
