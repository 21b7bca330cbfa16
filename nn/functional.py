"""Activations, dropout, linear and losses as functions of Tensors (`torch.nn.functional`).

Everything here is composed from the op table's primitives and defines no backward of its
own, except binary_cross_entropy: one fused row, because PyTorch's gradient of it (capped at
1e12 where a probability is 0 or 1) is not the derivative of any clamped composite.
The softmax family calls the table's stable primitives (log_softmax, logsumexp); elsewhere
stability comes from subtracting a constant before `exp`, which cancels in the math, so the
gradient stays exact while no `exp` ever sees a positive argument.

conv2d, max_pool2d and avg_pool2d are re-exported from `autograd.functional`.
"""
import numpy as np

from autograd import Tensor
from autograd.functional import avg_pool2d, conv2d, max_pool2d  # noqa: F401 (re-exported)
from autograd.functional import linear as _linear
from autograd.engine import Node
from autograd.ops import OPS
from autograd.ops_nn import ClassTargets
from autograd.random import _bernoulli_fill

from .init import as_rng

_REDUCTIONS = ("mean", "sum", "none")


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _dim(dim, ndim, fn):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{fn}: dim {dim} is out of range for a tensor of {ndim} dims")
    return dim % max(ndim, 1)


def _const(x, like):
    """A plain array as a constant of like's float dtype."""
    return np.asarray(x.data if isinstance(x, Node) else x, dtype=like.dtype)


# ---------------------------------------------------------------------------------------------
# activations
def relu(x):
    """max(x, 0); gradient 0 at 0."""
    return _t(x).relu()


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return _t(x).leaky_relu(negative_slope)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return _t(x).sigmoid()


def tanh(x):
    """tanh x."""
    return _t(x).tanh()


def step(x):
    """Heaviside step: 1 where x >= 0, else 0 (the perceptron's activation). Its gradient is
    0 everywhere (undefined at 0; taken as 0), so nothing learns through it by backprop."""
    x = _t(x)
    mask = (x.data >= 0).astype(x.dtype if x.dtype.kind == "f" else np.float64)
    return x * 0.0 + mask


def logsumexp(x, dim=-1, keepdim=False):
    """log sum_dim e^x, computed stably as m + log sum e^(x - m) with m = max x."""
    x = _t(x)
    return x.logsumexp(_dim(dim, x.ndim, "logsumexp"), keepdims=keepdim)


def softmax(x, dim=-1):
    """e^x_i / sum_j e^x_j along dim."""
    x = _t(x)
    return x.softmax(_dim(dim, x.ndim, "softmax"))


def log_softmax(x, dim=-1):
    """x_i - log sum_j e^x_j along dim (one stable primitive of the op table)."""
    x = _t(x)
    return x.log_softmax(_dim(dim, x.ndim, "log_softmax"))


def softplus(x):
    """log(1 + e^x) = m + log(e^-m + e^(x - m)) with m = max(x, 0) a constant: both exponents
    are <= 0, so it never overflows, and the gradient is sigmoid(x) everywhere (no kink, unlike
    the max(x, 0) + log(1 + e^-|x|) form, whose autograd gradient is wrong at x = 0)."""
    x = _t(x)
    m = np.maximum(x.data, 0).astype(x.dtype)
    return ((x - m).exp() + np.exp(-m)).log() + m


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so the expectation is unchanged; identity when not training or p == 0. With rng None the
    mask comes from autograd's default generator exactly as torch's F.dropout draws it (one
    uniform float64 per element, kept when < 1 - p); a seed or numpy Generator uses numpy."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _t(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    if rng is None:     # torch's mask: bernoulli_(1 - p) from autograd's default generator
        keep = _bernoulli_fill(np.empty_like(x.data), 1.0 - p)
        return x * (keep / x.dtype.type(1.0 - p))
    keep = as_rng(rng).random(x.shape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.dtype)


def linear(x, weight, bias=None):
    """x W^T + b, W of shape (out_features, in_features): one fused node of the op table."""
    x = _t(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{tuple(weight.shape)} (expected last dimension {weight.shape[-1]})")
    return _linear(x, weight, bias)


# ---------------------------------------------------------------------------------------------
# losses
def _reduce(loss, reduction, fn, denom=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        if denom is None:
            return loss.mean()
        return loss.sum() / denom
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(input, target, fn):
    if input.shape != target.shape:
        raise ValueError(
            f"{fn}: input has shape {input.shape} but target has shape {target.shape}; they "
            f"must match (broadcasting them is almost always a bug, e.g. (N, 1) against (N,))")


def _target(target, input):
    """Targets are data, not parameters, but may carry gradients (a GAN's fake labels never do;
    a distillation target may): Tensors pass through, arrays become constants."""
    if isinstance(target, Tensor):
        return target
    return Tensor(np.asarray(target, dtype=input.dtype))


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, reduced."""
    input = _t(input)
    target = _target(target, input)
    _check_reduction(reduction, "mse_loss")
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced; gradient 0 where they are equal (as PyTorch)."""
    input = _t(input)
    target = _target(target, input)
    _check_reduction(reduction, "l1_loss")
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [t log x + (1 - t) log(1 - x)], each log clamped below at -100, reduced (PyTorch).

    input holds probabilities in [0, 1]; for raw scores use binary_cross_entropy_with_logits.
    The gradient is PyTorch's, not the derivative of the clamped logs:
    d/dx = w (x - t) / max(x (1 - x), 1e-12), so at x = 0 with t = 1 it is -1e12 (not 0), at
    x = 0 with t = 0 it is 0, and no |gradient| exceeds 1e12 w. d/dt = w (log(1 - x) - log x),
    unclamped (inf at x = 0)."""
    input = _t(input)
    target = _target(target, input)
    _check_reduction(reduction, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    lo, hi = (float(input.data.min()), float(input.data.max())) if input.size else (0.0, 0.0)
    if not (lo >= 0.0 and hi <= 1.0):
        raise ValueError(
            f"binary_cross_entropy: input values must be probabilities in [0, 1], got values in "
            f"[{lo:.4g}, {hi:.4g}]; apply sigmoid first, or use "
            f"binary_cross_entropy_with_logits on raw scores")
    loss = OPS["binary_cross_entropy"](input, target)
    if weight is not None:
        loss = loss * _const_or_tensor(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy")


def _const_or_tensor(w, like):
    return w if isinstance(w, Tensor) else _const(w, like)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE of sigmoid(x) computed from the logit x without forming sigmoid:
    (1 - t) x + (1 + (pw - 1) t) softplus(-x), which is
    softplus(x) - t x when pos_weight pw is None. Stable for any |x|."""
    input = _t(input)
    target = _target(target, input)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = softplus(input) - target * input
    else:
        pw = _const_or_tensor(pos_weight, input)
        loss = (1.0 - target) * input + (1.0 + (pw - 1.0) * target) * softplus(-input)
    if weight is not None:
        loss = loss * _const_or_tensor(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_targets(target, input, fn, ignore_index):
    """Integer class targets checked against input (N, C, d1, ...) or (C,)."""
    t = np.asarray(target.data if isinstance(target, Node) else target)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and t.size and np.all(t == np.round(t)) and t.shape != input.shape:
            t = t.astype(np.int64)          # float-typed labels like 3.0 are accepted
        else:
            raise TypeError(f"{fn}: class targets must be integers, got dtype {t.dtype} (for "
                            f"probability targets give a float array of the input's shape "
                            f"{input.shape})")
    if input.ndim == 1:
        expected = ()
    else:
        expected = (input.shape[0],) + input.shape[2:]
    if t.shape != expected:
        raise ValueError(f"{fn}: input of shape {input.shape} needs class targets of shape "
                         f"{expected}, got shape {t.shape}")
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    valid = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if np.any(bad):
        raise IndexError(f"{fn}: target {int(t[bad].flat[0])} is out of bounds for "
                         f"{n_classes} classes")
    return t, valid, n_classes


def _pick_mask(t, valid, n_classes, weight, input):
    """Constant M shaped like input with M[n, c, ...] = w[c] where c == t[n, ...] (and the
    target is not ignored), else 0: then -sum_c(M * logp) is each element's weighted NLL.
    A dense mask and a multiply instead of fancy indexing: backward is a multiply too."""
    cls_axis = 0 if input.ndim == 1 else 1
    safe = np.where(valid, t, 0)
    shape = [1] * input.ndim
    shape[cls_axis] = n_classes
    classes = np.arange(n_classes).reshape(shape)
    onehot = (np.expand_dims(safe, cls_axis) == classes) & np.expand_dims(valid, cls_axis)
    w = np.ones(n_classes) if weight is None else _class_weight(weight, n_classes)
    mask = (onehot * w.reshape(shape)).astype(input.dtype)
    per_elem_w = np.where(valid, w[safe], 0.0)
    return mask, per_elem_w, cls_axis


def _class_weight(weight, n_classes):
    w = np.asarray(weight.data if isinstance(weight, Node) else weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"class weight must have shape ({n_classes},), got {w.shape}")
    return w


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] * input[n, t[n]] for log-probabilities input (N, C, d1, ...) or (C,) and integer
    targets; 'mean' divides by the sum of the weights of the non-ignored targets (PyTorch)."""
    input = _t(input)
    _check_reduction(reduction, "nll_loss")
    if input.ndim == 0:
        raise ValueError("nll_loss: input must have a class dimension, got a 0-d tensor")
    t, valid, n_classes = _class_targets(target, input, "nll_loss", ignore_index)
    mask, per_elem_w, cls_axis = _pick_mask(t, valid, n_classes, weight, input)
    loss = -(input * mask).sum(cls_axis)
    return _reduce(loss, reduction, "nll_loss", denom=float(per_elem_w.sum()))


_CROSS_ENTROPY = OPS["cross_entropy"]


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy from logits: log_softmax over the class dim (1, or 0 for a 1-D input),
    then either nll_loss for integer class targets, or -sum_c w_c t_c log p_c for
    probability (e.g. one-hot) targets of the input's shape, whose 'mean' divides by the number
    of elements (as PyTorch). label_smoothing eps mixes the targets with the uniform
    distribution: t' = (1 - eps) t + eps / C."""
    input = _t(input)
    _check_reduction(reduction, "cross_entropy")
    in_shape = input.data.shape
    if not in_shape:
        raise ValueError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    cls_axis = 0 if len(in_shape) == 1 else 1
    n_classes = in_shape[cls_axis]
    tarr = target.data if isinstance(target, Node) else np.asarray(target)
    kind = tarr.dtype.kind
    probs = kind == "f" and tarr.shape == in_shape
    if len(in_shape) == 2 and not probs and not label_smoothing:
        # the common case, (N, C) logits and class indices: one fused node of the op table
        if kind not in "iu" or tarr.shape != in_shape[:1]:
            tarr, _, _ = _class_targets(tarr, input, "cross_entropy", ignore_index)
        if weight is not None:
            weight = _class_weight(weight, n_classes)
        ctx = ClassTargets(tarr, n_classes, weight, ignore_index, reduction)
        return _CROSS_ENTROPY(input, ctx=ctx)
    logp = log_softmax(input, cls_axis)
    shape = [1] * input.ndim
    shape[cls_axis] = n_classes
    w = None if weight is None else _const(weight, input).reshape(shape)
    if probs:
        t = target if isinstance(target, Tensor) else _const(tarr, input)
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / n_classes
        terms = logp * t if w is None else logp * t * w
        return _reduce(-terms.sum(cls_axis), reduction, "cross_entropy")
    t, valid, _ = _class_targets(tarr, input, "cross_entropy", ignore_index)
    mask, per_elem_w, _ = _pick_mask(t, valid, n_classes, weight, input)
    loss = -(logp * mask).sum(cls_axis)
    if label_smoothing:
        # PyTorch: (1 - eps) nll + eps * smooth, smooth = -sum_c w_c log p_c / C per element
        wv = np.ones(shape, dtype=input.dtype) if w is None else w
        smooth = -(logp * (wv * np.expand_dims(valid, cls_axis))).sum(cls_axis) * (
            1.0 / n_classes)
        if reduction == "mean":
            denom = float(per_elem_w.sum())
            return loss.sum() * ((1.0 - label_smoothing) / denom) + smooth.sum() * (
                label_smoothing / denom)
        loss = loss * (1.0 - label_smoothing) + smooth * label_smoothing
        return _reduce(loss, reduction, "cross_entropy")
    return _reduce(loss, reduction, "cross_entropy", denom=float(per_elem_w.sum()))


def hinge_loss(input, target, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge (PyTorch's multi_margin_loss with p=1): for scores x (N, C) or (C,)
    and class targets y, loss_n = sum_{i != y} max(0, margin - x[y] + x[i]) / C, each term
    scaled by weight[y] if given. Use hinge_embedding_loss for +1/-1 pair labels."""
    input = _t(input)
    _check_reduction(reduction, "hinge_loss")
    if input.ndim not in (1, 2):
        raise ValueError(f"hinge_loss: input must be (N, C) or (C,), got shape {input.shape}")
    t, valid, n_classes = _class_targets(target, input, "hinge_loss", ignore_index=None)
    cls_axis = input.ndim - 1
    onehot = (np.expand_dims(t, cls_axis) == np.arange(n_classes)).astype(input.dtype)
    x_y = (input * onehot).sum(cls_axis, keepdims=True)
    terms = (margin - x_y + input).relu() * (1.0 - onehot)
    if weight is not None:
        w = np.asarray(weight.data if isinstance(weight, Node) else weight, dtype=input.dtype)
        terms = terms * np.expand_dims(w[t], cls_axis)
    loss = terms.sum(cls_axis) * (1.0 / n_classes)
    return _reduce(loss, reduction, "hinge_loss")


multi_margin_loss = hinge_loss
hinge = hinge_loss          # the short name the multi-class SVM issue asks for


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x where t = 1, max(0, margin - x) where t = -1 (PyTorch's hinge_embedding_loss)."""
    input = _t(input)
    _check_reduction(reduction, "hinge_embedding_loss")
    t = np.asarray(target.data if isinstance(target, Node) else target)
    if t.shape != input.shape:
        raise ValueError(f"hinge_embedding_loss: input has shape {input.shape} but target has "
                         f"shape {t.shape}")
    if not np.all((t == 1) | (t == -1)):
        raise ValueError("hinge_embedding_loss: target values must be 1 or -1")
    pos = (t == 1).astype(input.dtype)
    loss = input * pos + (margin - input).relu() * (1.0 - pos)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def _param_list(params, fn):
    # a Module, or anything else with parameters() (the scalar nn.MLP/Layer/Neuron)
    if not isinstance(params, Node) and callable(getattr(params, "parameters", None)):
        params = params.parameters()
    elif isinstance(params, Node):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{fn}: got no parameters")
    return params


def _penalty(params, fn, term):
    """sum over parameters of term(p), summed over p's elements when p is a Tensor: a Value
    for scalar Value parameters (micrograd-style MLPs), a 0-d Tensor for Tensors."""
    total = None
    for p in _param_list(params, fn):
        t = term(p)
        if isinstance(t, Tensor):
            t = t.sum()
        total = t if total is None else total + t
    return total


def l1_penalty(params):
    """sum over parameters of sum |p| (the lasso term; multiply by your lambda). `params` is a
    Module (or scalar nn.MLP), a Tensor, a Value, or an iterable of Tensors or of Values (then
    the result is a Value)."""
    return _penalty(params, "l1_penalty", lambda p: p.abs())


def l2_penalty(params):
    """sum over parameters of sum p^2 (the ridge term, without a 1/2; multiply by your
    lambda). Adding lambda * l2_penalty to the loss adds 2 lambda p to each gradient.
    `params` as for l1_penalty."""
    return _penalty(params, "l2_penalty", lambda p: p * p)


__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "step", "softmax", "log_softmax",
           "logsumexp", "softplus", "dropout", "linear", "conv2d", "max_pool2d", "avg_pool2d",
           "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "nll_loss", "hinge_loss", "hinge", "multi_margin_loss",
           "hinge_embedding_loss", "l1_penalty", "l2_penalty"]

