"""Schedules against torch.optim.lr_scheduler, step by step."""
import math

import numpy as np
import pytest

import optim
from autograd import Tensor, Value

torch = pytest.importorskip("torch")


class Halving:
    """A callable object: LambdaLR saves its __dict__ (functions are not saved)."""

    def __init__(self, every):
        self.every = every

    def __call__(self, epoch):
        return 0.5 ** (epoch // self.every)


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.95 ** e, lambda e: 1 + math.sin(e)])),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)]


def _pair(lrs=(0.1, 0.5)):
    ours = optim.SGD([{"params": [Value(1.0)], "lr": lrs[0]},
                      {"params": [Value(2.0)], "lr": lrs[1]}], lr=lrs[0])
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lrs[0]},
                              {"params": [torch.zeros(1, requires_grad=True)], "lr": lrs[1]}],
                             lr=lrs[0])
    return ours, theirs


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=IDS)
def test_schedule_matches_torch_step_by_step(name, kwargs):
    ours, theirs = _pair()
    sched = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    for epoch in range(30):
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12,
                                   atol=1e-15, err_msg=f"epoch {epoch}")
        np.testing.assert_allclose([g["lr"] for g in ours.param_groups],
                                   [g["lr"] for g in theirs.param_groups], rtol=1e-12)
        ours.step()
        theirs.step()
        sched.step()
        ref.step()
    assert sched.last_epoch == ref.last_epoch == 30
    assert [g["initial_lr"] for g in ours.param_groups] == [0.1, 0.5]


def test_importable_both_ways():
    assert optim.StepLR is optim.lr_scheduler.StepLR
    assert optim.ExponentialLR is optim.lr_scheduler.ExponentialLR
    assert optim.LambdaLR is optim.lr_scheduler.LambdaLR
    assert issubclass(optim.CosineAnnealingLR, optim.lr_scheduler.LRScheduler)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
@pytest.mark.parametrize("name,kwargs", [("StepLR", dict(step_size=4, gamma=0.5)),
                                         ("CosineAnnealingLR", dict(T_max=9)),
                                         ("LambdaLR", dict(lr_lambda=Halving(3)))])
def test_state_dict_round_trip_resumes_the_schedule(name, kwargs):
    ours, _ = _pair()
    sched = getattr(optim, name)(ours, **kwargs)
    for _ in range(6):
        sched.step()
    sd_sched, sd_opt = sched.state_dict(), ours.state_dict()
    expected = []
    for _ in range(10):
        sched.step()
        expected.append(sched.get_last_lr())
    fresh, _ = _pair()
    fresh.load_state_dict(sd_opt)
    if name == "LambdaLR":
        kwargs = dict(lr_lambda=Halving(99))          # its state is restored from the dict
    sched2 = getattr(optim, name)(fresh, **kwargs)
    sched2.load_state_dict(sd_sched)
    if name == "LambdaLR":
        assert sched2.lr_lambdas[0].every == 3
    fresh.load_state_dict(sd_opt)      # the constructor's initial step rewrote the lrs
    got = []
    for _ in range(10):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected
    assert "optimizer" not in sd_sched


def test_scheduled_lr_is_used_by_the_optimizer():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = Tensor(np.ones(1), dtype=p.dtype)
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.5 + 0.25)])


def test_bad_scheduler_inputs():
    opt, _ = _pair()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        optim.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive int, got 0"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        optim.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
        optim.ExponentialLR(_pair()[0], gamma=0.9, last_epoch=3)
    with pytest.raises(ValueError, match="T_max must be positive"):
        optim.CosineAnnealingLR(opt, T_max=0)
