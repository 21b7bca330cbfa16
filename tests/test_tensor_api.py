"""The Tensor API of issue #3: dtype rules, backward seeding, `.grad`, casts and conversions."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


@pytest.fixture
def float64_default():
    prev = ag.get_default_dtype()
    ag.set_default_dtype(np.float64)
    yield
    ag.set_default_dtype(prev)


def test_lists_and_numbers_become_float32():
    assert Tensor([1, 2, 3]).dtype == np.float32
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3).dtype == np.float32
    assert (Tensor([1.0]) * 2.5).dtype == np.float32       # a Python number keeps x's dtype


def test_set_default_dtype_switches(float64_default):
    assert Tensor([1, 2]).dtype == np.float64
    assert Tensor(2.0).dtype == np.float64


def test_float64_arrays_stay_and_explicit_dtype_wins():
    assert Tensor(np.ones(3)).dtype == np.float64
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="float"):
        ag.set_default_dtype(np.int32)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype"):
        Tensor(np.arange(3), requires_grad=True)
    t = Tensor(np.arange(3))
    assert t.dtype.kind == "i"


def test_backward_on_non_scalar_needs_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        y.backward()
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\).*\(2, 3\)"):
        (x * 2.0).backward(np.ones(3))


def test_one_element_non_scalar_backward_is_allowed():
    x = Tensor(np.ones((1, 1)), requires_grad=True)
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad, [[3.0]])


def test_grad_is_assignable_and_accumulates():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.grad = Tensor(np.array([10.0, 10.0]), dtype=x.dtype)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [12.0, 14.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_gradient_of_every_op_has_its_input_shape_and_dtype():
    x = Tensor(np.ones((2, 1, 3, 1), dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones((1,), dtype=np.float64), requires_grad=True)
    y = (x * np.ones((2, 1, 3, 4)) + b).softmax(axis=-1).var(axis=(1, 3)).max()
    y.backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32
    assert b.grad.shape == b.shape and b.grad.dtype == np.float64


def test_conversions_and_facts():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and repr(t.shape) == "torch.Size([2, 3])"
    assert float(t.sum()) == 15.0 and t.sum().item() == 15.0
    assert t.numpy() is t.detach().numpy() and np.shares_memory(t.data.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match=r"a Tensor with 6 elements cannot be converted"):
        float(t)
    assert t.double().dtype == np.float64 and t.float().dtype == np.float32
    assert t.astype(np.int32).dtype == np.int32


def test_detach_and_no_grad_stop_gradients():
    x = Tensor(np.ones(3), requires_grad=True)
    assert not x.detach().requires_grad
    with ag.no_grad():
        y = x.softmax(0)
    assert not y.requires_grad
    assert ag.conv2d(Tensor(np.ones((1, 1, 3, 3))), np.ones((1, 1, 2, 2))).requires_grad is False


def test_numpy_operands_on_either_side():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.array([3.0, 4.0]) * x + x / np.array([2.0, 4.0]) - 1.0
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.5, 4.25])


def test_tensor_sub_and_div_by_a_value_raise_like_add():
    """Regression: Tensor / Value went through Value.__float__ and silently dropped the
    Value's gradient."""
    from autograd import Value
    t = Tensor([1.0])
    for expr, name in ((lambda: t / Value(2.0), "div"), (lambda: t - Value(2.0), "sub"),
                       (lambda: t + Value(2.0), "add")):
        with pytest.raises(TypeError, match=f"'{name}' between a Tensor and a Value"):
            expr()


def test_equality_is_elementwise_and_truth_value_needs_one_element():
    """As torch: == and != give bool Tensors, hashing stays by identity (dict keys work),
    and bool() of a many-element tensor is an error instead of always True."""
    t = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((t == 2).data, [False, True, False])
    np.testing.assert_array_equal((t != 2).data, [True, False, True])
    assert {t: "x"}[t] == "x"
    assert bool(Tensor([0.0])) is False and bool(Tensor(2.0)) is True
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(t)


def test_composite_ops_name_themselves_in_shape_errors():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))
    for expr, name in ((lambda: a - b, "sub"), (lambda: a / b, "div"),
                       (lambda: np.ones((4, 5)) - a, "sub")):
        with pytest.raises(ValueError, match=rf"(?m)^The size of tensor a.*\n{name}: invalid input "
                                             rf"shapes"):
            expr()
    with pytest.raises(IndexError, match=r"Dimension out of range.*but got 4"):
        a.softmax(4)


def _shares(a, b):
    return a is b or np.shares_memory(a, b)


def test_leaf_gradients_never_alias_another_array():
    """A leaf's .grad may be the VJP's own array (no copy), but never one that something else
    sees: an in-place update of one .grad (clipping, an optimizer) must not change another."""
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()                 # add's VJP hands one array to both inputs
    assert not _shares(a.grad, b.grad)
    a.grad *= 5.0
    np.testing.assert_array_equal(b.grad, np.ones(3))

    seed = np.full(3, 2.0)
    c = Tensor(np.ones(3), requires_grad=True)
    c.backward(seed)                         # the seed of a leaf
    assert not _shares(c.grad, seed)

    x = Tensor(np.arange(6.0), requires_grad=True)
    y = x.reshape((2, 3))                    # reshape's VJP returns a view of y's gradient
    y.retain_grad()
    (y * 3.0).sum().backward()
    assert not _shares(x.grad, y.grad)
    x.grad[0] = 100.0
    np.testing.assert_array_equal(y.grad, np.full((2, 3), 3.0))

    w = Tensor(np.ones((2, 2)), requires_grad=True)
    g = np.ones((2, 2))
    (w * 1.0).backward(g)                    # mul's VJP result is fresh: adopted, not g itself
    assert not _shares(w.grad, g)
    w.grad += 1.0
    np.testing.assert_array_equal(g, np.ones((2, 2)))
