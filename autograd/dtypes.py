"""PyTorch's dtypes and its type-promotion rules, as pure functions of dtypes (torch 2.13).

A program ported from PyTorch writes `torch.float32`, `x.dtype == torch.long`, `x.to(torch.double)`
and relies on torch's promotion, which is not numpy's:

    int64 tensor * float32 tensor  -> float32      (numpy: float64)
    float32 tensor * 2.5           -> float32      (a Python number never upcasts its category)
    int64 tensor * 2.5             -> float32      (a Python float takes the default dtype)
    int8 tensor + 0-d int64 tensor -> int8         (a 0-d tensor acts like a number...)
    int8 tensor + 0-d float64 tensor -> float64    (...unless its category is higher)
    int tensor / int tensor        -> float32      (true division gives the default float)
    tensor < tensor                -> bool

This module knows nothing of Tensor. An operand is described as a `(dtype, ndim)` pair, or as
any object with `.dtype` and `.ndim` (a Tensor, a numpy array), or is a Python number / numpy
scalar (torch wraps those as "wrapped numbers"). Each function states its rule in its docstring;
tests/test_dtypes.py checks every one against torch itself.

The dtypes are torch's: float16 (half), float32 (float), float64 (double), uint8, int8,
int16 (short), int32 (int), int64 (long), bool, complex64 (cfloat), complex128 (cdouble).
numpy has no bfloat16, complex32 or float8, so neither does tapegrad. Promotion, casting and
`tensor()` inference cover complex too; the per-op rules (`binary_dtypes`, `unary_dtype`,
`reduction_dtype`) cover the nine real dtypes, the ones a Tensor can hold today.

Module names `float`, `int`, `bool`, ... are the dtypes (as in torch): inside this module the
Python builtins are `_PyFloat`, `_PyInt`, `_PyBool`, `_PyComplex`.
"""
import builtins
import math
import operator
import warnings

import numpy as np

_PyFloat, _PyInt, _PyBool, _PyComplex = (builtins.float, builtins.int, builtins.bool,
                                         builtins.complex)

# What `repr(autograd.float32)` starts with. A ported program prints `x.dtype` and expects what
# its author printed under torch; see set_repr_prefix.
_REPR_PREFIX = ["torch"]


def set_repr_prefix(prefix):
    """How dtypes print: `set_repr_prefix("autograd")` makes `print(x.dtype)` show
    `autograd.float32`; the default "torch" shows `torch.float32`, the text a PyTorch program
    prints. Affects repr, str and the messages that name a dtype."""
    if not isinstance(prefix, str) or not prefix.isidentifier():
        raise ValueError(f"set_repr_prefix: expected a module name such as 'torch' or "
                         f"'autograd', got {prefix!r}")
    _REPR_PREFIX[0] = prefix


def get_repr_prefix():
    """The module name dtypes print with ("torch" unless set_repr_prefix changed it)."""
    return _REPR_PREFIX[0]


class dtype:
    """One of torch's dtypes, backed by a numpy dtype; `autograd.float32` is one.

    - numpy takes it wherever it takes a dtype (`np.zeros(3, dtype=autograd.long)`,
      `arr.astype(autograd.half)`, `np.dtype(autograd.float)`), because numpy reads `.dtype`.
    - It equals itself and its aliases (`autograd.float is autograd.float32`) and every numpy
      spelling of its numpy dtype: `np.float32`, `np.dtype("float32")`, `"float32"`, and the
      Python types numpy maps (`float` means float64 there, as in numpy and torch's dtype=float).
      Code written when `Tensor.dtype` was a numpy dtype (`x.dtype == np.float32`) keeps working.
      It hashes as its numpy dtype, so dicts keyed by either find the other.
    - Attributes as torch's: is_floating_point, is_complex, is_signed, itemsize, to_complex(),
      to_real(); and numpy's `kind` and `type` for code that treats it as a numpy dtype.
    - One object per dtype: it pickles and copies as itself, and cannot be created by users
      (as in torch).
    """
    __slots__ = ("_np", "_name", "_scalar_name", "_cpp_name", "_code")

    def __init__(self, *args, **kwargs):
        raise TypeError(f"cannot create '{_REPR_PREFIX[0]}.dtype' instances")

    @classmethod
    def _make(cls, code, np_dtype, name, scalar_name, cpp_name):
        self = object.__new__(cls)
        object.__setattr__(self, "_code", code)                # its row in the promotion table
        object.__setattr__(self, "_np", np.dtype(np_dtype))
        object.__setattr__(self, "_name", name)               # torch's name: float32
        object.__setattr__(self, "_scalar_name", scalar_name)  # c10's ScalarType: Float
        object.__setattr__(self, "_cpp_name", cpp_name)        # its C++ type, in mm's errors
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of '{_REPR_PREFIX[0]}.dtype' objects is not "
                             f"writable")

    # numpy's protocol: np.dtype(obj), np.zeros(n, dtype=obj) and arr.astype(obj) read this
    @property
    def dtype(self):
        """The numpy dtype this dtype stores its data in."""
        return self._np

    @property
    def is_floating_point(self):
        return self._np.kind == "f"

    @property
    def is_complex(self):
        return self._np.kind == "c"

    @property
    def is_signed(self):
        """False for bool and uint8, True for every other dtype (complex included, as torch)."""
        return self._np.kind not in "bu"

    @property
    def itemsize(self):
        return self._np.itemsize

    @property
    def kind(self):
        """numpy's one-letter kind ('b', 'u', 'i', 'f', 'c')."""
        return self._np.kind

    @property
    def type(self):
        """numpy's scalar type (np.float32 for float32)."""
        return self._np.type

    def to_complex(self):
        """The complex dtype with this real dtype's precision (float32 -> complex64)."""
        if self._np.kind == "c":
            return self
        if self._np.kind != "f":
            raise RuntimeError(f"Unknown Complex ScalarType for {self._scalar_name}")
        if self._np == np.float16:
            raise TypeError("to_complex: float16's complex dtype is complex32, which numpy and "
                            "tapegrad do not have")
        return _BY_NUMPY[np.dtype(np.complex64 if self._np == np.float32 else np.complex128)]

    def to_real(self):
        """The real dtype of a complex dtype (complex64 -> float32); itself for real dtypes."""
        if self._np.kind != "c":
            return self
        return _BY_NUMPY[np.dtype(np.float32 if self._np == np.complex64 else np.float64)]

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self is other
        np_other = _numpy_spelling(other)
        if np_other is None:
            return NotImplemented
        return self._np == np_other

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self._np)

    def __repr__(self):
        return f"{_REPR_PREFIX[0]}.{self._name}"

    __str__ = __repr__

    def __reduce__(self):
        # the module attribute of the same name: unpickling gives back this very object
        return self._name

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _numpy_spelling(obj):
    """obj as a numpy dtype if it is a numpy spelling of one (a numpy dtype, a numpy scalar
    type, a dtype string, a Python number type), else None. Other objects (None, tensors,
    arrays) are not dtypes and compare unequal."""
    if isinstance(obj, np.dtype):
        return obj
    if isinstance(obj, str) or (isinstance(obj, type) and (
            issubclass(obj, np.generic) or obj in (_PyFloat, _PyInt, _PyBool, _PyComplex))):
        try:
            return np.dtype(obj)
        except TypeError:
            return None
    return None


# name, numpy dtype, c10 ScalarType name, C++ type name (as torch's errors print them)
_SPECS = (
    ("uint8", np.uint8, "Byte", "unsigned char"),
    ("int8", np.int8, "Char", "signed char"),
    ("int16", np.int16, "Short", "short int"),
    ("int32", np.int32, "Int", "int"),
    ("int64", np.int64, "Long", "long int"),
    ("float16", np.float16, "Half", "c10::Half"),
    ("float32", np.float32, "Float", "float"),
    ("float64", np.float64, "Double", "double"),
    ("complex64", np.complex64, "ComplexFloat", "c10::complex<float>"),
    ("complex128", np.complex128, "ComplexDouble", "c10::complex<double>"),
    ("bool", np.bool_, "Bool", "bool"),
)
_BY_NAME = {name: dtype._make(code, np_dt, name, scalar, cpp)
            for code, (name, np_dt, scalar, cpp) in enumerate(_SPECS)}
_BY_NUMPY = {d._np: d for d in _BY_NAME.values()}
_UINT8, _INT8, _INT16, _INT32, _INT64 = (_BY_NAME[n] for n in
                                         ("uint8", "int8", "int16", "int32", "int64"))
_FLOAT16, _FLOAT32, _FLOAT64 = (_BY_NAME[n] for n in ("float16", "float32", "float64"))
_COMPLEX64, _COMPLEX128, _BOOL = (_BY_NAME[n] for n in ("complex64", "complex128", "bool"))
_SUPPORTED = ("float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
              "uint8, and bool")
_TORCH_NUMPY_TYPES = ("float64, float32, float16, complex64, complex128, int64, int32, int16, "
                      "int8, uint64, uint32, uint16, uint8, and bool")   # torch's message


def as_dtype(obj):
    """obj as one of this module's dtypes: a dtype itself, or anything numpy reads as a dtype
    (np.float32, np.dtype("int64"), "float32", Python's float -> float64, int -> int64,
    bool -> bool, complex -> complex128). TypeError for anything else, and for numpy dtypes
    tapegrad does not have (uint16, object, strings ...)."""
    if type(obj) is dtype:
        return obj
    try:
        # a numpy dtype (the common case: an array's), or an equal spelling: one lookup
        found = _BY_NUMPY.get(obj)
    except TypeError:           # unhashable: no dtype
        found = None
    if found is not None:
        return found
    if obj is None:
        raise TypeError("expected a dtype, got None")
    try:
        np_dt = np.dtype(obj)
    except (TypeError, ValueError):
        raise TypeError(f"expected a dtype (such as {_REPR_PREFIX[0]}.float32 or np.float32), "
                        f"got {obj!r}") from None
    found = _BY_NUMPY.get(np_dt)
    if found is None:
        raise TypeError(f"dtype {np_dt} is not supported; the supported dtypes are {_SUPPORTED}")
    return found


def _is_integral(d, include_bool):
    return d._np.kind in ("iub" if include_bool else "iu")


def _is_float_or_complex(d):
    return d._np.kind in "fc"


# ---------------------------------------------------------------------------------- finfo, iinfo
class finfo:
    """torch.finfo: the numerical limits of a floating point dtype (the default dtype if none).

    bits, eps (the gap between 1 and the next number), max, min (= -max), tiny and
    smallest_normal (the smallest positive normal number), resolution (10 ** -decimal digits),
    dtype (the name, a str, as torch). A complex dtype gives the limits of its real part."""

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else as_dtype(type)
        if d.is_complex:
            d = d.to_real()
        if not d.is_floating_point:
            p = _REPR_PREFIX[0]
            raise TypeError(f"{p}.finfo() requires a floating point input type. Use {p}.iinfo "
                            f"to handle '{p}.finfo'")
        info = np.finfo(d._np)
        self.bits = info.bits
        self.eps = _PyFloat(info.eps)
        self.max = _PyFloat(info.max)
        self.min = _PyFloat(info.min)
        self.tiny = _PyFloat(info.tiny)
        self.smallest_normal = _PyFloat(info.smallest_normal)
        # torch computes 10 ** -digits10 in double; numpy's resolution is rounded to the dtype
        self.resolution = 10.0 ** -info.precision
        self.dtype = d._name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")

    __str__ = __repr__


class iinfo:
    """torch.iinfo: the limits of an integer dtype: bits, min, max, dtype (the name, a str).
    bool is refused, as in torch."""

    def __init__(self, type):
        d = as_dtype(type)
        p = _REPR_PREFIX[0]
        if d is _BOOL:
            raise TypeError(f"{p}.bool is not supported by {p}.iinfo")
        if not _is_integral(d, include_bool=False):
            raise TypeError(f"{p}.iinfo() requires an integer input type. Use {p}.finfo to "
                            f"handle '{p}.iinfo'")
        info = np.iinfo(d._np)
        self.bits = info.bits
        self.min = _PyInt(info.min)
        self.max = _PyInt(info.max)
        self.dtype = d._name

    def __repr__(self):
        # torch prints the limits through a double: iinfo(min=-9.22337e+18, ...) for int64
        return f"iinfo(min={_PyFloat(self.min):g}, max={_PyFloat(self.max):g}, dtype={self.dtype})"

    __str__ = __repr__


# ---------------------------------------------------------------------------------- default dtype
_DEFAULT = [_FLOAT32]


def get_default_dtype():
    """The dtype Python floats become (in tensor(), full(), arange(), promotion): float32
    unless set_default_dtype changed it."""
    return _DEFAULT[0]


def set_default_dtype(d):
    """torch.set_default_dtype: float16, float32 or float64 (torch also allows bfloat16, which
    numpy has not). Python complex numbers then become complex32/complex64/complex128 to match.

    Errors as torch: TypeError "only floating-point types are supported as the default type"
    for a non-float dtype, prefixed "invalid dtype object: " when `d` is no dtype at all.
    Unlike torch, numpy spellings (np.float64) are accepted, as tapegrad always has."""
    try:
        found = as_dtype(d)
    except TypeError:
        raise TypeError("invalid dtype object: only floating-point types are supported as the "
                        "default type") from None
    if not found.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _DEFAULT[0] = found


def _default_complex():
    """torch's default complex dtype: the complex dtype of the default float dtype."""
    d = _DEFAULT[0]
    if d is _FLOAT16:
        raise TypeError("the default dtype is float16, whose complex dtype complex32 tapegrad "
                        "does not have")
    return d.to_complex()


# ---------------------------------------------------------------------------------- promotion
# c10/core/ScalarType.cpp's promoteTypes table (numpy's promote_types, except that uint8 with
# a signed type gives the next signed type and never uint64), restricted to our dtypes.
_PROMOTE = """
        u1  i1  i2  i4  i8  f2  f4  f8  c4  c8  b1
    u1  u1  i2  i2  i4  i8  f2  f4  f8  c4  c8  u1
    i1  i2  i1  i2  i4  i8  f2  f4  f8  c4  c8  i1
    i2  i2  i2  i2  i4  i8  f2  f4  f8  c4  c8  i2
    i4  i4  i4  i4  i4  i8  f2  f4  f8  c4  c8  i4
    i8  i8  i8  i8  i8  i8  f2  f4  f8  c4  c8  i8
    f2  f2  f2  f2  f2  f2  f2  f4  f8  c4  c8  f2
    f4  f4  f4  f4  f4  f4  f4  f4  f8  c4  c8  f4
    f8  f8  f8  f8  f8  f8  f8  f8  f8  c8  c8  f8
    c4  c4  c4  c4  c4  c4  c4  c4  c8  c4  c8  c4
    c8  c8  c8  c8  c8  c8  c8  c8  c8  c8  c8  c8
    b1  u1  i1  i2  i4  i8  f2  f4  f8  c4  c8  b1
"""
_CODES = {"u1": _UINT8, "i1": _INT8, "i2": _INT16, "i4": _INT32, "i8": _INT64, "f2": _FLOAT16,
          "f4": _FLOAT32, "f8": _FLOAT64, "c4": _COMPLEX64, "c8": _COMPLEX128, "b1": _BOOL}


def _parse_promote_table(text):
    """The table as rows indexed by the dtypes' codes: _PROMOTE_ROWS[a._code][b._code]. (Lists,
    not a dict keyed by dtypes: promotion runs on every op, and a dtype's hash is Python code.)"""
    header, *lines = [line.split() for line in text.strip().splitlines()]
    rows = [[None] * len(header) for _ in header]
    for line in lines:
        for col, code in zip(header, line[1:]):
            rows[_CODES[line[0]]._code][_CODES[col]._code] = _CODES[code]
    return rows


_PROMOTE_ROWS = _parse_promote_table(_PROMOTE)


def _promote(a, b):
    return _PROMOTE_ROWS[a._code][b._code]


def promote_types(type1, type2):
    """torch.promote_types: the smallest dtype both can be cast to without losing their
    category (bool < integer < floating < complex). Symmetric. uint8 with int8 is int16;
    bool with any dtype is that dtype; an integer with float16 is float16 (even int64);
    float32 with complex128 is complex128, float64 with complex64 is complex128."""
    return _promote(as_dtype(type1), as_dtype(type2))


def can_cast(from_, to):
    """torch.can_cast: whether an op computed in `from_` may write its result into a tensor of
    dtype `to` (the rule for in-place ops and out=). Refused: complex -> non-complex,
    floating -> integral (bool included), and anything but bool -> bool. Everything else is
    allowed, narrowing included (float64 -> float16, int64 -> uint8)."""
    src, dst = as_dtype(from_), as_dtype(to)
    if src.is_complex and not dst.is_complex:
        return False
    if src.is_floating_point and _is_integral(dst, include_bool=True):
        return False
    return not (src is not _BOOL and dst is _BOOL)


_PY_NUMBERS = (_PyBool, _PyInt, _PyFloat, _PyComplex, np.generic)
_EXACT_KINDS = {_PyBool: "bool", _PyInt: "int", _PyFloat: "float", _PyComplex: "complex"}


def _wrapped_dtype(value):
    """The dtype torch gives a Python number (or numpy scalar) it wraps as an operand: bool,
    int64, the default float dtype, the default complex dtype (numpy bools count as floats:
    see _number_kind)."""
    kind = _EXACT_KINDS.get(type(value)) or _number_kind(value)
    if kind == "float":
        return _DEFAULT[0]
    if kind == "int":
        return _INT64
    return _BOOL if kind == "bool" else _default_complex()


def _tensor_operand(operand):
    """(dtype, whether it has dimensions) of an operand that is not a number."""
    try:
        d, ndim = operand.dtype, operand.ndim
    except AttributeError:
        if not (isinstance(operand, tuple) and len(operand) == 2):
            raise TypeError(f"result_type: an operand is a Python number, a (dtype, ndim) pair "
                            f"or a tensor, got {type(operand).__name__}") from None
        d, ndim = operand
    return (d if type(d) is dtype else as_dtype(d)), ndim > 0


_IS_NUMBER = {}     # operand type -> whether result_type wraps it as a number (types are few)


def _is_number(operand):
    t = type(operand)
    found = _IS_NUMBER.get(t)
    if found is None:
        found = _IS_NUMBER[t] = issubclass(t, _PY_NUMBERS)
    return found


def _dtype_of(operand):
    """The dtype one operand of result_type counts with."""
    if _is_number(operand):
        return _wrapped_dtype(operand)
    return _tensor_operand(operand)[0]


def _promote_skip_undefined(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return _PROMOTE_ROWS[a._code][b._code]


def _combine_categories(higher, lower):
    """TypeProperties.cpp's combine_categories: the result of a higher tier (`higher`) and a
    lower one. The higher tier keeps its dtype unless the lower one is of a higher category;
    then the lower category wins, at the precision promote_types gives (a float32 tensor with a
    complex 0-d tensor is complex64: the higher tier's precision made complex)."""
    if higher is not None and higher.is_complex:
        return higher
    if lower is not None and lower.is_complex:
        return higher.to_complex() if higher is not None and higher.is_floating_point else lower
    if higher is not None and higher.is_floating_point:
        return higher
    if higher is _BOOL or (lower is not None and lower.is_floating_point):
        return _promote_skip_undefined(higher, lower)
    return higher if higher is not None else lower


def result_type(*operands):
    """torch.result_type, for any number of operands: the dtype an elementwise op computes in.

    Each operand is a tensor (a `(dtype, ndim)` pair, or an object with .dtype and .ndim) or a
    Python number / numpy scalar. Operands fall in three tiers: tensors with dimensions, 0-d
    tensors, numbers. Within a tier, dtypes combine by promote_types; a number counts as bool,
    int64, the default float dtype or the default complex dtype. Then a lower tier changes the
    result only if its category (bool < integer < floating < complex) is higher than the
    higher tier's: int64 tensor * 2.5 is float32 (the default), int32 tensor + 0-d float64
    tensor is float64, uint8 tensor + 1000 stays uint8, float16 tensor * 0-d float64 stays
    float16. A bool in the higher tier always promotes: bool tensor + 1 is int64."""
    if not operands:
        raise TypeError("result_type: expected at least one operand")
    dim = zero_dim = wrapped = None         # torch's three tiers, highest first
    for operand in operands:
        if _is_number(operand):
            wrapped = _promote_skip_undefined(wrapped, _wrapped_dtype(operand))
            continue
        d, has_dims = _tensor_operand(operand)
        if has_dims:
            dim = _promote_skip_undefined(dim, d)
        else:
            zero_dim = _promote_skip_undefined(zero_dim, d)
    if zero_dim is None and wrapped is None:
        return dim
    return _combine_categories(dim, _combine_categories(zero_dim, wrapped))


def cast_error(result, out):
    """The RuntimeError torch raises when an in-place op's result dtype cannot be written
    into its tensor (see can_cast): "result type Float can't be cast to the desired output type
    Long" for `int64_tensor += 1.5`."""
    return RuntimeError(f"result type {result._scalar_name} can't be cast to the desired output "
                        f"type {out._scalar_name}")


# ---------------------------------------------------------------------------------- per-op rules
def _int_to_float(d):
    """Integral and bool dtypes become the default float dtype; float and complex stay."""
    return d if _is_float_or_complex(d) else _DEFAULT[0]


def _kernel_error(kernel, d):
    return NotImplementedError(f'"{kernel}" not implemented for \'{d._scalar_name}\'')


def _no_bool(kernel):
    def check(d):
        if d is _BOOL:
            raise _kernel_error(kernel, d)
    return check


def _float_only(kernel):
    def check(d):
        if not _is_float_or_complex(d):
            raise _kernel_error(kernel, d)
    return check


def _integral_only(kernel, include_bool=True):
    def check(d):
        if not _is_integral(d, include_bool):
            raise _kernel_error(kernel, d)
    return check


def _check_sub(dtypes_):
    bools = sum(d is _BOOL for d in dtypes_)
    if bools == len(dtypes_):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if bools:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")


# Binary elementwise ops: name -> (rule, check of the compute dtype).
#   promote:      computes in and returns result_type(a, b)
#   int_to_float: result_type, with integral/bool results made the default float dtype
#   compare:      computes in result_type(a, b), returns bool
#   logical:      returns bool (any dtypes)
_BINARY = {
    "add": ("promote", None),
    "sub": ("promote", None),           # its bool errors depend on the operands: _check_sub
    "mul": ("promote", None),
    "div": ("int_to_float", None),
    "true_divide": ("int_to_float", None),
    "floor_divide": ("promote", _no_bool("div_floor_cpu")),
    "div_floor": ("promote", _no_bool("div_floor_cpu")),      # div(rounding_mode="floor")
    "div_trunc": ("promote", _no_bool("div_trunc_cpu")),      # div(rounding_mode="trunc")
    "remainder": ("promote", _no_bool("remainder_cpu")),
    "fmod": ("promote", _no_bool("fmod_cpu")),
    "pow": ("promote", _no_bool("pow")),
    "maximum": ("promote", None),
    "minimum": ("promote", None),
    "atan2": ("int_to_float", None),
    "eq": ("compare", None),
    "ne": ("compare", None),
    "lt": ("compare", None),
    "le": ("compare", None),
    "gt": ("compare", None),
    "ge": ("compare", None),
    "logical_and": ("logical", None),
    "logical_or": ("logical", None),
    "logical_xor": ("logical", None),
    "bitwise_and": ("promote", _integral_only("bitwise_and_cpu")),
    "bitwise_or": ("promote", _integral_only("bitwise_or_cpu")),
    "bitwise_xor": ("promote", _integral_only("bitwise_xor_cpu")),
    "bitwise_left_shift": ("promote", _integral_only("lshift_cpu", include_bool=False)),
    "bitwise_right_shift": ("promote", _integral_only("rshift_cpu", include_bool=False)),
}
BINARY_OPS = tuple(_BINARY)


def binary_dtypes(op, *operands):
    """(compute dtype, result dtype) of the elementwise op `op` (a key of BINARY_OPS: torch's
    names, `div` is true division) on operands as result_type takes them, with torch's errors:

    - add, sub, mul, maximum, minimum, floor_divide, remainder, fmod, pow, bitwise_*: both are
      result_type(...). sub refuses bool operands (RuntimeError, torch's text); floor_divide,
      remainder, fmod, pow refuse a bool compute dtype and bitwise ops a float one
      (NotImplementedError '"bitwise_and_cpu" not implemented for 'Float'', torch's text);
      shifts refuse bool too.
    - div / true_divide, atan2: result_type, but an integral or bool result becomes the
      default float dtype (int / int -> float32).
    - eq ne lt le gt ge: compute in result_type (int64 tensor < 1.5 compares in float32),
      return bool. logical_and/or/xor: return bool.
    pow with a number exponent of 0 or 1 skips its kernel in torch, so bool ** True is no
    error. Other value-dependent errors (an integer to a negative integer power) are the
    caller's.
    """
    compute, out, check = _binary(op, operands)
    if check is not None:
        check(compute)
    return compute, out


def _binary(op, operands):
    """(compute, result, kernel check still to run) of binary_dtypes."""
    try:
        rule, check = _BINARY[op]
    except KeyError:
        raise ValueError(f"binary_dtypes: unknown op {op!r}; known: {', '.join(_BINARY)}") \
            from None
    compute = result_type(*operands)
    if op == "sub":
        _check_sub([_dtype_of(x) for x in operands])
    if rule == "int_to_float":
        compute = _int_to_float(compute)
    if op == "pow" and _trivial_exponent(operands):
        check = None
    return compute, (_BOOL if rule in ("compare", "logical") else compute), check


def _trivial_exponent(operands):
    # torch's pow(tensor, number) fills ones for an exponent 0 and copies for 1 without running
    # its kernel, so bool ** True is no error
    exponent = operands[-1]
    return isinstance(exponent, _PY_NUMBERS) and len(operands) == 2 and exponent in (0, 1)


def inplace_dtypes(op, self, *others):
    """(compute dtype, result dtype) of the in-place form of a binary op (`self += other`,
    `self.div_(other)`): computed as binary_dtypes(op, self, *others) says, written back in
    self's dtype, which the compute dtype must be castable to (can_cast), else torch's
    RuntimeError: `int64_tensor += 1.5` and `int64_tensor /= 2` give "result type Float can't
    be cast to the desired output type Long"; `bool_tensor += 1` "... type Long ... type Bool".
    """
    compute, out, check = _binary(op, (self, *others))
    own = _dtype_of(self)
    if not can_cast(out, own):
        raise cast_error(out, own)
    if check is not None:       # torch checks the cast before it looks for a kernel
        check(compute)
    return compute, own


def where_dtype(condition, x, y):
    """torch.where(condition, x, y): the result is result_type(x, y) (Python numbers take part as
    numbers: where(c, float32 tensor, 0) is float32, where(c, 1.0, 0.0) the default dtype).
    condition must be bool, else torch's RuntimeError. torch also takes uint8 conditions with a
    deprecation warning; they are accepted here."""
    cond = _dtype_of(condition)
    if cond not in (_BOOL, _UINT8):
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {cond._scalar_name}")
    return result_type(x, y)


def _unary_square(d):
    # torch's square is pow(x, 2): a bool tensor becomes int64
    return result_type((d, 1), 2)


def _unary_neg(d):
    if d is _BOOL:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return d


def _unary_relu(d):
    if d is _BOOL:
        raise RuntimeError("Boolean inputs not supported for relu")
    return d


def _unary_invert(d):
    if not _is_integral(d, include_bool=True):
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return d


def _checked(check, rule):
    def apply(d):
        check(d)
        return rule(d)
    return apply


def _keep(d):
    return d


_INT_TO_FLOAT_UNARY = ("exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sigmoid tanh sin cos "
                       "tan asin acos atan sinh cosh erf erfinv reciprocal").split()
_FLOAT_KERNELS = {"leaky_relu": "leaky_relu_cpu", "gelu": "GeluKernelImpl", "elu": "elu_cpu",
                  "silu": "silu_cpu", "softplus": "softplus_cpu", "frac": "frac_cpu"}
_UNARY = {name: _int_to_float for name in _INT_TO_FLOAT_UNARY}
_UNARY.update({name: _checked(_float_only(kernel), _keep)
               for name, kernel in _FLOAT_KERNELS.items()})
_UNARY.update({name: _checked(_no_bool(f"{name}_vml_cpu"), _keep)
               for name in ("floor", "ceil", "round", "trunc")})
_UNARY.update({
    "neg": _unary_neg,
    "abs": _checked(_no_bool("abs_cpu"), _keep),
    "relu": _unary_relu,
    "sign": _keep,
    "square": _unary_square,
    "logical_not": lambda d: _BOOL,
    "bitwise_not": _checked(_integral_only("bitwise_not_cpu"), _keep),
    "invert": _unary_invert,             # the ~ operator
})
UNARY_OPS = tuple(_UNARY)


def unary_dtype(op, d):
    """The result dtype of the elementwise op `op` (a key of UNARY_OPS) on a tensor of dtype d:

    - exp, log, sqrt, sigmoid, tanh, sin, cos, erf, reciprocal ...: integral and bool tensors
      give the default float dtype (exp(int64 tensor) is float32); float dtypes stay.
    - leaky_relu, gelu, elu, silu, softplus, frac: float dtypes only (NotImplementedError,
      torch's text). floor, ceil, round, trunc, abs: any dtype but bool, which they keep.
    - neg, relu: refuse bool (RuntimeError, torch's text); otherwise keep the dtype. sign keeps
      it (bool too). square of bool is int64 (it is pow(x, 2)). logical_not gives bool.
      bitwise_not (and the ~ operator, "invert") take integral and bool dtypes only.
    """
    try:
        rule = _UNARY[op]
    except KeyError:
        raise ValueError(f"unary_dtype: unknown op {op!r}; known: {', '.join(_UNARY)}") \
            from None
    return rule(as_dtype(d))


def _reduce_sum(d, out):
    if out is not None:
        return out
    return _INT64 if _is_integral(d, include_bool=True) else d


def _reduce_cumulative(name):
    def rule(d, out):
        if out is _BOOL:
            raise _kernel_error(f"{name}_out_cpu", out)
        return _reduce_sum(d, out)
    return rule


def _reduce_mean(name):
    def rule(d, out):
        if out is not None:
            if not _is_float_or_complex(out):
                raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must "
                                   f"be either a floating point or complex dtype. Got: "
                                   f"{out._scalar_name}")
            return out
        if not _is_float_or_complex(d):
            raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{d._scalar_name}")
        return d
    return rule


def _reduce_nanmean(d, out):
    if not _is_float_or_complex(d):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {d._scalar_name}")
    return d if out is None else out


def _reduce_std_var(d, out):
    if not _is_float_or_complex(d):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return d.to_real()


def _reduce_norm(d, out):
    if not _is_float_or_complex(d):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {d._scalar_name}")
    return d.to_real() if out is None else out


def _reduce_arg(name):
    def rule(d, out):
        if d is _BOOL:
            raise RuntimeError(f"{name}(): does not support bool input")
        return _INT64
    return rule


def _reduce_all_any(d, out):
    # torch keeps uint8 for all/any of a uint8 tensor, a remnant of masks before bool existed
    return _UINT8 if d is _UINT8 else _BOOL


def _reduce_median(d, out):
    if d is _BOOL:
        raise _kernel_error("median_cpu", d)
    return d


_REDUCTIONS = {
    "sum": _reduce_sum, "nansum": _reduce_sum, "prod": _reduce_sum,
    "cumsum": _reduce_cumulative("cumsum"), "cumprod": _reduce_cumulative("cumprod"),
    "mean": _reduce_mean("mean"), "nanmean": _reduce_nanmean,
    "std": _reduce_std_var, "var": _reduce_std_var, "norm": _reduce_norm,
    "amax": lambda d, out: d, "amin": lambda d, out: d,
    "max": lambda d, out: d, "min": lambda d, out: d, "median": _reduce_median,
    "argmax": _reduce_arg("argmax"), "argmin": _reduce_arg("argmin"),
    "all": _reduce_all_any, "any": _reduce_all_any,
    "logsumexp": lambda d, out: _int_to_float(d),
    "count_nonzero": lambda d, out: _INT64,
}
REDUCTIONS = tuple(_REDUCTIONS)


def reduction_dtype(op, d, dtype=None):
    """The result dtype of the reduction `op` (a key of REDUCTIONS) over a tensor of dtype d,
    with the op's optional `dtype=` argument:

    - sum, nansum, prod, cumsum, cumprod: integral and bool tensors give int64, float dtypes
      stay; `dtype=` wins (cumsum and cumprod refuse dtype=bool).
    - mean: float dtypes only (int64.mean() is torch's RuntimeError "mean(): could not infer
      output dtype. Input dtype must be either a floating point or complex dtype. Got: Long");
      mean(dtype=float64) of an integer tensor is allowed, dtype=<integer> is not. nanmean:
      float dtypes only.
    - std, var, norm: float dtypes only (torch's RuntimeErrors); complex gives its real dtype.
    - max, min, amax, amin, median: keep the dtype (median refuses bool). argmax, argmin,
      count_nonzero: int64 (argmax refuses bool). all, any: bool, but uint8 stays uint8.
    - logsumexp: integral and bool tensors give the default float dtype.
    """
    try:
        rule = _REDUCTIONS[op]
    except KeyError:
        raise ValueError(f"reduction_dtype: unknown op {op!r}; known: {', '.join(_REDUCTIONS)}") \
            from None
    return rule(as_dtype(d), None if dtype is None else as_dtype(dtype))


def matmul_dtype(a, b):
    """The result dtype of a @ b (torch.matmul), a and b as result_type takes tensors: torch
    does not promote here, the dtypes must be equal. Otherwise torch's RuntimeError, whose text
    depends on which kernel the shapes lead to: dot (1-d @ 1-d), mv (n-d @ 1-d), mm (1-d or n-d
    @ 2-d, and 1-d @ 2-d), bmm (anything @ 3-d or more). bool is refused by every kernel
    (NotImplementedError)."""
    da, db = _dtype_of(a), _dtype_of(b)
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    if na == 1 and nb == 1:
        kernel = "dot"
    elif nb == 1:
        kernel = "addmv_impl_cpu"
    elif nb == 2:
        kernel = "addmm_impl_cpu_"
    else:
        kernel = "bmm"
    if da is not db:
        if kernel == "dot":
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{da._scalar_name} and {db._scalar_name}")
        if kernel == "addmv_impl_cpu":
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{db._scalar_name}, {da._scalar_name}, and {db._scalar_name}")
        if kernel == "addmm_impl_cpu_":
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{da._cpp_name} != {db._cpp_name}")
        raise RuntimeError(f"expected scalar type {da._scalar_name} but found {db._scalar_name}")
    if da is _BOOL:
        raise _kernel_error(kernel, da)
    return da


def _ndim(operand):
    if isinstance(operand, tuple):
        return operand[1]
    if isinstance(operand, _PY_NUMBERS):
        return 0
    return operand.ndim


# ---------------------------------------------------------------------------------- factories
def _number_kind(value):
    """'bool', 'int', 'float' or 'complex' for a number torch takes as a Scalar argument: a
    Python number, a numpy scalar, or a 0-d tensor (by its dtype's category). torch's argument
    parser knows Python bools, ints and complex numbers and numpy integers, and reads any other
    number through float(): so np.bool_ and np.complex64 count as floats here (np.complex128
    subclasses complex and stays complex)."""
    if isinstance(value, _PyBool):
        return "bool"
    if isinstance(value, (_PyInt, np.integer)):
        return "int"
    if isinstance(value, _PyComplex):       # np.complex128 too: it subclasses complex
        return "complex"
    if isinstance(value, (_PyFloat, np.generic)):
        return "float"
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:
        kind = as_dtype(value.dtype)._np.kind
        return {"b": "bool", "u": "int", "i": "int", "f": "float", "c": "complex"}[kind]
    raise TypeError(f"expected a number, got {type(value).__name__}")


def full_dtype(fill_value):
    """The dtype of torch.full(size, fill_value) without dtype=: bool for a bool, int64 for an
    integer, the default float dtype for a float, the default complex dtype for a complex.
    numpy scalars and 0-d tensors count by category only: full(s, np.float64(1)) is float32."""
    kind = _number_kind(fill_value)
    if kind == "bool":
        return _BOOL
    if kind == "int":
        return _INT64
    return _DEFAULT[0] if kind == "float" else _default_complex()


def arange_dtype(*values):
    """The dtype of torch.arange(start, end, step) without dtype=: int64 when every given
    value is an integer or a bool (Python, numpy or 0-d tensor), else the default float dtype:
    arange(5) is int64, arange(5.0) and arange(0, 1, 0.1) are float32."""
    kinds = {_number_kind(v) for v in values}
    if "complex" in kinds:
        raise TypeError("arange: complex start, end or step is not supported")
    return _DEFAULT[0] if "float" in kinds else _INT64


def linspace_dtype(start, end):
    """The dtype of torch.linspace / logspace(start, end, steps) without dtype=: the default
    float dtype even for integers (linspace(0, 10, 5) is float32), the default complex dtype if
    start or end is complex."""
    if "complex" in (_number_kind(start), _number_kind(end)):
        return _default_complex()
    return _DEFAULT[0]


def factory_dtype(dtype=None):
    """The dtype of zeros, ones, empty, rand, randn (and their *_like with dtype given): the
    default float dtype unless `dtype` is given. (randint and randperm are int64.)"""
    return _DEFAULT[0] if dtype is None else as_dtype(dtype)


def _is_tensor_like(obj):
    # a Tensor (or anything else carrying dtype and ndim) that is not numpy's
    return (hasattr(obj, "dtype") and hasattr(obj, "ndim")
            and not isinstance(obj, (np.ndarray, np.generic)))


def _is_sequence(obj):
    # PySequence_Check as torch uses it, for the objects a program passes: strings are refused
    # before this is asked, dicts and sets are no sequences
    return isinstance(obj, (list, tuple, range, np.ndarray))


def _numpy_dtype_of(np_dt):
    found = _BY_NUMPY.get(np_dt)
    if found is None and np_dt.kind in "biufc":
        raise TypeError(f"can't convert np.ndarray of type numpy.{np_dt.type.__name__}: torch "
                        f"has that dtype, tapegrad has not. The supported types are: "
                        f"{_SUPPORTED}.")
    if found is None:
        raise TypeError(f"can't convert np.ndarray of type numpy.{np_dt.type.__name__}. The "
                        f"only supported types are: {_TORCH_NUMPY_TYPES}.")
    return found


def infer_dtype(data):
    """The dtype torch.tensor(data) gives without dtype= (torch/csrc/utils/tensor_new.cpp):

    - a numpy array or numpy scalar: its own dtype (np.float64(1.0) -> float64);
    - a Python float: the default dtype; int: int64; bool: bool; complex: the default complex;
    - a tensor: its dtype;
    - a sequence (list, tuple, range): promote_types over all its items, recursively, so
      [1, 2.0] -> float32, [True, 1] -> int64, [np.float64(1), 2] -> float64,
      [np.int32(1), 2] -> int64; an empty sequence is the default dtype.
    Errors as torch: a str is TypeError "new(): invalid data type 'str'"; anything else
    RuntimeError "Could not infer dtype of <type>".
    """
    stack = [data]
    result = None
    while stack:
        obj = stack.pop()
        if isinstance(obj, np.ndarray):
            found = _numpy_dtype_of(obj.dtype)
        elif isinstance(obj, np.generic):
            found = _numpy_dtype_of(obj.dtype)
        elif isinstance(obj, _PyFloat):
            found = _DEFAULT[0]
        elif isinstance(obj, _PyBool):
            found = _BOOL
        elif isinstance(obj, _PyInt):
            found = _INT64
        elif isinstance(obj, _PyComplex):
            found = _default_complex()
        elif _is_tensor_like(obj):
            found = as_dtype(obj.dtype)
        elif isinstance(obj, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(obj).__name__}'")
        elif _is_sequence(obj):
            if len(obj) == 0:
                found = _DEFAULT[0]
            else:
                # promote_types is commutative and associative, so the order items are seen
                # in does not change the result
                stack.extend(obj)
                continue
        else:
            raise RuntimeError(f"Could not infer dtype of {type(obj).__name__}")
        result = found if result is None else _promote(result, found)
    return result


def _sizes(data):
    """torch's compute_sizes: the shape, read along the first item of each level."""
    sizes = []
    obj = data
    while _is_sequence(obj):
        sizes.append(len(obj))
        if len(obj) == 0:
            break
        obj = obj[0]
    return sizes


def _flatten(data, sizes):
    """The items of a nested sequence in order, after checking its shape level by level as
    torch does (its messages: a ragged list is ValueError "expected sequence of length 2 at
    dim 1 (got 3)", a number where a list belongs TypeError "not a sequence")."""
    level = [data]
    for dim, n in enumerate(sizes):
        nxt = []
        for seq in level:
            if not _is_sequence(seq):
                raise TypeError("not a sequence")
            if len(seq) != n:
                raise ValueError(f"expected sequence of length {n} at dim {dim} "
                                 f"(got {len(seq)})")
            nxt.extend(seq)
        level = nxt
    return level


def _tensor_item(v, d):
    """The value of a 0-d tensor stored as an item: torch reads it through __index__ for an
    integral or bool dtype, so only integer tensors may go there."""
    if v.ndim != 0:
        raise ValueError("only one element tensors can be converted to Python scalars")
    kind = as_dtype(v.dtype)._np.kind
    if kind in "fc" and not (d.is_floating_point or d.is_complex):
        raise TypeError("only integer tensors of a single element can be converted to an index")
    if kind == "c" and not d.is_complex:
        raise RuntimeError("value cannot be converted to type double without overflow")
    return np.asarray(v)[()].item()


def _store_integral(v, info, d):
    """One item stored into an integral dtype, as torch's store_scalar does: a Python float
    (np.float64 too) is truncated toward zero and must lie in the dtype's range; anything else
    goes through __index__ (np.float32 and np.bool_ have none: TypeError), must fit in int64
    ("Overflow when unpacking long long") and then in the dtype, where uint8 also takes
    negatives down to -255 and wraps them (c10's overflows())."""
    if isinstance(v, _PyFloat):
        if math.isnan(v) or math.isinf(v) or v < info.min or v > info.max:
            raise RuntimeError(f"value cannot be converted to type {d._name} without overflow")
        return _PyInt(v)
    n = operator.index(v)
    if not -2 ** 63 <= n < 2 ** 63:
        raise ValueError("Overflow when unpacking long long")
    if not (info.min <= n <= info.max or (info.min == 0 and n < 0 and -n <= info.max)):
        raise RuntimeError(f"value cannot be converted to type {d._name} without overflow")
    return n


def _store_bool(v):
    # torch takes Python numbers and numpy integers and bools by truth value; other numpy
    # scalars (np.float32 ...) go through __index__ and are refused
    if not isinstance(v, (_PyInt, _PyFloat, _PyComplex, np.integer, np.bool_)):
        operator.index(v)
    return _PyBool(v)


def _store_float(v):
    # PyFloat_AsDouble: numpy complex scalars give their real part, Python complex is refused
    if isinstance(v, _PyComplex) and not isinstance(v, np.generic):
        raise TypeError("must be real number, not complex")
    if not isinstance(v, (_PyInt, _PyFloat, np.generic)):
        raise TypeError(f"must be real number, not {type(v).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        return _PyFloat(v)


def _store(items, d):
    """items (numbers, 0-d tensors) as a flat array of dtype d, each stored as torch stores it
    (see _store_integral, _store_bool, _store_float); the first bad item in order raises."""
    if d.is_floating_point:
        store = _store_float
    elif d.is_complex:
        store = _PyComplex
    elif d is _BOOL:
        store = _store_bool
    else:
        info = np.iinfo(d._np)

        def store(v):
            return _store_integral(v, info, d)
    values = [store(_tensor_item(v, d) if _is_tensor_like(v) else v) for v in items]
    if d.is_floating_point or d.is_complex:
        with np.errstate(over="ignore"):       # 1e300 into float32 is inf, as in torch
            return np.array(values, dtype=np.complex128 if d.is_complex else np.float64) \
                .astype(d._np)
    if d is _BOOL:
        return np.array(values, dtype=np.bool_)
    return np.array(values, dtype=np.int64).astype(d._np)    # uint8 wraps its negatives


def tensor_data(data, dtype=None):
    """The numpy array torch.tensor(data, dtype=dtype) holds: its dtype is `dtype`, or
    infer_dtype(data); its values as torch stores them.

    A numpy array (or a tensor) is cast with numpy's astype, as torch's .to() casts; a numpy
    scalar is stored as a list item is. A nested
    sequence is checked level by level as torch does (ragged -> ValueError "expected sequence
    of length 2 at dim 1 (got 1)", a number where a list belongs -> TypeError "not a
    sequence"); a shape with a zero anywhere gives an empty array without looking further, as
    in torch ([[], [1]] is an empty 2x0 tensor). Items are stored as torch stores them: into a
    float dtype through float64, rounded (1e40 into float32 is inf, no error); into an integer
    dtype truncated and range-checked (1000 into int8 is torch's RuntimeError "value cannot be
    converted to type int8 without overflow"); into bool by truth value; a Python complex
    into a real dtype is TypeError."""
    d = infer_dtype(data) if dtype is None else as_dtype(dtype)
    if isinstance(data, np.ndarray):
        _numpy_dtype_of(data.dtype)
        return np.array(data, dtype=d._np)
    if _is_tensor_like(data):
        return np.array(np.asarray(data), dtype=d._np)
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    sizes = _sizes(data)
    if 0 in sizes:
        return np.empty(sizes, d._np)
    return _store(_flatten(data, sizes), d).reshape(sizes)


def cast_scalar(value, d):
    """A Python number (or numpy scalar) as a 0-d array of dtype d, the way torch converts a
    wrapped number inside an op whose compute dtype is d: integers wrap modulo 2 ** bits
    (int8 tensor + 1000 computes with -24), floats round to d (overflowing to inf), bools are 0
    and 1. An integer outside [-2**63, 2**64) is torch's OverflowError ("int too big to
    convert", or "can't convert negative int to unsigned" below -2**63). A float or complex
    number into an integral dtype, or a complex number into a real one, cannot happen after
    result_type and is TypeError."""
    d = as_dtype(d)
    if isinstance(value, (_PyBool, np.bool_)):
        return np.asarray(_PyBool(value), dtype=d._np)
    if isinstance(value, (_PyInt, np.integer)):
        n = _PyInt(value)
        if n < -2 ** 63:
            raise OverflowError("can't convert negative int to unsigned")
        if n >= 2 ** 64:
            raise OverflowError("int too big to convert")
        if _is_integral(d, include_bool=False):
            return np.asarray(n % 2 ** 64, dtype=np.uint64).astype(d._np)
        if d is _BOOL:
            return np.asarray(n != 0)
        with np.errstate(over="ignore"):
            return np.asarray(_PyFloat(n), dtype=np.float64).astype(d._np)
    if isinstance(value, (_PyFloat, np.floating)) and _is_float_or_complex(d):
        with np.errstate(over="ignore"):
            return np.asarray(_PyFloat(value), dtype=np.float64).astype(d._np)
    if isinstance(value, (_PyComplex, np.complexfloating)) and d.is_complex:
        return np.asarray(value, dtype=np.complex128).astype(d._np)
    raise TypeError(f"cast_scalar: a {type(value).__name__} cannot be converted to {d} without "
                    f"losing its category; promote first (result_type)")


# ---------------------------------------------------------------------------------- names
# torch's module attributes: every name and alias is the same object as its canonical dtype.
uint8 = _UINT8
int8 = _INT8
int16 = short = _INT16
int32 = int = _INT32
int64 = long = _INT64
float16 = half = _FLOAT16
float32 = float = _FLOAT32
float64 = double = _FLOAT64
complex64 = cfloat = _COMPLEX64
complex128 = cdouble = _COMPLEX128
bool = _BOOL

DTYPE_NAMES = ("uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "float16",
               "half", "float32", "float", "float64", "double", "complex64", "cfloat",
               "complex128", "cdouble", "bool")

__all__ = ["dtype", "finfo", "iinfo", "get_default_dtype", "set_default_dtype",
           "promote_types", "result_type", "can_cast", *DTYPE_NAMES]
