"""autograd.Function as torch.autograd.Function: the same class body runs on both (forward and
backward written with tensor methods), gives the same values and gradients, gradchecks, works
under create_graph, and is a row of the op table (Tape, drawing)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
from autograd import Tensor  # noqa: E402
from torch_surface import assert_same, run_both, same  # noqa: E402


def _legendre(m):
    """The class of "Learning PyTorch with Examples", written once for either module."""
    class LegendrePolynomial3(m.autograd.Function if m is torch else m.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


def _scaled(m):
    """Two outputs, a non-tensor argument, an attribute on ctx, None for the number."""
    class Scaled(m.autograd.Function if m is torch else m.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            ctx.k = k
            ctx.save_for_backward(a, b)
            return a * k * b, a + b

        @staticmethod
        def backward(ctx, g1, g2):
            a, b = ctx.saved_tensors
            return g1 * ctx.k * b + g2, None, g1 * ctx.k * a + g2
    return Scaled


def test_legendre_values_gradients_and_name():
    def run(m):
        x = m.tensor([-0.5, 0.25, 1.0, 2.0], requires_grad=True)
        y = _legendre(m).apply(x)
        (y * m.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        return y, x.grad, y.grad_fn.name(), [f.name() for f, _ in y.grad_fn.next_functions]
    ours, theirs = run_both(run)
    assert_same(ours, theirs)


def test_legendre_trains_the_tutorials_model():
    def run(m):
        m.manual_seed(0)
        x = m.linspace(-np.pi, np.pi, 200)
        y = m.sin(x)
        a, b, c, d = (m.full((), v, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
        P3 = _legendre(m).apply
        for _ in range(50):
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with m.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-6 * p.grad
                    p.grad = None
        return loss.detach(), a.detach(), b.detach(), c.detach(), d.detach()
    ours, theirs = run_both(run)
    assert_same(ours, theirs, rtol=1e-5, atol=1e-6)


def test_two_outputs_non_tensor_arguments_and_none_gradients():
    def run(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([0.5, -1.0], requires_grad=True)
        o1, o2 = _scaled(m).apply(a, 3.0, b)
        (o1 * 2 + o2 * o2).sum().backward()
        return o1, o2, a.grad, b.grad
    ours, theirs = run_both(run)
    assert_same(ours, theirs)

    def only_first(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([0.5, -1.0], requires_grad=True)
        o1, _ = _scaled(m).apply(a, 3.0, b)
        o1.sum().backward()          # the unused output gets zeros
        return a.grad, b.grad
    ours, theirs = run_both(only_first)
    assert_same(ours, theirs)


def test_needs_input_grad_and_forward_under_no_grad():
    seen = {}

    class Probe(autograd.Function):
        @staticmethod
        def forward(ctx, a, b, n):
            seen["grad_enabled"] = autograd.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            return a * b * n

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    a = autograd.ones(2, requires_grad=True)
    out = Probe.apply(a, autograd.ones(2), 3)
    assert seen == {"grad_enabled": False, "needs": (True, False, False)}
    assert out.requires_grad and out.grad_fn.name() == "ProbeBackward"
    with autograd.no_grad():
        assert not Probe.apply(a, autograd.ones(2), 3).requires_grad


def test_gradcheck_and_double_backward():
    P3 = _legendre(autograd)
    x = Tensor(np.array([-0.7, 0.2, 1.3]), requires_grad=True)
    assert autograd.gradcheck(P3.apply, [x])
    tx = torch.tensor([-0.7, 0.2, 1.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_legendre(torch).apply, (tx,))
    (g,) = autograd.grad(P3.apply(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    (tg,) = torch.autograd.grad(_legendre(torch).apply(tx).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    assert_same(g.detach(), tg.detach())
    assert_same(h, th)
    np.testing.assert_allclose(h.numpy(), 15 * x.numpy(force=True))     # d2/dx2 = 15 x


def test_setup_context_style():
    def make(m):
        class Square(m.autograd.Function if m is torch else m.Function):
            @staticmethod
            def forward(x):
                return x * x

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        return Square

    def run(m):
        x = m.tensor([1.5, -2.0], requires_grad=True)
        y = make(m).apply(x)
        y.sum().backward()
        return y, x.grad
    ours, theirs = run_both(run)
    assert_same(ours, theirs)


def _returning(m, result):
    """A Function y = 2a whose backward returns result(g) instead of 2g."""
    class Bad(m.autograd.Function if m is torch else m.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return result(g)
    return Bad


@pytest.mark.parametrize("result", [
    lambda g: g[:1],                 # smaller than the input: never broadcast up
    lambda g: g.sum(),               # 0-d for a vector input
    lambda g: (g, g),                # one gradient too many
    lambda g: 3.0,                   # not a tensor
    lambda g: g.reshape(2, 1),       # the input does not broadcast to (2, 1)
], ids=["smaller", "0-d", "too-many", "float", "transposed"])
def test_wrong_gradients_are_torchs_errors(result):
    def run(m):
        x = m.ones(2, requires_grad=True)
        _returning(m, result).apply(x).sum().backward()
    ours, theirs = run_both(run)
    assert type(ours) is type(theirs) is RuntimeError
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("result", [
    lambda g: g.reshape(1, 2),                        # a leading 1: summed away
    lambda g: g.expand(3, 2) * 0.5,                   # broadcast rows: summed to the input's
], ids=["leading-1", "rows"])
def test_a_larger_gradient_is_summed_to_its_input(result):
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        _returning(m, result).apply(x).sum().backward()
        return x.grad
    same(run)

    def graph(m):     # the same under create_graph, where backward's result is recorded
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = _returning(m, result).apply(x * x).sum()
        (g,) = (m if m is autograd else m.autograd).grad(y, x, create_graph=True)
        return g
    same(graph)


def test_a_function_is_a_row_of_the_tape_and_the_drawing():
    P3 = _legendre(autograd)
    x = autograd.tensor([0.5, 1.0], requires_grad=True)
    with autograd.Tape() as tape:
        y = P3.apply(x).sum()
    assert "LegendrePolynomial3" in str(tape)
    assert P3.row().name == "LegendrePolynomial3"
    assert "LegendrePolynomial3" not in autograd.OPS
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * np.array([0.5, 1.0]) ** 2 - 1))


def test_a_reduction_returns_its_gradient_expanded():
    # torch rejects a 0-d gradient for a (2, 3) input: backward expands it itself
    class Sum(autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.shape = a.shape
            return a.sum()

        @staticmethod
        def backward(ctx, g):
            return g.expand(ctx.shape)

    x = autograd.ones(2, 3, requires_grad=True)
    Sum.apply(x).backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2


def test_a_gradient_returned_as_none_leaves_grad_none_as_in_torch():
    import torch
    results = []
    for lib, base in ((torch, torch.autograd.Function), (autograd, autograd.Function)):
        class Half(base):
            @staticmethod
            def forward(ctx, x, y):
                return x * 0.5 + y

            @staticmethod
            def backward(ctx, g):
                return g * 0.5, None            # no gradient for y

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0], requires_grad=True)
        z = lib.tensor([1.0, 1.0], requires_grad=True)
        (Half.apply(x, y).sum() + (y * z).sum()).backward()   # y also gets a gradient another way
        w = lib.tensor([5.0, 6.0], requires_grad=True)
        Half.apply(x, w).sum().backward()                   # w only through the None
        results.append((x.grad.tolist(), y.grad.tolist(), w.grad))
    assert results[1] == results[0]
    assert results[1][2] is None
