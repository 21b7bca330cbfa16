"""Writing numpy and float code from the op table: the SOURCE backends of autograd.compile.

A `Sym` is a value of the program being written. It carries the value it had when the program
was traced (so shapes, dtypes and the Python branches of a VJP are decided as in eager mode)
and its text in the generated code. Arithmetic on Syms, numpy ufuncs and numpy functions
applied to them (through numpy's __array_ufunc__ and __array_function__ protocols) do the
computation on the traced values and write the same computation as code. So the VJPs and
forwards of the op table, written for numpy arrays and floats, write themselves out unchanged:
run tanh's VJP `g * (1.0 - out * out)` on Syms named g_h1 and h1, and the code says
`g_h1 * (1.0 - h1 * h1)`.

What cannot be written this way (a Python branch on a traced value, numpy's in-place item
assignment into a fresh array...) raises NoSource; the compiler then calls that row's own
function by name instead (one line, the same numbers).
"""
import functools
import math
import re

import numpy as np

from .backends import Array, Scalar
from .fast import FAST_ARRAY, SparseGrad


class NoSource(Exception):
    """A computation that has no straight-line source form (a branch on a traced value)."""


_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_IS_NAME = re.compile(r"[A-Za-z_]\w*")

# operator precedence, for the fewest parentheses that keep Python's reading of the expression
# (Python's order: comparisons bind more loosely than | ^ &, so `a & (b <= c)` needs its parentheses)
_PREC = {"or": 1, "if": 2, "cmp": 3, "|": 4, "^": 5, "&": 6, "+": 7, "-": 7, "*": 8, "/": 8,
         "@": 8, "//": 8, "%": 8, "unary": 9, "**": 10, "atom": 11}
_CMP = ("<", "<=", ">", ">=", "==", "!=")


class Sym:
    """A value of the generated program: `text` in the code, `value` when traced."""
    __slots__ = ("text", "value", "prec", "writer", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, writer, text, value, prec=_PREC["atom"]):
        self.writer, self.text, self.value, self.prec = writer, text, value, prec

    # -------------------------------------------------------------- what tracing may read
    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def ndim(self):
        return np.ndim(self.value)

    @property
    def dtype(self):
        return self.value.dtype if hasattr(self.value, "dtype") else np.dtype(type(self.value))

    @property
    def size(self):
        return np.size(self.value)

    def __len__(self):
        return len(self.value)

    def __bool__(self):
        raise NoSource("a Python branch on a traced value")

    def __float__(self):
        raise NoSource("a traced value read as a Python number")

    __int__ = __index__ = __float__

    def __array__(self, dtype=None, copy=None):
        raise NoSource("a traced value converted to a numpy array")

    def __iter__(self):
        raise NoSource("iteration over a traced value")

    # -------------------------------------------------------------- arithmetic
    def _binary(self, other, op, reflected=False):
        a, b = (other, self) if reflected else (self, other)
        value = _OPERATORS[op](_value(a), _value(b))
        return self.writer.expr(a, op, b, value)

    def __add__(self, o):
        return self._binary(o, "+")

    def __radd__(self, o):
        return self._binary(o, "+", True)

    def __sub__(self, o):
        return self._binary(o, "-")

    def __rsub__(self, o):
        return self._binary(o, "-", True)

    def __mul__(self, o):
        return self._binary(o, "*")

    def __rmul__(self, o):
        return self._binary(o, "*", True)

    def __truediv__(self, o):
        return self._binary(o, "/")

    def __rtruediv__(self, o):
        return self._binary(o, "/", True)

    def __pow__(self, o):
        return self._binary(o, "**")

    def __rpow__(self, o):
        return self._binary(o, "**", True)

    def __matmul__(self, o):
        return self._binary(o, "@")

    def __rmatmul__(self, o):
        return self._binary(o, "@", True)

    def __and__(self, o):
        return self._binary(o, "&")

    __rand__ = __and__

    def __or__(self, o):
        return self._binary(o, "|")

    __ror__ = __or__

    def __lt__(self, o):
        return self._binary(o, "<")

    def __le__(self, o):
        return self._binary(o, "<=")

    def __gt__(self, o):
        return self._binary(o, ">")

    def __ge__(self, o):
        return self._binary(o, ">=")

    def __eq__(self, o):
        return self._binary(o, "==")

    def __ne__(self, o):
        return self._binary(o, "!=")

    __hash__ = object.__hash__

    def __neg__(self):
        return self.writer.unary("-", self, -self.value)

    def __invert__(self):
        return self.writer.unary("~", self, ~self.value)

    def __abs__(self):
        return self.writer.call("abs", [self], {}, abs(self.value))

    # in place: the statement `name op= other`, on a variable (an expression is made one first)
    def _inplace(self, other, op):
        writer = self.writer
        target = writer.materialize(self)
        if not writer.owns(target.text):
            # a value the program reads elsewhere too (an input, a saved forward value, a
            # reused one): a new variable instead, so nothing else sees the change
            return writer.expr(target, op, other, _OPERATORS[op](target.value, _value(other)))
        _INPLACE[op](target.value, _value(other))
        writer.changed(target.text)
        writer.line(f"{target.text} {op}= {writer.render(other)}")
        return target

    def __iadd__(self, o):
        return self._inplace(o, "+")

    def __isub__(self, o):
        return self._inplace(o, "-")

    def __imul__(self, o):
        return self._inplace(o, "*")

    def __itruediv__(self, o):
        return self._inplace(o, "/")

    # -------------------------------------------------------------- array methods
    def __getitem__(self, index):
        value = self.value[_value_index(index)]
        return self.writer.subscript(self, index, value)

    def __setitem__(self, index, other):
        raise NoSource("item assignment")

    @property
    def T(self):
        return self.writer.attribute(self, "T", self.value.T)

    @property
    def mT(self):
        return self.writer.attribute(self, "mT", np.swapaxes(self.value, -1, -2))

    def _method(self, name, *args, **kwargs):
        value = getattr(self.value, name)(*_values(args), **_values(kwargs))
        return self.writer.method(self, name, args, kwargs, value)

    def reshape(self, *a, **k):
        return self._method("reshape", *a, **k)

    def astype(self, *a, **k):
        return self._method("astype", *a, **k)

    def sum(self, *a, **k):
        return self._method("sum", *a, **k)

    def max(self, *a, **k):
        return self._method("max", *a, **k)

    def min(self, *a, **k):
        return self._method("min", *a, **k)

    def swapaxes(self, *a):
        return self._method("swapaxes", *a)

    def transpose(self, *a):
        return self._method("transpose", *a)

    def take(self, *a, **k):
        return self._method("take", *a, **k)

    def argmax(self, *a, **k):
        return self._method("argmax", *a, **k)

    def copy(self, *a, **k):
        return self._method("copy", *a, **k)

    def ravel(self, *a, **k):
        return self._method("ravel", *a, **k)

    def any(self, *a, **k):
        return self._method("any", *a, **k)

    def all(self, *a, **k):
        return self._method("all", *a, **k)

    def forward_of(self, op, ctx, xs):
        """Another row's forward inside a row's forward (optable.forward_of): written as that
        row's step."""
        return write_forward(op, ctx, xs)

    # -------------------------------------------------------------- numpy's protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        writer = self.writer
        if out is not None and not (isinstance(out[0], Sym) and writer.owns(out[0].text)):
            # an output the program reads elsewhere too, or a concrete array (numpy's
            # `array op= sym`): the result becomes a new value of the program instead
            out = None
        values = _values(inputs)
        kw_values = _values(kwargs)
        if out is not None:
            out_values = tuple(_value(o) for o in out)
            result = getattr(ufunc, method)(*values, out=out_values, **kw_values)
        else:
            result = getattr(ufunc, method)(*values, **kw_values)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        if out is None:
            return writer.call(f"np.{name}", inputs, kwargs, result)
        if out is not None:
            target = out[0]
            kwargs = dict(kwargs, out=target)
            writer.changed(target.text)
            writer.line(writer.call_text(f"np.{name}", inputs, kwargs))
            return target
        return writer.call(f"np.{name}", inputs, kwargs, result)

    def __array_function__(self, func, types, args, kwargs):
        result = func(*_values(args), **_values(kwargs))
        if result is None:
            raise NoSource(f"np.{func.__name__} writes into an array")
        if not _is_array_result(result):
            return result                      # metadata: a dtype, a shape, a Python number
        return self.writer.call(self.writer.function_name(func), args, kwargs, result)


def _is_array_result(x):
    return isinstance(x, (np.ndarray, np.generic)) or (
        isinstance(x, (tuple, list)) and x and all(isinstance(i, np.ndarray) for i in x))


_OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "**": lambda a, b: a ** b, "@": lambda a, b: a @ b,
              "&": lambda a, b: a & b, "|": lambda a, b: a | b, "<": lambda a, b: a < b,
              "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
              "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _iadd(a, b):
    a += b


def _isub(a, b):
    a -= b


def _imul(a, b):
    a *= b


def _idiv(a, b):
    a /= b


_INPLACE = {"+": _iadd, "-": _isub, "*": _imul, "/": _idiv}


def _value(x):
    return x.value if isinstance(x, Sym) else x


def _values(xs):
    if isinstance(xs, dict):
        return {k: _values(v) for k, v in xs.items()}
    if isinstance(xs, (list, tuple)):
        return type(xs)(_values(x) for x in xs)
    return _value(xs)


def _ctx_value(ctx):
    """A row's ctx as traced: a Sym's value, in a tuple too (an index read from an argument)."""
    if type(ctx) is tuple:
        return tuple(_ctx_value(c) for c in ctx)
    return _value(ctx)


def _value_index(index):
    if isinstance(index, tuple):
        return tuple(_value(i) for i in index)
    return _value(index)


class Writer:
    """The lines of one generated function and the names it uses.

    Each new value is named `t<k>` unless a name is asked for; constants that have no literal
    (arrays, numpy scalars, ctx objects, row functions) are bound in `namespace` under readable
    names; expressions of plain arithmetic are kept inline until they are stored, so that
    `g * (1.0 - out * out)` is one line."""

    def __init__(self, namespace, taken=()):
        self.namespace = namespace
        self.names_of = {id(v): k for k, v in namespace.items()}
        self.lines = []
        # name -> the indices of the lines that mention it, so that renaming a temporary
        # touches those lines only (a loop of 400 RNN steps: every later line, 2.8 million
        # substitutions, 4 of its 7 s of tracing)
        self.mentions = {}
        self.taken = set(taken) | set(namespace)
        self.suffixes = {}              # claim: base name -> the suffix it gave last
        self.counter = 0
        self.defined = {}               # temporary -> the index of the line assigning it
        self.journal = []               # names taken, in order, so that an attempt can be undone
        # common subexpressions: the code of each value computed so far -> its variable, so a
        # backward that takes the windows of conv2d's input again reads the forward's instead
        self.known = {}
        self.text_of = {}
        self.assigned = {}              # variables this writer assigned, in order
        self.value_of = {}              # ...and their values when traced
        self.owned = set()              # ...those made here, by a computation of their own
        self.protected = []             # arrays nothing may change: the inputs
        self.reused = set()             # ...of them, those read again through `known`

    def mark(self):
        """A point to come back to if writing an op fails (see undo)."""
        return len(self.lines), self.counter, len(self.journal)

    def undo(self, mark):
        lines, counter, taken = mark
        del self.lines[lines:]
        self.counter = counter
        self.suffixes.clear()
        while len(self.journal) > taken:
            name = self.journal.pop()
            self.taken.discard(name)
            self.defined.pop(name, None)
            self.assigned.pop(name, None)
            text = self.text_of.pop(name, None)
            if self.known.get(text) == name:
                del self.known[text]

    def share(self, other):
        """Read the values `other` (the forward) computed: its variables and their code."""
        self.known, self.text_of = dict(other.known), dict(other.text_of)
        self.reused, self.value_of = other.reused, dict(other.value_of)
        self.protected = other.protected

    def owns(self, name):
        """Whether `name` is this writer's own variable, read by nothing else yet: only those
        may change in place."""
        if name not in self.owned or name in self.reused:
            return False
        # nor a view of something read elsewhere (an input, a forward value, a reused one)
        value = self.value_of.get(name)
        if not isinstance(value, np.ndarray):
            return True
        for other, v in self.value_of.items():
            if other != name and (other in self.reused or other not in self.owned) and \
                    isinstance(v, np.ndarray) and np.may_share_memory(v, value):
                return False
        return not any(np.may_share_memory(v, value) for v in self.protected)

    def changed(self, name):
        """`name` is about to change in place: forget the code of every value that shares its
        memory (a view of it, or what it is a view of) and of every value computed from it."""
        target = self.value_of.get(name)
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
        for text, n in list(self.known.items()):
            value = self.value_of.get(n)
            if n == name or (name in text and pattern.search(text)) or (
                    isinstance(value, np.ndarray) and isinstance(target, np.ndarray)
                    and np.may_share_memory(value, target)):
                del self.known[text]

    # -------------------------------------------------------------- names
    def fresh(self, stem="t"):
        while True:
            self.counter += 1
            name = f"{stem}{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                self.journal.append(name)
                return name

    def claim(self, name):
        """`name` itself if free, else `name_2`, `name_3`... The search for a base goes on
        from the suffix it last gave, all below it being taken still (undo starts it again):
        a Value program claims g_x ... 130,000 times, 1.3 s when each search began at 2."""
        base, k = name, self.suffixes.get(name, 1)
        if k > 1:
            name = f"{base}_{k}"
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.suffixes[base] = k
        self.taken.add(name)
        self.journal.append(name)
        return name

    def constant(self, value, stem="k"):
        """A namespace name for `value` (the same name for the same object)."""
        name = self.names_of.get(id(value))
        if name is not None and self.namespace.get(name) is value:
            return name
        name = self.claim(stem) if stem not in ("k",) else self.fresh(stem)
        self.namespace[name] = value
        self.names_of[id(value)] = name
        return name

    def function_name(self, func):
        name = getattr(func, "__name__", "f")
        if getattr(np, name, None) is func:
            return f"np.{name}"
        return self.constant(func, stem=name)

    # -------------------------------------------------------------- rendering
    def render(self, x, prec=0):
        if isinstance(x, Sym):
            return f"({x.text})" if x.prec < prec else x.text
        if x is None or isinstance(x, (bool, str)):
            return repr(x)
        if isinstance(x, int) and not isinstance(x, bool):
            return repr(x)
        if isinstance(x, float):
            text = repr(x) if math.isfinite(x) else f"float({str(x)!r})"
            return f"({text})" if x < 0 and prec > _PREC["+"] else text
        if isinstance(x, slice):
            parts = [self.render(p) if p is not None else "" for p in (x.start, x.stop, x.step)]
            text = f"{parts[0]}:{parts[1]}" + (f":{parts[2]}" if x.step is not None else "")
            return f"slice({', '.join(self.render(p) for p in (x.start, x.stop, x.step))})" \
                if prec > 0 else text
        if x is Ellipsis:
            return "..."
        if isinstance(x, tuple):
            # a slice inside a tuple outside a subscript is spelled slice(0, 2, None)
            inner = ", ".join(self.render(i, 1) for i in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if isinstance(x, list) and all(isinstance(i, (int, float)) for i in x):
            return repr(x)
        if isinstance(x, (np.ndarray, np.generic)) and x.ndim == 0 and x.dtype.kind in "fiub":
            # a numpy number keeps its dtype in numpy's arithmetic: np.float32(0.5), not 0.5
            text = repr(x[()] if isinstance(x, np.ndarray) else x)
            if text.startswith("np.") and "nan" not in text and "inf" not in text:
                return text
        if isinstance(x, np.dtype):
            return f"np.{x.name}" if getattr(np, x.name, None) is not None else repr(x)
        if isinstance(x, type) and issubclass(x, np.generic):
            return f"np.{x.__name__}"
        return self.constant(x)

    def render_index(self, index):
        items = index if isinstance(index, tuple) else (index,)
        parts = []
        for i in items:
            if isinstance(i, slice):
                parts.append(self.render(i))
            elif i is None:
                parts.append("None")
            else:
                parts.append(self.render(i))
        return ", ".join(parts) if parts else "()"

    def call_text(self, fname, args, kwargs):
        parts = [self.render(a) for a in args]
        parts += [f"{k}={self.render(v)}" for k, v in kwargs.items()]
        return f"{fname}({', '.join(parts)})"

    # -------------------------------------------------------------- values
    def expr(self, a, op, b, value):
        prec = _PREC["cmp"] if op in _CMP else _PREC[op]
        left = self.render(a, prec + (1 if op == "**" else 0))
        # a right operand of the same precedence keeps its parentheses, also after + and *:
        # float arithmetic does not associate, and g * (s * (1 - s)) must run as eager mode
        # runs it (written g * s * (1.0 - s), float32 gradients moved by an ulp and float16
        # ones by enough that the trace-time check refused sigmoid)
        right = self.render(b, prec + (0 if op in ("&", "|") else 1))
        if op == "**":
            right = self.render(b, prec)
        return Sym(self, f"{left} {op} {right}", value, prec)

    def unary(self, op, a, value):
        return Sym(self, f"{op}{self.render(a, _PREC['unary'])}", value, _PREC["unary"])

    def call(self, fname, args, kwargs, value):
        return self.assign(self.call_text(fname, args, kwargs), value)

    def method(self, sym, name, args, kwargs, value):
        return self.assign(self.call_text(f"{self.render(sym, _PREC['atom'])}.{name}", args,
                                          kwargs), value)

    def attribute(self, sym, name, value):
        return Sym(self, f"{self.render(sym, _PREC['atom'])}.{name}", value)

    def subscript(self, sym, index, value):
        return self.assign(f"{self.render(sym, _PREC['atom'])}[{self.render_index(index)}]",
                           value)

    def assign(self, text, value, name=None, cse=True):
        """A new variable holding `text`, or the variable that already holds it (cse=False:
        always a new one, for a value made to be changed, such as a row's per-call state)."""
        known = self.known.get(text) if cse else None
        if known is not None:
            self.reused.add(known)
            if name is None:
                return Sym(self, known, value)
            text = known
        if name:
            name = self.claim(name)
        else:
            name = self.fresh()
            self.defined[name] = len(self.lines)
        self.line(f"{name} = {text}")
        self.assigned[name] = None
        self.value_of[name] = value
        if known is None and not _IS_NAME.fullmatch(text):
            self.owned.add(name)
        if known is None and cse:
            self.known[text], self.text_of[name] = name, text
        return Sym(self, name, value)

    def materialize(self, sym, name=None):
        """sym as a variable of its own: an expression is stored (under `name` if given), a
        variable is kept (or given `name`: the temporary just assigned is renamed)."""
        if sym.prec == _PREC["atom"] and sym.text.isidentifier():
            if name is None or name == sym.text:
                return sym
            start = self.defined.get(sym.text)
            if start is not None:
                # a temporary of this writer: it takes the name from its assignment on (each
                # temporary is assigned once, so renaming keeps the program the same)
                name = self.claim(name)
                old = sym.text
                renamed = self.mentions.setdefault(name, [])
                for k in self.mentions.pop(old, ()):
                    if start <= k < len(self.lines):    # not a line undone since
                        self.lines[k] = _IDENTIFIER.sub(
                            lambda m: name if m.group(0) == old else m.group(0), self.lines[k])
                        renamed.append(k)
                del self.defined[old]       # renamed once: other values may now read it
                self.assigned.pop(old, None)
                self.assigned[name] = None
                self.value_of[name] = self.value_of.pop(old, sym.value)
                if old in self.owned:
                    self.owned.add(name)
                if old in self.reused:
                    self.reused.add(name)
                text = self.text_of.pop(old, None)
                if text is not None and self.known.get(text) == old:
                    self.known[text], self.text_of[name] = name, text
                return Sym(self, name, sym.value)
        return self.assign(sym.text, sym.value, name)

    def line(self, text):
        k = len(self.lines)
        self.lines.append(text)
        for name in set(_IDENTIFIER.findall(text)):
            self.mentions.setdefault(name, []).append(k)

    def comment(self, text):
        self.lines.append(f"# {text}")


# ---------------------------------------------------------------------------------------------
# the source backends: VJPs run on Syms write their code
class SourceArray(Array):
    """The array backend, writing code: numpy calls on Syms write themselves (numpy's
    protocols); what needs a branch on numpy types is spelled out here."""
    name = "source"
    fast = False

    @staticmethod
    def where(cond, a, b):
        out = np.where(cond, a, b)
        like = a if _is_arrayish(a) else b
        if _is_arrayish(like) and _value(out).dtype != like.dtype:
            out = out.astype(like.dtype)
        return out

    @staticmethod
    def mask(g, keep):
        """g where keep, else 0: the fast backend's mask by name (a product where g is finite,
        the select where it is not), so compiled and eager give the same bits."""
        writer = g.writer
        fname = writer.constant(FAST_ARRAY.mask, stem="mask")
        return writer.call(fname, [g, keep], {}, FAST_ARRAY.mask(_value(g), _value(keep)))

    @staticmethod
    def apply(op, ctx, *xs):
        """Another row's forward, written out if it can be, else called by name."""
        return write_forward(op, ctx, xs)

    @staticmethod
    def unbroadcast(g, like):
        value = like.value if isinstance(like, Sym) else like._data
        return Array.unbroadcast_to(g, np.shape(value), value.dtype)


def _is_arrayish(x):
    return isinstance(x, (np.ndarray, Sym)) and np.ndim(_value(x)) >= 0 and hasattr(
        _value(x), "dtype")


class SourceScalar(Scalar):
    """The float backend, writing code: arithmetic writes itself; the float functions with
    PyTorch's edge values (f_exp, f_log, ...) are called by name."""
    name = "source scalar"
    fast = False

    @staticmethod
    def where(cond, a, b):
        if isinstance(cond, Sym):
            writer = cond.writer
            value = _value(a) if cond.value else _value(b)
            text = (f"{writer.render(a, _PREC['if'] + 1)} if {writer.render(cond, _PREC['if'] + 1)}"
                    f" else {writer.render(b, _PREC['if'])}")
            return Sym(writer, text, value, _PREC["if"])
        return a if cond else b

    @classmethod
    def mask(cls, g, keep):
        return cls.where(keep, g, 0.0)

    @staticmethod
    def unbroadcast(g, like):
        return g


def _scalar_function(name):
    fn = getattr(Scalar, name)

    def call(x):
        if isinstance(x, Sym):
            return x.writer.call(x.writer.constant(fn, stem=fn.__name__), [x], {}, fn(x.value))
        return fn(x)
    return staticmethod(call)


for _name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "reciprocal", "sign"):
    setattr(SourceScalar, _name, _scalar_function(_name))


def _scalar_pow(a, b):
    if isinstance(a, Sym) or isinstance(b, Sym):
        writer = (a if isinstance(a, Sym) else b).writer
        fn = Scalar.pow
        return writer.call(writer.constant(fn, stem=fn.__name__), [a, b], {},
                           fn(_value(a), _value(b)))
    return Scalar.pow(a, b)


SourceScalar.pow = staticmethod(_scalar_pow)

SOURCE_ARRAY, SOURCE_SCALAR = SourceArray(), SourceScalar()


# ---------------------------------------------------------------------------------------------
# rows written out, or called by name
def write_forward(op, ctx, xs, scalar=False):
    """The forward of row `op` on Syms xs: its own code when it writes itself, else a call of
    the row's function by name. Returns a Sym."""
    writer = next(x.writer for x in xs if isinstance(x, Sym))
    forward = op.scalar if scalar else (op.fast_array or op.array)
    mark = writer.mark()
    if not isinstance(ctx, Sym):          # a per-call state (a Sym) is filled by the row itself
        try:
            out = forward(ctx, *xs)
            if not isinstance(out, Sym):
                raise NoSource("a forward that does not depend on its inputs")
            return out
        except NoSource:
            writer.undo(mark)
    value = forward(_ctx_value(ctx), *_values(xs))
    if not scalar and not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if op.name == "numpy" and not isinstance(ctx, Sym):
        # the numpy row's function by its own name: `_draw_dropout_mask(v2, p=0.5, ...)`; a
        # function that draws random numbers is called anew at each of its lines (never
        # shared with another line of the same text: two masks of one input differ)
        function, keywords = ctx
        text = writer.call_text(writer.function_name(function), xs, keywords)
        once = getattr(function, "draws_random_numbers", False) or getattr(
            function, "changes_state", False) or getattr(   # BatchNorm's running statistics
            function, "checks", False)                       # a check of the values
        return writer.assign(text, value, cse=not once)
    if ctx is None:             # the row's forward under the row's name: `tanh(v4)`
        fname = writer.constant(functools.partial(forward, None), stem=_function_stem(op, ""))
        return writer.call(fname, xs, {}, value)
    fname = writer.constant(forward, stem=_function_stem(op, "forward"))
    return writer.call(fname, [ctx, *xs], {}, value)


def write_vjp(op, i, xp, g, out, ctx, inputs):
    """The VJP of `op` for input i on Syms: its own code when it writes itself, else a call of
    the row's VJP by name (on the plain backend)."""
    writer = g.writer
    vjp = op.vjps[i]
    mark = writer.mark()
    if not isinstance(xp, SourceScalar) and op.fast_vjps[i] is not vjp:
        # a row with a fast VJP on arrays runs it by name (it reads what the forward left in
        # ctx, or branches on the values): the same numbers, sooner
        value = op.fast_vjps[i](FAST_ARRAY, *_values((g, out)), _ctx_value(ctx),
                                *_values(inputs))
        if not isinstance(value, SparseGrad):
            fname = writer.constant(op.fast_vjps[i], stem=_function_stem(op, f"vjp{i}"))
            backend = Sym(writer, writer.constant(FAST_ARRAY, stem="fast"), FAST_ARRAY)
            return writer.call(fname, [backend, g, out, ctx, *inputs], {}, value)
    if not isinstance(ctx, Sym):
        try:
            result = vjp(xp, g, out, ctx, *inputs)
            if not isinstance(result, Sym):
                raise NoSource("a gradient that does not depend on g")
            return result
        except NoSource:
            writer.undo(mark)
    plain = Scalar() if isinstance(xp, SourceScalar) else Array()
    fname = writer.constant(vjp, stem=_function_stem(op, f"vjp{i}"))
    value = vjp(plain, _value(g), _value(out), _ctx_value(ctx), *_values(inputs))
    backend = Sym(writer, writer.constant(plain, stem="xp"), plain)
    return writer.call(fname, [backend, g, out, ctx, *inputs], {}, value)


def _function_stem(op, kind):
    return "".join(c if c.isalnum() else "_" for c in f"{op.name}_{kind}".strip("_"))


def per_call_state(writer, ctx, name):
    """A row whose ctx keeps what its forward computed for its fast VJPs (lstm_c's dict,
    cross_entropy's CrossEntropy) gets a new one at every call of the compiled code, as eager
    code makes one per call: `name = {}` or `name = options.fresh()`. None for any other ctx."""
    if type(ctx) is dict:
        return writer.assign("{}", {}, name=name, cse=False)
    if callable(getattr(ctx, "fresh", None)):
        options = writer.constant(ctx, stem=type(ctx).__name__.lower())
        return writer.assign(f"{options}.fresh()", ctx.fresh(), name=name, cse=False)
    return None


# ---------------------------------------------------------------------------------------------
# results into dead arrays
# numpy's elementwise functions that take out=: a result of the shape and dtype of one of its
# arguments can be written into that argument's array when nothing reads it afterwards (a
# ReLU's pre-activation, the gradient a ReLU's mask is applied to), as a numpy programmer
# writes np.maximum(z, 0, out=z): one new array less per line (small MLP step: 4 of them)
_ELEMENTWISE = {f"np.{name}" for name in (
    "add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "negative",
    "exp", "log", "tanh", "sqrt", "square", "absolute", "sin", "cos", "log1p", "expm1",
    "reciprocal", "sign")}
_CALL_LINE = re.compile(r"^(\w+) = ([\w.]+)\((.*)\)$")
_CALLS = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\(")


def reuse_dead_arrays(lines, writer, keep, protect=()):
    """The lines of one function with `y = np.f(a, b)` written `y = np.f(a, b, out=a)` where
    that is safe: a is an array this function made (not an input, nor a view of one, nor a
    value the other function or the caller reads: `keep`), writeable, of y's shape, dtype and
    C order, and neither a nor any value sharing its memory is read after the line or was ever
    handed to a function that could keep it (a row's function called by name). The arrays of the
    inputs, of the namespace's constants and `protect` (the traced values of the function's
    other parameters, such as backward's g) are never written, nor views of them."""
    allowed = _allowed_calls(writer)
    last = {}
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            for name in _IDENTIFIER.findall(line):
                last[name] = i
    escaped = _handed_over(lines, writer)
    # names that may share memory: those with the same base array; a view whose chain of
    # bases leaves numpy (an as_strided window) shares with whatever np.may_share_memory says
    group, loose = _memory_of(writer)
    roots = {name: key for key, names in group.items() for name in names}
    protected = set()
    constants = [v for v in writer.namespace.values() if isinstance(v, np.ndarray)]
    for value in list(writer.protected) + constants + list(protect):
        if isinstance(value, np.ndarray):
            protected.add(id(_base_array(value)))
    out = list(lines)
    for i, line in enumerate(lines):
        m = _CALL_LINE.match(line)
        if m is None or m.group(2) not in allowed:
            continue
        target, call, args = m.group(1), m.group(2), _arguments(m.group(3))
        result = writer.value_of.get(target)
        if args is None or not isinstance(result, np.ndarray):
            continue
        for a in args:
            value = writer.value_of.get(a)
            if (a not in writer.owned or a in writer.reused or a in keep or a in escaped
                    or not isinstance(value, np.ndarray) or a not in roots
                    or roots[a] in protected or value.shape != result.shape
                    or value.dtype != result.dtype or not value.flags.c_contiguous
                    or not value.flags.writeable):     # a broadcast_to view of the same shape
                continue
            sharing = group[roots[a]] + [n for n in loose if np.may_share_memory(
                writer.value_of[n], value)]
            if all(n in writer.owned and n not in writer.reused and n not in keep
                   and n not in escaped and last.get(n, -1) <= i for n in sharing):
                out[i] = f"{target} = {call}({m.group(3)}, out={a})"
                # the target and its views are a's array from here on
                if roots.get(target) != roots[a]:
                    for n in group.pop(roots.get(target), [target]):
                        group[roots[a]].append(n)
                        roots[n] = roots[a]
                break
    return out


def _allowed_calls(writer):
    """The elementwise numpy functions and the fast backend's mask: they keep no argument."""
    return set(_ELEMENTWISE) | {name for name, v in writer.namespace.items()
                                if v is FAST_ARRAY.mask}


def _handed_over(lines, writer):
    """The names on the lines that call a function that could keep its arguments: anything
    but numpy, the allowed functions and an array's own methods (a row's function called by
    name, which may store an array in its per-call state or in a module's buffer)."""
    allowed, escaped = _allowed_calls(writer), set()
    for line in lines:
        if line.startswith("#"):
            continue
        for f in _CALLS.findall(line):
            owner = f.split(".")[0]
            if not (f.startswith("np.") or f in allowed or isinstance(
                    writer.value_of.get(owner), np.ndarray)):   # an array's method keeps nothing
                escaped.update(_IDENTIFIER.findall(line))
                break
    return escaped


# ---------------------------------------------------------------------------------------------
# buffers kept from one training step to the next
_OUT_LINE = re.compile(r"^(\w+) = .*, out=(\w+)\)$")


def keep_buffers(forward, backward, fw, bw, keep):
    """The lines of a training step's forward and backward with `y = np.matmul(a, b)` written
    `y = np.matmul(a, b, out=y_buffer)`, y_buffer an array the program allocates once (in C
    order, as every product's result: an elementwise result takes its inputs' layout, which
    may change from call to call), where that is safe: every value of the step is dead when the
    step returns (forward and backward run in one call, and their ctx goes with it), except
    `keep` (the outputs and the gradients given to .grad) and the values handed to a function
    that could keep them. So y's line may write into the same memory at every step when
    neither y nor any value sharing its memory (a view of it, a later result written into it)
    is one of those. The memory stays allocated between steps, as a numpy programmer's
    buffers do: a 1024-wide MLP then reuses its 4 MB activations instead of asking the
    system for fresh pages at every step (3,000 page faults a step, 4-5% of its time).
    fw and bw are the two functions' writers (bw knows the forward's values too)."""
    lines, writer = forward + backward, bw
    escaped = _handed_over(lines, writer) | set(keep)
    # names that share memory: the same base array, or a result written into another's array
    group, loose = _memory_of(writer)
    root = {name: key for key, names in group.items() for name in names}
    for line in lines:
        m = _OUT_LINE.match(line)
        if m is not None and m.group(1) in root and m.group(2) in root:
            old, new = root[m.group(1)], root[m.group(2)]
            for name, r in root.items():
                if r == old:
                    root[name] = new
    unsafe = {root[n] for n in escaped if n in root}
    # an array whose chain of bases leaves numpy (an as_strided window) may share memory
    # with anything: whatever it is made from stays out
    for name in loose:
        value = writer.value_of[name]
        unsafe.update(root[n] for n in root if np.may_share_memory(writer.value_of[n], value))
    owned = fw.owned | bw.owned
    result = []
    for body in (forward, backward):
        out = list(body)
        for i, line in enumerate(body):
            m = _CALL_LINE.match(line)
            if m is None or m.group(2) != "np.matmul" or "out=" in line:
                continue
            target = m.group(1)
            value = writer.value_of.get(target)
            if (target not in owned or target in writer.reused or root.get(target) in unsafe
                    or type(value) is not np.ndarray or value.base is not None
                    or not value.flags.c_contiguous or _arguments(m.group(3)) is None):
                continue
            buffer = np.empty(value.shape, value.dtype)
            name = writer.constant(buffer, stem=f"{target}_buffer")
            out[i] = f"{target} = {m.group(2)}({m.group(3)}, out={name})"
        result.append(out)
    return result


def _memory_of(writer):
    """(group, loose) for the arrays of writer's values: the names grouped by the id of the
    base array whose memory they are (views of one array share it), and the names whose
    chain of bases leaves numpy (an as_strided window), which share memory with whatever
    np.may_share_memory says."""
    group, loose = {}, []
    for name, value in writer.value_of.items():
        if not isinstance(value, np.ndarray):
            continue
        root = _base_array(value)
        if root.base is None:
            group.setdefault(id(root), []).append(name)
        else:
            loose.append(name)
    return group, loose


def _base_array(a):
    """The array whose memory a (a view, or a view of a view...) is; a itself if none. Its
    .base is not None only when the chain leaves numpy (an as_strided window)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _arguments(text):
    """The positional arguments of a call, split at its top-level commas; None when there is
    a keyword argument, a string or brackets that do not pair up."""
    args, depth, start = [], 0, 0
    if "'" in text or '"' in text:
        return None
    for k, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "," and depth == 0:
            args.append(text[start:k].strip())
            start = k + 1
    args.append(text[start:].strip())
    if depth or any("=" in a.replace("==", "").replace("!=", "").replace("<=", "")
                    .replace(">=", "") for a in args):
        return None
    return args
