"""torch.save / torch.load: any picklable object holding tensors (a state dict, a checkpoint
dict, a whole model), written with pickle.

    autograd.save(model.state_dict(), "model.pth")
    model.load_state_dict(autograd.load("model.pth", weights_only=True))

A tensor is saved as its data (a numpy array), its requires_grad and whether it is an
nn.Parameter, never its graph: a loaded tensor is a leaf, as torch's. `load(weights_only=True)`
(torch's default) unpickles only tensors, numpy arrays, dtypes, devices, Python containers and
numbers, and raises pickle.UnpicklingError naming anything else, as torch's does; a whole model
needs `weights_only=False`, which runs whatever the file says: load such files only from
sources you trust. The files are tapegrad's own (pickle), not torch's zip format.
"""
import io
import os
import pickle

import numpy as np

from .tensor import Tensor


def _rebuild_tensor(kind, data, requires_grad):
    """A saved tensor back: a leaf of `kind` ("Tensor" or "Parameter") holding data."""
    if kind == "Parameter":
        from nn.module import Parameter
        return Parameter(data, requires_grad=requires_grad)
    t = Tensor._node(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            kind = "Parameter" if type(obj).__name__ == "Parameter" else "Tensor"
            return _rebuild_tensor, (kind, np.array(obj._data), bool(obj.requires_grad))
        return NotImplemented


# protocol 4 whatever the caller asks: protocol 2 stores bytes through _codecs.encode, which a
# weights_only load would have to trust
_PROTOCOL = 4


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Write obj to f (a path or a binary file object) with pickle; tensors are stored as
    their data, leaves, without their graphs."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            _Pickler(fh, protocol=_PROTOCOL).dump(obj)
    else:
        _Pickler(f, protocol=_PROTOCOL).dump(obj)


# what weights_only=True lets a file name: (module, name) pairs
_SAFE = {
    ("autograd.serialization", "_rebuild_tensor"),
    ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("builtins", "complex"), ("builtins", "range"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("autograd.devices", "device"),
}


class _WeightsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE or module == "numpy.dtypes" or (
                module == "autograd.dtypes" and name in _dtype_names()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Weights only load failed: the file names the global {module}.{name}, which "
            f"weights_only=True does not load. If you trust the file, load it with "
            f"weights_only=False (it can then run any code).")


def _dtype_names():
    from .dtypes import DTYPE_NAMES
    return DTYPE_NAMES


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """The object save() wrote to f (a path or a binary file object). weights_only=True (the
    default, as torch's) refuses files that name anything but tensors, arrays and plain data;
    map_location may only name the CPU."""
    if map_location is not None and not callable(map_location) and not isinstance(
            map_location, dict):
        from .devices import as_device
        as_device(map_location, "load(map_location=...)")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    stream = io.BytesIO(data)
    if weights_only:
        return _WeightsUnpickler(stream).load()
    return pickle.Unpickler(stream).load()


__all__ = ["save", "load"]
