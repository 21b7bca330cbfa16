"""EarlyStopping: when it says stop, and that it gives back the best weights."""
import math

import numpy as np
import pytest

import optim
from autograd import Tensor, Value


def _run(stopper, metrics, module=None):
    """The epoch index at which step() first returned True (None if never)."""
    for epoch, m in enumerate(metrics):
        if stopper.step(m, module):
            return epoch
    return None


def test_min_mode_stops_after_patience_bad_epochs():
    stopper = optim.EarlyStopping(patience=2, restore_best=False)
    assert _run(stopper, [1.0, 0.8, 0.9, 0.85, 0.7]) == 3
    assert stopper.best == 0.8 and stopper.best_epoch == 1 and stopper.should_stop
    assert stopper.num_bad_epochs == 2


def test_max_mode_and_min_delta():
    stopper = optim.EarlyStopping(patience=2, min_delta=0.05, mode="max", restore_best=False)
    # 0.52 and 0.54 are within min_delta of 0.5: not improvements
    assert _run(stopper, [0.5, 0.52, 0.54, 0.6]) == 2
    assert stopper.best == 0.5 and stopper.best_epoch == 0
    stopper = optim.EarlyStopping(patience=2, min_delta=0.05, mode="max", restore_best=False)
    assert _run(stopper, [0.5, 0.52, 0.6, 0.61, 0.7, 0.66, 0.64]) == 6
    assert stopper.best == 0.7 and stopper.best_epoch == 4


def test_patience_zero_and_nan_never_improves():
    stopper = optim.EarlyStopping(patience=0, restore_best=False)
    assert _run(stopper, [1.0, 0.5, 0.6]) == 2
    stopper = optim.EarlyStopping(patience=1, restore_best=False)
    assert _run(stopper, [1.0, math.nan]) == 1
    assert stopper.best == 1.0


def test_metric_may_be_a_node():
    stopper = optim.EarlyStopping(patience=1, restore_best=False)
    stopper.step(Value(2.0))
    stopper.step(Tensor(np.array(1.0)))
    assert stopper.best == 1.0 and stopper.best_epoch == 1


def test_restores_best_tensor_and_value_params_when_stopping():
    t = Tensor(np.zeros(3), requires_grad=True)
    v = Value(0.0)
    array = t.detach().numpy()
    stopper = optim.EarlyStopping(patience=2)
    for epoch, metric in enumerate([3.0, 1.0, 2.0, 2.5]):
        t.data[...] = epoch          # the "training" changes the weights every epoch
        v.data = float(epoch)
        stop = stopper.step(metric, [t, v])
    assert stop and stopper.best_epoch == 1
    assert np.array_equal(t.data, np.ones(3)) and v.data == 1.0
    assert t.detach().numpy() is array   # written in place: optimizers still hold the same array


def test_restore_on_demand_and_without_restore_best():
    t = Tensor(np.zeros(2), requires_grad=True)
    stopper = optim.EarlyStopping(patience=5)
    stopper.step(1.0, [t])
    t.data[...] = 7.0
    stopper.step(2.0)                # the module given earlier is remembered
    stopper.restore()
    assert np.array_equal(t.data, np.zeros(2))
    lazy = optim.EarlyStopping(patience=1, restore_best=False)
    lazy.step(1.0, [t])
    t.data[...] = 5.0
    assert lazy.step(2.0, [t]) and np.array_equal(t.data, [5.0, 5.0])
    with pytest.raises(RuntimeError, match="no best weights recorded"):
        lazy.restore([t])
    with pytest.raises(ValueError, match="2 parameters given but 1 were saved"):
        stopper.restore([t, t])


def test_restores_an_nn_module_through_its_state_dict():
    nn = pytest.importorskip("nn")
    model = nn.Linear(3, 2, rng=0)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    stopper = optim.EarlyStopping(patience=1)
    stopper.step(0.5, model)
    for p in model.parameters():
        p.data += 1.0
    assert stopper.step(0.9, model)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, best[k]), k


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'best'"):
        optim.EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience must be an int >= 0, got -1"):
        optim.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta must be >= 0, got -0.1"):
        optim.EarlyStopping(min_delta=-0.1)


def test_parameters_given_as_a_generator_are_kept_as_a_list():
    """Regression: step(1.0, model.parameters()) stored the generator, the snapshot used it
    up, and restore failed with '0 parameters given but 2 were saved'."""
    import nn
    model = nn.Linear(3, 1, rng=0)
    best = [np.array(p.data) for p in model.parameters()]
    stopper = optim.EarlyStopping(patience=1)
    assert not stopper.step(1.0, model.parameters())
    for p in model.parameters():
        p.data[...] += 1.0
    assert stopper.step(2.0)                  # no improvement: stop and restore epoch 0
    for p, b in zip(model.parameters(), best):
        np.testing.assert_array_equal(p.data, b)
    stopper.restore()                         # on demand too
    for p, b in zip(model.parameters(), best):
        np.testing.assert_array_equal(p.data, b)
