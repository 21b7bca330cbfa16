"""Tensors printed character for character as PyTorch 2.13 prints them (torch/_tensor_str.py).

    format_tensor(np.array([0.4963, 0.7682], np.float32))    -> 'tensor([0.4963, 0.7682])'
    format_tensor(np.float32(0.6931), requires_grad=True, grad_fn="NllLossBackward0")
                                                 -> 'tensor(0.6931, grad_fn=<NllLossBackward0>)'

This module works on numpy arrays and imports nothing from tapegrad, so the Tensor class wires
`__repr__`, `__str__` and `__format__` to it without an import cycle. It is a port of torch's
printer, rule for rule:

- One formatter serves the whole tensor (or, when summarized, the elements that are shown).
  Integer and bool tensors print `str(value)`, right-aligned to the widest value.
- A float tensor looks at its finite nonzero values only. If all are whole numbers it is in
  int mode: `1.`, `-3.`, `inf`, `nan` (a trailing dot says "float"). Scientific notation is
  used when max|x| / min|x| > 1000, max|x| > 1e8 or min|x| < 1e-4 (over those values), unless
  `set_printoptions(sci_mode=...)` forces it. Otherwise `precision` (4) digits after the point.
  Every element is padded on the left to the width of the widest finite nonzero value's text;
  a -0.0, inf or nan wider than that stays unpadded and the columns do not line up (torch's
  `tensor([-inf, 2., nan])`).
- Above `threshold` (1000) elements the tensor is summarized: each dimension longer than
  2 * `edgeitems` (3) shows its first and last `edgeitems` entries around `...`.
- A row wraps after floor((linewidth - indent) / (width + 2)) elements, indent being 7
  (`tensor(`) plus one per enclosing bracket. The sub-tensors of a d-dimensional tensor are
  separated by d - 2 blank lines.
- Suffixes in torch's order: `device=` (only off the CPU), `size=` (empty tensors of other than
  one dimension, or edgeitems 0), `dtype=`, then `grad_fn=<...>` or else `requires_grad=True`.
  `dtype=` is printed unless the dtype is the default float dtype, its complex twin, int64 or
  bool; an empty tensor prints it unless the dtype is the default float dtype. A suffix that
  would take the line past `linewidth` goes on a new line, indented under `tensor(`.

`format_scalar` is torch's `Tensor.__format__` for a 0-d tensor: the Python number's own
`format`, so `f"{loss:.4f}"` works. (A tensor with dimensions falls back to
`object.__format__`, a TypeError for any non-empty spec: the Tensor class gets that by calling
`object.__format__(self, spec)` itself.)

Not ported, since tapegrad has no such tensors: sparse, quantized, nested, meta and functorch
tensors, bfloat16 and float8 (numpy has no such dtypes).
"""
import contextlib
import math

import numpy as np

__all__ = ["format_tensor", "format_scalar", "set_printoptions", "get_printoptions",
           "printoptions"]


class _PrintOptions:
    """torch's PRINT_OPTS: the module-wide state that set_printoptions changes."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print, as torch.set_printoptions does.

    `profile` ("default", "short", "full") first sets precision, threshold, edgeitems and
    linewidth together; the other arguments then override it one by one. `sci_mode` is set on
    every call (None, its default, lets the formatter choose), as in torch. An unknown profile
    is a ValueError (torch ignores it silently).
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of "
                             f"{', '.join(map(repr, _PROFILES))}, got {profile!r}")
        for name, value in _PROFILES[profile].items():
            setattr(_OPTS, name, value)
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict that set_printoptions(**d) accepts."""
    return {name: getattr(_OPTS, name) for name in _PrintOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Change the print options inside a `with` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """The width and style of every element of one (real) tensor: torch's _Formatter."""

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            return
        # float64 for the ratio and the bounds: float16 overflows at 1e8 (torch does the same).
        magnitude = np.abs(nonzero_finite).astype(np.float64)
        smallest = float(magnitude.min())
        largest = float(magnitude.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if _OPTS.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = _OPTS.sci_mode
        precision = _OPTS.precision
        for value in nonzero_finite.tolist():
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1     # + 1 for the trailing "."
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def format(self, value):
        """One Python number as text, right-aligned to the common width."""
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{_OPTS.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{_OPTS.precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _complex_text(real_text, imag_text):
    """`a+bj` from the two parts, keeping the sign the imaginary part printed (-0.0 too)."""
    imag_text = (imag_text + "j").lstrip()
    if imag_text[0] in "+-":
        return real_text + imag_text
    return real_text + "+" + imag_text


def _format_value(value, formatters):
    if len(formatters) == 2:
        return _complex_text(formatters[0].format(value.real), formatters[1].format(value.imag))
    return formatters[0].format(value)


def _vector_str(arr, indent, summarize, formatters, linewidth):
    element_length = formatters[0].max_width + 2       # ", " between elements
    if len(formatters) == 2:
        element_length += formatters[1].max_width + 1  # the imaginary part and its "j"
    per_line = max(1, math.floor((linewidth - indent) / element_length))
    edge = _OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        data = ([_format_value(v, formatters) for v in arr[:edge].tolist()] + [" ..."]
                + [_format_value(v, formatters) for v in arr[-edge:].tolist()])
    else:
        data = [_format_value(v, formatters) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr, indent, summarize, formatters, linewidth):
    # Recursion over the dimensions of one array (depth = ndim), not over a graph.
    if arr.ndim == 0:
        return _format_value(arr.item(), formatters)
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, formatters, linewidth)
    edge = _OPTS.edgeitems
    if summarize and arr.shape[0] > 2 * edge:
        shown = list(range(edge)) + [None] + list(range(arr.shape[0] - edge, arr.shape[0]))
    else:
        shown = list(range(arr.shape[0]))
    slices = ["..." if i is None else
              _tensor_str_with_formatter(arr[i], indent + 1, summarize, formatters, linewidth)
              for i in shown]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr):
    """The elements a summarized print shows (torch's get_summarized_data), for the formatter.

    Kept literal, quirks included: a vector with edgeitems 0 keeps all its elements
    (`x[-0:]` is all of x), while a matrix with edgeitems 0 keeps none.
    """
    edge = _OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edge:
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty((0,) * arr.ndim, arr.dtype)
    if arr.shape[0] > 2 * edge:
        rows = list(range(edge)) + list(range(arr.shape[0] - edge, arr.shape[0]))
    else:
        rows = range(arr.shape[0])
    return np.stack([_summarized_data(arr[i]) for i in rows])


def _tensor_str(arr, indent, linewidth):
    summarize = arr.size > _OPTS.threshold
    shown = _summarized_data(arr) if summarize else arr
    if arr.dtype.kind == "c":
        formatters = (_Formatter(shown.real), _Formatter(shown.imag))
    else:
        formatters = (_Formatter(shown),)
    return _tensor_str_with_formatter(arr, indent, summarize, formatters, linewidth)


def _add_suffixes(text, suffixes, indent, linewidth):
    parts = [text]
    # torch's count (one more than the last line's length when there is no newline): kept,
    # since it decides where suffixes wrap.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _complex_twin(float_name):
    return "complex128" if float_name == "float64" else "complex64"


def format_tensor(array, *, dtype_name=None, default_dtype_name="float32", requires_grad=False,
                  grad_fn=None, is_leaf=None, device=None, linewidth=None,
                  dtype_prefix="torch."):
    """repr(t) (and str(t)) of the torch tensor that holds `array`, e.g. 'tensor([1., 2.])'.

    array: a numpy array or scalar of a bool, integer, float or complex dtype (its values and
        shape are printed; 0-d prints as `tensor(x)`).
    dtype_name: the dtype as torch spells it ("float32", "int64", "bool"...); defaults to the
        array's numpy name, which is the same word for all of these.
    default_dtype_name: the current default float dtype; `dtype=` is printed unless the dtype is
        it, its complex twin, int64 or bool (for an empty tensor: unless it is this one).
    requires_grad, grad_fn: a grad_fn name ("MulBackward0") prints `grad_fn=<MulBackward0>`;
        with none, requires_grad=True prints `requires_grad=True`.
    is_leaf: optional; torch's text does not depend on it, so it is only checked: a leaf has
        no grad_fn and a non-leaf has one.
    device: "cpu" or None print nothing; any other device prints `device='...'`.
    linewidth: the line width; None takes it from set_printoptions (80 by default).
    dtype_prefix: what precedes the dtype name in `dtype=` ("torch." as torch prints it).
    """
    arr = np.asarray(array)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"format_tensor: cannot print an array of dtype {arr.dtype} "
                        f"(bool, integer, float or complex only)")
    if grad_fn is not None and not requires_grad:
        raise ValueError(f"format_tensor: a tensor with grad_fn {grad_fn!r} requires grad; "
                         f"got requires_grad=False")
    if is_leaf is not None and is_leaf == (grad_fn is not None):
        raise ValueError(f"format_tensor: is_leaf={is_leaf} does not fit grad_fn={grad_fn!r} "
                         f"(a leaf has no grad_fn, a non-leaf has one)")
    if linewidth is None:
        linewidth = _OPTS.linewidth
    dtype_name = arr.dtype.name if dtype_name is None else dtype_name
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if device is not None and str(device).split(":")[0] != "cpu":
        suffixes.append(f"device='{device}'")
    dtype_suffix = f"dtype={dtype_prefix}{dtype_name}"
    if arr.size == 0:
        # No elements to tell int64 from float, so only the default float dtype goes unsaid.
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype_name != default_dtype_name:
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not _OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        implied = (default_dtype_name, _complex_twin(default_dtype_name), "int64", "bool")
        if dtype_name not in implied:
            suffixes.append(dtype_suffix)
        body = _tensor_str(arr, indent, linewidth)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent, linewidth)


def format_scalar(value, spec):
    """format(t, spec) of a 0-d tensor holding `value`: Python's format of t.item().

    So f"{loss:.4f}" gives '0.6931', an int64 tensor formats as an int ('{:5d}') and a bool one
    as a bool ('True'; '.2f' gives '1.00'). A spec the number's type rejects raises Python's
    own ValueError, as in torch. `value` is a number, a numpy scalar or a 0-d array; an array
    with dimensions is a ValueError here (the Tensor falls back to object.__format__ for it).
    """
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ValueError(f"format_scalar: takes a 0-d array, got shape {value.shape} "
                             f"(a tensor with dimensions formats through object.__format__)")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    return format(value, spec)
