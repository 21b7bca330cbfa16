"""autograd.dtypes against torch: every rule is generated over all dtypes and operand kinds and
compared with what torch 2.13 itself returns or raises (type and message)."""
import copy
import itertools
import pickle
import random
import warnings

import numpy as np
import pytest

import autograd
from autograd import dtypes as D

torch = pytest.importorskip("torch")

CANONICAL = ("uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
             "complex64", "complex128", "bool")
REAL = tuple(n for n in CANONICAL if not n.startswith("complex"))
PAIRS = [(getattr(D, n), getattr(torch, n)) for n in CANONICAL]
REAL_PAIRS = [(getattr(D, n), getattr(torch, n)) for n in REAL]
TORCH_OF = {d: t for d, t in PAIRS}


@pytest.fixture(autouse=True)
def _restore_defaults():
    """Every test starts and ends with float32 defaults in both libraries and torch's names."""
    D.set_default_dtype(D.float32)
    torch.set_default_dtype(torch.float32)
    yield
    D.set_default_dtype(D.float32)
    torch.set_default_dtype(torch.float32)
    D.set_repr_prefix("torch")


def values(fn):
    """What fn returns (an array, as a (dtype name, shape, list) triple) or raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = np.asarray(fn())
        except Exception as e:      # the error itself is the outcome compared
            return type(e).__name__, str(e)
    return r.dtype.name, r.shape, r.tolist()


def outcome(fn):
    """What fn returns (a dtype as its torch name, e.g. 'float32') or raises (type, message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fn()
        except Exception as e:      # the error itself is the outcome compared
            return type(e).__name__, str(e)
    r = getattr(r, "dtype", r)
    return str(r).removeprefix("torch.")


# ---------------------------------------------------------------------------------- the dtypes
def test_names_and_aliases_are_torchs():
    for name in D.DTYPE_NAMES:
        assert repr(getattr(D, name)) == repr(getattr(torch, name)), name
        for other in D.DTYPE_NAMES:
            same = getattr(torch, name) is getattr(torch, other)
            assert (getattr(D, name) is getattr(D, other)) == same, (name, other)
    assert D.float is D.float32 and D.long is D.int64 and D.double is D.float64
    for name in D.DTYPE_NAMES:
        assert getattr(autograd.dtypes, name) is getattr(D, name)


def test_attributes_match_torch():
    for d, t in PAIRS:
        assert d.is_floating_point == t.is_floating_point, d
        assert d.is_complex == t.is_complex, d
        assert d.is_signed == t.is_signed, d
        assert d.itemsize == t.itemsize, d
        assert str(d) == str(t) and repr(d) == repr(t) and f"{d}" == f"{t}"
        assert outcome(d.to_real) == outcome(t.to_real), d
        if t is not torch.float16:      # complex32: numpy has none
            assert outcome(d.to_complex) == outcome(t.to_complex), d
    assert d.kind == "b" and D.float16.type is np.float16


def test_repr_prefix_is_one_setting():
    D.set_repr_prefix("autograd")
    assert repr(D.float) == "autograd.float32" and str(D.int64) == "autograd.int64"
    assert "autograd.finfo()" in outcome(lambda: D.finfo(D.int32))[1]
    assert D.get_repr_prefix() == "autograd"
    with pytest.raises(ValueError, match="module name"):
        D.set_repr_prefix("no good")


def test_numpy_takes_them_as_dtypes():
    for d, _ in PAIRS:
        np_dt = np.dtype(d.type)
        assert np.dtype(d) == np_dt and d.dtype == np_dt
        assert np.zeros(3, dtype=d).dtype == np_dt
        assert np.ones(2).astype(d).dtype == np_dt
        assert np.asarray([1, 0], d).dtype == np_dt
    assert np.finfo(D.float32).eps == np.finfo(np.float32).eps
    assert np.iinfo(D.int8).max == 127


def test_equality_with_numpy_spellings_and_hash():
    spellings = {d: [d, np.dtype(d.type), d.type, np.dtype(d.type).name] for d, _ in PAIRS}
    for d, _ in PAIRS:
        for e, others in spellings.items():
            for other in others:
                assert (d == other) == (d is e), (d, other)
                assert (other == d) == (d is e), (d, other)
                assert (d != other) == (d is not e), (d, other)
        assert hash(d) == hash(np.dtype(d.type))
    assert D.float64 == float and D.int64 == int and D.bool == bool     # numpy's meaning
    assert D.float32 != float
    for not_a_dtype in (None, 0, 1.5, object(), "no such dtype", torch.float32):
        assert D.float32 != not_a_dtype and not_a_dtype != D.float32
    assert {np.dtype(np.float32): "found"}[D.float] == "found"
    assert {D.int64: "found"}[np.dtype(np.int64)] == "found"
    assert D.float32 in (np.float32, np.float64) and D.int8 not in (np.float32, np.float64)


def test_one_object_per_dtype():
    for d, _ in PAIRS:
        assert pickle.loads(pickle.dumps(d)) is d
        assert copy.copy(d) is d and copy.deepcopy([d])[0] is d
    with pytest.raises(TypeError, match="cannot create 'torch.dtype' instances"):
        D.dtype()
    with pytest.raises(AttributeError, match="not writable"):
        D.float32.is_signed = False
    assert isinstance(D.float32, D.dtype)


def test_as_dtype_takes_numpy_spellings_and_names_what_it_refuses():
    assert D.as_dtype(np.float32) is D.float32 and D.as_dtype("int64") is D.long
    assert D.as_dtype(float) is D.float64 and D.as_dtype(bool) is D.bool
    assert D.as_dtype(np.dtype("complex64")) is D.cfloat
    with pytest.raises(TypeError, match="dtype uint16 is not supported"):
        D.as_dtype(np.uint16)
    with pytest.raises(TypeError, match="expected a dtype"):
        D.as_dtype("no such dtype")
    with pytest.raises(TypeError, match="got None"):
        D.as_dtype(None)


# ---------------------------------------------------------------------------------- finfo, iinfo
def test_finfo_iinfo_match_torch():
    fields = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")
    for d, t in PAIRS:
        if d.is_floating_point or d.is_complex:
            ours, theirs = D.finfo(d), torch.finfo(t)
            assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields], d
            assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        else:
            assert outcome(lambda: D.finfo(d)) == outcome(lambda: torch.finfo(t)), d
        if d.is_floating_point or d.is_complex or d is D.bool:
            assert outcome(lambda: D.iinfo(d)) == outcome(lambda: torch.iinfo(t)), d
        else:
            ours, theirs = D.iinfo(d), torch.iinfo(t)
            assert [(ours.bits, ours.min, ours.max, ours.dtype)] == \
                [(theirs.bits, theirs.min, theirs.max, theirs.dtype)]
            assert repr(ours) == repr(theirs)
    assert repr(D.finfo()) == repr(torch.finfo())
    D.set_default_dtype(D.float64)
    torch.set_default_dtype(torch.float64)
    assert repr(D.finfo()) == repr(torch.finfo())


# ---------------------------------------------------------------------------------- default dtype
def test_default_dtype_as_torch():
    assert D.get_default_dtype() is D.float32
    for d, t in PAIRS:
        theirs = outcome(lambda: torch.set_default_dtype(t))
        assert outcome(lambda: D.set_default_dtype(d)) == theirs, d
        assert str(D.get_default_dtype()) == str(torch.get_default_dtype()), d
    assert outcome(lambda: D.set_default_dtype("abc")) == \
        outcome(lambda: torch.set_default_dtype("abc"))
    D.set_default_dtype(np.float64)         # numpy spellings stay accepted, as tapegrad had
    assert D.get_default_dtype() is D.float64


# ---------------------------------------------------------------------------------- promotion
def test_promote_types_every_pair():
    for (d1, t1), (d2, t2) in itertools.product(PAIRS, repeat=2):
        assert str(D.promote_types(d1, d2)) == str(torch.promote_types(t1, t2)), (d1, d2)


def test_can_cast_every_pair():
    for (d1, t1), (d2, t2) in itertools.product(PAIRS, repeat=2):
        assert D.can_cast(d1, d2) == torch.can_cast(t1, t2), (d1, d2)


NUMBERS = [True, 2, 2.5, 1j, np.bool_(True), np.int32(3), np.int8(-1), np.float64(2.5),
           np.float16(1.5), np.complex128(1j), np.complex64(1j)]


def operands(pairs, numbers):
    """(ours, torch's) pairs of operands: every dtype as a 1-d and a 0-d tensor, and numbers."""
    out = []
    for d, t in pairs:
        out.append(((d, 1), torch.ones(2, dtype=t)))
        out.append(((d, 0), torch.ones((), dtype=t)))
    return out + [(x, x) for x in numbers]


def _check_result_type_pairs(pairs, numbers):
    ops = operands(pairs, numbers)
    for (a, ta), (b, tb) in itertools.product(ops, repeat=2):
        theirs = outcome(lambda: torch.result_type(ta, tb))
        if theirs == "complex32":       # float16 with a complex number: numpy has no complex32
            with pytest.raises(TypeError, match="complex32"):
                D.result_type(a, b)
            continue
        assert outcome(lambda: D.result_type(a, b)) == theirs, (a, b)


def test_result_type_over_tiers_and_categories():
    _check_result_type_pairs(PAIRS, NUMBERS)


def test_result_type_follows_the_default_dtype():
    for default in ("float64", "float16"):
        D.set_default_dtype(getattr(D, default))
        torch.set_default_dtype(getattr(torch, default))
        _check_result_type_pairs(REAL_PAIRS, [True, 2, 2.5, np.float32(0.5)])


def test_result_type_of_three_operands():
    """torch.clamp(x, lo, hi) computes in result_type(x, lo, hi), for tensors of any tier and
    for two numbers; compared wherever torch's clamp runs (it refuses bool and complex)."""
    rng = random.Random(0)
    ops = operands(REAL_PAIRS, [])
    compared = 0
    for _ in range(400):
        (a, ta), (b, tb), (c, tc) = (rng.choice(ops) for _ in range(3))
        theirs = outcome(lambda: torch.clamp(ta, tb, tc))
        if isinstance(theirs, str):
            assert str(D.result_type(a, b, c)).removeprefix("torch.") == theirs, (a, b, c)
            compared += 1
    for (a, ta), lo, hi in itertools.product(ops, [True, 1, 0.5], [2, 2.5]):
        theirs = outcome(lambda: torch.clamp(ta, lo, hi))
        if isinstance(theirs, str):
            assert str(D.result_type(a, lo, hi)).removeprefix("torch.") == theirs, (a, lo, hi)
            compared += 1
    assert compared > 200


def test_result_type_examples_from_the_brief():
    assert D.result_type((D.int64, 1), (D.float32, 1)) is D.float32
    assert D.result_type((D.float32, 1), 2.5) is D.float32
    assert D.result_type((D.int64, 1), 2.5) is D.float32
    assert D.result_type((D.int8, 1), (D.int64, 0)) is D.int8
    assert D.result_type((D.int8, 1), (D.float64, 0)) is D.float64
    assert D.result_type(np.zeros(3, np.int32), np.zeros((), np.float64)) is D.float64
    with pytest.raises(TypeError, match="Python number, a \\(dtype, ndim\\) pair or a tensor"):
        D.result_type((D.int8, 1), "2")


# ---------------------------------------------------------------------------------- per-op rules
TORCH_BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "true_divide": torch.true_divide,
    "floor_divide": lambda a, b: a // b,
    "div_floor": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    "remainder": lambda a, b: a % b, "fmod": torch.fmod, "pow": lambda a, b: a ** b,
    "maximum": torch.maximum, "minimum": torch.minimum, "atan2": torch.atan2,
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "logical_and": torch.logical_and, "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor,
    "bitwise_and": lambda a, b: a & b, "bitwise_or": lambda a, b: a | b,
    "bitwise_xor": lambda a, b: a ^ b,
    "bitwise_left_shift": lambda a, b: a << b, "bitwise_right_shift": lambda a, b: a >> b,
}
# functions (not operators) whose first operand torch wants to be a tensor; these refuse numbers
TENSORS_ONLY = {"maximum", "minimum", "atan2", "logical_and", "logical_or", "logical_xor"}
FIRST_TENSOR = {"true_divide", "div_floor", "div_trunc", "fmod"}


def test_every_binary_op_has_a_torch_twin():
    assert set(TORCH_BINARY) == set(D.BINARY_OPS)


def test_binary_ops_match_torch():
    ops = operands(REAL_PAIRS, [True, 2, 2.5])
    for name in D.BINARY_OPS:
        fn = TORCH_BINARY[name]
        for (a, ta), (b, tb) in itertools.product(ops, repeat=2):
            numbers = [not isinstance(x, torch.Tensor) for x in (ta, tb)]
            if all(numbers) or (name in TENSORS_ONLY and any(numbers)) or \
                    (name in FIRST_TENSOR and numbers[0]):
                continue
            theirs = outcome(lambda: fn(ta, tb))
            ours = outcome(lambda: D.binary_dtypes(name, a, b)[1])
            assert ours == theirs, (name, a, b)


def test_comparisons_compute_in_the_promoted_dtype():
    compute, out = D.binary_dtypes("lt", (D.int64, 1), 1.5)
    assert compute is D.float32 and out is D.bool
    with pytest.raises(ValueError, match="unknown op 'plus'"):
        D.binary_dtypes("plus", 1, 2)


INPLACE = {"add": "__iadd__", "sub": "__isub__", "mul": "__imul__", "div": "__itruediv__",
           "floor_divide": "__ifloordiv__", "remainder": "__imod__", "pow": "__ipow__",
           "bitwise_and": "__iand__"}


def test_inplace_ops_match_torch():
    ops = operands(REAL_PAIRS, [True, 2, 2.5])
    for name, method in INPLACE.items():
        for (a, ta), (b, tb) in itertools.product(ops, repeat=2):
            if not isinstance(ta, torch.Tensor) or ta.ndim < getattr(tb, "ndim", 0):
                continue                # not a dtype question: b does not broadcast into a
            theirs = outcome(lambda: getattr(ta.clone(), method)(tb))
            ours = outcome(lambda: D.inplace_dtypes(name, a, b)[1])
            assert ours == theirs, (name, a, b)
    assert str(D.cast_error(D.float32, D.int64)) == \
        "result type Float can't be cast to the desired output type Long"


def test_where_matches_torch():
    ops = operands(REAL_PAIRS, [True, 2, 2.5])
    for cond_d, cond_t in REAL_PAIRS:
        for (a, ta), (b, tb) in itertools.product(ops[::3] + ops[-3:], repeat=2):
            theirs = outcome(lambda: torch.where(torch.ones(2, dtype=cond_t), ta, tb))
            assert outcome(lambda: D.where_dtype((cond_d, 1), a, b)) == theirs, (cond_d, a, b)


TORCH_UNARY = {
    "neg": torch.neg, "abs": torch.abs, "relu": torch.relu, "sign": torch.sign,
    "square": torch.square, "logical_not": torch.logical_not, "bitwise_not": torch.bitwise_not,
    "invert": lambda x: ~x, "floor": torch.floor, "ceil": torch.ceil, "round": torch.round,
    "trunc": torch.trunc, "frac": torch.frac,
    "leaky_relu": torch.nn.functional.leaky_relu, "gelu": torch.nn.functional.gelu,
    "elu": torch.nn.functional.elu, "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
}


def test_unary_ops_match_torch():
    for name in D.UNARY_OPS:
        fn = TORCH_UNARY.get(name) or getattr(torch, name)
        for d, t in REAL_PAIRS:
            theirs = outcome(lambda: fn(torch.ones(3, dtype=t)))
            assert outcome(lambda: D.unary_dtype(name, d)) == theirs, (name, d)
    D.set_default_dtype(D.float64)
    assert D.unary_dtype("exp", D.int64) is D.float64


TORCH_REDUCTIONS = {"cumsum": lambda x, **k: x.cumsum(0, **k),
                    "cumprod": lambda x, **k: x.cumprod(0, **k),
                    "logsumexp": lambda x: x.logsumexp(0)}


def test_reductions_match_torch():
    for name in D.REDUCTIONS:
        fn = TORCH_REDUCTIONS.get(name) or (lambda x, _n=name, **k: getattr(x, _n)(**k))
        for d, t in REAL_PAIRS:
            x = torch.ones(3, dtype=t)
            theirs = outcome(lambda: fn(x))
            assert outcome(lambda: D.reduction_dtype(name, d)) == theirs, (name, d)
            if name in ("sum", "prod", "cumsum", "cumprod", "mean", "nansum"):
                for out_d, out_t in REAL_PAIRS:
                    theirs = outcome(lambda: fn(x, dtype=out_t))
                    ours = outcome(lambda: D.reduction_dtype(name, d, dtype=out_d))
                    assert ours == theirs, (name, d, out_d)


def test_std_var_norm_of_complex_are_real():
    for name in ("std", "var", "norm"):
        theirs = outcome(lambda: getattr(torch.ones(3, dtype=torch.complex64), name)())
        assert outcome(lambda: D.reduction_dtype(name, D.complex64)) == theirs


def test_matmul_matches_torch():
    dtype_pairs = [(D.float32, D.int64), (D.int64, D.float32), (D.float64, D.float32),
                   (D.bool, D.bool), (D.float16, D.float16), (D.uint8, D.uint8)]
    for na, nb in itertools.product(range(0, 5), repeat=2):
        for da, db in dtype_pairs:
            ta = torch.ones((2,) * na, dtype=TORCH_OF[da])
            tb = torch.ones((2,) * nb, dtype=TORCH_OF[db])
            theirs = outcome(lambda: ta @ tb)
            assert outcome(lambda: D.matmul_dtype((da, na), (db, nb))) == theirs, (na, nb, da, db)


# ---------------------------------------------------------------------------------- factories
SCALARS = [True, 0, 3, -2, 200, 1.5, -0.5, 2.0, np.float64(1.25), np.int32(2), np.float32(0.5),
           np.bool_(True), np.int8(3), np.uint8(200), np.float16(1.5), np.int64(-7)]


def random_nested(rng, depth):
    """A rectangular nested list of `depth` levels whose items are drawn from SCALARS, with now
    and then a numpy array or a 0-d tapegrad Tensor in place of an item or a row."""
    shape = [rng.randint(1, 3) for _ in range(depth)]
    pool = rng.sample(SCALARS, rng.randint(1, 4))

    def build(level):
        if level == depth:
            if rng.random() < 0.1:
                return autograd.Tensor(np.asarray(rng.choice(pool)))
            return rng.choice(pool)
        if level == depth - 1 and rng.random() < 0.1:
            return np.array([rng.choice(pool) for _ in range(shape[level])])
        return [build(level + 1) for _ in range(shape[level])]
    return build(0)


def _torch_data(data):
    """data with tapegrad Tensors replaced by torch tensors, for torch.tensor."""
    if isinstance(data, autograd.Tensor):
        return torch.from_numpy(np.array(data.data))
    if isinstance(data, list):
        return [_torch_data(x) for x in data]
    return data


def test_tensor_inference_and_values_over_generated_lists():
    rng = random.Random(15)
    cases = [random_nested(rng, rng.randint(0, 3)) for _ in range(150)]
    cases += [[], [[]], [[], []], (1, 2), range(3), [1, 2.0], [True, 1], [1j, 2],
              [np.float64(1), 2], [np.int32(1), 2], [np.uint8(1), np.int8(1)], [np.float16(1), 1],
              np.array([1, 2], np.int16), np.float32(2.5), 3, 2.5, True, 1j]
    for data in cases:
        theirs = values(lambda: torch.tensor(_torch_data(data)).numpy())
        assert values(lambda: D.tensor_data(data)) == theirs, data
        if len(theirs) == 3:            # torch made a tensor: its dtype is the inferred one
            assert str(D.infer_dtype(data)) == f"torch.{theirs[0]}", data
        for d, t in REAL_PAIRS[::2]:
            theirs = values(lambda: torch.tensor(_torch_data(data), dtype=t).numpy())
            assert values(lambda: D.tensor_data(data, dtype=d)) == theirs, (data, d)


def test_tensor_inference_follows_the_default_dtype():
    for default in ("float64", "float16"):
        D.set_default_dtype(getattr(D, default))
        torch.set_default_dtype(getattr(torch, default))
        for data in ([1, 2.0], 2.5, [], [[1], [True]], [np.float32(1), 0.5]):
            assert outcome(lambda: D.infer_dtype(data)) == outcome(lambda: torch.tensor(data))


def test_tensor_errors_match_torch():
    bad = ["a", [1, "a"], None, [1, None], {1, 2}, [object()], [[1, 2], [3]], [[1], [2, 3]],
           [[1, 2], 3], [2 ** 63], [-2 ** 63 - 1], [2 ** 64],
           np.array(["a"]), np.array([1], dtype=object)]
    for data in bad:
        assert outcome(lambda: D.tensor_data(data)) == outcome(lambda: torch.tensor(data)), data
    explicit = [([1, [2]], "int64"), ([1, [2]], "float32"), ([1, [2]], "bool"), ([1j], "int8"),
                ([1j], "float32"), ([1000], "int8"), ([-1], "uint8"), ([-256], "uint8"),
                ([1.7, -1.7], "int64"), ([-0.5], "uint8"), ([float("nan")], "int32"),
                ([1e300], "float32"), ([1e300], "float16"), ([2 ** 63], "float32"),
                ([2 ** 64], "bool"), ([np.float64(1.5)], "int64")]
    for data, name in explicit:
        theirs = outcome(lambda: torch.tensor(data, dtype=getattr(torch, name)).tolist())
        ours = outcome(lambda: D.tensor_data(data, dtype=getattr(D, name)).tolist())
        assert ours == theirs, (data, name)
    assert outcome(lambda: D.tensor_data([autograd.Tensor(np.ones(2))])) == \
        outcome(lambda: torch.tensor([torch.ones(2)]))
    with pytest.raises(TypeError, match="numpy.uint16"):      # torch has it, numpy has it,
        D.infer_dtype(np.zeros(2, np.uint16))                 # tapegrad has not
    with pytest.raises(TypeError, match="numpy.uint64"):
        D.infer_dtype([np.uint64(2 ** 63 + 5)])


def test_arange_full_linspace_factories_match_torch():
    values = [0, 3, True, 2.5, np.int32(3), np.float64(3.0), np.bool_(True),
              autograd.Tensor(np.asarray(3, np.int8)), autograd.Tensor(np.asarray(3.0))]
    for default in ("float32", "float64"):
        D.set_default_dtype(getattr(D, default))
        torch.set_default_dtype(getattr(torch, default))
        for v in values:
            tv = _torch_data(v)
            assert outcome(lambda: D.full_dtype(v)) == outcome(lambda: torch.full((2,), tv))
            assert outcome(lambda: D.arange_dtype(v)) == outcome(lambda: torch.arange(tv))
            for w in (5, 6.0):
                assert outcome(lambda: D.arange_dtype(v, w)) == \
                    outcome(lambda: torch.arange(tv, w)), (v, w)
                assert outcome(lambda: D.arange_dtype(v, w + 10, 2)) == \
                    outcome(lambda: torch.arange(tv, w + 10, 2)), (v, w)
        for fill in (1j, np.complex64(1j)):
            assert outcome(lambda: D.full_dtype(fill)) == outcome(lambda: torch.full((2,), fill))
        for start, end in ((0, 10), (0.0, 1), (True, 3), (0, 1j)):
            assert outcome(lambda: D.linspace_dtype(start, end)) == \
                outcome(lambda: torch.linspace(start, end, 5)), (start, end)
        assert outcome(D.factory_dtype) == outcome(lambda: torch.zeros(2))
        assert outcome(lambda: D.factory_dtype(D.int8)) == \
            outcome(lambda: torch.zeros(2, dtype=torch.int8))


def test_cast_scalar_matches_torch_arithmetic():
    values = [0, 1000, -1, 255, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63, -2 ** 63 - 1, True,
              1.5, -2.75, 1e300, -1e300, 70000.0, np.int16(-300), np.float32(0.1)]
    for (d, t), v in itertools.product(REAL_PAIRS, values):
        if d is D.bool or (isinstance(v, (float, np.floating)) and not d.is_floating_point):
            continue                    # the op computes in another dtype then
        theirs = outcome(lambda: (torch.zeros(1, dtype=t) + v).tolist()[0])
        ours = outcome(lambda: D.cast_scalar(v, d).item())
        if isinstance(ours, float) and np.isnan(ours):
            assert np.isnan(theirs)
        else:
            assert ours == theirs, (d, v)
    with pytest.raises(TypeError, match="promote first"):
        D.cast_scalar(1.5, D.int64)


# ---------------------------------------------------------------------------------- the module
def test_no_function_reads_a_shadowed_builtin():
    """float, int, bool, complex are dtypes in this module (as in torch): a function that
    writes isinstance(x, float) would test against a dtype. They use _PyFloat & co."""
    shadowed = {"float", "int", "bool", "complex", "long", "double", "half", "short"}
    code_objects = []
    for obj in vars(D).values():
        for member in [obj, *vars(obj).values()] if isinstance(obj, type) else [obj]:
            fn = getattr(member, "fget", member)
            if hasattr(fn, "__code__") and getattr(fn, "__module__", None) == D.__name__:
                code_objects.append(fn.__code__)
    assert len(code_objects) > 30
    while code_objects:
        code = code_objects.pop()
        assert not shadowed & set(code.co_names), (code.co_name, shadowed & set(code.co_names))
        code_objects.extend(c for c in code.co_consts if hasattr(c, "co_names"))
