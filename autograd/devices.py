"""Devices: torch's `device` objects and the GPU namespaces a program asks before it runs.

tapegrad computes with numpy, on the CPU only. A ported program still writes

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() \
        else "cpu"
    model.to(device); x = x.to(device)

so `device("cpu")` exists and prints as torch's, `cuda.is_available()`,
`backends.mps.is_available()` and `accelerator.is_available()` are False, and asking for
another device where memory would live (a tensor made on it, `.to("cuda")`, `.cuda()`) is a
`DeviceError` that names the device. As in torch, `device("cuda")` itself is no error: it is
only a name until something is put there.

This module imports nothing from tapegrad but dtypes' printing prefix.
"""
from . import dtypes as _dt

# torch's device types (its message lists them when a string is none of them)
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


class DeviceError(RuntimeError, AssertionError):
    """A device other than the CPU was asked to hold a tensor or a module. (A RuntimeError,
    and an AssertionError as torch's "Torch not compiled with CUDA enabled" is.)"""


class device:
    """torch.device: a device type ('cpu', 'cuda', 'mps' ...) and an optional index.

    device("cpu"), device("cuda:1"), device("cuda", 1), device(other_device). repr is
    `device(type='cpu')`, str is `cpu` (with `:index` when there is one). Equal to devices of
    the same type and index, as in torch (not to strings)."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): a device object takes no index")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(f"device(): tapegrad has no accelerator, so a bare index ({type}) "
                               f"names no device; use 'cpu'")
        elif not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({_type_name(type)})")
        else:
            name, _, number = type.partition(":")
            if name not in _DEVICE_TYPES:
                raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at "
                                   f"start of device string: {type}")
            if number:
                if index is not None:
                    raise RuntimeError(f"type (string) must not include an index because index "
                                       f"was passed explicitly: {type}")
                if not number.isdigit():
                    raise RuntimeError(f"Invalid device string: '{type}'")
                index = int(number)
            type = name
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)
                                  or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of '{_dt.get_repr_prefix()}.device' objects "
                             f"is not writable")

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self):
        return device, (self.type, self.index)


def _type_name(x):
    return type(x).__name__


CPU = device("cpu")


def as_device(spec, where="device"):
    """spec (None, a str, an int, a device) as the device a tensor would live on: the CPU, or
    DeviceError naming what was asked for and where."""
    if spec is None:
        return CPU
    d = spec if isinstance(spec, device) else device(spec) if not isinstance(spec, int) \
        else None
    if d is None or d.type != "cpu":
        asked = f"cuda:{spec}" if d is None else str(d)
        raise DeviceError(f"{where}: device '{asked}' is not available: tapegrad computes on the "
                          f"CPU only (numpy), and autograd.cuda.is_available() is False; use "
                          f"device='cpu' or leave the device out")
    return CPU


class _NoDevice:
    """A namespace for a device tapegrad does not have (cuda, mps, xpu): asked whether it
    exists, it says no; asked to do something, DeviceError."""

    def __init__(self, name):
        self._name = name

    def is_available(self):
        return False

    def is_built(self):
        return False

    def device_count(self):
        return 0

    def __repr__(self):
        return f"<module '{_dt.get_repr_prefix()}.{self._name}' (not available in tapegrad)>"


class _Cuda(_NoDevice):
    """torch.cuda: is_available() False, device_count() 0; the seeding calls a program makes
    unconditionally (manual_seed, manual_seed_all, seed, seed_all) do nothing, as torch's do
    without a GPU; synchronize() and empty_cache() do nothing either; current_device() and
    get_device_name() are DeviceError."""

    def manual_seed(self, seed):
        return None

    manual_seed_all = manual_seed

    def seed(self):
        return None

    seed_all = seed

    def synchronize(self, device=None):
        return None

    def empty_cache(self):
        return None

    def is_initialized(self):
        return False

    def current_device(self):
        raise DeviceError("cuda.current_device(): tapegrad has no GPU (autograd.cuda."
                          "is_available() is False)")

    def get_device_name(self, device=None):
        raise DeviceError("cuda.get_device_name(): tapegrad has no GPU (autograd.cuda."
                          "is_available() is False)")


class _CudnnBackend:
    """torch.backends.cudnn: the flags reproducibility recipes set (deterministic, benchmark,
    enabled) are kept and change nothing; is_available() is False."""

    def __init__(self):
        self.deterministic = False
        self.benchmark = False
        self.enabled = True
        self.allow_tf32 = True

    def is_available(self):
        return False

    def version(self):
        return None


class _Accelerator:
    """torch.accelerator: no accelerator. current_accelerator() is None, as torch's on a
    machine without one, so `torch.accelerator.current_accelerator().type if
    torch.accelerator.is_available() else "cpu"` gives "cpu"."""

    def is_available(self):
        return False

    def device_count(self):
        return 0

    def current_accelerator(self, check_available=False):
        return None


cuda = _Cuda("cuda")
mps = _NoDevice("backends.mps")
cudnn = _CudnnBackend()
accelerator = _Accelerator()

__all__ = ["device", "DeviceError", "as_device", "cuda", "mps", "cudnn", "accelerator"]
