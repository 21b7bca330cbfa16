"""`Optimizer`: parameter groups, per-parameter state, state dicts; one code path for Value and
Tensor.

An optimizer reads a parameter's value and gradient and keeps its own `state[p]`. A `Value`
holds Python floats there; a `Tensor` numpy arrays (its `_data`, and the array of its `.grad`
tensor). The update rules are written once with arithmetic and augmented assignment, which is
in place for arrays and rebinding for floats:

    m = state["exp_avg"]
    m *= beta1                 # arrays: updated in place; floats: a new float bound to m
    state["exp_avg"] = m       # so storing back makes both right

and the few functions that differ (sqrt, maximum, zeros_like, copy, clip, reading the gradient)
come from one small adapter, `_xp(p)`. A Tensor's data is updated in place (`p._data -= step`),
so its views (and the array the caller holds) see the new values, and the step counts as an
in-place change: backward refuses a graph recorded before it that used the old values, as
PyTorch does.
"""
import copy
import functools
import hashlib
import json
import math
import numbers
import os
from collections import defaultdict

import numpy as np

from autograd.checkpoint import UNREADABLE, CheckpointError
from autograd.engine import STATE, InPlace, enable_grad


def _as_tensors(entries, p, scalars=("step",)):
    """A Tensor parameter's state entries as torch shows them: arrays as Tensors (copies),
    the step count (and the other `scalars`, ASGD's eta and mu) as float32 0-d Tensors.
    (A Value's state stays floats.)"""
    if not isinstance(getattr(p, "_data", None), np.ndarray):
        return entries
    from autograd.tensor import Tensor
    out = {}
    for k, v in entries.items():
        if isinstance(v, np.ndarray):
            v = Tensor._node(v)
        elif k in scalars and isinstance(v, numbers.Real):
            v = Tensor._node(np.asarray(v, dtype=np.float32))
        out[k] = v
    return out


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
    def norm(x, ord):
        return abs(x) if ord != 0 else float(x != 0)

    @staticmethod
    def load(v, like, key):
        """A saved state entry as the float a Value's state holds."""
        return None if v is None else float(v)

    @staticmethod
    def zero_grad(p, set_to_none):
        p.grad = 0.0      # a Value's grad is always a float

    @staticmethod
    def grad_of(p):
        return p._grad

    @staticmethod
    def scale_grad(p, coef):
        p.grad = p._grad * coef

    @staticmethod
    def clip_grad(p, low, high):
        p.grad = min(max(p._grad, low), high)

    @staticmethod
    def stepped(p):
        """Nothing to note: a Value's data is a float, rebound by each update."""


class _Arrays:
    """Math on a Tensor's data and grad (numpy arrays); results keep the parameter's dtype."""
    sqrt = staticmethod(np.sqrt)
    maximum = staticmethod(np.maximum)
    zeros_like = staticmethod(np.zeros_like)
    full_like = staticmethod(np.full_like)
    copy = staticmethod(np.copy)

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
        if set_to_none or p._grad is None:
            p._grad = None              # what the .grad setter does with None, without its call
        else:
            p._grad.zero_()

    @staticmethod
    def grad_of(p):
        """The array of p's gradient tensor (None when p has none)."""
        return None if p._grad is None else p._grad._data

    @staticmethod
    def scale_grad(p, coef):
        p._grad._data *= coef

    @staticmethod
    def clip_grad(p, low, high):
        np.clip(p._grad._data, low, high, out=p._grad._data)

    @staticmethod
    def stepped(p):
        """p's data changed in place: graphs recorded before may not use the old values."""
        InPlace.of(p).stamp()


def _xp(p):
    """The math namespace for parameter p: arrays for a Tensor, floats for a Value."""
    return _Arrays if isinstance(p._data, np.ndarray) else _Floats


def _describe(p):
    return type(p).__name__


# ---------------------------------------------------------------------------------------------
class Optimizer:
    """Base class: holds `param_groups` (dicts with "params" and hyperparameters) and `state`.

    params: an iterable of parameters (`Value`s or `Tensor`s),
        of (name, parameter) pairs, or of dicts {"params": [...], **hyperparameters} for groups
        with their own settings. Hyperparameters a group omits come from `defaults`.
    Subclasses implement `_update(p, g, group, xp)`: one step for one parameter with gradient g
    (already negated when the group maximizes). Parameters whose grad is None are skipped, as in
    PyTorch (a Value's grad is always a float, so Values are never skipped).
    """

    # state entries that are one number per parameter (a float here, a 0-d Tensor in torch)
    _scalar_state = ("step",)

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
                                f"._data and .grad), but one of the params is a {_describe(p)}")
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
        if STATE.trace is not None:       # inside a compiled function: called again at each
            return STATE.trace.run_effect("optimizer.zero_grad()",      # call
                                          functools.partial(self.zero_grad, set_to_none))
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none and type(p._data) is np.ndarray:
                    p._grad = None      # _Arrays.zero_grad's first case, without two calls
                else:
                    _xp(p).zero_grad(p, set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        closure: optional callable that re-evaluates the model (zero_grad, forward, backward)
        and returns the loss; it runs with gradients enabled and its loss is returned.
        """
        if STATE.trace is not None:
            if closure is not None:
                STATE.trace.refuse("optimizer.step(closure)")
            return STATE.trace.run_effect("optimizer.step()", self.step)    # again each call
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._opt_called = True         # lr schedulers check the order of the two steps
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group):
        """The update of one group: _update for each parameter that has a gradient."""
        maximize = group.get("maximize", False)
        for p in group["params"]:
            xp = _xp(p)
            g = xp.grad_of(p)
            if g is None:
                continue
            if maximize:
                g = -g
            self._update(p, g, group, xp)
            xp.stepped(p)

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
                    state[index[id(p)]] = _as_tensors(copy.deepcopy(self.state[p]), p,
                                                      self._scalar_state)
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
            state[p] = {k: (None if v is None else float(v)) if k in self._scalar_state
                        else xp.load(v, p._data, k) for k, v in entries.items()}
        groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            for k, v in mine.items():
                # json (optim.load) turns tuples such as betas into lists
                if isinstance(v, tuple) and isinstance(group.get(k), list):
                    group[k] = tuple(group[k])
            group["params"] = mine["params"]
            for k in _IMPLEMENTATION_FLAGS + ("decoupled_weight_decay",):
                if k in self.defaults:  # a state dict saved before these keys existed
                    group.setdefault(k, self.defaults[k])
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


# torch's implementation switches: each optimizer accepts the ones torch's has and keeps them in
# its defaults (so param_groups read as torch's); none changes the arithmetic here, which is one
# loop over the parameters. differentiable=True would need the step recorded on the tape.
_IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")


def _with_flags(defaults, **flags):
    if flags.get("differentiable"):
        raise RuntimeError("differentiable=True is not supported: tapegrad's optimizers update "
                           "parameters outside the graph, so a step cannot be differentiated")
    defaults.update(flags)
    return defaults


# ---------------------------------------------------------------------------------------------
# Saving without pickle
_FORMAT = "tapegrad-optim-1"
# what reading a damaged .npz can raise; AttributeError and TypeError: a bare .npy has no
# context manager; MemoryError: a forged header declaring a huge array
def save(optimizer, path):
    """Write `optimizer.state_dict()` to an .npz file readable with allow_pickle=False.

    Each state entry is an array named "state.<index>.<name>"; the parameter groups (numbers,
    bools, tuples) and a SHA-256 of every entry are one JSON string in the array "meta".
    Hyperparameters that JSON cannot hold (functions, objects) raise TypeError naming the key.
    """
    sd = optimizer.state_dict()
    arrays = {}
    nones = []
    lists = []          # LBFGS's history: a list entry is one array per item, "<name>.<i>"

    def put(idx, name, v):
        if v is None:
            nones.append([idx, name])
        elif isinstance(v, list):
            lists.append([idx, name, len(v)])
            for i, item in enumerate(v):
                put(idx, f"{name}.{i}", item)
        else:
            arrays[f"state.{idx}.{name}"] = np.asarray(v)

    for idx, entries in sd["state"].items():
        for name, v in entries.items():
            put(idx, name, v)
    for i, group in enumerate(sd["param_groups"]):
        for k, v in group.items():
            try:
                json.dumps(v)
            except TypeError:
                raise TypeError(f"optim.save: param_groups[{i}]['{k}'] is a {type(v).__name__}, "
                                "which cannot be saved without pickle") from None
    # a digest per entry, over its name, dtype, shape and bytes: zip's CRC-32 catches damaged
    # bytes but not members renamed, dropped or swapped (exp_avg and exp_avg_sq share a shape)
    meta = {"format": _FORMAT, "param_groups": sd["param_groups"], "nones": nones,
            "lists": lists,
            "stateful": sorted(sd["state"]),
            "sha256": {k: _digest(k, v) for k, v in arrays.items()}}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def load(optimizer, path):
    """Load a file written by `save` into `optimizer` (built on the same parameters).

    All or nothing: the whole file is read (zip verifies each member's CRC-32), its metadata and
    every state entry are checked (real numeric dtype, the parameter's shape, every
    hyperparameter of this optimizer present and of a compatible type) before anything is
    assigned. Any problem with the file raises `CheckpointError` (a ValueError, also
    `nn.CheckpointError`) naming it;
    the optimizer is then unchanged. Pickle is never allowed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no optimizer checkpoint file at '{path}'")
    try:
        # our own handle (np.load(path) leaks it on a broken archive); reading every member now
        # makes zip verify each CRC before anything is used
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except UNREADABLE as e:
        # a damaged zip header can ask for a newer zip version, another compression method
        # (NotImplementedError), encryption (RuntimeError) or deflate (zlib.error)
        raise CheckpointError(f"cannot read optimizer checkpoint '{path}': the file is "
                              f"truncated, corrupted or not an .npz file "
                              f"({type(e).__name__}: {e})") from None
    try:
        sd = _unpack(arrays)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise CheckpointError(f"'{path}' is not an optimizer file written by optim.save "
                              f"({type(e).__name__}: {e})") from None
    _check_groups(optimizer, sd["param_groups"], path, CheckpointError)
    try:
        optimizer.load_state_dict(sd)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"optimizer checkpoint '{path}' does not fit this optimizer: "
                              f"{e}") from None


def _digest(key, arr):
    arr = np.require(arr, requirements="C")
    head = f"{key}|{arr.dtype.str}|{arr.shape}|".encode()
    return hashlib.sha256(head + arr.tobytes()).hexdigest()


def _unpack(arrays):
    """The state dict stored by `save`, from its arrays; malformed content raises."""
    meta_arr = arrays.pop("meta")
    if meta_arr.shape != () or meta_arr.dtype.kind != "U":
        raise ValueError(f"'meta' must be one string, got dtype {meta_arr.dtype} shape "
                         f"{meta_arr.shape}")
    meta = json.loads(str(meta_arr))
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"format {found!r} is not {_FORMAT!r}")
    digests = meta["sha256"]
    if not isinstance(digests, dict) or sorted(digests) != sorted(arrays):
        raise ValueError(f"the file holds entries {sorted(arrays)} but its manifest lists "
                         f"{sorted(digests) if isinstance(digests, dict) else digests!r}")
    for key, arr in arrays.items():
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"state entry '{key}' has dtype {arr.dtype}, expected real numbers")
        if digests[key] != _digest(key, arr):
            raise ValueError(f"state entry '{key}' does not match its checksum")
    state = {int(idx): {} for idx in meta["stateful"]}
    for key, arr in arrays.items():
        kind, idx, name = key.split(".", 2)
        if kind != "state" or int(idx) not in state:
            raise ValueError(f"unexpected entry '{key}'")
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"state entry '{key}' has dtype {arr.dtype}, expected real numbers")
        if name == "step" and arr.shape != ():
            raise ValueError(f"state entry '{key}' must be a scalar, got shape {arr.shape}")
        state[int(idx)][name] = arr
    for idx, name in meta["nones"]:
        state[int(idx)][str(name)] = None
    # innermost lists first (save lists the outer before its items)
    for idx, name, length in reversed(meta.get("lists", [])):
        entries = state[int(idx)]
        entries[str(name)] = [entries.pop(f"{name}.{i}") for i in range(int(length))]
    groups = meta["param_groups"]
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise TypeError("'param_groups' must be a list of dicts")
    return {"state": state, "param_groups": groups}


def _check_groups(optimizer, saved_groups, path, error):
    """Every hyperparameter of this optimizer is in the file, with a compatible type."""
    for i, (mine, saved) in enumerate(zip(optimizer.param_groups, saved_groups)):
        for key, value in mine.items():
            if key in ("params", "param_names"):
                continue
            if key in _IMPLEMENTATION_FLAGS and key not in saved:
                continue                # written before the flags existed: defaults apply
            if key not in saved:
                raise error(f"optimizer checkpoint '{path}': parameter group {i} lacks "
                            f"hyperparameter '{key}'")
            got = saved[key]
            if isinstance(value, bool):
                ok = isinstance(got, bool) or got is None
            elif value is None:         # foreach's None or True; LBFGS's line_search_fn
                ok = got is None or isinstance(got, (bool, str))
            elif isinstance(value, numbers.Real):
                ok = isinstance(got, numbers.Real) and not isinstance(got, bool)
            elif isinstance(value, (tuple, list)):
                ok = isinstance(got, list) and len(got) == len(value)
            else:
                ok = True
            if not ok:
                raise error(f"optimizer checkpoint '{path}': parameter group {i} has "
                            f"'{key}' = {got!r}, expected something like {value!r}")
