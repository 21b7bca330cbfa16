"""Backends: the worlds a vector-Jacobian product (VJP) runs in.

Each VJP of the op table is written once, with arithmetic and `xp.*` calls, and runs in one of:

    SCALAR  Python floats                  (Value)
    ARRAY   numpy arrays                   (Tensor)
    GRAPH   recorded nodes: every step of the backward pass is itself recorded, so the
            gradient can be differentiated again (create_graph=True)

A backend is a namespace of functions with the same names and meanings in every world:
`xp.exp(x)` is math.exp, np.exp or x.exp(). Two of them belong to the engine rather than to
the VJPs: `unbroadcast(g, like)` (sum a gradient back to its input's shape: numpy broadcasting
undone in one place) and `add(total, contribution)` (the sum of the chain rule over paths).

This module sits at the bottom of the package: it imports no other part of autograd. GRAPH
works through the nodes' own methods (x.exp(), x.sum(...), node._apply(op, ...)).
"""
import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# Float functions with PyTorch's edge values: inf and nan where Python's math would raise.
_inf = math.inf
_nan = math.nan


def f_exp(x):
    """e^x; inf on overflow."""
    try:
        return math.exp(x)
    except OverflowError:
        return _inf


def f_log(x):
    """ln x; -inf at 0, nan below."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -_inf
    return _nan


def f_sqrt(x):
    """sqrt x; nan below 0."""
    return math.sqrt(x) if x >= 0.0 else _nan


def f_pow(a, b):
    """a^b with C's pow edge values: 0^-1 = inf (signed for odd b), (-8)^0.5 = nan."""
    try:
        return math.pow(a, b)
    except ValueError:
        if a == 0.0:                                  # 0 ** negative
            odd = b == math.floor(b) and int(b) % 2 == 1
            return math.copysign(_inf, a) if odd else _inf
        return _nan                                   # negative base, fractional exponent
    except OverflowError:
        return _nan if a < 0 and b != math.floor(b) else (
            -_inf if a < 0 and int(b) % 2 == 1 else _inf)


def f_reciprocal(x):
    """1 / x; +-inf at +-0."""
    try:
        return 1.0 / x
    except ZeroDivisionError:
        return math.copysign(_inf, x)


def f_sigmoid(x):
    """1 / (1 + e^-x), in two branches so that e^... never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def f_sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


class Scalar:
    """VJPs on Python floats (Value)."""
    name = "scalar"
    exp = staticmethod(f_exp)
    log = staticmethod(f_log)
    sqrt = staticmethod(f_sqrt)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    tanh = staticmethod(math.tanh)
    sigmoid = staticmethod(f_sigmoid)
    pow = staticmethod(f_pow)
    reciprocal = staticmethod(f_reciprocal)
    sign = staticmethod(f_sign)

    @staticmethod
    def data(x):
        return x

    @staticmethod
    def where(cond, a, b):
        return a if cond else b

    @staticmethod
    def mask(g, keep):
        """g where keep, else 0."""
        return g if keep else 0.0

    fast = False            # the reference: every row's textbook VJPs

    @staticmethod
    def unbroadcast(g, like):
        return g                              # floats never broadcast

    @staticmethod
    def add(total, contribution):
        return total + contribution

    @staticmethod
    def final(g):
        return g


class Array:
    """VJPs on numpy arrays (Tensor): the reference implementation, plain numpy."""
    name = "array"
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    pow = staticmethod(np.power)
    reciprocal = staticmethod(np.reciprocal)
    sign = staticmethod(np.sign)
    maximum = staticmethod(np.maximum)
    matmul = staticmethod(np.matmul)
    reshape = staticmethod(np.reshape)
    broadcast_to = staticmethod(np.broadcast_to)
    transpose = staticmethod(np.transpose)
    unsqueeze = staticmethod(np.expand_dims)
    squeeze = staticmethod(np.squeeze)

    @staticmethod
    def sigmoid(x):
        # 1 / (1 + e^-x): where e^-x overflows the result is 0, the nearest float to the truth
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def data(x):
        return x

    @staticmethod
    def where(cond, a, b):
        """a where cond else b, in the dtype of the arrays among a and b (a bare Python number
        never upcasts, as in torch)."""
        out = np.where(cond, a, b)
        like = a if isinstance(a, np.ndarray) else b
        if isinstance(like, np.ndarray) and out.dtype != like.dtype:
            out = out.astype(like.dtype)
        return out

    @classmethod
    def mask(cls, g, keep):
        """g where keep, else 0 (a select: an inf or nan of g outside keep does not leak)."""
        return cls.where(keep, g, 0.0)

    @staticmethod
    def mT(x):
        return x.swapaxes(-1, -2)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def concatenate(xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def apply(op, ctx, *xs):
        """Another row's forward (e.g. col2im inside im2col's VJP)."""
        return op.array(ctx, *xs)

    fast = False            # the reference: every row's textbook VJPs

    @staticmethod
    def unbroadcast(g, like):
        """Sum g down to the shape of node `like` (undo numpy broadcasting), in like's dtype."""
        return Array.unbroadcast_to(g, like._data.shape, like._data.dtype)

    @staticmethod
    def unbroadcast_to(g, shape, dtype):
        """g summed over the axes numpy broadcast to reach g's shape from `shape`, in dtype."""
        if g.shape != shape:
            axes, lead = broadcast_axes(g.shape, shape)
            if axes:
                g = np.add.reduce(g, axis=axes, keepdims=True)
            if lead > 0:
                g = g.reshape(shape)
        if g.dtype is not dtype and g.dtype != dtype:
            g = g.astype(dtype)
        return g

    @staticmethod
    def add(total, contribution):
        return total + contribution

    @staticmethod
    def final(g):
        return g


def broadcast_axes(gshape, shape):
    """(axes, lead): the axes of a gradient of shape `gshape` to sum so that it fits `shape`
    (leading axes numpy added, and size-1 axes it stretched), and how many axes lead."""
    lead = len(gshape) - len(shape)
    return tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1), lead


class Graph:
    """VJPs on nodes: every step of the backward pass is itself recorded (create_graph)."""
    name = "graph"

    @staticmethod
    def data(x):
        return x._data

    @staticmethod
    def exp(x):
        return x.exp()

    @staticmethod
    def log(x):
        return x.log()

    @staticmethod
    def sqrt(x):
        return x.sqrt()

    @staticmethod
    def sin(x):
        return x.sin()

    @staticmethod
    def cos(x):
        return x.cos()

    @staticmethod
    def tanh(x):
        return x.tanh()

    @staticmethod
    def sigmoid(x):
        return x.sigmoid()

    @staticmethod
    def pow(a, b):
        return a ** b

    @staticmethod
    def reciprocal(x):
        return x ** -1.0

    @staticmethod
    def maximum(a, b):
        return a.maximum(b)

    @staticmethod
    def sign(x):
        d = x._data
        if isinstance(d, np.ndarray):
            # an op on x without its gradient, not a constant of x's data: autograd.compile
            # then computes the sign of each call's values (abs's second derivative)
            return x.detach().sign()
        return x._const_like(f_sign(d))

    @staticmethod
    def where(cond, a, b):
        """a where cond else b; cond is raw data (a constant), a and b nodes or numbers."""
        if isinstance(cond, (bool, np.bool_)):
            return a if cond else b
        like = a if hasattr(a, "_kind") else b
        return like._kind._select(cond, a, b)

    @classmethod
    def mask(cls, g, keep):
        return cls.where(keep, g, 0.0)

    @staticmethod
    def matmul(a, b):
        return a @ b

    @staticmethod
    def mT(x):
        return x.mT

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def broadcast_to(x, shape):
        return x.expand(shape)

    @staticmethod
    def transpose(x, axes):
        return x.permute(axes)

    @staticmethod
    def unsqueeze(x, axis):
        return x.unsqueeze(axis)

    @staticmethod
    def squeeze(x, axis):
        return x.squeeze(axis)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(axis, keepdims)

    @staticmethod
    def concatenate(xs, axis):
        return xs[0]._concatenate(xs, axis)

    @staticmethod
    def apply(op, ctx, *xs):
        """Another row, recorded (e.g. col2im inside im2col's VJP)."""
        return xs[0]._apply(op, ctx, *xs)

    fast = False            # the reference: every row's textbook VJPs
    @staticmethod
    def unbroadcast(g, like):
        if not isinstance(like._data, np.ndarray):
            return g                              # a Value: nothing broadcasts
        shape = like._data.shape
        if g._data.shape != shape:
            axes, lead = broadcast_axes(g._data.shape, shape)
            if axes:
                g = g.sum(axis=axes, keepdims=True)
            if lead > 0:
                g = g.reshape(shape)
        if g._data.dtype != like._data.dtype:
            g = g.astype(like._data.dtype)  # a Tensor gradient keeps its input's dtype
        return g

    @staticmethod
    def add(total, contribution):
        return total + contribution

    @staticmethod
    def final(g):
        return g


SCALAR, ARRAY, GRAPH = Scalar(), Array(), Graph()


# torch.backends' hardware namespaces, so that `torch.backends.mps.is_available()` and
# `torch.backends.cudnn.deterministic = True` run after `import autograd as torch`: this module
# is the VJP backends (SCALAR, ARRAY, GRAPH) and, under these two names, torch's (devices.py).
from .devices import cudnn, mps  # noqa: E402,F401
