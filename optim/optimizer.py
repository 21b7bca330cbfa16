"""`Optimizer`: parameter groups, per-parameter state, state dicts; one code path for Value and
Tensor.

An optimizer reads only `p.data` and `p.grad` of each parameter and keeps its own `state[p]`.
A `Value` holds Python floats there, a `Tensor` numpy arrays. The update rules are written once
with arithmetic and augmented assignment, which is in place for arrays and rebinding for floats:

    m = state["exp_avg"]
    m *= beta1                 # arrays: updated in place; floats: a new float bound to m
    state["exp_avg"] = m       # so storing back makes both right

and the few functions that differ (sqrt, maximum, zeros_like, copy, clip) come from one small
adapter, `_xp(p)`. Parameter data of a Tensor is updated in place (`p.data -= step`), so views of
it (and the array the caller holds) see the new values.
"""
import copy
import json
import math
from collections import defaultdict

import numpy as np

from autograd.engine import enable_grad


class _Required:
    """Default of a hyperparameter that every group must give (e.g. SGD's lr in old torch)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


# ---------------------------------------------------------------------------------------------
# The adapter: the only place that knows floats from arrays.
def _float_sqrt(x):
    # math.sqrt raises on a negative; torch gives nan (centered RMSprop can round below 0)
    return math.sqrt(x) if x >= 0.0 else math.nan


def _float_maximum(a, b):
    # torch.maximum propagates nan
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


class _Floats:
    """Math on a Value's data and grad (Python floats)."""
    sqrt = staticmethod(_float_sqrt)
    maximum = staticmethod(_float_maximum)

    @staticmethod
    def zeros_like(x):
        return 0.0

    @staticmethod
    def full_like(x, v):
        return float(v)

    @staticmethod
    def copy(x):
        return x

    @staticmethod
    def clip(x, low, high):
        return min(max(x, low), high)

    @staticmethod
    def norm(x, ord):
        return abs(x) if ord != 0 else float(x != 0)

    @staticmethod
    def load(v, like, key):
        """A saved state entry as the float a Value's state holds."""
        return None if v is None else float(v)

    @staticmethod
    def zero_grad(p, set_to_none):
        p.grad = 0.0      # a Value's grad is always a float


class _Arrays:
    """Math on a Tensor's data and grad (numpy arrays); results keep the parameter's dtype."""
    sqrt = staticmethod(np.sqrt)
    maximum = staticmethod(np.maximum)
    zeros_like = staticmethod(np.zeros_like)
    full_like = staticmethod(np.full_like)
    copy = staticmethod(np.copy)

    @staticmethod
    def clip(x, low, high):
        # in place when the grad is an array (a 0-d grad may arrive as a numpy scalar)
        return np.clip(x, low, high, out=x if isinstance(x, np.ndarray) else None)

    @staticmethod
    def norm(x, ord):
        return np.linalg.norm(np.ravel(x), ord)

    @staticmethod
    def load(v, like, key):
        """A saved state entry as an array of the parameter's dtype and shape (step stays a
        float)."""
        if v is None or key == "step":
            return None if v is None else float(v)
        arr = np.array(v, dtype=like.dtype, copy=True)
        if arr.shape != like.shape:
            raise ValueError(f"load_state_dict: state '{key}' has shape {arr.shape} but its "
                             f"parameter has shape {like.shape}")
        return arr

    @staticmethod
    def zero_grad(p, set_to_none):
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad[...] = 0


def _xp(p):
    """The math namespace for parameter p: arrays for a Tensor, floats for a Value."""
    return _Arrays if isinstance(p.data, np.ndarray) else _Floats


def _describe(p):
    return type(p).__name__


# ---------------------------------------------------------------------------------------------
class Optimizer:
    """Base class: holds `param_groups` (dicts with "params" and hyperparameters) and `state`.

    params: an iterable of parameters (objects with `.data` and `.grad`: `Value` or `Tensor`),
        of (name, parameter) pairs, or of dicts {"params": [...], **hyperparameters} for groups
        with their own settings. Hyperparameters a group omits come from `defaults`.
    Subclasses implement `_update(p, g, group, xp)`: one step for one parameter with gradient g
    (already negated when the group maximizes). Parameters whose grad is None are skipped, as in
    PyTorch (a Value's grad is always a float, so Values are never skipped).
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if hasattr(params, "data") and hasattr(params, "grad"):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Values, Tensors or dicts, but got a single {_describe(params)}; "
                            "wrap it in a list")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (missing ones from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if hasattr(params, "data") and hasattr(params, "grad"):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of parameters in sets changes between runs. "
                            "Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        group = dict(param_group)
        group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            group["param_names"] = names
        for p in params:
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError("optimizer can only optimize Values and Tensors (objects with "
                                f".data and .grad), but one of the params is a {_describe(p)}")
            if not getattr(p, "is_leaf", True):
                raise ValueError(f"can't optimize a non-leaf {_describe(p)} (it is the result of "
                                 "an op; optimize the leaves it was computed from)")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                raise ValueError("all optimizer param groups should be with/without names")
        self.param_groups.append(group)

    # ----------------------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: a Tensor's grad becomes None (or zeros with set_to_none=False),
        a Value's grad 0.0."""
        for group in self.param_groups:
            for p in group["params"]:
                _xp(p).zero_grad(p, set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        closure: optional callable that re-evaluates the model (zero_grad, forward, backward)
        and returns the loss; it runs with gradients enabled and its loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            maximize = group.get("maximize", False)
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if maximize:
                    g = -g
                self._update(p, g, group, _xp(p))
        return loss

    def _update(self, p, g, group, xp):
        raise NotImplementedError

    # ----------------------------------------------------------------------------- state dicts
    def state_dict(self):
        """{"state": {index: {name: value}}, "param_groups": [{..., "params": [index, ...]}]}.

        As in PyTorch, parameters are named by their position across all groups in order; the
        parameters themselves are not saved. Values are copies, so training on does not change
        a state dict taken earlier.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = copy.deepcopy(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by `state_dict()` from an optimizer built on
        parameters of the same shapes, in the same order."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than this optimizer ({len(self.param_groups)})")
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(saved['params'])} parameters in "
                    f"the state dict and {len(mine['params'])} here")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                by_index[int(idx)] = p
        state = defaultdict(dict)
        for idx, entries in state_dict["state"].items():
            p = by_index.get(int(idx))
            if p is None:
                continue
            xp = _xp(p)
            state[p] = {k: xp.load(v, p.data, k) for k, v in entries.items()}
        groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            for k, v in mine.items():
                # json (optim.load) turns tuples such as betas into lists
                if isinstance(v, tuple) and isinstance(group.get(k), list):
                    group[k] = tuple(group[k])
            group["params"] = mine["params"]
            if "param_names" in mine and "param_names" not in group:
                group["param_names"] = mine["param_names"]
            groups.append(group)
        self.state = state
        self.param_groups = groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_nonneg(name, value, label=None):
    """torch's constructor checks: 'Invalid learning rate: -0.1' and friends. A value that
    cannot be compared with 0 (a string, a function) is named, not left to a bare '<=' error."""
    try:
        ok = 0.0 <= value
    except TypeError:
        raise TypeError(f"Invalid {label or name}: expected a real number, got "
                        f"{type(value).__name__} {value!r}") from None
    if not ok:
        raise ValueError(f"Invalid {label or name}: {value}")


# ---------------------------------------------------------------------------------------------
# Saving without pickle
_FORMAT = "tapegrad-optim-1"


def save(optimizer, path):
    """Write `optimizer.state_dict()` to an .npz file readable with allow_pickle=False.

    Each state entry is an array named "state.<index>.<name>"; the parameter groups (numbers,
    bools, tuples) are one JSON string in the array "meta". Hyperparameters that JSON cannot
    hold (functions, objects) raise TypeError naming the key.
    """
    sd = optimizer.state_dict()
    arrays = {}
    nones = []
    for idx, entries in sd["state"].items():
        for name, v in entries.items():
            if v is None:
                nones.append([idx, name])
            else:
                arrays[f"state.{idx}.{name}"] = np.asarray(v)
    for i, group in enumerate(sd["param_groups"]):
        for k, v in group.items():
            try:
                json.dumps(v)
            except TypeError:
                raise TypeError(f"optim.save: param_groups[{i}]['{k}'] is a {type(v).__name__}, "
                                "which cannot be saved without pickle") from None
    meta = {"format": _FORMAT, "param_groups": sd["param_groups"], "nones": nones,
            "stateful": sorted(sd["state"])}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def load(optimizer, path):
    """Load a file written by `save` into `optimizer` (built on the same parameters)."""
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"optim.load: {path} is not an optimizer file written by optim.save "
                             f"(format {meta.get('format')!r})")
        state = {int(idx): {} for idx in meta["stateful"]}
        for key in f.files:
            if key.startswith("state."):
                _, idx, name = key.split(".", 2)
                state[int(idx)][name] = f[key]
        for idx, name in meta["nones"]:
            state[int(idx)][name] = None
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
