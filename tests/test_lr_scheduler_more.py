"""The schedulers of issue 15 against torch.optim.lr_scheduler, step by step: lrs of every
group, the momentum / beta1 they cycle, get_last_lr, state_dict round trips, step(epoch)'s
closed forms and the warnings."""
import math
import warnings

import numpy as np
import pytest

import optim
from autograd import Tensor, Value

torch = pytest.importorskip("torch")
LS = torch.optim.lr_scheduler


def _pair(kind="SGD", lrs=(0.1, 0.5), **kwargs):
    """The same optimizer over two parameter groups, ours on Values and torch's."""
    ours = getattr(optim, kind)([{"params": [Value(1.0)], "lr": lrs[0]},
                                 {"params": [Value(2.0)], "lr": lrs[1]}], lr=lrs[0], **kwargs)
    theirs = getattr(torch.optim, kind)(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lrs[0]},
         {"params": [torch.zeros(1, requires_grad=True)], "lr": lrs[1]}], lr=lrs[0], **kwargs)
    return ours, theirs


def _groups(opt, key):
    return [g[key] for g in opt.param_groups]


def _compare(ours_opt, theirs_opt, sched, ref, steps, keys=("lr",), metrics=None):
    for i in range(steps):
        for key in keys:
            a, b = _groups(ours_opt, key), _groups(theirs_opt, key)
            np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float),
                                       rtol=1e-12, atol=1e-15, err_msg=f"{key} at step {i}")
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12,
                                   atol=1e-15, err_msg=f"get_last_lr at step {i}")
        ours_opt.step()
        theirs_opt.step()
        if metrics is None:
            sched.step()
            ref.step()
        else:
            sched.step(metrics[i])
            ref.step(metrics[i])


SCHEDULES = [
    ("LinearLR", {}),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=7)),
    ("ConstantLR", {}),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
    ("PolynomialLR", {}),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5,
                      mode="triangular2", cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9,
                      cycle_momentum=False)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(SCHEDULES)])
def test_schedule_matches_torch_step_by_step(name, kwargs):
    ours_opt, theirs_opt = _pair()
    sched = getattr(optim.lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(LS, name)(theirs_opt, **kwargs)
    _compare(ours_opt, theirs_opt, sched, ref, 30)
    assert sched.last_epoch == ref.last_epoch


@pytest.mark.parametrize("kind, kwargs, key", [("SGD", dict(momentum=0.9), "momentum"),
                                               ("SGD", dict(), "momentum"),
                                               ("Adam", dict(), "betas"),
                                               ("AdamW", dict(betas=(0.8, 0.99)), "betas"),
                                               ("RMSprop", dict(momentum=0.5), "momentum")])
@pytest.mark.parametrize("sched_kwargs", [dict(), dict(anneal_strategy="linear"),
                                          dict(three_phase=True), dict(pct_start=0.25,
                                                                       div_factor=10.0,
                                                                       final_div_factor=100.0),
                                          dict(cycle_momentum=False)])
def test_one_cycle_matches_torch_with_momentum_and_betas(kind, kwargs, key, sched_kwargs):
    ours_opt, theirs_opt = _pair(kind, **kwargs)
    sched = optim.OneCycleLR(ours_opt, max_lr=[1.0, 2.0], total_steps=25, **sched_kwargs)
    ref = LS.OneCycleLR(theirs_opt, max_lr=[1.0, 2.0], total_steps=25, **sched_kwargs)
    _compare(ours_opt, theirs_opt, sched, ref, 24, keys=("lr", key))
    for k in ("initial_lr", "max_lr", "min_lr"):
        assert _groups(ours_opt, k) == _groups(theirs_opt, k)


def test_one_cycle_epochs_form_and_errors_match_torch():
    ours_opt, theirs_opt = _pair()
    sched = optim.OneCycleLR(ours_opt, 0.5, epochs=3, steps_per_epoch=4)
    ref = LS.OneCycleLR(theirs_opt, 0.5, epochs=3, steps_per_epoch=4)
    assert sched.total_steps == ref.total_steps == 12
    _compare(ours_opt, theirs_opt, sched, ref, 12)
    with pytest.raises(ValueError, match="Tried to step 13 times. The specified number of total "
                                         "steps is 12"):
        sched.step()
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        optim.OneCycleLR(ours_opt, 0.5)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start"):
        optim.OneCycleLR(ours_opt, 0.5, total_steps=5, pct_start=1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.OneCycleLR(optim.Adagrad([Value(1.0)]), 0.5, total_steps=5)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_cyclic_lr_cycles_momentum_like_torch(kind):
    kwargs = dict(momentum=0.9) if kind == "SGD" else {}
    ours_opt, theirs_opt = _pair(kind, **kwargs)
    sched = optim.CyclicLR(ours_opt, 0.01, 0.1, step_size_up=3, mode="triangular2")
    ref = LS.CyclicLR(theirs_opt, 0.01, 0.1, step_size_up=3, mode="triangular2")
    _compare(ours_opt, theirs_opt, sched, ref, 20,
             keys=("lr", "momentum" if kind == "SGD" else "betas"))


PLATEAU = [dict(), dict(mode="max", factor=0.5, patience=2), dict(threshold_mode="abs",
                                                                   threshold=0.05, patience=1),
           dict(cooldown=2, patience=1, min_lr=0.02), dict(patience=0, min_lr=[0.05, 0.001]),
           dict(patience=1, factor=0.9, eps=0.05), dict(mode="max", threshold_mode="abs",
                                                         patience=1)]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + rng.uniform(-0.01, 0.03, 30)])
    ours_opt, theirs_opt = _pair()
    sched = optim.ReduceLROnPlateau(ours_opt, **kwargs)
    ref = LS.ReduceLROnPlateau(theirs_opt, **kwargs)
    _compare(ours_opt, theirs_opt, sched, ref, len(metrics), metrics=list(metrics))
    for attr in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert getattr(sched, attr) == getattr(ref, attr), attr


def test_reduce_lr_on_plateau_takes_a_tensor_metric_and_round_trips():
    ours_opt, _ = _pair()
    sched = optim.ReduceLROnPlateau(ours_opt, patience=1)
    for v in (1.0, 1.0, 1.0):
        sched.step(Tensor(np.array(v)))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.05])
    sd = sched.state_dict()
    fresh = optim.ReduceLROnPlateau(_pair()[0], patience=7)
    fresh.load_state_dict(sd)
    assert fresh.patience == 1 and fresh.best == 1.0 and fresh._is_better(0.5, 1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        optim.ReduceLROnPlateau(ours_opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        optim.ReduceLROnPlateau(ours_opt, mode="avg")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        optim.ReduceLROnPlateau(ours_opt, min_lr=[0, 0, 0])


def test_sequential_lr_warmup_then_cosine_matches_torch():
    ours_opt, theirs_opt = _pair()
    sched = optim.SequentialLR(ours_opt, [optim.LinearLR(ours_opt, 0.1, total_iters=4),
                                          optim.CosineAnnealingLR(ours_opt, T_max=10)], [4])
    ref = LS.SequentialLR(theirs_opt, [LS.LinearLR(theirs_opt, 0.1, total_iters=4),
                                       LS.CosineAnnealingLR(theirs_opt, T_max=10)], [4])
    _compare(ours_opt, theirs_opt, sched, ref, 25)


def test_sequential_lr_of_three_with_step_and_exponential_matches_torch():
    ours_opt, theirs_opt = _pair()
    sched = optim.SequentialLR(ours_opt, [optim.ConstantLR(ours_opt, 0.5, 3),
                                          optim.StepLR(ours_opt, 2, 0.5),
                                          optim.ExponentialLR(ours_opt, 0.9)], [3, 8])
    ref = LS.SequentialLR(theirs_opt, [LS.ConstantLR(theirs_opt, 0.5, 3),
                                       LS.StepLR(theirs_opt, 2, 0.5),
                                       LS.ExponentialLR(theirs_opt, 0.9)], [3, 8])
    _compare(ours_opt, theirs_opt, sched, ref, 20)
    sd = sched.state_dict()
    assert len(sd["_schedulers"]) == 3 and "optimizer" not in sd


def test_chained_scheduler_matches_torch():
    ours_opt, theirs_opt = _pair()
    sched = optim.ChainedScheduler([optim.ConstantLR(ours_opt, 0.1, 2),
                                    optim.ExponentialLR(ours_opt, 0.9)])
    ref = LS.ChainedScheduler([LS.ConstantLR(theirs_opt, 0.1, 2),
                               LS.ExponentialLR(theirs_opt, 0.9)])
    _compare(ours_opt, theirs_opt, sched, ref, 12)


def test_composites_reject_what_torch_rejects():
    ours_opt, _ = _pair()
    other, _ = _pair()
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        optim.ChainedScheduler([optim.ReduceLROnPlateau(ours_opt)])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same"):
        optim.SequentialLR(ours_opt, [optim.StepLR(ours_opt, 2), optim.StepLR(other, 2)], [3])
    with pytest.raises(ValueError, match="number of schedulers 2 and the number of milestones "
                                         "to be equal to 2"):
        optim.SequentialLR(ours_opt, [optim.StepLR(ours_opt, 2), optim.StepLR(ours_opt, 2)],
                           [3, 4])


def test_warm_restarts_with_fractional_epochs_matches_torch():
    ours_opt, theirs_opt = _pair()
    sched = optim.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=2)
    ref = LS.CosineAnnealingWarmRestarts(theirs_opt, T_0=2, T_mult=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(7):
            for i in range(4):
                e = epoch + i / 4
                sched.step(e)
                ref.step(e)
                np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12)
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        optim.CosineAnnealingWarmRestarts(ours_opt, T_0=0)


@pytest.mark.parametrize("name, kwargs", [("StepLR", dict(step_size=3)),
                                          ("MultiStepLR", dict(milestones=[2, 5, 5])),
                                          ("ExponentialLR", dict(gamma=0.8)),
                                          ("CosineAnnealingLR", dict(T_max=6)),
                                          ("LinearLR", dict()), ("ConstantLR", dict()),
                                          ("PolynomialLR", dict(power=0.5))])
def test_step_with_epoch_uses_the_closed_form_and_warns_like_torch(name, kwargs):
    ours_opt, theirs_opt = _pair()
    sched = getattr(optim.lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(LS, name)(theirs_opt, **kwargs)
    ours_opt.step()
    theirs_opt.step()
    for epoch in (4, 1, 7, 3):
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
            sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref.step(epoch)
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12)


def test_scheduler_before_optimizer_warns_as_torch():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    sched = optim.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                         "`optimizer.step\\(\\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()                      # only the first step is checked, as torch
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


@pytest.mark.parametrize("name, kwargs", [
    ("OneCycleLR", dict(max_lr=0.3, total_steps=40)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.2, step_size_up=5)),
    ("LinearLR", dict(start_factor=0.2, total_iters=9)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2))])
def test_state_dict_round_trip_resumes_the_schedule(name, kwargs):
    def build():
        opt = optim.SGD([Value(1.0)], lr=0.1, momentum=0.9)
        return opt, getattr(optim.lr_scheduler, name)(opt, **kwargs)

    opt, sched = build()
    for _ in range(7):
        opt.step()
        sched.step()
    sd_sched, sd_opt = sched.state_dict(), opt.state_dict()
    expected = []
    for _ in range(10):
        opt.step()
        sched.step()
        expected.append((sched.get_last_lr(), opt.param_groups[0]["momentum"]))
    fresh_opt, fresh = build()
    fresh_opt.load_state_dict(sd_opt)
    fresh.load_state_dict(sd_sched)
    got = []
    for _ in range(10):
        fresh_opt.step()
        fresh.step()
        got.append((fresh.get_last_lr(), fresh_opt.param_groups[0]["momentum"]))
    assert got == expected


def test_one_cycle_trains_a_model():
    """A per-batch OneCycleLR on a least-squares fit: the loss falls and the lr ends tiny."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.01 * rng.standard_normal((64, 1))
    w = Tensor(np.zeros((3, 1)), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=0.1, total_steps=50)
    losses = []
    for i in range(50):
        loss = ((Tensor(x) @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i < 49:                   # total_steps lrs: the last one is used by step 50
            sched.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]
    assert math.isclose(sched.get_last_lr()[0], 0.1 / 25 / 1e4, rel_tol=1e-9)
