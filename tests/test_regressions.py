"""Named regressions: every bug found by the hardening campaign (issue #7) stays here as a test
named after it, with the date-free story in its docstring."""
import numpy as np
import pytest

import autograd
import nn
import optim
from autograd import Tensor


def test_optimizer_hyperparameter_of_wrong_type_is_named():
    """SGD(params, lr="0.1") used to fail inside the range check with "'<=' not supported
    between instances of 'float' and 'str'", which names neither the argument nor the optimizer's
    expectation. Now: TypeError "Invalid learning rate: expected a real number, got str '0.1'"."""
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="Invalid learning rate: expected a real number, got str"):
        optim.SGD([p], lr="0.1")
    with pytest.raises(TypeError, match="Invalid momentum value: expected a real number"):
        optim.SGD([p], lr=0.1, momentum=lambda: 0.9)
    with pytest.raises(TypeError, match="Invalid epsilon value: expected a real number"):
        optim.Adam([p], eps=None)


def test_relu_keeps_an_inf_upstream_gradient_out_of_masked_entries():
    """relu's VJP multiplies by the mask for speed; inf * 0 would be nan where torch's select
    gives 0, so a non-finite product falls back to the exact select."""
    import numpy as np

    import autograd
    from autograd import Tensor
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    (g,) = autograd.grad(x.relu(), [x], grad_outputs=np.array([np.inf, np.inf, np.inf]))
    np.testing.assert_array_equal(g.data, [0.0, 0.0, np.inf])
    y = Tensor(np.array([-1.0, 3.0]), requires_grad=True)
    (g,) = autograd.grad(y.relu(), [y], grad_outputs=np.array([np.nan, 1.0]))
    np.testing.assert_array_equal(g.data, [0.0, 1.0])
    # -inf masked, a nan and a -inf passed through: any inf or nan in g sends the VJP to the
    # exact select, a -inf alone included
    z = Tensor(np.array([-2.0, 1.0, 5.0, -3.0], dtype=np.float32), requires_grad=True)
    up = np.array([-np.inf, np.nan, -np.inf, 1.0], dtype=np.float32)
    (g,) = autograd.grad(z.relu(), [z], grad_outputs=up)
    assert g.data.dtype == np.float32
    np.testing.assert_array_equal(g.data, [0.0, np.nan, -np.inf, 0.0])
    (g,) = autograd.grad(z.relu(), [z], grad_outputs=np.array([1, 2, -np.inf, 4], np.float32))
    np.testing.assert_array_equal(g.data, [0.0, 2.0, -np.inf, 0.0])
    empty = Tensor(np.zeros((0, 3)), requires_grad=True)
    empty.relu().sum().backward()
    assert empty.grad.shape == (0, 3)
    # the fast product runs only on a finite g, so an inf upstream raises no numpy warning
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
        (g,) = autograd.grad(x.relu(), [x], grad_outputs=np.array([np.inf, np.nan, np.inf]))
        np.testing.assert_array_equal(g.data, [0.0, 0.0, np.inf])
        (g,) = autograd.grad(x.clip(-0.5, 1.0), [x], grad_outputs=np.full(3, np.inf))
        np.testing.assert_array_equal(g.data, [0.0, np.inf, 0.0])


def test_in_place_error_names_an_input_after_others_of_another_shape():
    """The error for a weight changed after linear used it names input 1: finding it with
    list.index compared the tensors before it with == (elementwise) and raised numpy's
    broadcast error instead."""
    x = autograd.Tensor(np.ones((6, 4)), requires_grad=True)
    w = autograd.Tensor(np.ones((2, 4)), requires_grad=True)
    b = autograd.Tensor(np.ones(2), requires_grad=True)
    y = nn.functional.linear(x, w, b).sum()
    with autograd.no_grad():
        w += 1.0
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2, 4\)\) of op 'linear'"):
        y.backward()


def test_save_for_backward_names_the_argument_that_is_not_a_tensor():
    class Scale(autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b, 2.0)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a = autograd.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="argument 2 is of type float"):
        Scale.apply(a, autograd.Tensor(np.ones(3)))
