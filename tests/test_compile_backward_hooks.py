"""autograd.compile and nn.Module's backward hooks: a compiled program computes gradients in
generated code, where a module's hooks would not run, so a trace that would set them up is
refused at trace time (CompileError naming the hooks), never run with the hooks skipped;
hooks on the module autograd.compile returns run around the compiled call as in eager mode."""
import copy

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
from autograd import Tensor
from autograd.compile import CompileError


def _model():
    autograd.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def _x(requires_grad=False):
    return Tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=requires_grad)


def inspect_gradients(module, grad_input, grad_output):
    """A hook with a name, which the error must name."""


@pytest.mark.parametrize("kind", ["full", "pre", "legacy"])
def test_compiling_a_model_with_a_backward_hook_is_refused_naming_the_hook(kind):
    model = _model()
    register = {"full": model[2].register_full_backward_hook,
                "pre": model[2].register_full_backward_pre_hook,
                "legacy": model[2].register_backward_hook}[kind]
    register(inspect_gradients)
    compiled = autograd.compile(model)
    with pytest.raises(CompileError, match=r"Sequential calls a Linear that has backward "
                                           r"hooks \(inspect_gradients\).*handle\.remove"):
        compiled(_x())


def test_a_compiled_training_step_calling_a_hooked_model_is_refused():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    target = autograd.tensor([0, 1, 0, 1, 1])

    @autograd.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    model[0].register_full_backward_hook(inspect_gradients)
    with pytest.raises(CompileError, match=r"step calls a Linear that has backward hooks"):
        step(_x(), target)


def test_a_backward_hook_added_after_the_trace_traces_again_and_is_refused():
    model = _model()
    model[0].register_forward_hook(lambda m, args, out: out * 1.0)   # compiles: an op
    compiled = autograd.compile(model)
    x = _x()
    compiled(x).sum().backward()            # traced without backward hooks
    handle = model[0].register_full_backward_pre_hook(lambda m, go: None)
    with pytest.raises(CompileError, match="backward hooks"):
        compiled(x)
    handle.remove()
    out = compiled(x)                       # without the hook: compiled again
    np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy(), rtol=1e-13)


def test_under_no_grad_a_hooked_model_compiles_as_its_hooks_would_not_run():
    model = _model()
    calls = []
    model[0].register_full_backward_hook(lambda m, gi, go: calls.append(1))
    compiled = autograd.compile(model)
    x = _x()
    with autograd.no_grad():
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-13)
    with pytest.raises(CompileError):
        compiled(x)                         # grad mode on: traced again, and refused
    assert calls == []


def test_hooks_on_the_compiled_module_run_around_the_compiled_call_as_eager():
    model = _model()
    twin = copy.deepcopy(model)             # eager, with the same weights
    compiled = autograd.compile(model)
    calls, eager = [], []
    compiled.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go)))
    compiled.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    twin.register_full_backward_hook(lambda m, gi, go: eager.append((gi, go)))
    twin.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    for _ in range(2):
        x = _x(requires_grad=True)
        (compiled(x) ** 2).sum().backward()
        x_eager = _x(requires_grad=True)
        (twin(x_eager) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), x_eager.grad.numpy(), rtol=1e-12)
    assert len(calls) == len(eager) == 2
    for (gi, go), (egi, ego) in zip(calls, eager):
        np.testing.assert_allclose(gi[0].numpy(), egi[0].numpy(), rtol=1e-12)
        np.testing.assert_allclose(go[0].numpy(), ego[0].numpy(), rtol=1e-12)
