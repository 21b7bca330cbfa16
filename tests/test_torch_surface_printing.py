"""Printing as torch prints: tensors (values, dtype=, grad_fn=, requires_grad=), f-string
formats of 0-d tensors, torch.Size, dtypes, named tuples, Parameters, set_printoptions.
tensor_str itself is tested on thousands of arrays in tests/test_tensor_str.py; here the
Tensor class is checked to pass it the right facts."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
import nn  # noqa: E402
from torch_surface import run_both  # noqa: E402


def same_text(expr, fn=repr):
    ours, theirs = run_both(expr)
    assert not isinstance(theirs, Exception), theirs
    if isinstance(ours, Exception):
        raise ours
    assert fn(ours) == fn(theirs), f"\n{fn(ours)}\n{fn(theirs)}"


@pytest.mark.parametrize("expr", [
    lambda m: m.tensor(3), lambda m: m.tensor(2.5), lambda m: m.tensor([1.0, 2.0]),
    lambda m: m.tensor([[1, 2], [3, 4]]), lambda m: m.tensor([True, False]),
    lambda m: m.tensor([1.5], dtype=m.float64), lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([0.1, 1e-5, 1e6]), lambda m: m.zeros(0), lambda m: m.zeros(2, 0),
    lambda m: m.arange(2000.0), lambda m: m.tensor([float("nan"), float("inf"), -1.0]),
    lambda m: m.ones(2, requires_grad=True), lambda m: m.ones(2, dtype=m.float16),
    lambda m: m.linspace(0, 1, 7).reshape(7, 1)])
def test_tensor_repr(expr):
    same_text(expr)
    same_text(expr, str)


@pytest.mark.parametrize("expr", [
    lambda m: m.ones(2, requires_grad=True) * 2,
    lambda m: m.ones(2, requires_grad=True).sum(),
    lambda m: m.ones(2, requires_grad=True).mean(),
    lambda m: m.ones(2, 3, requires_grad=True).t(),
    lambda m: m.ones(2, requires_grad=True).exp() - 1,
    lambda m: (m.ones(2, requires_grad=True) ** 2).sum(),
    lambda m: m.ones(2, dtype=m.float64, requires_grad=True) / 3,
    lambda m: m.nn.functional.mse_loss(m.ones(2, requires_grad=True), m.zeros(2))
    if m is torch else __import__("nn").functional.mse_loss(m.ones(2, requires_grad=True),
                                                            m.zeros(2)),
])
def test_repr_shows_grad_fn_as_torch(expr):
    same_text(expr)


def test_repr_after_backward_keeps_its_grad_fn():
    def run(m):
        x = m.ones(3, requires_grad=True)
        out = (x * 2).sum()
        out.backward()
        return out
    same_text(run)


@pytest.mark.parametrize("spec", [".4f", ".2e", "", "8.3f", ".1%"])
def test_format_of_a_0d_tensor(spec):
    same_text(lambda m: m.tensor(0.123456), lambda t: format(t, spec))
    same_text(lambda m: m.tensor(2.5, requires_grad=True) * 2, lambda t: format(t, spec))


def test_format_of_an_integer_and_of_a_tensor_with_dims():
    same_text(lambda m: m.tensor(7), lambda t: f"{t:5d}")
    ours, theirs = run_both(lambda m: format(m.ones(2), ".2f"))
    assert type(ours) is type(theirs) is TypeError


def test_size_and_dtype_text():
    same_text(lambda m: m.ones(2, 3).shape)
    same_text(lambda m: m.ones(2, 3).size(), str)
    same_text(lambda m: m.ones(()).shape)
    same_text(lambda m: m.ones(2, 3).shape[1:])
    same_text(lambda m: m.ones(2, 3).dtype, str)
    same_text(lambda m: m.ones(2, 3).shape.numel(), str)
    same_text(lambda m: m.Size([2, 3]) + (4,))


def test_named_tuples_print_as_torch():
    same_text(lambda m: m.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1))
    same_text(lambda m: m.tensor([[1.0, 5.0], [3.0, 2.0]]).sort(0))
    same_text(lambda m: m.tensor([3.0, 1.0, 2.0]).topk(2))


def test_parameter_prints_as_torch():
    ours = nn.Parameter(autograd.tensor([1.0, 2.0]))
    theirs = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(ours) == repr(theirs)


def test_set_printoptions():
    try:
        for m in (autograd, torch):
            m.set_printoptions(precision=2)
        same_text(lambda m: m.tensor([1.23456, 2.5]))
        for m in (autograd, torch):
            m.set_printoptions(sci_mode=True)
        same_text(lambda m: m.tensor([1.23456, 2.5]))
    finally:
        for m in (autograd, torch):
            m.set_printoptions(profile="default")
            m.set_printoptions(sci_mode=None)
    same_text(lambda m: m.tensor([1.23456, 2.5]))


def test_grad_fn_text():
    x = autograd.ones(2, requires_grad=True)
    y = x * 2
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")
    assert repr(y.grad_fn.next_functions[0][0]).startswith("<AccumulateGrad object at 0x")
    assert type(y.grad_fn).__name__ == "MulBackward0"
    assert np.array_equal(y.grad_fn.next_functions[0][0].variable.numpy(force=True), [1, 1])
