"""Training diagnostics: gradient norms per parameter and per layer, the gradient-flow plot,
and gradient clipping.

    loss.backward()
    for name, norm in nn.utils.grad_norms(model, per_layer=True).items():
        print(f"{name:12s} {norm:.2e}")    # shrinking toward the input: vanishing gradients
    nn.utils.plot_grad_flow(model)         # the same at a glance: mean and max |grad| per tensor
"""
import math

import numpy as np

from autograd.engine import STATE

from . import rnn    # torch.nn.utils.rnn: padding and packing variable-length sequences


def _grad_array(grad):
    """A gradient as a float64 numpy array, or None: a Tensor's array, a Value's float, or
    anything numpy reads (a torch tensor through numpy's protocol)."""
    if grad is None:
        return None
    if hasattr(grad, "_data"):
        grad = grad._data
    elif not isinstance(grad, (np.ndarray, np.generic, float, int)) and hasattr(grad, "data"):
        grad = grad.data          # a torch tensor's, or any holder of one
    return np.asarray(grad, dtype=np.float64)


def _norm(grad):
    g = _grad_array(grad)
    if g is None:
        return 0.0
    return float(np.sqrt(np.sum(g * g)))


def _groups(module, per_layer):
    """(name, [parameters]) pairs: one per parameter, or one per module owning parameters."""
    from ..module import Module
    from ..scalar import MLP, Layer, Neuron
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


def grad_flow(module):
    """(name, mean |grad|, max |grad|) per parameter tensor of an nn.Module, in
    named_parameters() order (per layer for the scalar MLP: its parameters are single numbers).
    A parameter without a gradient gives None for both."""
    rows = []
    for name, params in _groups(module, per_layer=not _is_module(module)):
        grads = [_grad_array(p.grad) for p in params]
        if all(g is None for g in grads):
            rows.append((name, None, None))
            continue
        flat = np.abs(np.concatenate([g.ravel() for g in grads if g is not None]))
        rows.append((name, float(flat.mean()), float(flat.max())))
    return rows


def plot_grad_flow(module, ax=None, title="gradient flow"):
    """The gradient-flow plot of `module` after backward: for each parameter tensor, in the
    order the model uses them, the mean and the max of |grad| on a log scale. Gradients that
    shrink toward the input layers (vanishing) or grow (exploding) show as a slope; a tensor
    with no gradient is marked "none", an all-zero one "0" (log scales have no zero).

    Returns a matplotlib Figure (a new one of at most 8 x 3.4 inches, or the figure of `ax`),
    drawn off pyplot so that a notebook shows it once.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_grad_flow needs matplotlib: pip install matplotlib") from None
    rows = grad_flow(module)
    if not rows:
        raise ValueError(f"plot_grad_flow: {type(module).__name__} has no parameters")
    if ax is None:
        fig = Figure(figsize=(min(8.0, 2.0 + 0.45 * len(rows)), 3.4), dpi=100,
                     layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    x = np.arange(len(rows))
    positive = [v for _, mean, big in rows for v in (mean, big) if v]
    floor = min(positive) / 10 if positive else 1e-12      # where "0" and "none" are drawn
    means = np.array([mean if mean else floor for _, mean, _ in rows])
    maxes = np.array([big if big else floor for _, _, big in rows])
    ax.bar(x, maxes, width=0.7, color="#9ecae1", label="max |grad|")
    ax.bar(x, means, width=0.35, color="#08519c", label="mean |grad|")
    for i, (_, mean, big) in enumerate(rows):
        if big is None or big == 0.0:
            ax.annotate("none" if big is None else "0", (i, floor), ha="center",
                        va="bottom", fontsize=8, color="#cb181d")
    ax.set_yscale("log")
    ax.set_xticks(x, [name for name, _, _ in rows], rotation=45 if len(rows) > 4 else 0,
                  ha="right" if len(rows) > 4 else "center", fontsize=8)
    ax.set_ylabel("|grad| (log scale)")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _is_module(module):
    from ..module import Module
    return isinstance(module, Module)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their joint norm is at most max_norm (see
    optim.clip_grad_norm_). Returns the total norm before clipping as a 0-d Tensor of the
    gradients' dtype, as torch (`.item()` or `float()` gives the number); for Value
    parameters, a float. `foreach` is accepted and changes nothing."""
    from autograd import Tensor
    from optim import clip_grad_norm_ as clip
    from optim.clip import _as_effect
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if STATE.trace is not None:
        # inside a step autograd.compile traces: an effect, and the norm it returns is each
        # call's own (a step may return it for logging)
        return _as_effect(clip_grad_norm_, params, max_norm, norm_type, error_if_nonfinite)
    total = clip(params, max_norm, norm_type, error_if_nonfinite)
    # ._grad, not .grad: inside a compiled training step the clipping is an effect, and the
    # trace refuses reads of .grad
    grads = [p._grad for p in params if isinstance(p, Tensor) and p._grad is not None]
    if not grads and any(isinstance(p, Tensor) for p in params):
        return Tensor(np.asarray(total, dtype=np.float32))
    if not grads:
        return total
    return Tensor(np.asarray(total, dtype=np.result_type(*[g._data.dtype for g in grads])))


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
    data = np.asarray(vec._data)
    total = sum(p._data.size for p in params)
    if data.ndim != 1 or data.size != total:
        raise RuntimeError(f"vector_to_parameters: vec of shape {data.shape} does not hold the "
                           f"{total} values of the parameters")
    offset = 0
    for p in params:
        n = p._data.size
        p._data = data[offset:offset + n].reshape(p._data.shape).astype(p._data.dtype)
        offset += n
