"""Early stopping: watch a validation metric, say when it stopped improving, keep the best
weights."""
import math

import numpy as np

from autograd.engine import STATE

from .optimizer import _xp


def _snapshot(v):
    """A detached copy of a parameter's data (or of an array / number)."""
    v = v._data if hasattr(v, "_data") else v
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else v


class EarlyStopping:
    """Stop when the metric has not improved for `patience` consecutive epochs.

    mode "min": an epoch improves when metric < best - min_delta (losses);
    mode "max": when metric > best + min_delta (accuracies). nan never improves.

    `step(metric, module=None)` records one epoch and returns True when training should stop.
    `module` is what to snapshot at each improvement (when restore_best is True): an object with
    `state_dict()`/`load_state_dict()` (an nn.Module) or an iterable of parameters (Values or
    Tensors; a generator such as model.parameters() is kept as a list). With restore_best, the
    best weights are written back into it when stopping is decided; `restore(module)` does the
    same on demand.

    Attributes: best (best metric so far), best_epoch (0-based index of the step() call that
    gave it, -1 before any), num_bad_epochs, should_stop, best_state (the snapshot).
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min", restore_best=True):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best = restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.epoch = -1
        self.num_bad_epochs = 0
        self.should_stop = False
        self.best_state = None
        self._module = None

    def _improves(self, metric):
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta

    def step(self, metric, module=None):
        """Record this epoch's metric; True when training should stop."""
        if STATE.trace is not None:
            STATE.trace.refuse("EarlyStopping.step(metric)")
        metric = float(metric.item() if hasattr(metric, "item") else metric)
        self.epoch += 1
        if module is not None:
            # a generator such as model.parameters() is used up by the first snapshot: keep a
            # list, so later snapshots and restore() see the same parameters
            if not hasattr(module, "state_dict"):
                module = list(module)
            self._module = module
        if self._improves(metric):
            self.best = metric
            self.best_epoch = self.epoch
            self.num_bad_epochs = 0
            if self.restore_best and self._module is not None:
                self.best_state = self._take(self._module)
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs >= self.patience and self.epoch > self.best_epoch:
            if not self.should_stop and self.restore_best and self.best_state is not None:
                self.restore()
            self.should_stop = True
        return self.should_stop

    __call__ = step

    @staticmethod
    def _take(module):
        if hasattr(module, "state_dict"):
            return {k: _snapshot(v) for k, v in module.state_dict().items()}
        return [_snapshot(p) for p in module]

    def restore(self, module=None):
        """Write the best weights back into `module` (default: the one given to step)."""
        module = self._module if module is None else module
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore: no best weights recorded (pass module= "
                               "to step() and keep restore_best=True)")
        if hasattr(module, "load_state_dict"):
            module.load_state_dict(self.best_state)
            return
        params = list(module)
        if len(params) != len(self.best_state):
            raise ValueError(f"EarlyStopping.restore: {len(params)} parameters given but "
                             f"{len(self.best_state)} were saved")
        for p, saved in zip(params, self.best_state):
            if isinstance(p._data, np.ndarray):
                p._data[...] = saved         # in place: views and optimizers keep the same array
            else:
                p._data = saved
            _xp(p).stepped(p)
