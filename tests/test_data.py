"""autograd.utils.data against torch.utils.data: datasets, samplers, collation (values and
dtypes), the loader's batches, lengths and argument checks, and its order of random draws
(with the draws pointed at torch's generator, the batches are torch's, seed for seed)."""
import collections
import warnings

import numpy as np
import pytest

import autograd
from autograd import Tensor
from autograd.utils import data
from autograd.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                 IterableDataset, RandomSampler, SequentialSampler, Subset,
                                 SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                 default_collate, random_split)

torch = pytest.importorskip("torch")
TD = torch.utils.data


def _same(ours, theirs):
    """A collated structure of tapegrad Tensors equals torch's, dtypes included."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), type(ours)
        assert str(ours.dtype) == str(theirs.dtype), (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    else:
        assert ours == theirs


def _arrays(n=10):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 4, n)


def test_importable_the_torch_way():
    assert autograd.utils.data.DataLoader is DataLoader
    from autograd.utils.data import DataLoader as D, TensorDataset as T  # noqa: F401


def test_tensor_dataset_indexing_like_torch():
    x, y = _arrays()
    ours = TensorDataset(Tensor(x), Tensor(y))
    theirs = TD.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    assert len(ours) == len(theirs) == 10
    for index in (3, -1, slice(2, 6), np.array([4, 1, 1])):
        _same(ours[index], theirs[index])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(Tensor(x), Tensor(y[:5]))


COLLATE_CASES = {
    "tensor pairs": lambda T: [(T([1.0, 2.0]), 3), (T([4.0, 5.0]), 6)],
    "floats and ints": lambda T: [1.5, 2.0, -3.0],
    "ints": lambda T: [1, 2, 3],
    "bools": lambda T: [True, False],
    "numpy float32": lambda T: [np.ones(3, np.float32), np.zeros(3, np.float32)],
    "numpy scalars": lambda T: [np.float32(1.5), np.float32(2.5)],
    "numpy int scalars": lambda T: [np.int32(1), np.int32(2)],
    "dicts": lambda T: [{"x": np.ones(2), "y": 1, "name": "a"},
                        {"x": np.zeros(2), "y": 0, "name": "b"}],
    "nested lists": lambda T: [[1, [2.0, 3]], [4, [5.0, 6]]],
    "namedtuple": lambda T: [collections.namedtuple("P", "a b")(1.0, np.ones(2)),
                             collections.namedtuple("P", "a b")(2.0, np.zeros(2))],
    "0-d tensors": lambda T: [T(3), T(4)],
}


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    def ours_tensor(v):
        arr = np.array(v)
        return Tensor(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
    ours = default_collate(COLLATE_CASES[case](ours_tensor))
    theirs = TD.default_collate(COLLATE_CASES[case](torch.tensor))
    if case == "namedtuple":
        assert type(ours).__name__ == type(theirs).__name__ == "P"
        _same(list(ours), list(theirs))
    else:
        _same(ours, theirs)


def test_default_collate_errors_match_torch():
    for batch, exc, msg in [([[1, 2], [3]], RuntimeError,
                             "each element in list of batch should be of equal size"),
                            ([object(), object()], TypeError,
                             "default_collate: batch must contain tensors, numpy arrays, "
                             "numbers, dicts or lists; found <class 'object'>"),
                            ([np.array(["a"]), np.array(["b"])], TypeError, "found <U1")]:
        with pytest.raises(exc, match=msg):
            default_collate(batch)
        with pytest.raises(exc, match=msg):
            TD.default_collate(batch)
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but "
                                           r"got \[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([Tensor(np.ones(2)), Tensor(np.ones(3))])


def test_collate_keeps_the_graph_when_a_sample_requires_grad():
    a = Tensor(np.ones(2), requires_grad=True)
    out = default_collate([a, Tensor(np.zeros(2))])
    (out * 3).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=4), dict(batch_size=4,
                                                                     drop_last=True),
                                    dict(batch_size=3), dict(batch_size=None),
                                    dict(batch_size=20)])
def test_sequential_batches_match_torch(kwargs):
    x, y = _arrays()
    ours = DataLoader(TensorDataset(Tensor(x), Tensor(y)), **kwargs)
    theirs = TD.DataLoader(TD.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), **kwargs)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(theirs)
    for a, b in zip(batches, theirs):
        _same(list(a) if isinstance(a, tuple) else a, list(b) if isinstance(b, tuple) else b)


def test_a_dataset_of_plain_python_samples_collates_like_torch():
    class Squares(Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return {"x": float(i), "y": i * i, "v": np.full(2, i, np.float32)}

    class TorchSquares(TD.Dataset):
        __len__ = Squares.__len__
        __getitem__ = Squares.__getitem__

    for a, b in zip(DataLoader(Squares(), batch_size=3), TD.DataLoader(TorchSquares(),
                                                                       batch_size=3)):
        _same(a, b)


@pytest.mark.parametrize("seeded", [True, False])
def test_shuffled_batches_are_torchs(seeded):
    """The loader draws from autograd's copy of torch's generator in torch's order (its base
    seed, then the sampler's permutation, per epoch): three epochs match torch exactly, after
    manual_seed or with a Generator of the same seed."""
    x, y = _arrays(23)

    def epochs(make_loader, lib, seed):
        lib.manual_seed(seed)
        loader = make_loader(lib.Generator().manual_seed(seed) if seeded else None)
        return [[np.asarray(b[1]).tolist() for b in loader] for _ in range(3)]

    ours = epochs(lambda g: DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=5,
                                       shuffle=True, generator=g), autograd, 7)
    theirs = epochs(lambda g: TD.DataLoader(TD.TensorDataset(torch.from_numpy(x),
                                                             torch.from_numpy(y)),
                                            batch_size=5, shuffle=True, generator=g), torch, 7)
    assert ours == theirs
    assert ours[0] != ours[1]                 # a new order each epoch


def test_random_split_is_torchs():
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.5, 0.5]):
        ours = random_split(range(11 if isinstance(lengths[0], float) else 10), lengths,
                            generator=autograd.Generator().manual_seed(42))
        theirs = TD.random_split(range(11 if isinstance(lengths[0], float) else 10), lengths,
                                 generator=torch.Generator().manual_seed(42))
        assert [s.indices for s in ours] == [s.indices for s in theirs]


def test_replacement_and_weighted_sampling_are_torchs():
    src = list(range(9))
    ours = list(RandomSampler(src, replacement=True, num_samples=40,
                              generator=autograd.Generator().manual_seed(3)))
    theirs = list(TD.RandomSampler(src, replacement=True, num_samples=40,
                                   generator=torch.Generator().manual_seed(3)))
    assert ours == theirs
    weights = [0.5, 0.0, 3.0, 1.5]
    for replacement in (True, False):
        ours = list(WeightedRandomSampler(weights, 3, replacement,
                                          generator=autograd.Generator().manual_seed(4)))
        theirs = list(TD.WeightedRandomSampler(weights, 3, replacement,
                                               generator=torch.Generator().manual_seed(4)))
        assert ours == theirs


def test_shuffling_with_generators():
    x, y = _arrays(50)
    ds = TensorDataset(Tensor(x), Tensor(y))
    run = [[int(v) for b in DataLoader(ds, batch_size=8, shuffle=True,
                                       generator=autograd.Generator().manual_seed(s)) for v in b[1].data]
           for s in (1, 1, 2)]
    assert run[0] == run[1] != run[2]
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=autograd.Generator().manual_seed(0))
    first, second = ([int(v) for b in loader for v in b[1].data] for _ in range(2))
    assert sorted(first) == sorted(second) == sorted(y.tolist()) and first != second
    with pytest.raises(TypeError, match="generator must be an autograd.Generator"):
        list(DataLoader(ds, shuffle=True, generator=5))


def test_random_split_lengths_fractions_and_errors_match_torch():
    ours = random_split(range(10), [0.33, 0.33, 0.34], generator=autograd.Generator().manual_seed(0))
    theirs = TD.random_split(range(10), [0.33, 0.33, 0.34])
    assert [len(s) for s in ours] == [len(s) for s in theirs] == [4, 3, 3]
    assert sorted(i for s in ours for i in s.indices) == list(range(10))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [1.0, 0.0])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])


def test_subset_concat_and_samplers_match_torch():
    ours_sub, theirs_sub = Subset(list("abcdef"), [4, 0, 2]), TD.Subset(list("abcdef"),
                                                                          [4, 0, 2])
    assert [ours_sub[i] for i in range(3)] == [theirs_sub[i] for i in range(3)]
    assert ours_sub.__getitems__([2, 0]) == theirs_sub.__getitems__([2, 0])
    cat, tcat = ConcatDataset([range(3), range(10, 14)]), TD.ConcatDataset([range(3),
                                                                           range(10, 14)])
    assert len(cat) == len(tcat) == 7
    assert [cat[i] for i in range(-7, 7)] == [tcat[i] for i in range(-7, 7)]
    assert cat.cumulative_sizes == tcat.cumulative_sizes
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = TD.BatchSampler(TD.SequentialSampler(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    idx = [5, 9, 11, 20]
    s = SubsetRandomSampler(idx, generator=autograd.Generator().manual_seed(0))
    assert sorted(s) == idx and len(s) == 4
    w = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=autograd.Generator().manual_seed(0))
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and 0.22 < counts[1] / 4000 < 0.28 and len(w) == 4000
    both = TensorDataset(Tensor(np.zeros(2))) + TensorDataset(Tensor(np.ones(3)))
    assert isinstance(both, ConcatDataset) and len(both) == 5


def test_loader_argument_errors_match_torch():
    ds = TensorDataset(Tensor(np.zeros((4, 1))))
    cases = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
             dict(persistent_workers=True), dict(sampler=SequentialSampler(ds), shuffle=True),
             dict(batch_sampler=[[0, 1]], batch_size=2), dict(batch_size=None, drop_last=True),
             dict(batch_size=0)]
    for kwargs in cases:
        t_kwargs = dict(kwargs)
        if "sampler" in t_kwargs:
            t_kwargs["sampler"] = TD.SequentialSampler(ds)
        with pytest.raises(ValueError) as ours:
            DataLoader(ds, **kwargs)
        with pytest.raises(ValueError) as theirs:
            TD.DataLoader(ds, **t_kwargs)
        assert str(ours.value) == str(theirs.value), kwargs
    loader = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                         "DataLoader is initialized"):
        loader.batch_size = 3


def test_workers_and_pinning_are_accepted_and_change_nothing():
    x, y = _arrays(12)
    ds = TensorDataset(Tensor(x), Tensor(y))
    plain = [b[1].data.tolist() for b in DataLoader(ds, batch_size=5)]
    workers = [b[1].data.tolist() for b in DataLoader(ds, batch_size=5, num_workers=2,
                                                      pin_memory=True, persistent_workers=True,
                                                      prefetch_factor=4)]
    assert plain == workers


def test_batch_sampler_and_custom_collate():
    ds = list(range(10))
    loader = DataLoader(ds, batch_sampler=[[3, 1], [0, 2, 4]], collate_fn=lambda b: sum(b))
    assert list(loader) == [4, 6] and len(loader) == 2


def test_iterable_dataset_batches_in_order():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    class TorchStream(TD.IterableDataset):
        __iter__ = Stream.__iter__
        __len__ = Stream.__len__

    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True),
                   dict(batch_size=None)):
        ours, theirs = DataLoader(Stream(), **kwargs), TD.DataLoader(TorchStream(), **kwargs)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


def test_the_nn_tutorial_loop_runs_with_only_its_imports_changed():
    """'What is torch.nn really?', its DataLoader part, on random data."""
    import nn
    import nn.functional as F
    import optim
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y = _arrays(64)
        train_ds = TensorDataset(Tensor(x), Tensor(y))
        train_dl = DataLoader(train_ds, batch_size=16, shuffle=True,
                              generator=autograd.Generator().manual_seed(0))
        valid_dl = DataLoader(train_ds, batch_size=32)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(3):
            model.train()
            for xb, yb in train_dl:
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            model.eval()
            with autograd.no_grad():
                valid_loss = sum(F.cross_entropy(model(xb), yb) for xb, yb in valid_dl)
            assert np.isfinite(float(valid_loss.item() / len(valid_dl)))
        xb, yb = train_ds[0:16]
        assert xb.shape == (16, 3) and yb.shape == (16,)
