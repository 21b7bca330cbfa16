"""autograd.tensor_str against torch 2.13's own printer: the same text, character for character.

Every case builds one numpy array, hands it to torch (torch.from_numpy) and to format_tensor,
and compares repr(torch_tensor) with format_tensor(...). The arrays are generated from a seed:
shapes from 0-d to 4-d with empty dimensions and sizes on both sides of the summarization
threshold; every dtype torch and numpy share; values on both sides of each scientific-notation
boundary (a max/min ratio of 1000, 1e8, 1e-4), whole numbers (int mode), nan, inf, -0.0; leaves
that require grad and results of ops (grad_fn); under each print-option profile and the
non-default precisions, thresholds, edgeitems, line widths and sci modes, with either default
float dtype.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd import tensor_str as ts

FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
COMPLEX = ["complex64", "complex128"]
DTYPES = FLOATS * 4 + INTS + ["bool"] + COMPLEX     # floats weighted: they have the most rules

SHAPES = [(), (0,), (1,), (2,), (5,), (7,), (13,), (80,), (999,), (1000,), (1001,), (1500,),
          (0, 3), (3, 0), (1, 1), (2, 3), (4, 7), (33, 31), (1000, 1), (1, 1001), (2, 600),
          (7, 2), (0, 2, 2), (2, 3, 4), (10, 10, 11), (3, 1, 9), (2, 3, 4, 5), (7, 1, 1, 150),
          (1, 1, 1, 1), (3, 0, 2, 1), (4, 4, 4, 17)]

OPTIONS = [
    {},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 3},
    {"precision": 0},
    {"precision": 1},
    {"precision": 7},
    {"threshold": 5},
    {"threshold": 0},
    {"threshold": 20, "edgeitems": 1},
    {"threshold": 20, "edgeitems": 0},
    {"edgeitems": 0},
    {"threshold": 50, "edgeitems": 5},
    {"linewidth": 10},
    {"linewidth": 40},
    {"linewidth": 133},
    {"sci_mode": True},
    {"sci_mode": False},
    {"sci_mode": True, "precision": 2, "linewidth": 60},
]


@pytest.fixture(autouse=True)
def _default_options():
    """Each test starts and ends with both printers, and torch's default dtype, at defaults."""
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    torch.set_default_dtype(torch.float32)


def _name(dtype):
    return str(dtype).removeprefix("torch.")


def ours(t):
    """format_tensor of torch tensor t, from its numpy values and its autograd attributes."""
    return ts.format_tensor(
        t.detach().numpy(), dtype_name=_name(t.dtype),
        default_dtype_name=_name(torch.get_default_dtype()), requires_grad=t.requires_grad,
        grad_fn=None if t.grad_fn is None else type(t.grad_fn).__name__, is_leaf=t.is_leaf,
        device=str(t.device))


def _float_values(rng, size):
    """float64 values in one of the regimes that decide torch's formatting."""
    regime = rng.integers(9)
    if regime == 0:
        x = rng.standard_normal(size)
    elif regime == 1:         # one magnitude, anywhere from subnormal-small to huge
        x = rng.standard_normal(size) * 10.0 ** rng.uniform(-12, 14)
    elif regime == 2:         # magnitudes spanning a ratio around 1000
        low = rng.uniform(-7, 9)
        x = 10.0 ** rng.uniform(low, low + rng.uniform(2, 4), size)
        x *= rng.choice([-1.0, 1.0], size)
    elif regime == 3:         # whole numbers: int mode
        x = rng.integers(-2000, 2000, size).astype(np.float64) * 10.0 ** rng.integers(0, 10)
    elif regime == 4:         # exactly on, or one step past, one sci-mode boundary
        x = _boundary_values(rng, size)
    elif regime == 5:         # nothing finite and nonzero
        x = rng.choice([0.0, -0.0, np.nan, np.inf, -np.inf], size)
    elif regime == 6:         # values that round up in the last printed digit
        x = rng.choice([0.99995, 9.99995, 0.00015, 999.99999, 1e-4 * 0.99999, 12345.678], size)
    elif regime == 7:
        x = rng.uniform(0, 1, size)
    else:
        x = rng.standard_normal(size) * 1e5
    if size and rng.random() < 0.4:
        specials = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size)
        x = np.where(rng.random(size) < 0.15, specials, x)
    return x


def _neighbours(bound):
    """bound in each float dtype and the values one step either side of it there (finite
    ones: float16 has no 1e8)."""
    out = []
    for dtype in (np.float16, np.float32, np.float64):
        with np.errstate(over="ignore"):
            v = dtype(bound)
        out += [v, np.nextafter(v, dtype(np.inf)), np.nextafter(v, dtype(0))]
    return [float(v) for v in out if np.isfinite(v) and float(v) > bound / 2]


def _boundary_values(rng, size):
    """Values on either side of one of torch's sci-mode bounds: a max/min ratio of 1000, a
    largest magnitude of 1e8 or a smallest one of 1e-4, each step taken in each float dtype."""
    which = rng.integers(3)
    if which == 0:
        a = 2.0 ** rng.integers(-8, 8)       # 1000 * a exact in every float dtype
        ends = [a, rng.choice(_neighbours(1000 * a))]
    elif which == 1:
        ends = [rng.choice(_neighbours(1e8)), 2e5]
    else:
        ends = [rng.choice(_neighbours(1e-4)), 0.09]
    inside = rng.uniform(min(ends), max(ends), size)
    x = np.where(rng.random(size) < 0.5, inside, rng.choice(ends, size))
    if size >= 2 and rng.random() < 0.5:
        x[rng.choice(size, 2, replace=False)] = ends
    return x * rng.choice([-1.0, 1.0], size)


def _array(rng, dtype, shape):
    size = math.prod(shape)
    if dtype in FLOATS:
        with np.errstate(over="ignore"):        # float16 overflows to inf, as torch's cast does
            return _float_values(rng, size).astype(dtype).reshape(shape)
    if dtype in COMPLEX:
        z = np.empty(size, dtype)
        z.real = _float_values(rng, size)       # not x + 1j * y: 1j * inf has a nan real part
        z.imag = _float_values(rng, size)
        return z.reshape(shape)
    if dtype == "bool":
        return (rng.random(size) < 0.5).reshape(shape)
    info = np.iinfo(dtype)
    bound = info.max if rng.random() < 0.3 else min(info.max, 10 ** int(rng.integers(1, 6)))
    low = max(info.min, -bound - 1)
    return rng.integers(low, bound, size, dtype=dtype, endpoint=True).reshape(shape)


def _autograd_variant(rng, t):
    """t as a leaf, a leaf that requires grad, or the result of an op that keeps its values."""
    if not (t.is_floating_point() or t.is_complex()):
        return t
    kind = rng.integers(4)
    if kind == 0:
        return t
    leaf = t.clone().requires_grad_(True)
    if kind == 1:
        return leaf
    if kind == 2:
        return leaf * 1            # MulBackward0; x * 1 keeps nan, inf and -0.0
    return leaf.clone()            # CloneBackward0


def _cases(seed, count):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        dtype = DTYPES[rng.integers(len(DTYPES))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        yield _autograd_variant(rng, torch.from_numpy(_array(rng, dtype, shape)))


def _compare(tensors):
    mismatches = []
    for t in tensors:
        want = repr(t)
        got = ours(t)
        if got != want:
            mismatches.append(f"dtype {t.dtype} shape {tuple(t.shape)}\n"
                              f"torch:\n{want}\nours:\n{got}")
    assert not mismatches, (f"{len(mismatches)} mismatches; first:\n"
                            + "\n---\n".join(mismatches[:3]))


@pytest.mark.parametrize("default_dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in
                                                                    o.items()) or "default")
def test_generated_tensors_print_as_torch_prints_them(options, default_dtype):
    torch.set_default_dtype(default_dtype)
    torch.set_printoptions(**options)
    ts.set_printoptions(**options)
    # a seed of its own per test, fixed across runs (hash() of a str is not)
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(repr(sorted(options.items()))
                                                     + str(default_dtype)))
    _compare(_cases(seed, 48))


@pytest.mark.parametrize("n", [998, 999, 1000, 1001, 1002])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_sizes_around_the_summarization_threshold(n, dtype):
    rng = np.random.default_rng(n)
    _compare(torch.from_numpy(_array(rng, dtype, shape)) for shape in [(n,), (1, n), (n, 1)])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64]),
                  hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
                  elements=st.floats(width=16, allow_nan=True, allow_infinity=True)))
def test_any_float_array_prints_as_torch_prints_it(arr):
    _compare([torch.from_numpy(arr)])


@pytest.mark.parametrize("text, make", [
    ("tensor([0.4963, 0.7682])", lambda: torch.tensor([0.4963, 0.7682])),
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)",
     lambda: torch_F.nll_loss(torch.log(torch.full((1, 2), 0.5, requires_grad=True)),
                              torch.tensor([0]))),
    ("tensor([1, 2, 3])", lambda: torch.tensor([1, 2, 3])),
    ("tensor([1., 2.], dtype=torch.float64, requires_grad=True)",
     lambda: torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)),
    ("tensor([])", lambda: torch.tensor([])),
    ("tensor([], size=(0, 3))", lambda: torch.zeros(0, 3)),
    ("tensor([], dtype=torch.int64)", lambda: torch.tensor([], dtype=torch.int64)),
    ("tensor([0., -0.])", lambda: torch.tensor([0.0, -0.0])),
    ("tensor([1.0000e-05, 1.0000e+00,        nan])",
     lambda: torch.tensor([1e-5, 1.0, float("nan")])),
    ("tensor([ True, False])", lambda: torch.tensor([True, False])),
    ("tensor(3)", lambda: torch.tensor(3)),
    ("tensor([-inf, 2., nan])", lambda: torch.tensor([-math.inf, 2.0, math.nan])),
])
def test_named_examples(text, make):
    t = make()
    assert repr(t) == text
    assert ours(t) == text


def test_wrapping_and_suffix_on_a_new_line():
    t = torch.arange(30, dtype=torch.float64).reshape(2, 15) / 7
    t.requires_grad_(True)
    out = t * 1
    assert ours(out) == repr(out)
    assert ours(out).count("\n") >= 4
    assert ours(out).endswith("4.1429]], dtype=torch.float64,\n       grad_fn=<MulBackward0>)")


def test_suffixes_wrap_as_torch_wraps_them_at_every_linewidth():
    leaf = torch.tensor([[0.5, 1.25], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    tensors = [leaf, leaf * 1, (leaf * 1).sum(), torch.zeros(0, 2, dtype=torch.int16),
               torch.arange(12, dtype=torch.int8).reshape(3, 4)]
    for linewidth in range(8, 90):
        torch.set_printoptions(linewidth=linewidth)
        ts.set_printoptions(linewidth=linewidth)
        _compare(tensors)


def test_linewidth_argument_overrides_the_option():
    t = torch.arange(40.0)
    wide = repr(t)
    torch.set_printoptions(linewidth=30)
    narrow = repr(t)
    assert narrow != wide
    assert ts.format_tensor(t.numpy(), linewidth=30) == narrow
    assert ts.format_tensor(t.numpy()) == wide
    ts.set_printoptions(linewidth=30)
    assert ts.format_tensor(t.numpy()) == narrow
    assert ts.format_tensor(t.numpy(), linewidth=80) == wide


def test_dtype_prefix():
    arr = np.array([1.0, 2.0])
    assert ts.format_tensor(arr, dtype_prefix="autograd.") == \
        "tensor([1., 2.], dtype=autograd.float64)"
    assert ts.format_tensor(arr) == "tensor([1., 2.], dtype=torch.float64)"


def test_device_suffix_only_off_the_cpu():
    arr = np.array([1.0, 2.0], np.float32)
    assert ts.format_tensor(arr, device="cpu") == "tensor([1., 2.])"
    # torch/_tensor_str.py: suffixes.append("device='" + str(self.device) + "'")
    assert ts.format_tensor(arr, device="cuda:0", requires_grad=True) == \
        "tensor([1., 2.], device='cuda:0', requires_grad=True)"


def test_printoptions_profiles_state_and_context():
    ts.set_printoptions(precision=2, edgeitems=1, sci_mode=True)
    assert ts.get_printoptions() == {"precision": 2, "threshold": 1000, "edgeitems": 1,
                                     "linewidth": 80, "sci_mode": True}
    # like torch, every call resets sci_mode unless it is given again
    ts.set_printoptions(linewidth=90)
    assert ts.get_printoptions()["sci_mode"] is None
    ts.set_printoptions(profile="full")
    assert ts.get_printoptions() == {"precision": 4, "threshold": math.inf, "edgeitems": 3,
                                     "linewidth": 80, "sci_mode": None}
    with ts.printoptions(precision=1):
        assert ts.format_tensor(np.array([1.25, 2.5])) == \
            "tensor([1.2, 2.5], dtype=torch.float64)"
    assert ts.get_printoptions()["precision"] == 4
    torch.set_printoptions(profile="full")
    big = torch.arange(5000)
    assert ts.format_tensor(big.numpy()) == repr(big)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="profile must be one of.*'wide'"):
        ts.set_printoptions(profile="wide")
    with pytest.raises(TypeError, match="dtype <U1"):
        ts.format_tensor(np.array(["a"]))
    with pytest.raises(ValueError, match="requires_grad=False"):
        ts.format_tensor(np.ones(2), grad_fn="MulBackward0")
    with pytest.raises(ValueError, match="is_leaf=True"):
        ts.format_tensor(np.ones(2), requires_grad=True, grad_fn="MulBackward0", is_leaf=True)
    with pytest.raises(ValueError, match="is_leaf=False"):
        ts.format_tensor(np.ones(2), requires_grad=True, is_leaf=False)


SCALARS = [torch.tensor(0.6931), torch.tensor(2.5, dtype=torch.float64), torch.tensor(-0.0),
           torch.tensor(math.nan), torch.tensor(1e-7, dtype=torch.float16), torch.tensor(7),
           torch.tensor(-3, dtype=torch.int8), torch.tensor(True), torch.tensor(1 + 2j),
           torch.tensor(0.25, requires_grad=True) * 2]
SPECS = ["", ".4f", ".2e", "10.3f", "g", ">12", "d", "+.1%", "x", "s", ",.2f"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("t", SCALARS, ids=lambda t: f"{t.dtype}")
def test_format_scalar_as_torch_formats_a_0d_tensor(t, spec):
    try:
        want = format(t, spec)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)) as caught:
            ts.format_scalar(t.detach().numpy(), spec)
        assert str(caught.value) == str(error)
    else:
        assert ts.format_scalar(t.detach().numpy(), spec) == want
        assert ts.format_scalar(t.detach().numpy()[()], spec) == want


def test_format_scalar_refuses_arrays_with_dimensions():
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor"):
        format(torch.ones(2), ".2f")         # torch: object.__format__ for such a tensor
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        ts.format_scalar(np.ones(2), ".2f")
