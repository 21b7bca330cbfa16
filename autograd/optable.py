"""`Op`, one row of the op table, and `Domain`, where its tests sample inputs.

A row defines a primitive once: its forward on Python floats (`scalar`, for Value) and on numpy
arrays (`array`, for Tensor), one vector-Jacobian product per input, the input domains of its
generated tests, and its maths as text. Methods on Value and Tensor, graph labels, the generated
gradcheck and torch tests, and the compiled code all come from the rows.

A VJP is `vjp(xp, g, out, ctx, *inputs) -> the gradient for that input`: `g` is d(root)/d(out),
`out` the op's output, `ctx` the op's parameters (an axis, a shape, a slope...). It returns
g times d(out)/d(input), the input's share of the chain rule. It runs in any backend `xp`
(floats, arrays, recorded nodes: see backends.py), so it uses arithmetic and `xp.*` only; it
never divides floats with `/` (1/0 raises in Python where PyTorch gives inf: use
`xp.reciprocal`) and never branches on data except through `xp.where` or `xp.mask`.
Broadcasting is undone by the engine after each VJP, never inside one.
"""
import dis
import inspect

import numpy as np


def _parameters(fn):
    """fn's positional parameters and the name of its *args (or None), or None when fn is not
    a plain function."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    n = code.co_argcount
    return code.co_varnames[:n], (code.co_varnames[n + code.co_kwonlyargcount]
                                  if code.co_flags & inspect.CO_VARARGS else None)


def _parameters_read(fn):
    """The names of fn's parameters (*args included) its code reads, in nested functions too.
    Conservative: a name counts as read wherever it appears in an instruction."""
    code = fn.__code__
    positional, star = _parameters(fn)
    params = set(positional) | {star}
    seen = set()
    stack = [code]
    while stack:
        c = stack.pop()
        seen.update(c.co_cellvars)
        stack.extend(k for k in c.co_consts if inspect.iscode(k))
        for ins in dis.get_instructions(c):
            names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
            seen.update(n for n in names if isinstance(n, str))
    return params & seen


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


class Choice(Domain):
    """An input that takes no gradient: booleans, or integers in [low, high) (class targets,
    indices), sampled uniformly."""
    __slots__ = ("dtype",)

    def __init__(self, dtype=np.bool_, low=0, high=2):
        super().__init__(low, high)
        self.dtype = np.dtype(dtype)

    def sample(self, rng, shape):
        return rng.integers(self.low, self.high, size=shape).astype(self.dtype)

    def __repr__(self):
        return f"Choice({self.dtype}, {self.low}, {self.high})"


BOOL = Choice()


class Op:
    """One row of the op table.

    name      the op's name ("tanh"), as printed on tapes and in error messages
    scalar    forward on floats, scalar(ctx, *floats), or None for a Tensor-only op
    array     forward on numpy arrays, array(ctx, *arrays), or None for a Value-only op
    vjps      one VJP per input, the textbook form (see the module docstring), None for an
              input that takes no gradient (a condition, class targets); for an op of any
              number of inputs, an object that makes input i's VJP when indexed; None for an op
              with no gradient at all (a comparison), whose results are never recorded for
              backward (autograd.compile still sees them)
    domains   one Domain per input, where the generated tests sample it
    formula   the maths as text ("tanh a; d/da = 1 - tanh^2 a")
    symbol    short label for drawings ("+", "@"); the name by default
    examples  the generated tests' cases: a list of (ctx, inputs), each input a shape (sampled
              from its domain) or a fixed array; None for an elementwise op (tested on scalar,
              vector, matrix and broadcast shapes, ctx None)
    fast_array, fast_vjps
              optional faster forms on arrays, used by the fast paths (autograd/fast.py): the
              same results, measured to be faster; tests compare them with the textbook forms.
              fast_vjps has one entry per input, None where the textbook VJP is fast enough
              (the attribute holds the completed tuple: the textbook VJPs where none is given).

    Calling a row applies it: `op(x, y, ctx=...)` on Tensors (or Values, when it has a float
    forward) runs the forward and records the result, so that backward, gradcheck and the tape
    treat a user-defined row like a built-in one.
    """
    __slots__ = ("name", "scalar", "array", "vjps", "domains", "formula", "symbol", "examples",
                 "fast_array", "fast_vjps", "fast_forward", "nin", "_reads")

    def __init__(self, name, scalar=None, array=None, vjps=(), domains=None, formula="",
                 symbol=None, examples=None, *, fast_array=None, fast_vjps=None, doc=None):
        self.name = name
        self.scalar = scalar
        self.array = array
        self.vjps = vjps
        self.domains = domains
        self.formula = formula if doc is None else doc      # doc: the earlier name
        self.symbol = symbol or name
        self.examples = examples
        self.fast_array = fast_array
        self.fast_forward = fast_array or array       # what the fast paths run forward
        try:                    # the number of inputs; None for a variadic row (concatenate)
            self.nin = len(vjps)
        except TypeError:
            self.nin = None
        # completed with the textbook VJPs where a fast one is not given
        self.fast_vjps = vjps if fast_vjps is None else tuple(
            fast or vjp for fast, vjp in zip(fast_vjps, vjps))
        if vjps is None:
            self.nin = None
        self._reads = {}

    def example_inputs(self, rng, inputs, dtype=np.float64):
        """The arrays of one generated test case: each input a fixed array, or a shape sampled
        from its domain (floats in `dtype`)."""
        arrays = []
        for i, spec in enumerate(inputs):
            if isinstance(spec, np.ndarray):
                arrays.append(spec)
                continue
            domain = self.domains[i]
            x = domain.sample(rng, spec)
            arrays.append(x if isinstance(domain, Choice) else np.asarray(x, dtype=dtype))
        return arrays

    def takes_gradient(self, i):
        """Whether input i has a VJP (a condition or class targets has none)."""
        return self.vjps is not None and self.vjps[i] is not None

    def reads(self, j, takers, ctx=None):
        """Whether a VJP that backward runs (input i's, for each i in `takers`, textbook or
        fast form) may read input j, or the output when j is "out": then that value is what
        torch calls a saved tensor, and a change in place after the op used it makes the
        gradient wrong. Read off the VJPs' code; a VJP that reads *inputs or is not a plain
        function counts as reading all, and so does one that reads this node's ctx when the
        ctx may hold arrays (a conv's (stride, padding) cannot: relu_ after a conv2d is fine,
        as in torch)."""
        for i in takers:
            if i not in self._reads:
                self._reads[i] = self._values_read(i)
            read, via_ctx = self._reads[i]
            if read is None or j in read or (via_ctx and _ctx_reads(ctx, j)):
                return True
        return False

    def _values_read(self, i):
        """What input i's VJPs read: (input positions and "out", or None for everything;
        whether they read ctx)."""
        read, via_ctx = set(), False
        for vjp in {id(v): v for v in (self.vjps[i], self.fast_vjps[i])}.values():
            signature = _parameters(vjp)
            if signature is None:
                return None, True
            params, star = signature             # (xp, g, out, ctx, *inputs)
            names = _parameters_read(vjp)
            if star in names or len(params) < 4:
                return None, True
            via_ctx = via_ctx or params[3] in names
            if params[2] in names:
                read.add("out")
            read.update(k for k, name in enumerate(params[4:]) if name in names)
        return read, via_ctx

    @property
    def doc(self):
        return self.formula

    def __call__(self, *inputs, ctx=None):
        """Apply this row to Tensors (or to Values) and record the result."""
        if self.nin is not None and len(inputs) != self.nin:
            raise TypeError(f"op '{self.name}' takes {self.nin} input(s), got {len(inputs)}")
        kind = getattr(inputs[0], "_kind", None) if inputs else None
        for x in inputs:
            if kind is None or getattr(x, "_kind", None) is not kind:
                names = ", ".join(type(x).__name__ for x in inputs)
                raise TypeError(f"op '{self.name}' needs all Tensors or all Values, got {names}")
        return kind._apply(self, ctx, *inputs)

    def __repr__(self):
        return f"<op {self.name}: {self.formula}>"


def forward_of(op, ctx, *xs):
    """Row `op`'s array forward used inside another row's forward (conv2d takes the im2col
    windows of its padded input): op.array(ctx, *xs). Spelled as a call of the row, rather than
    of its function, so that autograd.compile writes it as that row's step, which the backward
    can then reuse instead of computing the windows again."""
    for x in xs:
        if type(x) is not np.ndarray and hasattr(x, "forward_of"):
            return x.forward_of(op, ctx, xs)
    return op.array(ctx, *xs)


class PerInput:
    """The vjps or domains of a variadic row: entry i is made on demand for input i."""
    __slots__ = ("make", "cache")

    def __init__(self, make):
        self.make = make
        self.cache = {}

    def __getitem__(self, i):
        if i not in self.cache:
            self.cache[i] = self.make(i)
        return self.cache[i]

    def __len__(self):
        raise TypeError("a variadic op takes any number of inputs: see its examples")

    def __iter__(self):
        raise TypeError("a variadic op takes any number of inputs: index it instead")


def _ctx_reads(ctx, j):
    """Whether a VJP reading ctx may read input j (or the output, j = "out") through it: a
    compiled call's ctx says what its backward keeps; another may hold arrays or not."""
    kept = getattr(ctx, "backward_reads", None)
    if kept is not None:
        return kept is True or j in kept
    return _may_hold_arrays(ctx)


def _may_hold_arrays(ctx):
    """Whether an op's ctx may hold arrays (an input's or the output's): anything but None, a
    number, a string, a dtype, or tuples and lists of those (a conv's (stride, padding))."""
    stack = [ctx]
    while stack:
        c = stack.pop()
        if isinstance(c, (tuple, list)):
            stack.extend(c)
        elif not (c is None or isinstance(c, (bool, int, float, str, np.generic, np.dtype))):
            return True
    return False
