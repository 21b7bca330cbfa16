"""The rest of torch.autograd's functions a program calls: Variable, backward,
set_detect_anomaly / is_anomaly_enabled, and torch's default-device switches."""
from .devices import CPU, as_device
from .engine import STATE, Node, _refresh_hooks
from .tensor import Tensor


def Variable(data, requires_grad=False, volatile=False):
    """torch.autograd.Variable, the pre-0.4 wrapper: today a tensor. Variable(t) is t's data
    as a new leaf (sharing memory) that requires grad if asked; other data is made into a
    tensor first, as Tensor(data) does."""
    if volatile:
        raise RuntimeError("volatile was removed (Variable.volatile is always False); use "
                           "`with no_grad():` instead")
    t = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_(requires_grad) if requires_grad else t


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """torch.autograd.backward: backward() of each tensor with its gradient (all into the
    leaves' .grad); the sum of the tensors' graphs is differentiated once."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    if isinstance(tensors, Node):
        tensors = [tensors]
        grad_tensors = None if grad_tensors is None else [grad_tensors] if isinstance(
            grad_tensors, Node) else grad_tensors
    tensors = list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs: got "
                           f"{len(grad_tensors)} gradients for {len(tensors)} tensors")
    if len(tensors) == 1:
        return tensors[0].backward(grad_tensors[0], retain_graph, create_graph, inputs=inputs)
    total = None
    for t, g in zip(tensors, grad_tensors):
        term = t.sum() if g is None else (t * t._const_like(t._seed(g))).sum()
        total = term if total is None else total + term
    return total.backward(None, retain_graph, create_graph, inputs=inputs)


class set_detect_anomaly:
    """set_detect_anomaly(mode): anomaly mode on or off from now on (a call), or for a block
    (a context manager), as torch's. See detect_anomaly."""

    def __init__(self, mode, check_nan=True):
        self._prev = STATE.anomaly
        STATE.anomaly = bool(mode)
        _refresh_hooks()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        _refresh_hooks()
        return False


def is_anomaly_enabled():
    """Whether anomaly mode (detect_anomaly) is on."""
    return STATE.anomaly


def is_anomaly_check_nan_enabled():
    return STATE.anomaly


def get_default_device():
    """device(type='cpu'): the only one."""
    return CPU


def set_default_device(device):
    """Only the CPU (or None) can be the default device; another is DeviceError."""
    as_device(device, "set_default_device")
