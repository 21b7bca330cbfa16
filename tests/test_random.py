"""autograd.random against torch's CPU generator: the same seed must give the same numbers.

Every comparison is exact (assert_array_equal), across seeds, sizes on both sides of 16 (where
torch switches its normal kernel), dtypes, a Generator object against the default one, saved
and restored states, and the errors for bad arguments (the same exception type as torch).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F

import autograd
import nn
from autograd import random as ar
from nn import init

SEEDS = [0, 1, 2024, 2 ** 40 + 7]
SIZES = [(), (1,), (2,), (15,), (16,), (17,), (31,), (33,), (3, 7), (4, 4), (1000,), (37, 29)]
DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


def same(ours, theirs):
    a = ours.data if isinstance(ours, autograd.Tensor) else np.asarray(ours)
    b = theirs.numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


def both_seeded(seed):
    torch.manual_seed(seed)
    autograd.manual_seed(seed)


def same_state():
    np.testing.assert_array_equal(autograd.get_rng_state().data, torch.get_rng_state().numpy())


# ---------------------------------------------------------------------------------------------
# the generator
@pytest.mark.parametrize("seed", SEEDS + [-1, 2 ** 64 - 1, -2 ** 63])
def test_seeding_gives_torchs_state_bytes(seed):
    both_seeded(seed)
    same_state()
    assert autograd.initial_seed() == torch.initial_seed()


def test_state_bytes_follow_draws_and_the_cached_normal():
    both_seeded(5)
    for ours, theirs in [(lambda: ar.randn(3), lambda: torch.randn(3)),       # caches a normal
                         (lambda: ar.rand(700), lambda: torch.rand(700)),     # a twist later
                         (lambda: ar.randn(2), lambda: torch.randn(2)),       # uses the cache
                         (lambda: ar.randint(0, 9, (3,)), lambda: torch.randint(0, 9, (3,)))]:
        same(ours(), theirs())
        same_state()


def test_new_generator_has_torchs_default_seed():
    g, tg = ar.Generator(), torch.Generator()
    assert g.initial_seed() == tg.initial_seed() == 67280421310721
    same(ar.randn(20, generator=g), torch.randn(20, generator=tg))
    assert g.device == "cpu"


def test_generator_object_leaves_the_default_alone():
    both_seeded(3)
    g = ar.Generator().manual_seed(11)
    tg = torch.Generator().manual_seed(11)
    same(ar.randn(40, generator=g), torch.randn(40, generator=tg))
    same(ar.randperm(10, generator=g), torch.randperm(10, generator=tg))
    same_state()                                # the default generators did not move
    same(ar.rand(5), torch.rand(5))


def test_state_save_restore_and_exchange_with_torch():
    both_seeded(8)
    ar.randn(5)
    torch.randn(5)
    saved = autograd.get_rng_state()
    first = ar.randn(50)
    autograd.set_rng_state(saved)
    np.testing.assert_array_equal(ar.randn(50).data, first.data)
    torch.set_rng_state(torch.from_numpy(np.array(saved.data)))    # tapegrad state -> torch
    autograd.set_rng_state(saved)
    same(ar.randn(7), torch.randn(7))
    autograd.set_rng_state(torch.get_rng_state())               # torch state -> tapegrad
    same(ar.randn(9, dtype=np.float64), torch.randn(9, dtype=torch.float64))
    g = ar.Generator().set_state(torch.get_rng_state())
    same(ar.rand(3, generator=g), torch.rand(3))


def test_seed_is_nondeterministic_and_reported():
    s = autograd.seed()
    assert autograd.initial_seed() == s
    torch.manual_seed(s)
    same(ar.randn(4), torch.randn(4))


# ---------------------------------------------------------------------------------------------
# distributions
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dt,tdt", DTYPES)
def test_randn_and_rand(seed, size, dt, tdt):
    both_seeded(seed)
    same(ar.randn(size, dtype=dt), torch.randn(size, dtype=tdt))
    same(ar.rand(size, dtype=dt), torch.rand(size, dtype=tdt))
    if size:
        same(ar.randn(*size, dtype=dt), torch.randn(*size, dtype=tdt))   # after a cached normal


def test_randn_large_float32():
    both_seeded(0)
    same(ar.randn(512, 512), torch.randn(512, 512))
    same(ar.randn(1, 1000, 3), torch.randn(1, 1000, 3))


def test_default_dtype_and_size_keyword():
    both_seeded(1)
    same(ar.randn(2), torch.randn(2))
    same(ar.randn(size=(2, 3)), torch.randn(size=(2, 3)))
    same(ar.rand([4]), torch.rand([4]))
    autograd.set_default_dtype(np.float64)
    try:
        same(ar.randn(20), torch.randn(20, dtype=torch.float64))
    finally:
        autograd.set_default_dtype(np.float32)
    t = ar.randn(3, requires_grad=True)
    assert t.requires_grad


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("n", [5, 16, 40])
@pytest.mark.parametrize("dt,tdt", DTYPES)
@pytest.mark.parametrize("bounds", [(-0.3779644730092272, 0.3779644730092272), (-1.7, 2.9),
                                    (0.1, 0.2), (-1e6, 3.0), (2.0, 2.0)])
def test_uniform_fill(seed, n, dt, tdt, bounds):
    both_seeded(seed)
    arr = np.empty(n, dtype=dt)
    ar._uniform_fill(arr, *bounds)
    same(arr, torch.empty(n, dtype=tdt).uniform_(*bounds))


@pytest.mark.parametrize("n", [3, 15, 16, 17, 100])
@pytest.mark.parametrize("dt,tdt", DTYPES)
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.3, 1.7), (-2.0, 0.01), (5.0, 0.0)])
def test_normal_fill(n, dt, tdt, mean, std):
    both_seeded(n)
    arr = np.empty(n, dtype=dt)
    ar._normal_fill(arr, mean, std)
    same(arr, torch.empty(n, dtype=tdt).normal_(mean, std))


def test_fills_of_noncontiguous_views_follow_memory_order():
    both_seeded(4)
    a = np.empty((6, 5), dtype=np.float32)
    t = torch.empty(6, 5)
    ar._normal_fill(a.T)                       # 30 elements, but not contiguous: serial path
    t.T.normal_()
    same(a, t)
    ar._uniform_fill(a[:, ::2], -1, 1)
    t[:, ::2].uniform_(-1, 1)
    same(a, t)
    b = np.zeros((4, 6))
    tb = torch.zeros(4, 6, dtype=torch.float64)
    ar._bernoulli_fill(b.T, np.linspace(0, 1, 24).reshape(6, 4))
    tb.T.bernoulli_(torch.linspace(0, 1, 24, dtype=torch.float64).reshape(6, 4))
    same(b, tb)


def test_exponential_fill():
    both_seeded(2)
    for dt, tdt in DTYPES:
        for lambd in (1.0, 2.5):
            arr = np.empty(33, dtype=dt)
            ar._exponential_fill(arr, lambd)
            same(arr, torch.empty(33, dtype=tdt).exponential_(lambd))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("low,high", [(0, 10), (-5, 5), (3, 4), (0, 2 ** 28 - 1), (0, 2 ** 28),
                                      (-2 ** 40, 2 ** 40), (-2 ** 62, 2 ** 62)])
def test_randint(seed, low, high):
    both_seeded(seed)
    same(ar.randint(low, high, (25,)), torch.randint(low, high, (25,)))
    if low == 0:
        same(ar.randint(high, (2, 3)), torch.randint(high, (2, 3)))
    same(ar.randint(low=low, high=high, size=(4,)), torch.randint(low=low, high=high, size=(4,)))


def test_randint_dtypes_and_like():
    both_seeded(6)
    same(ar.randint(0, 100, (7,), dtype=np.float32), torch.randint(0, 100, (7,),
                                                                   dtype=torch.float32))
    same(ar.randint(-3, 3, (7,), dtype=np.int32), torch.randint(-3, 3, (7,), dtype=torch.int32))
    x, tx = np.zeros((2, 3), np.float32), torch.zeros(2, 3)
    same(ar.randint_like(x, 10), torch.randint_like(tx, 10))
    same(ar.randint_like(x, 5, 10), torch.randint_like(tx, 5, 10))
    same(ar.randn_like(x), torch.randn_like(tx))
    same(ar.rand_like(autograd.Tensor(x)), torch.rand_like(tx))
    same(ar.randn_like(x, dtype=np.float64), torch.randn_like(tx, dtype=torch.float64))


@pytest.mark.parametrize("dt,tdt", [(np.int64, torch.int64), (np.int32, torch.int32),
                                    (np.uint8, torch.uint8), (np.bool_, torch.bool),
                                    (np.float32, torch.float32), (np.float64, torch.float64)])
def test_random_fill_without_bounds(dt, tdt):
    both_seeded(9)
    arr = np.empty(12, dtype=dt)
    ar._random_fill(arr)
    same(arr, torch.empty(12, dtype=tdt).random_())
    ar._random_fill(arr, 2)
    same(arr, torch.empty(12, dtype=tdt).random_(2))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 17, 100, 5000])
def test_randperm(seed, n):
    both_seeded(seed)
    same(ar.randperm(n), torch.randperm(n))
    same(ar.randperm(n, dtype=np.float32), torch.randperm(n, dtype=torch.float32))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("dt,tdt", DTYPES)
def test_bernoulli(seed, dt, tdt):
    both_seeded(seed)
    p = np.linspace(0, 1, 37).astype(dt).reshape(37)
    same(ar.bernoulli(p), torch.bernoulli(torch.from_numpy(p)))
    p2 = np.random.default_rng(seed).random((5, 8)).astype(dt)
    same(ar.bernoulli(autograd.Tensor(p2)), torch.bernoulli(torch.from_numpy(p2)))
    same(ar.bernoulli(p2, 0.3), torch.bernoulli(torch.from_numpy(p2), 0.3))
    arr = np.empty(50, dtype=dt)
    ar._bernoulli_fill(arr, 0.25)
    same(arr, torch.empty(50, dtype=tdt).bernoulli_(0.25))
    # probabilities expanded along a new dim (stride 0): drawn into a row-major result
    row = np.linspace(0.1, 0.9, 7).astype(dt)
    same(ar.bernoulli(autograd.Tensor(row).expand(6, 7)),
         torch.bernoulli(torch.from_numpy(row).expand(6, 7)))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("dt,tdt", DTYPES)
@pytest.mark.parametrize("k,replacement", [(1, False), (1, True), (3, False), (7, False),
                                           (5, True), (40, True)])
def test_multinomial(seed, dt, tdt, k, replacement):
    weights = np.array([0.1, 2.0, 0.0, 0.7, 1.3, 0.05, 3.0, 0.4], dtype=dt)
    rows = np.random.default_rng(seed).random((4, 8)).astype(dt)
    both_seeded(seed)
    same(ar.multinomial(weights, k, replacement), torch.multinomial(torch.from_numpy(weights),
                                                                     k, replacement))
    same(ar.multinomial(autograd.Tensor(rows), k, replacement=replacement),
         torch.multinomial(torch.from_numpy(rows), k, replacement=replacement))


@pytest.mark.parametrize("dt,tdt", DTYPES)
def test_normal_overloads(dt, tdt):
    both_seeded(12)
    mean = np.linspace(-1, 1, 20).astype(dt).reshape(4, 5)
    std = np.linspace(0.1, 2, 5).astype(dt)
    tm, ts = torch.from_numpy(mean), torch.from_numpy(std)
    same(ar.normal(autograd.Tensor(mean), autograd.Tensor(std)), torch.normal(tm, ts))
    same(ar.normal(mean, 0.5), torch.normal(tm, 0.5))
    same(ar.normal(0.25, std), torch.normal(0.25, ts))
    same(ar.normal(2.0, 3.0, (3, 6), dtype=dt), torch.normal(2.0, 3.0, (3, 6), dtype=tdt))
    same(ar.normal(2.0, 3.0, size=(40,), dtype=dt), torch.normal(2.0, 3.0, size=(40,),
                                                                 dtype=tdt))


def test_mixed_sequence_of_calls():
    """One long program: every call consumes the stream exactly as torch's does."""
    both_seeded(77)
    g, tg = ar.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    w = np.ones(6, dtype=np.float32)
    for _ in range(3):
        same(ar.randn(5), torch.randn(5))
        same(ar.randint(0, 3, (4,), generator=g), torch.randint(0, 3, (4,), generator=tg))
        same(ar.rand(19, dtype=np.float64), torch.rand(19, dtype=torch.float64))
        same(ar.randperm(9), torch.randperm(9))
        same(ar.multinomial(w, 2), torch.multinomial(torch.from_numpy(w), 2))
        same(ar.randn(17, generator=g), torch.randn(17, generator=tg))
        same(ar.bernoulli(w, 0.5), torch.bernoulli(torch.from_numpy(w), 0.5))
    same_state()


# ---------------------------------------------------------------------------------------------
# errors: the same exception type as torch for the same mistake
ERRORS = [
    ("negative size", lambda m: m.randn(-1), lambda: torch.randn(-1)),
    ("float size", lambda m: m.randn(2.0), lambda: torch.randn(2.0)),
    ("no size", lambda m: m.randn(), lambda: torch.randn()),
    ("randn int dtype", lambda m: m.randn(3, dtype=np.int64),
     lambda: torch.randn(3, dtype=torch.int64)),
    ("rand int dtype", lambda m: m.rand(3, dtype=np.int64),
     lambda: torch.rand(3, dtype=torch.int64)),
    ("randint empty range", lambda m: m.randint(5, 5, (3,)), lambda: torch.randint(5, 5, (3,))),
    ("randint reversed", lambda m: m.randint(5, 3, (3,)), lambda: torch.randint(5, 3, (3,))),
    ("randint no size", lambda m: m.randint(10), lambda: torch.randint(10)),
    ("randint int size", lambda m: m.randint(10, size=3), lambda: torch.randint(10, size=3)),
    ("randint float high", lambda m: m.randint(2.5, (2,)), lambda: torch.randint(2.5, (2,))),
    ("randperm negative", lambda m: m.randperm(-1), lambda: torch.randperm(-1)),
    ("multinomial negative", lambda m: m.multinomial(np.array([0.5, -0.1]), 1),
     lambda: torch.multinomial(torch.tensor([0.5, -0.1]), 1)),
    ("multinomial zero sum", lambda m: m.multinomial(np.zeros(2), 1),
     lambda: torch.multinomial(torch.zeros(2), 1)),
    ("multinomial too many", lambda m: m.multinomial(np.ones(2), 3),
     lambda: torch.multinomial(torch.ones(2), 3)),
    ("multinomial no samples", lambda m: m.multinomial(np.ones(2), 0),
     lambda: torch.multinomial(torch.ones(2), 0)),
    ("multinomial 3-D", lambda m: m.multinomial(np.ones((2, 2, 2)), 1),
     lambda: torch.multinomial(torch.ones(2, 2, 2), 1)),
    ("multinomial ints", lambda m: m.multinomial(np.array([1, 2]), 1),
     lambda: torch.multinomial(torch.tensor([1, 2]), 1)),
    ("multinomial inf", lambda m: m.multinomial(np.array([1.0, np.inf]), 2, True),
     lambda: torch.multinomial(torch.tensor([1.0, float("inf")]), 2, True)),
    ("bernoulli p > 1", lambda m: m.bernoulli(np.ones(3), 2.0),
     lambda: torch.bernoulli(torch.ones(3), 2.0)),
    ("bernoulli probs > 1", lambda m: m.bernoulli(np.array([2.0])),
     lambda: torch.bernoulli(torch.tensor([2.0]))),
    ("bernoulli ints", lambda m: m.bernoulli(np.array([1, 0])),
     lambda: torch.bernoulli(torch.tensor([1, 0]))),
    ("normal std < 0", lambda m: m.normal(0.0, -1.0, (3,)), lambda: torch.normal(0.0, -1.0, (3,))),
    ("normal tensor std < 0", lambda m: m.normal(np.zeros(3), np.array([1.0, -1.0, 1.0])),
     lambda: torch.normal(torch.zeros(3), torch.tensor([1.0, -1.0, 1.0]))),
    ("normal without size", lambda m: m.normal(0.0, 1.0), lambda: torch.normal(0.0, 1.0)),
    ("uniform reversed", lambda m: m._uniform_fill(np.empty(3, np.float32), 2, 1),
     lambda: torch.empty(3).uniform_(2, 1)),
    ("exponential lambda 0", lambda m: m._exponential_fill(np.empty(3), 0),
     lambda: torch.empty(3).exponential_(0)),
    ("state of wrong size", lambda m: m.set_rng_state(np.zeros(10, np.uint8)),
     lambda: torch.set_rng_state(torch.zeros(10, dtype=torch.uint8))),
    ("state of wrong dtype", lambda m: m.set_rng_state(np.zeros(5056)),
     lambda: torch.set_rng_state(torch.zeros(5056))),
    ("seed too large", lambda m: m.manual_seed(2 ** 64), lambda: torch.manual_seed(2 ** 64)),
    ("seed of None", lambda m: m.manual_seed(None), lambda: torch.manual_seed(None)),
    ("generator seed float", lambda m: m.Generator().manual_seed(1.5),
     lambda: torch.Generator().manual_seed(1.5)),
]


@pytest.mark.parametrize("name,ours,theirs", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torchs_types(name, ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(expected.type) as got:
        ours(ar)
    assert str(got.value)


def test_generator_argument_must_be_ours():
    with pytest.raises(TypeError, match="autograd.Generator"):
        ar.randn(3, generator=torch.Generator())


def test_manual_seed_converts_like_torch():
    for s in (3.7, "3", True):
        torch.manual_seed(s)
        autograd.manual_seed(s)
        same_state()


# ---------------------------------------------------------------------------------------------
# nn: default initialization draws from the default generator in torch's order
LAYERS = [
    ("Linear", lambda m: m.Linear(3, 2)),
    ("Linear-no-bias", lambda m: m.Linear(20, 7, bias=False)),
    ("Linear-large", lambda m: m.Linear(64, 33)),
    ("Conv2d", lambda m: m.Conv2d(3, 8, 3)),
    ("Conv2d-kernel", lambda m: m.Conv2d(2, 4, (2, 5), stride=2, padding=1, bias=False)),
    ("RNN", lambda m: m.RNN(5, 7, num_layers=2)),
    ("LSTM", lambda m: m.LSTM(4, 6)),
    ("GRU", lambda m: m.GRU(3, 5, num_layers=2, bias=False)),
    ("RNNCell", lambda m: m.RNNCell(4, 3)),
    ("LSTMCell", lambda m: m.LSTMCell(5, 4)),
    ("GRUCell", lambda m: m.GRUCell(2, 9)),
    ("Embedding", lambda m: m.Embedding(10, 3)),
    ("Embedding-small", lambda m: m.Embedding(3, 5, padding_idx=1)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(4)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3)),
    ("LayerNorm", lambda m: m.LayerNorm(6)),
]


@pytest.mark.parametrize("seed", [0, 42])
@pytest.mark.parametrize("name,make", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_initialization_matches_torch(seed, name, make):
    both_seeded(seed)
    ours = dict(make(nn).named_parameters())
    theirs = dict(make(torch.nn).named_parameters())
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        same(ours[key], p.detach())
    same_state()                            # and the stream is left where torch leaves it


def test_model_of_several_layers_matches_torch_sequential():
    both_seeded(0)
    ours = nn.models.mlp([4, 8, 8, 2])
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 2))
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        same(p, q.detach())


def test_rng_keeps_numpys_stream():
    a = nn.Linear(3, 2, rng=0)
    g = np.random.default_rng(0)
    bound = 1 / np.sqrt(3)
    np.testing.assert_array_equal(a.weight.data, g.uniform(-bound, bound, (2, 3)).astype(
        np.float32))
    np.testing.assert_array_equal(a.bias.data, g.uniform(-bound, bound, 2).astype(np.float32))


@pytest.mark.parametrize("fn,args", [("uniform_", (-0.5, 2.0)), ("normal_", (0.1, 3.0)),
                                     ("xavier_uniform_", ()), ("xavier_normal_", (0.5,)),
                                     ("kaiming_uniform_", ()), ("kaiming_normal_", ())])
def test_init_functions_with_generators(fn, args):
    both_seeded(1)
    shapes = [(5, 3), (4, 6, 2)]            # 15 (serial normal) and 48 (blocked) elements
    for shape in shapes:
        t, tt = autograd.Tensor(np.zeros(shape, np.float32)), torch.zeros(shape)
        getattr(init, fn)(t, *args)                             # the default generator
        getattr(torch.nn.init, fn)(tt, *args)
        same(t, tt)
        g, tg = ar.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        getattr(init, fn)(t, *args, generator=g)
        getattr(torch.nn.init, fn)(tt, *args, generator=tg)
        same(t, tt)
    same_state()


def test_init_rejects_both_sources():
    with pytest.raises(TypeError, match="not both"):
        init.uniform_(np.zeros(3), rng=0, generator=ar.Generator())


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.77])
@pytest.mark.parametrize("dt,tdt", DTYPES)
def test_dropout_masks_match_torch(p, dt, tdt):
    x = np.random.default_rng(0).standard_normal((6, 13)).astype(dt)
    both_seeded(4)
    layer = nn.Dropout(p)
    for _ in range(2):
        same(layer(autograd.Tensor(x)), torch_F.dropout(torch.from_numpy(x), p))
    same(nn.functional.dropout(x, p), torch.nn.Dropout(p)(torch.from_numpy(x)))
    layer.eval()
    same(layer(autograd.Tensor(x)), torch.from_numpy(x))
    same_state()


# ---------------------------------------------------------------------------------------------
# the exact arithmetic under the kernels
def test_fma32_rounds_once_where_float64_lands_halfway():
    """a * b = +-(2^-24 - 2^-70): the float64 sum with c lands exactly halfway between two
    float32 values, the exact one does not, and must round back to c."""
    a = np.float32(1 + 2 ** -23)
    b = np.float32(2 ** -24 * (1 - 2 ** -23))
    c = (1 + np.arange(1, 9) * 2.0 ** -23).astype(np.float32)
    for sign in (1, -1):
        s = np.float64(a) * np.float64(sign * b) + c.astype(np.float64)
        assert ((s.view(np.uint64) & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)).all()
        np.testing.assert_array_equal(ar._fma32(np.full(8, a), np.float32(sign * b), c), c)


def test_fma64_is_correctly_rounded():
    from fractions import Fraction
    rng = np.random.default_rng(0)
    a, b = rng.random(200), rng.standard_normal(200)
    c = -a * b * (1 + rng.standard_normal(200) * 1e-9)       # heavy cancellation
    got = ar._fma64(a, b, c)
    want = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(got, want)
