"""The rest of torch.autograd's functions a program calls: Variable, backward,
set_detect_anomaly / is_anomaly_enabled, and torch's default-device switches."""
import numpy as np

from .devices import CPU, as_device
from .engine import STATE, AnomalyMode, Node, _refresh_hooks
from .engine import grad as _grad
from .tensor import Tensor


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad: the gradients of outputs with respect to each of inputs, as a
    tuple, leaving .grad alone (engine.grad does the work; see it for create_graph).

    grad_outputs may come third, as in torch, but never as a bool: grad(y, [x], True) is a
    TypeError, not True read as a gradient. allow_unused=True gives None for an input that
    outputs does not depend on (materialize_grads=True: zeros instead). only_inputs is
    accepted and ignored, as torch does."""
    if isinstance(grad_outputs, bool):
        raise TypeError("grad(): grad_outputs must be a Tensor, a sequence of Tensors or None, "
                        "got a bool (did you mean create_graph=... or retain_graph=...?)")
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported: call grad "
                                  "once per row of grad_outputs")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    allow = bool(allow_unused) or materialize_grads
    result = _grad(outputs, inputs, grad_outputs=grad_outputs, retain_graph=retain_graph,
                   create_graph=create_graph, allow_unused=allow)
    if materialize_grads:
        xs = [inputs] if isinstance(inputs, Node) else list(inputs)
        result = [g if g is not None else x._const_like(np.zeros(np.shape(x._data),
                                                                 np.asarray(x._data).dtype))
                  for g, x in zip(result, xs)]
    return tuple(result)


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
    (a context manager), as torch's. See detect_anomaly (strict= as there)."""

    def __init__(self, mode, check_nan=True, *, strict=False):
        self._prev = STATE.anomaly
        STATE.anomaly = AnomalyMode(check_nan, strict) if mode else False
        _refresh_hooks()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        _refresh_hooks()
        return False


def is_anomaly_enabled():
    """Whether anomaly mode (detect_anomaly) is on."""
    return STATE.anomaly is not False


def is_anomaly_check_nan_enabled():
    """Whether anomaly mode checks gradients for nan (its check_nan)."""
    return STATE.anomaly is not False and STATE.anomaly.check_nan


def get_default_device():
    """device(type='cpu'): the only one."""
    return CPU


def set_default_device(device):
    """Only the CPU (or None) can be the default device; another is DeviceError."""
    as_device(device, "set_default_device")
