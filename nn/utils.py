"""Training diagnostics: gradient norms per parameter and per layer, and gradient clipping.

    loss.backward()
    for name, norm in nn.utils.grad_norms(model, per_layer=True).items():
        print(f"{name:12s} {norm:.2e}")    # shrinking toward the input: vanishing gradients
"""
import math

import numpy as np


def _norm(grad):
    if grad is None:
        return 0.0
    g = np.asarray(grad, dtype=np.float64)
    return float(np.sqrt(np.sum(g * g)))


def _groups(module, per_layer):
    """(name, [parameters]) pairs: one per parameter, or one per module owning parameters."""
    from .module import Module
    from .scalar import MLP, Layer, Neuron
    if isinstance(module, Module):
        if not per_layer:
            return [(n, [p]) for n, p in module.named_parameters()]
        out = []
        seen = set()
        for name, m in module.named_modules():
            own = [p for p in m._parameters.values() if p is not None and id(p) not in seen]
            seen.update(id(p) for p in own)
            if own:
                out.append((name or type(m).__name__, own))
        return out
    if isinstance(module, MLP):
        if per_layer:
            return [(f"layers.{i}", layer.parameters()) for i, layer in enumerate(module.layers)]
        return [(f"layers.{i}.neurons.{j}.{k}", [p])
                for i, layer in enumerate(module.layers)
                for j, n in enumerate(layer.neurons)
                for k, p in [(f"w{t}", w) for t, w in enumerate(n.w)] + [("b", n.b)]]
    if isinstance(module, (Layer, Neuron)):
        return [(type(module).__name__, module.parameters())]
    raise TypeError(f"grad_norms: expected an nn.Module or a scalar MLP/Layer/Neuron, got "
                    f"{type(module).__name__}")


def grad_norms(module, per_layer=False):
    """L2 norms of the gradients, as an ordered dict name -> float.

    per_layer=False: one entry per parameter, by dotted name ('0.weight', '0.bias', ...).
    per_layer=True: one entry per module that owns parameters ('0', '2', ... or the class name
    for the root), the norm of all its parameters' gradients together:
    sqrt(sum_p ||grad p||^2). A parameter without a gradient counts as 0.
    Works for Tensor modules and for the scalar MLP (Value parameters).
    """
    return {name: math.sqrt(sum(_norm(p.grad) ** 2 for p in params))
            for name, params in _groups(module, per_layer)}


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their joint norm is at most max_norm (see
    optim.clip_grad_norm_). Returns the total norm before clipping as a 0-d Tensor of the
    gradients' dtype, as torch (`.item()` or `float()` gives the number); for Value
    parameters, a float. `foreach` is accepted and changes nothing."""
    from autograd import Tensor
    from optim import clip_grad_norm_ as clip
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = clip(params, max_norm, norm_type, error_if_nonfinite)
    grads = [p.grad for p in params if isinstance(p, Tensor) and p.grad is not None]
    if not grads and any(isinstance(p, Tensor) for p in params):
        return Tensor(np.asarray(total, dtype=np.float32))
    if not grads:
        return total
    return Tensor(np.asarray(total, dtype=np.result_type(*[np.asarray(g).dtype
                                                             for g in grads])))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """optim.clip_grad_value_: clamp every gradient entry to [-clip_value, clip_value]."""
    from optim import clip_grad_value_ as clip
    return clip(parameters, clip_value)


def _tensors(parameters, fn):
    from autograd import Tensor
    if isinstance(parameters, Tensor):
        raise TypeError(f"{fn} expected an iterable of Tensors, but got Tensor")
    return list(parameters)


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-d Tensor (a differentiable view of them,
    as torch's)."""
    from autograd.functional import concatenate
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of Tensors")
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d `vec` into the parameters' data (shapes kept),
    the inverse of parameters_to_vector."""
    from autograd import Tensor
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _tensors(parameters, "vector_to_parameters")
    data = np.asarray(vec.data)
    total = sum(p.data.size for p in params)
    if data.ndim != 1 or data.size != total:
        raise RuntimeError(f"vector_to_parameters: vec of shape {data.shape} does not hold the "
                           f"{total} values of the parameters")
    offset = 0
    for p in params:
        n = p.data.size
        p.data = data[offset:offset + n].reshape(p.data.shape).astype(p.data.dtype)
        offset += n
