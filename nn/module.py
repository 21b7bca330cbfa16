"""`Module`, `Parameter` and `ModuleList`: the bookkeeping every layer shares.

A Module registers what is assigned to it: a `Parameter` goes to `_parameters`, a Module to
`_modules`, and `register_buffer` names non-trainable state (running statistics) in `_buffers`.
Everything else follows from those three dicts: `parameters()`, dotted `named_parameters()`,
`state_dict()` with PyTorch's key names, `train()`/`eval()`, the printed tree. Hooks (forward
pre-hooks and hooks, backward hooks and pre-hooks: nn/backward_hooks.py) live in one table,
`_hooks`, made when the first is registered: a module without hooks calls forward directly.
"""
import functools
import html
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from weakref import ref as _weakref

import numpy as np

from autograd import Tensor
from autograd.engine import STATE, Node
from autograd.tensor import get_default_dtype
from autograd.utils.hooks import RemovableHandle as _Handle

from .backward_hooks import BackwardHook


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable: requires_grad=True by default.

    Python numbers and integer arrays become the default float dtype; float arrays keep theirs.
    """
    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        if isinstance(data, Node):
            data = data._data
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        if arr.dtype.kind != "f":
            if arr.dtype.kind not in "iub":
                raise TypeError(f"Parameter: cannot make a parameter from dtype {arr.dtype}")
            arr = arr.astype(get_default_dtype())
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _as_array(value, key):
    """A state_dict entry as a numpy array: numpy arrays, our Tensors, torch tensors (duck
    typed through .detach().cpu().numpy(), so torch is never imported) and Python numbers."""
    if isinstance(value, Node):
        return np.asarray(value._data)
    if not isinstance(value, np.ndarray) and hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as e:          # noqa: BLE001 (any conversion failure is reported by key)
        raise TypeError(f"load_state_dict: entry '{key}' cannot be read as an array: {e}") \
            from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"load_state_dict: entry '{key}' has dtype {arr.dtype}, expected a "
                        f"numeric array")
    return arr


def _count(shape):
    return int(np.prod(shape)) if len(shape) else 1


def _device_type(device):
    """'cpu' for "cpu", "cpu:0", a device object whose .type is 'cpu'; else the name asked."""
    if device is None:
        return None
    kind = getattr(device, "type", device)
    if isinstance(kind, str):
        return kind.split(":", 1)[0]
    return repr(device)


def _check_device(device, where):
    """tapegrad computes on the CPU only: any other device is a clear error (torch without CUDA
    fails too, but later and less plainly)."""
    kind = _device_type(device)
    if kind not in (None, "cpu"):
        from autograd.devices import DeviceError        # a RuntimeError, as before
        raise DeviceError(f"{where}: device {device!r} is not available: tapegrad computes on "
                          f"the CPU only (numpy); use device='cpu' or leave it out")


class RemovableHandle(_Handle):
    """What register_forward_hook and friends return, torch.utils.hooks.RemovableHandle (also
    Tensor.register_hook's): `handle.remove()` unregisters the hook, `with handle:` removes it
    at the end of the block. Removing a module's hook tells autograd.compile that the module's
    hooks changed."""

    def remove(self):
        hooks = self.hooks_dict_ref()
        if hooks is not None and hooks.pop(self.id, None) is not None:
            STATE.module_changes += 1       # autograd.compile: the module's hooks changed


def _repr_tree(root):
    """torch's module repr, built without recursion: 'Name(extra)' for a leaf, else
    'Name(\\n  (child): ...\\n)' with each child's text indented two spaces. A module
    that contains itself (torch would recurse forever) shows as '...'."""
    text = {}
    open_ = set()
    stack = [(root, False)]
    while stack:            # post-order: a module's text is made after all its children's
        m, ready = stack.pop()
        if id(m) in text:
            continue
        if ready:
            open_.discard(id(m))
            text[id(m)] = m._repr_with(
                lambda c: "None" if c is None else text.get(id(c), "..."))
            continue
        open_.add(id(m))
        stack.append((m, True))
        stack.extend((c, False) for c in m._modules.values()
                     if c is not None and id(c) not in text and id(c) not in open_)
    return text[id(root)]


def _addindent(s, spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class _Registry(OrderedDict):
    """A module's _parameters, _buffers or _modules: an OrderedDict that counts its changes in
    the module's `_structure` cell, which autograd.compile compares (a parameter, buffer or
    child replaced, added or removed after a trace traces again), and in
    STATE.module_changes, which tells it when to compare."""

    def __init__(self, cell=None):
        super().__init__()
        self.cell = cell if cell is not None else [0]

    def _changed(self):
        self.cell[0] += 1
        STATE.module_changes += 1

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key):
        super().__delitem__(key)
        self._changed()

    def clear(self):
        super().clear()
        self._changed()

    def pop(self, key, *default):
        out = super().pop(key, *default)
        self._changed()
        return out

    def popitem(self, last=True):
        out = super().popitem(last)
        self._changed()
        return out

    def move_to_end(self, key, last=True):
        super().move_to_end(key, last)
        self._changed()


class Module:
    """Base class of every layer and model: subclass it, assign parameters and submodules in
    `__init__`, write `forward`. Calling the module calls `forward`.

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x).relu()
    """

    # forward and backward hooks: None until one is registered, so that calling a module
    # without hooks costs one attribute test
    _hooks = None
    # torch's: None until a backward hook is registered, then True (full) or False (legacy);
    # it stays after the hooks are removed, so the other kind is still refused (as in torch)
    _is_full_backward_hook = None

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; "
                            f"Module.__init__() takes none")
        d = self.__dict__
        d["_structure"] = cell = [0]     # changes of the three registries (see _Registry)
        d["_parameters"] = _Registry(cell)
        d["_buffers"] = _Registry(cell)
        d["_modules"] = _Registry(cell)
        d["training"] = True

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError(f"cannot assign parameter '{name}' before "
                                     f"Module.__init__() call (call super().__init__() first)")
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError(f"cannot assign module '{name}' before "
                                     f"Module.__init__() call (call super().__init__() first)")
            self._forget(name)
            d["_modules"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter '{name}' "
                                f"of {type(self).__name__}: wrap it in nn.Parameter (or None)")
            params[name] = None
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module "
                                f"'{name}' of {type(self).__name__} (expected a Module or None)")
            d["_modules"][name] = None
        else:
            if STATE.trace is not None and isinstance(value, Node):
                # inside autograd.compile's trace (a hand-written running mean): see
                # Trace.assigned
                STATE.trace.assigned(f"{type(self).__name__}.{name}", value)
            if params is not None and name in d["_buffers"]:
                d["_buffers"][name] = self._as_buffer(name, value)
                return
            # a plain attribute (training, a number such as Dropout's p): counted, for the
            # guards of autograd.compile
            STATE.module_changes += 1
            object.__setattr__(self, name, value)

    def _forget(self, name):
        d = self.__dict__
        d.pop(name, None)
        d.get("_non_persistent_buffers_set", set()).discard(name)
        for k in ("_parameters", "_buffers", "_modules"):
            d[k].pop(name, None)

    @staticmethod
    def _as_buffer(name, value):
        if value is None:
            return None
        if isinstance(value, Tensor):
            return value if not value.requires_grad else value.detach()
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"buffer '{name}' must be numeric, got dtype {arr.dtype}")
        return Tensor(arr)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for k in ("_parameters", "_buffers", "_modules"):
            reg = d.get(k)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for k in ("_parameters", "_buffers", "_modules"):
            if name in d[k]:
                del d[k][name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, value, persistent=True):
        """Name non-trainable state (running statistics): not a parameter, saved in
        state_dict unless persistent=False (a cache such as a causal mask, rebuilt from the
        code: torch leaves those out of state_dict and load_state_dict). `value` is a Tensor,
        numpy array, number or None."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot register a buffer before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r}")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        self._forget(name)
        self._buffers[name] = self._as_buffer(name, value)
        if not persistent:
            self.__dict__.setdefault("_non_persistent_buffers_set", set()).add(name)

    def _persistent(self, name):
        return name not in self.__dict__.get("_non_persistent_buffers_set", ())

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be an nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"module name can't contain \".\", got: {name}" if name else
                           "module name can't be empty string \"\"")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at dotted path `target` ('' is self), e.g. 'encoder.0'."""
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(f"{type(m).__name__} has no attribute `{part}`")
            m = m._modules[part]
        return m

    def get_parameter(self, target):
        """The parameter at dotted path `target`, e.g. 'encoder.0.weight'."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter `{name}`")
        return m._parameters[name]

    # ------------------------------------------------------------------ hooks
    def _hook_table(self):
        """{"pre", "post", "backward", "backward_pre"}: the forward pre-hooks and hooks, the
        backward hooks (full or legacy: see _is_full_backward_hook) and pre-hooks, each an
        OrderedDict handle id -> (hook, flags) in calling order."""
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            hooks = self.__dict__["_hooks"] = {}
        for kind in ("pre", "post", "backward", "backward_pre"):
            hooks.setdefault(kind, OrderedDict())   # a table pickled before has pre and post
        return hooks

    def _register_hook(self, kind, hook, prepend, flags):
        table = self._hook_table()[kind]
        handle = RemovableHandle(table)
        table[handle.id] = (hook, flags)
        STATE.module_changes += 1           # autograd.compile guards a module's hooks
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) runs before forward; returning a value replaces the positional
        inputs (a tuple, or one value). with_kwargs=True: hook(module, args, kwargs) may
        return (args, kwargs). Returns a handle with .remove()."""
        return self._register_hook("pre", hook, prepend, (with_kwargs, False))

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """hook(module, args, output) runs after forward; returning a value replaces the
        output. with_kwargs=True: hook(module, args, kwargs, output). always_call=True also
        runs it when forward raises. Returns a handle with .remove()."""
        return self._register_hook("post", hook, prepend, (with_kwargs, always_call))

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) -> tuple or None, called in backward when the
        gradients with respect to the module's inputs are complete: grad_input[i] =
        d loss / d args[i], grad_output[j] = d loss / d outputs[j] (tuples; positional
        arguments only). A returned tuple replaces grad_input. As in torch:

        - None in grad_input for an argument that is not a tensor; zeros for a tensor that
          requires no gradient or that forward did not use; None in grad_output for an output
          that received no gradient (or is not a tensor);
        - if no input requires grad, the hook runs when the outputs' gradients are complete,
          with grad_input all None (and a UserWarning), and may return only None; if no
          output requires grad (or grad mode was off at the call), it does not run;
        - forward receives, and the caller gets, new tensors on the same arrays: changing them
          in place while recording is an error;
        - a module may not have both these and register_backward_hook's hooks.

        Returns a handle with .remove(). See nn/backward_hooks.py for the mechanism."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = True
        return self._register_hook("backward", hook, prepend, None)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) -> tuple or None, called in backward when the gradients
        with respect to the module's outputs are complete, before any gradient goes into the
        module; a returned tuple (of the same length) replaces grad_output for what follows:
        the module's own backward, and the full backward hooks. Returns a handle with
        .remove()."""
        return self._register_hook("backward_pre", hook, prepend, None)

    def register_backward_hook(self, hook):
        """torch's deprecated backward hook: hook(module, grad_input, grad_output). torch calls
        it with the gradients of the last autograd node of forward (for nn.Linear: bias,
        input and weight.T, as its addmm sees them), and warns (FutureWarning) that this will
        change; tapegrad, whose ops are not torch's nodes, calls it as the full backward hook
        (the gradients with respect to the module's inputs and outputs: the same as torch's
        for a module of one op, such as nn.ReLU), with a FutureWarning at each call. A module
        may not have both kinds."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = False
        return self._register_hook("backward", hook, False, None)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        # Nodes made inside remember this module (weakly: a graph never keeps a model alive),
        # so that drawings can name an op after its layer ("Linear 0").
        prev = STATE.module
        STATE.module = _weakref(self)
        if STATE.trace is not None:     # autograd.compile retraces if its mode or parts change
            STATE.trace.uses_module(self)
        try:
            if self._hooks is None:
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        finally:
            STATE.module = prev

    def _call_with_hooks(self, args, kwargs):
        hooks = self._hooks
        for hook, (with_kwargs, _) in list(hooks["pre"].values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
            if result is None:
                self._observing_hook("pre-hook")
        backward_hook = None
        if hooks.get("backward") or hooks.get("backward_pre"):  # get: a table pickled before
            # torch's order: after the forward pre-hooks, so that they see the caller's inputs
            backward_hook = BackwardHook(self, [h for h, _ in hooks["backward"].values()],
                                         [h for h, _ in hooks["backward_pre"].values()])
            args = backward_hook.setup_input_hook(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            for hook, (with_kwargs, always) in list(hooks["post"].values()):
                if always:
                    hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
            raise
        for hook, (with_kwargs, _) in list(hooks["post"].values()):
            result = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if result is not None:
                out = result
            else:
                self._observing_hook("hook")
        if backward_hook is not None:
            out = self._with_backward_hook(backward_hook, out)
        return out

    def _with_backward_hook(self, backward_hook, out):
        """The output with the outputs' hub of backward_hook on it (after the forward hooks,
        whose result it is; torch's order)."""
        if not isinstance(out, (Tensor, tuple)):
            warnings.warn(f"For backward hooks to be called, module output should be a Tensor or "
                          f"a tuple of Tensors but received {type(out)}", stacklevel=4)
        if self._is_full_backward_hook is False and self._hooks["backward"]:
            warnings.warn(
                "Using a non-full backward hook (register_backward_hook) is deprecated, as in "
                "torch; tapegrad calls it as a full backward hook, with the gradients with "
                "respect to the module's inputs and outputs (torch's gives those of the last "
                "autograd Node of forward). Please use register_full_backward_hook to get the "
                "documented behavior.", FutureWarning, stacklevel=4)
        return backward_hook.setup_output_hook(out)

    def _observing_hook(self, kind):
        """A forward hook that returned None ran for what it does besides the output
        (activations recorded in a list, a print): inside a function autograd.compile
        traces, that happens once, at the trace, so the trace refuses it. A hook that
        returns a new output is ops, compiled as any."""
        if STATE.trace is not None:
            STATE.trace.refuse(f"a forward {kind} of {type(self).__name__} that returns None "
                               f"(it runs for its effects, such as recording activations; "
                               f"remove it before compiling, or return its output)")

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, pre-order; a module
        reached twice is listed once unless remove_duplicate=False (torch's arguments)."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in memo:
                    continue
                memo.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                    if c is not None]
            stack.extend(reversed(kids))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, v in getattr(m, registry).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))     # a shared (tied) parameter is listed once, as in PyTorch
                yield (f"{mprefix}.{name}" if mprefix else name), v

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs, e.g. ('0.weight', ...), ('encoder.fc.bias', ...)."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call fn on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def num_parameters(self, trainable_only=False):
        """Total number of scalar parameters."""
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes and grads
    def _compiled_module(self, check=False, cache_size=8):
        """autograd.compile(module): a module back, as torch.compile gives."""
        return OptimizedModule(self, check, cache_size)

    def zero_grad(self, set_to_none=True):
        """Clear the gradient of every parameter (None by default, as PyTorch does)."""
        if STATE.trace is not None:       # inside a compiled function: called again at each
            return STATE.trace.run_effect("zero_grad()",                # call
                                          functools.partial(self.zero_grad, set_to_none))
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad.zero_()

    def train(self, mode=True):
        """Training mode (Dropout samples, BatchNorm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        if STATE.trace is not None:
            # inside a function autograd.compile traces (model.train() opening a training
            # step): an effect, set again at each call, and no guard on these modules' mode
            STATE.trace.set_mode(self, mode)
            return self
        for m in self.modules():
            m.__dict__["training"] = mode
        STATE.module_changes += 1
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    # ------------------------------------------------------------------ dtype
    def to_dtype(self, dtype):
        """Convert every floating parameter and buffer to `dtype` in place (the Parameter objects
        stay the same, so optimizers built before still hold them); gradients are cast too."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to_dtype: only float dtypes are allowed, got {dtype}")
        for p in self.parameters():
            p._data = p._data.astype(dtype)
            if p._grad is not None:
                p._grad = Tensor(p._grad._data.astype(dtype))
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None and b._data.dtype.kind == "f":
                    m._buffers[name] = Tensor(b._data.astype(dtype))
        return self

    def double(self):
        return self.to_dtype(np.float64)

    def float(self):
        return self.to_dtype(np.float32)

    def half(self):
        return self.to_dtype(np.float16)

    def to(self, *args, **kwargs):
        """torch's forms: to(device), to(dtype), to(device, dtype), to(tensor), with keywords
        device=, dtype=, non_blocking= (ignored). Only the CPU exists: another device is an
        error. A float dtype converts every floating parameter and buffer in place."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, bool):           # to(dtype, non_blocking) positional
                continue
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) or hasattr(arg, "type") and not hasattr(arg, "kind"):
                device = arg
            else:
                try:
                    dtype = np.dtype(arg)
                except TypeError:
                    raise TypeError(f"to() received an invalid combination of arguments: "
                                    f"{arg!r} is neither a device nor a dtype") from None
        _check_device(device, f"{type(self).__name__}.to")
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind not in "fc":
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
            self.to_dtype(dtype)
        return self

    def cpu(self):
        """Everything already lives on the CPU: returns self."""
        return self

    def cuda(self, device=None):
        """tapegrad has no GPU: a clear error (use .to('cpu') or leave the model where it is)."""
        _check_device("cuda" if device is None else f"cuda:{device}", f"{type(self).__name__}"
                      f".cuda")

    def mps(self):
        _check_device("mps", f"{type(self).__name__}.mps")

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix=""):
        """OrderedDict of dotted name -> Tensor (a detached copy of the data), parameters and
        buffers, in PyTorch's order and with its key names: a module's own parameters, then its
        buffers, then each child's entries. (torch's tensors share the parameters' memory;
        these are copies, so a state dict taken earlier does not change as training goes on.)"""
        out = OrderedDict()
        self._save_to(out, prefix)
        return out

    def _save_to(self, out, prefix):
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = Tensor._node(p._data.copy())
        for name, b in self._buffers.items():
            if b is not None and self._persistent(name):
                out[prefix + name] = Tensor._node(b._data.copy())
        for name, m in self._modules.items():
            if m is not None:
                m._save_to(out, f"{prefix}{name}.")

    def _state_slots(self):
        """dotted name -> (owning module, registry name, attribute name, current Tensor)."""
        slots = OrderedDict()
        stack = [("", self)]
        seen = set()
        while stack:
            prefix, m = stack.pop(0)
            if id(m) in seen:
                continue
            seen.add(id(m))
            for reg in ("_parameters", "_buffers"):
                for name, t in getattr(m, reg).items():
                    if t is not None and (reg == "_parameters" or m._persistent(name)):
                        slots[prefix + name] = (m, reg, name, t)
            for name, c in m._modules.items():
                if c is not None:
                    stack.append((f"{prefix}{name}.", c))
        return slots

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into parameters and buffers by key (numpy arrays, Tensors or torch
        tensors). Every entry is validated before anything is assigned, so a failed load leaves
        the module untouched. Wrong shapes always raise; with strict=True missing and unexpected
        keys raise too (each error names the key). Returns (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a mapping of name -> array, got "
                            f"{type(state_dict).__name__}")
        slots = self._state_slots()
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        problems = []
        arrays = {}
        for key, (m, reg, name, t) in slots.items():
            if key not in state_dict:
                continue
            arr = _as_array(state_dict[key], key)
            if arr.shape != t._data.shape:
                problems.append(f"size mismatch for '{key}': the checkpoint has shape "
                                f"{arr.shape}, the model ({type(m).__name__}) expects shape "
                                f"{t._data.shape}")
                continue
            arrays[key] = arr
        if strict:
            if missing:
                problems.append("missing key(s) in state_dict: " +
                                ", ".join(f"'{k}'" for k in missing))
            if unexpected:
                problems.append("unexpected key(s) in state_dict: " +
                                ", ".join(f"'{k}'" for k in unexpected))
        if problems:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  " +
                "\n  ".join(problems))
        for key, arr in arrays.items():
            m, reg, name, t = slots[key]
            t._data = np.array(arr, dtype=t._data.dtype, copy=True)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """The text inside the parentheses of this module's line, e.g. 'in_features=4, ...'."""
        return ""

    def _own_params_text(self):
        parts = [f"{n} {tuple(p.shape)}" for n, p in self._parameters.items() if p is not None]
        return ", ".join(parts)

    def _get_name(self):
        return type(self).__name__

    def _repr_with(self, child_text):
        """This module's text, given the text of each child (torch's layout)."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(child_text(c), 2)
                       for k, c in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

    def __repr__(self):
        """torch's text: Name(settings), children indented as '(name): ...'."""
        return _repr_tree(self)

    def summary(self):
        """A tree: one line per module with its settings, its own parameter shapes and the
        number of parameters below it (repr() is torch's text, without the counts)."""
        lines = []
        stack = [(0, None, self, False)]
        while stack:
            depth, name, m, closing = stack.pop()
            pad = "  " * depth
            if closing:
                lines.append(pad + ")")
                continue
            head = pad + (f"({name}): " if name is not None else "") + type(m).__name__
            n = m.num_parameters()
            note = []
            own = m._own_params_text()
            if own:
                note.append(own)
            if n:
                note.append(f"{n:,} params")
            comment = ("  # " + "; ".join(note)) if note else ""
            kids = [(k, c) for k, c in m._modules.items() if c is not None]
            if kids:
                lines.append(f"{head}({m.extra_repr()}{comment}" if not m.extra_repr()
                             else f"{head}({m.extra_repr()},{comment}")
                stack.append((depth, None, None, True))
                for k, c in reversed(kids):
                    stack.append((depth + 1, k, c, False))
            else:
                lines.append(f"{head}({m.extra_repr()}){comment}")
        return "\n".join(lines)

    def _repr_html_(self):
        """Jupyter: a table of the modules with their parameter shapes and counts."""
        rows = []
        for name, m in self.named_modules():
            depth = name.count(".") + (1 if name else 0)
            shapes = ", ".join(f"{k}: {tuple(p.shape)}" for k, p in m._parameters.items()
                               if p is not None)
            own = sum(p.numel() for p in m._parameters.values() if p is not None)
            label = html.escape(name.rsplit(".", 1)[-1] or type(self).__name__)
            desc = html.escape(f"{type(m).__name__}({m.extra_repr()})")
            rows.append(
                f"<tr><td style='text-align:left;padding-left:{depth * 1.2:.1f}em'>{label}</td>"
                f"<td style='text-align:left'><code>{desc}</code></td>"
                f"<td style='text-align:left'>{html.escape(shapes)}</td>"
                f"<td>{own:,}</td></tr>")
        total = self.num_parameters()
        return ("<table><thead><tr><th>name</th><th>module</th><th>parameters</th>"
                "<th>count</th></tr></thead><tbody>" + "".join(rows) +
                f"</tbody><tfoot><tr><td colspan='3'><b>total</b></td><td><b>{total:,}</b>"
                "</td></tr></tfoot></table>")


class OptimizedModule(Module):
    """What autograd.compile(module) returns, as torch.compile does: a module whose forward
    is the compiled call of the original, `_orig_mod`, its only child. So parameters(),
    train(), eval(), to() and state_dict() reach the original (state_dict keys begin with
    "_orig_mod.", as torch's do), and other attributes are read from it. A change of training
    mode traces again (and both traces are kept)."""

    def __init__(self, mod, check=False, cache_size=8):
        from autograd.compile import Compiled
        super().__init__()
        self._orig_mod = mod
        self._compiled = Compiled(mod, check, cache_size)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    @property
    def source(self):
        """The generated code of the latest trace (autograd.compile's .source)."""
        return self._compiled.source

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod":
                raise
            return getattr(self._orig_mod, name)


class StateDictError(RuntimeError):
    """load_state_dict failure (RuntimeError, as in PyTorch): missing, unexpected or wrongly
    shaped keys, each named in the message."""


class ModuleList(Module):
    """A list of modules, registered as children '0', '1', ... (so their parameters are found
    and their state_dict keys read 'layers.0.weight' as in PyTorch)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, m):
        if not isinstance(m, Module):
            raise TypeError(f"{type(self).__name__} holds Modules only, got {type(m).__name__}")
        return m

    def _list(self):
        return list(self._modules.values())

    def _renumber(self, items):
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def append(self, module):
        self._modules[str(len(self._modules))] = self._check(module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = self._list()
        items.insert(index, self._check(module))
        self._renumber(items)

    def __getitem__(self, index):
        items = self._list()
        if isinstance(index, slice):
            return type(self)(items[index])
        try:
            return items[index]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a {type(self).__name__} of "
                             f"length {len(items)}") from None

    def __setitem__(self, index, module):
        items = self._list()
        items[index] = self._check(module)
        self._renumber(items)

    def __delitem__(self, index):
        items = self._list()
        del items[index]
        self._renumber(items)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._list())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container and has no forward(); iterate "
                                  "over it in your module's forward")

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def pop(self, index=-1):
        items = self._list()
        m = items.pop(index)
        self._renumber(items)
        return m

    def _repr_with(self, child_text):
        """torch's ModuleList text: runs of equal children folded, '(0-2): 3 x Linear(...)'."""
        texts = [child_text(m) for m in self._modules.values()]
        if not texts:
            return self._get_name() + "()"
        lines = []
        start = 0
        for i in range(1, len(texts) + 1):
            if i == len(texts) or texts[i] != texts[start]:
                body = texts[start]
                head = (f"({start})" if i - 1 == start else
                        f"({start}-{i - 1}): {i - start} x")
                lines.append(_addindent(f"{head}: {body}" if i - 1 == start else
                                        f"{head} {body}", 2))
                start = i
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules registered under their keys (state_dict keys read
    'blocks.encoder.weight'), as torch.nn.ModuleDict."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        m = self._modules[key]
        del self._modules[key]
        return m

    def update(self, modules):
        """Add (key, module) pairs from a mapping (dict, OrderedDict, ModuleDict) or an
        iterable of pairs, in order."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = modules.items()
        else:
            pairs = []
            for i, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{i} should be an "
                                     f"iterable of length 2, got {pair!r}")
                pairs.append(pair)
        for key, module in pairs:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container and has no forward(); index it "
                                  "in your module's forward")


def _as_parameter(value):
    """What torch's parameter containers store: Parameters as they are, other tensors (and
    arrays) wrapped as Parameters, anything else unchanged."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, (Tensor, np.ndarray)):
        return Parameter(value)
    return value


def _parameter_text(p):
    if not isinstance(p, Tensor):
        return f"Object of type: {type(p).__name__}"
    size = "x".join(str(n) for n in p.shape)
    return f"Parameter containing: [{p.dtype} of size {size}]"


class ParameterList(Module):
    """A list of parameters registered as '0', '1', ... (tensors are wrapped as Parameters),
    so that model.parameters() and optimizers find them."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __len__(self):
        return self._size

    def _get(self, i):
        return getattr(self, str(i))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList([self._get(i) for i in range(self._size)[index]])
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} is out of range for a ParameterList of length "
                             f"{self._size}")
        return self._get(index % self._size)

    def __setitem__(self, index, value):
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} is out of range for a ParameterList of length "
                             f"{self._size}")
        self._set(str(index % self._size), _as_parameter(value))

    def _set(self, name, value):
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        else:
            self._forget(name)
            object.__setattr__(self, name, value)

    def __iter__(self):
        return (self._get(i) for i in range(self._size))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        self._size += 1
        self._set(str(self._size - 1), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): {_parameter_text(p)}" for i, p in enumerate(self))

    def _repr_with(self, child_text):
        extra = self.extra_repr()
        return self._get_name() + ("(\n    " + extra.replace("\n", "\n    ") + "\n)"
                                   if extra else "()")

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList is a container and has no forward()")


class ParameterDict(Module):
    """An ordered dict of parameters registered under their keys (tensors are wrapped as
    Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = OrderedDict()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str) or "." in key or not key:
            raise KeyError(f"parameter name must be a non-empty string without '.', got "
                           f"{key!r}")
        self._keys[key] = None
        value = _as_parameter(value)
        if isinstance(value, Parameter):
            self.register_parameter(key, value)
        else:
            self._forget(key)
            object.__setattr__(self, key, value)

    def __delitem__(self, key):
        del self._keys[key]
        self._forget(key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def get(self, key, default=None):
        return self[key] if key in self._keys else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def update(self, parameters):
        pairs = parameters.items() if isinstance(parameters, (Mapping, ParameterDict)) \
            else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self):
        return "\n".join(f"({k}): {_parameter_text(p)}" for k, p in self.items())

    _repr_with = ParameterList._repr_with

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict is a container and has no forward()")
