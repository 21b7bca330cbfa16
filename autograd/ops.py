"""The op table: every differentiable primitive, defined once.

A row holds the op's forward on Python floats (`scalar`, used by `Value`) and on numpy arrays
(`array`, used by `Tensor`), one vector-Jacobian product per input, and the domain its tests
sample from. Methods on `Value` and `Tensor`, graph labels and the generated gradcheck tests all
come from this table.

A VJP is `vjp(xp, g, out, ctx, *inputs) -> gradient for that input`. `g` is the gradient of the
output, `out` the output, `ctx` the op's parameters. The same VJP runs in three worlds, chosen by
`xp`: SCALAR (floats), ARRAY (numpy arrays) and GRAPH (nodes, so the backward pass is recorded and
can be differentiated again). So a VJP uses arithmetic and `xp.*` only; it never divides with `/`
(floats raise on 1/0 where PyTorch gives inf: use `xp.reciprocal`) and never branches on data
except through `xp.where` or `xp.mask` with a condition built from `xp.data(...)`.
Broadcasting is undone by the engine after each VJP, never inside one.
"""
import math
import operator

import numpy as np


class Domain:
    """Where tests sample an op's inputs: uniform in [low, high], kept `margin` away from kinks
    (points where the op is not differentiable, so finite differences mean nothing)."""
    __slots__ = ("low", "high", "kinks", "margin")

    def __init__(self, low=-3.0, high=3.0, kinks=(), margin=0.1):
        self.low, self.high, self.kinks, self.margin = low, high, tuple(kinks), margin

    def sample(self, rng, shape):
        x = rng.uniform(self.low, self.high, size=shape)
        for k in self.kinks:
            near = np.abs(x - k) < self.margin
            x = np.where(near, k + np.where(x >= k, self.margin, -self.margin) * 2, x)
        return x

    def __repr__(self):
        return f"Domain({self.low}, {self.high}, kinks={self.kinks})"


REAL = Domain()
POSITIVE = Domain(0.2, 3.0)


class Op:
    """One row of the op table."""
    __slots__ = ("name", "scalar", "array", "vjps", "domains", "doc", "symbol", "examples")

    def __init__(self, name, scalar, array, vjps, domains, doc, symbol=None, examples=None):
        self.name = name
        # test cases: a list of (ctx, input shapes); None means "elementwise": the generated
        # tests use scalar, vector, matrix and broadcast shapes with ctx None
        self.examples = examples
        self.scalar = scalar
        self.array = array
        self.vjps = vjps
        self.domains = domains
        self.doc = doc
        self.symbol = symbol or name

    @property
    def nin(self):
        """Number of inputs; None for a variadic row (concatenate takes any number)."""
        try:
            return len(self.vjps)
        except TypeError:
            return None

    def __call__(self, *inputs, ctx=None):
        """Apply this row to Tensors (or to Values, when it has a float forward) and record it.

        This is how a user-defined op runs: build an `Op` with a forward and a VJP per input,
        then call it like a function, `softplus(x)`; backward and gradcheck treat it like a
        built-in row."""
        if self.nin is not None and len(inputs) != self.nin:
            raise TypeError(f"op '{self.name}' takes {self.nin} input(s), got {len(inputs)}")
        from .tensor import Tensor, _apply
        from .value import Value, _apply_scalar
        if all(isinstance(x, Value) for x in inputs):
            if self.scalar is None:
                raise TypeError(f"op '{self.name}' has no float forward: apply it to Tensors")
            return _apply_scalar(self, ctx, *inputs)
        if all(isinstance(x, Tensor) for x in inputs):
            return _apply(self, ctx, *inputs)
        kinds = ", ".join(type(x).__name__ for x in inputs)
        raise TypeError(f"op '{self.name}' needs all Tensors or all Values, got {kinds}")

    def __repr__(self):
        return f"<op {self.name}: {self.doc}>"


# ---------------------------------------------------------------------------------------------
# Float functions with PyTorch's edge values: inf and nan instead of Python's exceptions.
_inf = math.inf
_nan = math.nan


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return _inf


def _log(x):
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -_inf
    return _nan


def _sqrt(x):
    return math.sqrt(x) if x >= 0.0 else _nan


def _pow(a, b):
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


def _reciprocal(x):
    try:
        return 1.0 / x
    except ZeroDivisionError:
        return math.copysign(_inf, x)


def _sigmoid(x):
    # Two branches so exp never overflows: for x < 0, e^x / (1 + e^x) is exact and finite.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _np_sigmoid(x):
    # 1 / (1 + e^-x) in place: 4x faster than a two-branch where() (9 us against 39 us on a
    # float32 (32, 256) array) and as exact; where e^-x overflows (x < -709 in float64, -88 in
    # float32) the result is 0, the nearest float to the true value, and the warning is noise.
    t = np.negative(x, out=np.empty_like(x))     # out=: stays an array when x is 0-d
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1.0
    return np.reciprocal(t, out=t)


class SparseGrad:
    """A gradient that is zero except at a basic index (ints and slices): what getitem's VJP
    gives on arrays. The engine adds it into an accumulated gradient in place,
    `acc[index] += part`, instead of materializing a full-size array per slice: the T slices
    x[:, t] of a (B, T, H) input that an RNN reads cost O(B T H) in backward, not O(B T^2 H)."""
    __slots__ = ("index", "part", "shape", "dtype")

    def __init__(self, index, part, shape):
        self.index, self.part, self.shape, self.dtype = index, part, shape, part.dtype

    def astype(self, dtype):
        return SparseGrad(self.index, self.part.astype(dtype), self.shape)

    def dense(self):
        out = np.zeros(self.shape, dtype=self.dtype)
        out[self.index] = self.part           # a basic index selects each element once
        return out


class _Scalar:
    """VJP backend on Python floats (Value)."""
    exp = staticmethod(_exp)
    log = staticmethod(_log)
    sqrt = staticmethod(_sqrt)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    tanh = staticmethod(math.tanh)
    pow = staticmethod(_pow)
    reciprocal = staticmethod(_reciprocal)
    sign = staticmethod(_sign)

    @staticmethod
    def data(x):
        return x

    @staticmethod
    def where(cond, a, b):
        return a if cond else b

    @staticmethod
    def mask(g, cond):
        return g if cond else 0.0


class _Array:
    """VJP backend on numpy arrays (Tensor)."""
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    pow = staticmethod(np.power)
    reciprocal = staticmethod(np.reciprocal)
    sign = staticmethod(np.sign)
    where = staticmethod(np.where)

    @staticmethod
    def data(x):
        return x

    @staticmethod
    def mask(g, cond):
        """g where cond else 0. g * cond is 3-5x faster than np.where (6 us against 32 on a
        (64, 128) float32 array) and equal unless g holds inf or nan where cond is False
        (inf * 0 and nan * 0 are nan). So the product is taken only when g is finite, which
        one sum tells; else the exact select runs, and the product never warns of an invalid
        value that the result does not hold. (A bitwise select, g's bits AND -cond as
        integers, is exact without the check but was no faster within a training step.)"""
        if _nonfinite(g):
            return np.where(cond, g, 0.0).astype(g.dtype, copy=False)
        return g * cond

    @staticmethod
    def sum_rows(g):
        """g summed over every axis but the last (a Linear layer's bias gradient)."""
        if g.ndim == 2:
            return _add_reduce(g, axis=0)
        return g.sum(axis=tuple(range(g.ndim - 1)))

    @staticmethod
    def matmul(a, b):
        """a @ b; np.dot for two matrices: it calls BLAS without np.matmul's ufunc machinery,
        0.4-0.9 us less a call here, 1.2% of a small MLP's training step."""
        return _dot(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b)

    reshape = staticmethod(np.reshape)

    @staticmethod
    def broadcast_to(x, shape):
        # np.broadcast_to costs ~7.6 us of Python per call, a filled copy ~1.3 us: copy small
        # results (the sum VJP of every loss), keep a zero-copy view for large ones
        if math.prod(shape) <= 16384:
            out = np.empty(shape, dtype=x.dtype)
            out[...] = x
            return out
        return np.broadcast_to(x, shape)
    transpose = staticmethod(np.transpose)
    unsqueeze = staticmethod(np.expand_dims)
    squeeze = staticmethod(np.squeeze)

    @staticmethod
    def mT(x):
        return x.swapaxes(-1, -2)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def scatter(g, index, shape):
        if _is_basic(index):
            return SparseGrad(index, g, shape)
        return OPS["scatter"].array((index, shape), g)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def apply(name, ctx, *xs):
        """Another row's forward (e.g. col2im inside im2col's VJP)."""
        return OPS[name].array(ctx, *xs)

    @staticmethod
    def unbroadcast(g, like):
        """Sum `g` down to the shape of node `like` (undo numpy broadcasting) and its dtype."""
        shape = like.data.shape
        if g.shape != shape:
            g = _sum_to(g, shape)
        dtype = like.data.dtype
        if g.dtype != dtype:
            g = g.astype(dtype)
        return g


def _nonfinite(x):
    """True if array x may hold an inf or a nan: its sum is not finite. One reduction; a sum
    of large finite values that overflows is a false alarm, which costs only the exact path.
    numpy warns of an invalid value only when x holds both +inf and -inf. Measured within a
    training step (paired runs): a BLAS self-dot as fast (but it warns of overflow past
    1.8e19), np.isfinite(x).all() 1% slower, and a max reduction misses -inf."""
    return not math.isfinite(_add_reduce(x, axis=None))


# The numpy functions of the hottest paths, bound once: numpy defines a module __getattr__, so
# CPython 3.11 caches no `np.name` lookup, and each costs 45 ns more than a global's here.
_dot, _maximum, _add_reduce = np.dot, np.maximum, np.add.reduce


def _is_basic(index):
    """True for numpy basic indexing (ints, slices, None, Ellipsis): each element once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in items)


def _broadcast_axes(gshape, shape):
    """(axes, lead): the axes of a gradient of shape `gshape` to sum so that it fits `shape`
    (leading axes numpy added, and size-1 axes it stretched), and how many axes lead."""
    lead = len(gshape) - len(shape)
    return tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1), lead


def _sum_to(g, shape):
    axes, lead = _broadcast_axes(g.shape, shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    return g


class _Graph:
    """VJP backend on nodes: every step of the backward pass is itself recorded."""

    @staticmethod
    def data(x):
        return x.data

    # the elementwise functions are the nodes' own methods: xp.exp(x) is x.exp()
    exp, log, sqrt, sin, cos, tanh = (staticmethod(operator.methodcaller(name))
                                      for name in ("exp", "log", "sqrt", "sin", "cos", "tanh"))

    @staticmethod
    def pow(a, b):
        return a ** b

    @staticmethod
    def reciprocal(x):
        return x ** -1.0

    @staticmethod
    def sign(x):
        return x._const_like(np.sign(x.data) if isinstance(x.data, np.ndarray) else _sign(x.data))

    @staticmethod
    def where(cond, a, b):
        """cond is raw data (a constant mask); a and b are nodes or numbers."""
        if isinstance(cond, (bool, np.bool_)):
            return a if cond else b
        from .tensor import where
        return where(cond, a, b)

    @staticmethod
    def mask(g, cond):
        return _Graph.where(cond, g, 0.0)

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
    def scatter(g, index, shape):
        from .tensor import _apply
        return _apply(OPS["scatter"], (index, shape), g)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(axis, keepdims)

    @staticmethod
    def sum_rows(g):
        return g.sum(axis=tuple(range(g.ndim - 1)))

    @staticmethod
    def apply(name, ctx, *xs):
        """Another row, recorded (e.g. col2im inside im2col's VJP)."""
        from .tensor import _apply
        return _apply(OPS[name], ctx, *xs)

    @staticmethod
    def unbroadcast(g, like):
        shape = like.data.shape
        if g.data.shape != shape:
            axes, _ = _broadcast_axes(g.data.shape, shape)
            g = g.sum(axis=axes, keepdims=True).reshape(shape)
        dtype = getattr(like.data, "dtype", None)
        if dtype is not None and g.data.dtype != dtype:
            g = g.astype(dtype)       # a Tensor gradient keeps its input's dtype, as on arrays
        return g


SCALAR, ARRAY, GRAPH = _Scalar, _Array, _Graph


# ---------------------------------------------------------------------------------------------
# VJPs of the elementwise primitives. Each states d out / d input.
def _g(xp, g, out, ctx, *ins):
    return g


def _pow_dbase(xp, g, out, ctx, a, b):
    # d/da a^b = b a^(b-1); PyTorch defines it as 0 where b == 0 (even at a == 0)
    return g * xp.where(xp.data(b) == 0, 0.0, b * xp.pow(a, b - 1.0))


def _pow_dexp(xp, g, out, ctx, a, b):
    # d/db a^b = a^b log a; PyTorch defines it as 0 where a == 0 and b >= 0
    ad, bd = xp.data(a), xp.data(b)
    return g * xp.where((ad == 0) & (bd >= 0), 0.0, out * xp.log(a))


def _leaky_vjp(xp, g, out, ctx, a):
    # slope applies at a == 0 too, as in PyTorch (a > 0 ? g : g * slope)
    if xp is ARRAY and _unit_slope(ctx):
        # g * max(mask, slope), a factor of exactly 1 or slope: 4 fast passes in place of
        # np.where's select loop, which mispredicts on a random sign pattern (37 us against
        # 12 on a (64, 128) float32 array here)
        dtype = g.dtype
        return g * _maximum((a > 0).astype(dtype), _filled(float(ctx), g.shape, dtype))
    return xp.where(xp.data(a) > 0, g, g * ctx)


def _np_leaky(slope, a):
    """a if a > 0 else slope * a. For 0 < slope <= 1 that is exactly max(a, slope * a), -0.0,
    infs and nan included: 6.3 us against 37.6 for np.where on a (64, 128) float32 array.
    (slope 0 would make inf * 0 a nan; a slope past 1 flips the max to a min.)"""
    if _unit_slope(slope) and a.dtype.kind == "f":
        return _maximum(a, a * float(slope))     # float: a numpy float64 slope would upcast
    return np.where(a > 0, a, a * slope).astype(a.dtype, copy=False)


def _unit_slope(slope):
    """True for a Python number (or numpy float64) slope in (0, 1]: leaky_relu's fast forms."""
    return isinstance(slope, (float, int)) and 0.0 < slope <= 1.0


def _np_relu(ctx, a):
    """max(a, 0), nan kept, against a cached read-only array of zeros rather than the scalar 0:
    numpy 2.4 takes a plain (not SIMD) loop when an operand of maximum is a broadcast scalar,
    11.8 us against 3.2 on a (64, 128) float32 array here, 1.35 ms against 0.86 at 1024 x 1024.
    An array past _ZEROS_MAX elements meets one row of zeros, broadcast down its rows: as fast
    there as a full one, and it holds no memory."""
    if a.dtype.kind != "f":
        return np.maximum(a, 0)
    return _maximum(a, _filled(0.0, a.shape if a.size <= _ZEROS_MAX else a.shape[-1:],
                               a.dtype))


_ZEROS_MAX = 1 << 16


def _filled(value, shape, dtype, cache={}):
    """A read-only array of `value`, cached per (value, shape, dtype): what np.full would make,
    without making it again on every call of a hot path."""
    key = (value, shape, dtype)
    out = cache.get(key)
    if out is None:
        if len(cache) > 64:
            cache.clear()
        out = cache[key] = np.full(shape, value, dtype=dtype)
        out.flags.writeable = False
    return out


def _relu_vjp(xp, g, out, ctx, a):
    # torch's rule, out <= 0 ? 0 : g, read as out != 0 (out is >= 0 or nan): gradient 0 at
    # a == 0, and g passes at a nan input, as in torch; an inf in g stays out of the masked
    # entries
    return xp.mask(g, xp.data(out) != 0)


OPS = {}


def _row(name, scalar, array, vjps, domains, doc, symbol=None, examples=None):
    OPS[name] = Op(name, scalar, array, vjps, domains, doc, symbol, examples)


# name, float forward, array forward, VJP per input, test domain per input, math
_row("add", lambda c, a, b: a + b, lambda c, a, b: a + b,
     (_g, _g), (REAL, REAL), "a + b", "+")
_row("mul", lambda c, a, b: a * b, lambda c, a, b: a * b,
     (lambda xp, g, out, c, a, b: g * b, lambda xp, g, out, c, a, b: g * a),
     (REAL, REAL), "a * b", "*")
_row("pow", lambda c, a, b: _pow(a, b), lambda c, a, b: np.power(a, b),
     (_pow_dbase, _pow_dexp), (POSITIVE, Domain(-2.0, 2.0)), "a ** b", "**")
_row("exp", lambda c, a: _exp(a), lambda c, a: np.exp(a),
     (lambda xp, g, out, c, a: g * out,), (REAL,), "e^a")
_row("log", lambda c, a: _log(a), lambda c, a: np.log(a),
     (lambda xp, g, out, c, a: g * xp.reciprocal(a),), (POSITIVE,), "ln a; -inf at 0")
_row("tanh", lambda c, a: math.tanh(a), lambda c, a: np.tanh(a),
     (lambda xp, g, out, c, a: g * (1.0 - out * out),), (REAL,), "tanh a")
_row("sigmoid", lambda c, a: _sigmoid(a), lambda c, a: _np_sigmoid(a),
     (lambda xp, g, out, c, a: g * (out * (1.0 - out)),), (REAL,),
     "1 / (1 + e^-a), fused: stable at |a| = 1000 and 1 node instead of 4")
_row("relu", lambda c, a: 0.0 if a <= 0.0 else a, _np_relu,      # nan stays nan, as in torch
     (_relu_vjp,), (Domain(kinks=(0.0,)),), "max(a, 0); gradient 0 at 0")
_row("leaky_relu", lambda c, a: a if a > 0.0 else a * c,
     _np_leaky,
     (_leaky_vjp,), (Domain(kinks=(0.0,)),), "a if a > 0 else slope * a; slope at 0",
     examples=[(0.01, ((),)), (0.2, ((3,),)), (0.1, ((2, 3),))])
_row("sqrt", lambda c, a: _sqrt(a), lambda c, a: np.sqrt(a),
     (lambda xp, g, out, c, a: g * (0.5 * xp.reciprocal(out)),), (POSITIVE,),
     "a ** 0.5; gradient inf at 0")
_row("abs", lambda c, a: abs(a), lambda c, a: np.abs(a),
     (lambda xp, g, out, c, a: g * xp.sign(a),), (Domain(kinks=(0.0,)),),
     "|a|; gradient 0 at 0")
_row("sin", lambda c, a: math.sin(a), lambda c, a: np.sin(a),
     (lambda xp, g, out, c, a: g * xp.cos(a),), (REAL,), "sin a")
_row("cos", lambda c, a: math.cos(a), lambda c, a: np.cos(a),
     (lambda xp, g, out, c, a: -(g * xp.sin(a)),), (REAL,), "cos a")

# The ops above are those of Value and Tensor alike. Tensor-only rows follow (scalar=None).
from .ops_tensor import TENSOR_ROWS  # noqa: E402  (rows need _row's helpers defined above)

for _r in TENSOR_ROWS:
    _row(*_r)

ELEMENTWISE = ("add", "mul", "pow", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu",
               "sqrt", "abs", "sin", "cos")

# More Tensor-only rows, each built with keyword arguments (erf, expm1).
from .ops_more import MORE_ROWS  # noqa: E402  (its rows need Op and the domains above)

OPS.update((_op.name, _op) for _op in MORE_ROWS)
