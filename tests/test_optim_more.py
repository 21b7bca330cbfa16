"""Optimizer surface of issue 15 against torch.optim: constructor keywords and their order,
param_groups keys, implementation switches, and old state dicts without the new keys. The
update rules themselves are compared step by step in tests/test_optim.py."""
import inspect

import numpy as np
import pytest

import optim
from autograd import Tensor, Value

torch = pytest.importorskip("torch")
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Adadelta", "NAdam", "RAdam"]


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_is_torchs(name):
    ours = inspect.signature(getattr(optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert ours[key].kind == p.kind, key
        if p.default is not inspect.Parameter.empty:
            assert ours[key].default == p.default, key


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_hold_torchs_keys_and_defaults(name):
    ours = getattr(optim, name)([Tensor(np.zeros(2), requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    assert sorted(ours.defaults) == sorted(theirs.defaults)
    for key, value in theirs.defaults.items():
        assert ours.defaults[key] == value, key
    assert "foreach: None" in repr(ours)


def test_differentiable_steps_are_refused_clearly():
    with pytest.raises(RuntimeError, match="differentiable=True is not supported"):
        optim.Adam([Value(1.0)], differentiable=True)


def test_adam_with_decoupled_weight_decay_is_adamw():
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    opt_a = optim.Adam([a], lr=0.1, weight_decay=0.3, decoupled_weight_decay=True)
    opt_b = optim.AdamW([b], lr=0.1, weight_decay=0.3)
    for t in range(5):
        a.grad = Tensor(np.sin(a.data + t))
        b.grad = Tensor(np.sin(b.data + t))
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(a.data, b.data)


def test_a_state_dict_saved_before_the_flags_existed_still_loads(tmp_path):
    p = Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor(np.ones(2), dtype=p.dtype)
    opt.step()
    sd = opt.state_dict()
    for group in sd["param_groups"]:
        for key in ("foreach", "fused", "capturable", "differentiable",
                    "decoupled_weight_decay"):
            del group[key]
    fresh = optim.Adam([Tensor(np.ones(2), requires_grad=True)], lr=0.5)
    fresh.load_state_dict(sd)
    group = fresh.param_groups[0]
    assert group["lr"] == 0.1 and group["foreach"] is None
    assert group["decoupled_weight_decay"] is False
    path = tmp_path / "opt.npz"
    optim.save(opt, path)
    optim.load(fresh, path)


def test_adadelta_trains_as_in_the_mnist_example():
    """PyTorch's MNIST example: Adadelta(lr=1.0) with StepLR(step_size=1, gamma=0.7)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4))
    y = x @ np.array([[1.0], [-1.0], [0.5], [2.0]])
    w = Tensor(np.zeros((4, 1)), requires_grad=True)
    opt = optim.Adadelta([w], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    losses = []
    for epoch in range(4):
        for _ in range(25):
            loss = ((Tensor(x) @ w - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    assert losses[-1] < 0.8 * losses[0]      # Adadelta starts with steps of about sqrt(eps)
    assert sched.get_last_lr() == pytest.approx([0.7 ** 4])
