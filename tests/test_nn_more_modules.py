"""EmbeddingBag, Bilinear, adaptive max pooling, max pooling's indices and MaxUnpool2d against
torch: values and gradients in float64 and float32, every mode and option, initialization
from the same seed, reprs, state_dicts, torch's errors word for word, gradchecks, and
compiled calls (tests/test_compile.py sweeps the modules too)."""
import warnings

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
from autograd import Tensor, gradcheck

torch = pytest.importorskip("torch")
from torch_surface import raises_as_torch_does  # noqa: E402
TF = torch.nn.functional
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
DTYPES = [np.float64, np.float32]


def _pair(x, dtype=None, grad=True):
    """The same array as a tapegrad Tensor and a torch tensor (floats of dtype)."""
    x = np.asarray(x)
    if dtype is not None and x.dtype.kind == "f":
        x = x.astype(dtype)
    ours, theirs = Tensor(x.copy()), torch.tensor(x.copy())
    if grad and x.dtype.kind == "f":
        ours.requires_grad = True
        theirs.requires_grad_(True)
    return ours, theirs


def _same(ours, theirs, dtype, what="", tol=None):
    a = ours.detach().numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    if isinstance(theirs, torch.Tensor) and theirs.is_sparse:
        theirs = theirs.to_dense()          # torch's gradient with sparse=True
    b = theirs.detach().numpy()
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert a.dtype == b.dtype, (what, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, **(tol or TOL[dtype]), err_msg=what)


def _backward(out, ref, dtype, seed=0):
    """Both outputs contracted with the same random weights and backpropagated."""
    w = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
    (out * Tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()


def _weights(n=10, d=4, seed=1):
    return np.random.default_rng(seed).standard_normal((n, d))


# ---------------------------------------------------------------------------------------------
# F.embedding_bag
TEXT = [1, 2, 4, 5, 4, 3, 2, 9, 0, 7, 7]
BAGS = [
    # name, input, offsets, keywords
    ("offsets", TEXT, [0, 2, 2, 5, 9], {}),                           # an empty bag
    ("offsets-last-bag-empty", TEXT, [0, 4, 11], {}),
    ("one-bag", TEXT, [0], {}),
    ("2d", [[1, 2, 4], [5, 4, 3], [2, 2, 2]], None, {}),
    ("2d-one-column", [[3], [8], [3]], None, {}),
    ("last-offset", TEXT, [0, 2, 2, 5, 11], {"include_last_offset": True}),
    ("2d-ignores-last-offset", [[1, 2], [4, 5]], None, {"include_last_offset": True}),
    ("padding", TEXT, [0, 2, 2, 5, 9], {"padding_idx": 2}),
    ("padding-fills-a-bag", [2, 2, 1, 2], [0, 2, 3], {"padding_idx": 2}),
    ("padding-negative", TEXT, [0, 3, 7], {"padding_idx": -1}),
    ("padding-2d", [[1, 0, 4], [0, 0, 0]], None, {"padding_idx": 0}),
    ("int32", np.array(TEXT, np.int32), np.array([0, 3, 7], np.int32), {}),
    ("int32-input-int64-offsets", np.array(TEXT, np.int32), [0, 3, 7], {}),
    ("empty-input", np.zeros(0, np.int64), [0, 0], {}),
    ("sparse", TEXT, [0, 3, 7], {"sparse": True}),
]


def _bag_call(module, idx, offsets, dtype, weight=None, psw=None, **kwargs):
    """embedding_bag of module (F or torch's F) on shared data; returns (out, weight, psw)."""
    kind = Tensor if module is F else torch.tensor
    w = kind(np.asarray(weight if weight is not None else _weights(), dtype=dtype))
    w.requires_grad_(True) if module is TF else setattr(w, "requires_grad", True)
    idx = kind(np.asarray(idx))
    offsets = None if offsets is None else kind(np.asarray(offsets))
    if psw is not None:
        psw = kind(np.asarray(psw, dtype=dtype))
        psw.requires_grad_(True) if module is TF else setattr(psw, "requires_grad", True)
    out = module.embedding_bag(idx, w, offsets, per_sample_weights=psw, **kwargs)
    return out, w, psw


def _compare_bags(idx, offsets, dtype, weight=None, psw=None, **kwargs):
    out, w, p = _bag_call(F, idx, offsets, dtype, weight, psw, **kwargs)
    ref, wt, pt = _bag_call(TF, idx, offsets, dtype, weight, psw, **kwargs)
    _same(out, ref, dtype, "value")
    _backward(out, ref, dtype)
    _same(w.grad, wt.grad, dtype, "weight's gradient")
    if psw is not None:
        _same(p.grad, pt.grad, dtype, "per_sample_weights' gradient")
    return out, w


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("name, idx, offsets, kwargs", BAGS, ids=[b[0] for b in BAGS])
def test_embedding_bag_matches_torch(name, idx, offsets, kwargs, mode, dtype):
    if mode == "max" and kwargs.get("sparse"):
        return          # torch's error: tested below
    out, _ = _compare_bags(idx, offsets, dtype, mode=mode, **kwargs)
    assert type(out.grad_fn).__name__ == "EmbeddingBagBackward0"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("idx, offsets, kwargs", [
    (TEXT, [0, 2, 2, 5, 9], {}),
    ([[1, 2, 4], [5, 4, 3]], None, {}),
    (TEXT, [0, 2, 2, 5, 11], {"include_last_offset": True}),
    (TEXT, [0, 3, 7], {"padding_idx": 4}),
    (TEXT, [0, 3, 7], {"max_norm": 1.5}),
])
def test_per_sample_weights_match_torch(idx, offsets, kwargs, dtype):
    """mode='sum' with a weight per entry: out[b] = sum_j psw[j] weight[input[j]]; the
    gradients reach both weight and per_sample_weights."""
    psw = np.random.default_rng(3).standard_normal(np.shape(idx))
    _compare_bags(idx, offsets, dtype, psw=psw, mode="sum", **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_max_norm_renormalizes_the_looked_up_rows_as_torch(max_norm, norm_type, mode, dtype):
    w = _weights() * 2.0
    out, ours = _compare_bags(TEXT, [0, 4, 8], dtype, weight=w, mode=mode, max_norm=max_norm,
                              norm_type=norm_type)
    _, theirs, _ = _bag_call(TF, TEXT, [0, 4, 8], dtype, weight=w, mode=mode,
                             max_norm=max_norm, norm_type=norm_type)
    _same(ours, theirs, dtype, "the renormalized weight")
    untouched = [i for i in range(10) if i not in TEXT]
    np.testing.assert_array_equal(ours.detach().numpy()[untouched], w[untouched].astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("idx, offsets", [([1, 3, 5, 8, 2, 0], [0, 2, 5]),
                                          ([4, 4, 1, 1, 6, 6], [0, 1, 3]),
                                          ([[7, 2], [2, 7]], None)])
def test_scale_grad_by_freq_matches_torch_where_every_index_is_as_frequent(idx, offsets, mode,
                                                                          dtype):
    _compare_bags(idx, offsets, dtype, mode=mode, scale_grad_by_freq=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_by_each_index_count(mode, dtype):
    """Each row's gradient divided by its index's count in input, as F.embedding (torch's too)
    does. torch 2.13's CPU embedding_bag divides a row by another row's count when counts
    differ (pytorch/pytorch#190063), so the reference is torch's embedding, reduced per bag."""
    idx, offsets = [1, 1, 3, 6, 6, 6, 2], [0, 3, 4]
    out, w, _ = _bag_call(F, idx, offsets, dtype, mode=mode, scale_grad_by_freq=True)
    wt = torch.tensor(_weights().astype(dtype), requires_grad=True)
    rows = TF.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True)
    reduce = torch.sum if mode == "sum" else torch.mean
    ref = torch.stack([reduce(rows[a:b], 0) for a, b in zip(offsets, offsets[1:] + [len(idx)])])
    _same(out, ref, dtype, "value")
    _backward(out, ref, dtype)
    _same(w.grad, wt.grad, dtype, "weight's gradient")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset_ends_the_last_bag_at_the_last_offset(mode, dtype):
    """Entries past offsets[-1] are in no bag (torch's documented meaning). torch 2.13's CPU
    kernels disagree among its modes there (pytorch/pytorch#191965), so the reference is
    torch on the input cut at offsets[-1]."""
    offsets = [0, 2, 5, 8]
    out, w, _ = _bag_call(F, TEXT, offsets, dtype, mode=mode, include_last_offset=True)
    ref, wt, _ = _bag_call(TF, TEXT[:8], offsets[:-1], dtype, mode=mode)
    _same(out, ref, dtype, "value")
    _backward(out, ref, dtype)
    _same(w.grad, wt.grad, dtype, "weight's gradient")
    assert not w.grad.numpy()[[0, 7]].any()          # rows only the trailing entries use


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_picks_the_first_of_tied_maxima_and_a_leading_nan_as_torch(dtype):
    w = np.zeros((5, 3))
    w[1] = w[2] = [1.0, 2.0, -1.0]          # rows tied in every column
    w[3] = [np.nan, 5.0, 0.5]
    w[4] = [0.25, np.nan, 0.5]
    idx, offsets = [1, 2, 2, 1, 3, 0, 0, 3, 4, 1, 4], [0, 2, 4, 6, 8]
    out, ours, _ = _bag_call(F, idx, offsets, dtype, weight=w, mode="max")
    ref, theirs, _ = _bag_call(TF, idx, offsets, dtype, weight=w, mode="max")
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    _backward(out, ref, dtype)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_embedding_bag_of_the_padding_row_only_is_zero_with_no_gradient():
    out, w, _ = _bag_call(F, [3, 3, 1], [0, 2], np.float64, mode="max", padding_idx=3)
    np.testing.assert_array_equal(out.detach().numpy()[0], 0.0)
    out.sum().backward()
    assert not w.grad.numpy()[3].any() and w.grad.numpy()[1].all()


def test_deprecated_argument_order_warns_and_swaps_as_torch():
    w, idx, offsets = _weights(), np.array([1, 2, 3]), np.array([0, 1])
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        ref = TF.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(offsets))
    with pytest.warns(UserWarning) as ours:
        out = F.embedding_bag(Tensor(w), Tensor(idx), Tensor(offsets))
    assert str(ours[0].message) == str(theirs[0].message)
    _same(out, ref, np.float64)


# torch's errors, word for word; t(shape, dtype) makes a tensor of ours or of torch's
def _bag_errors():
    # a float64 table: torch's float32 kernels of 'sum' and 'mean' word an index out of range
    # otherwise, each its own way; its float64 ones and 'max' as here
    w = lambda m: m(10, 3, dtype="double")                      # noqa: E731
    long = lambda m, *v: m(list(v), "long")                     # noqa: E731
    e = {
        "per_sample_weights with mode mean": lambda m: F_(m).embedding_bag(
            long(m, 1, 2), w(m), long(m, 0, 1), per_sample_weights=m(2)),
        "per_sample_weights with mode max": lambda m: F_(m).embedding_bag(
            long(m, 1, 2), w(m), long(m, 0, 1), mode="max", per_sample_weights=m(2)),
        "per_sample_weights' shape": lambda m: F_(m).embedding_bag(
            long(m, 1, 2), w(m), long(m, 0, 1), mode="sum", per_sample_weights=m(3)),
        "per_sample_weights' dtype": lambda m: F_(m).embedding_bag(
            long(m, 1, 2), w(m), long(m, 0, 1), mode="sum", per_sample_weights=m(2)),
        "3-d input": lambda m: F_(m).embedding_bag(m([[[1]]], "long"), w(m)),
        "1-d input without offsets": lambda m: F_(m).embedding_bag(long(m, 1, 2), w(m)),
        "2-d offsets": lambda m: F_(m).embedding_bag(long(m, 1, 2), w(m), m([[0]], "long")),
        "no such mode": lambda m: F_(m).embedding_bag(long(m, 1), w(m), long(m, 0),
                                                      mode="min"),
        "max with scale_grad_by_freq": lambda m: F_(m).embedding_bag(
            long(m, 1), w(m), long(m, 0), mode="max", scale_grad_by_freq=True),
        "max with sparse": lambda m: F_(m).embedding_bag(long(m, 1), w(m), long(m, 0),
                                                         mode="max", sparse=True),
        "1-d weight": lambda m: F_(m).embedding_bag(long(m, 1), m(5), long(m, 0)),
        "padding_idx too large": lambda m: F_(m).embedding_bag(long(m, 1), w(m), long(m, 0),
                                                               padding_idx=10),
        "padding_idx too small": lambda m: F_(m).embedding_bag(long(m, 1), w(m), long(m, 0),
                                                               padding_idx=-11),
        "float input": lambda m: F_(m).embedding_bag(m([1.0, 2.0]), w(m), long(m, 0)),
        "float offsets": lambda m: F_(m).embedding_bag(long(m, 1, 2), w(m), m([0.0])),
        "index too large": lambda m: F_(m).embedding_bag(long(m, 1, 12, 3), w(m), long(m, 0)),
        "negative index": lambda m: F_(m).embedding_bag(long(m, 1, -1), w(m), long(m, 0)),
        "first offset not 0": lambda m: F_(m).embedding_bag(long(m, 1, 2), w(m), long(m, 1)),
        "last offset past the input": lambda m: F_(m).embedding_bag(long(m, 1, 2), w(m),
                                                                    long(m, 0, 3)),
        "include_last_offset without offsets": lambda m: F_(m).embedding_bag(
            long(m, 1, 2), w(m), m([], "long"), include_last_offset=True),
        "2-d input of empty bags": lambda m: F_(m).embedding_bag(m([[], []], "long"), w(m)),
        "module: padding_idx too large": lambda m: nn_(m).EmbeddingBag(4, 2, padding_idx=4),
        "module: padding_idx too small": lambda m: nn_(m).EmbeddingBag(4, 2, padding_idx=-5),
        "module: _weight's shape": lambda m: nn_(m).EmbeddingBag(4, 2, _weight=m(2, 4)),
        "module: from_pretrained 1-d": lambda m: nn_(m).EmbeddingBag.from_pretrained(m(4)),
        "module: no such mode": lambda m: nn_(m).EmbeddingBag(4, 2, mode="median")(
            long(m, 1), long(m, 0)),
        "module: index too large": lambda m: nn_(m).EmbeddingBag(4, 2, mode="max")(
            long(m, 1, 4), long(m, 0)),
    }
    return e


def F_(m):
    return F if m is _ours else TF


def nn_(m):
    return nn if m is _ours else torch.nn


def _ours(*shape_or_values, dtype="float"):
    return _make(Tensor, np, *shape_or_values, dtype=dtype)


def _theirs(*shape_or_values, dtype="float"):
    return _make(torch.tensor, np, *shape_or_values, dtype=dtype)


def _make(kind, _, *args, dtype="float"):
    """m(2, 3): ones of that shape; m([1, 2], "long"): those values; dtype a torch name."""
    if len(args) == 2 and isinstance(args[1], str):
        args, dtype = args[:1], args[1]
    np_dtype = {"float": np.float32, "double": np.float64, "long": np.int64}[dtype]
    if len(args) == 1 and isinstance(args[0], list):
        return kind(np.array(args[0], dtype=np_dtype))
    return kind(np.ones(args, dtype=np_dtype))


BAG_ERRORS = _bag_errors()


@pytest.mark.parametrize("name", sorted(BAG_ERRORS))
def test_embedding_bag_errors_are_torchs(name):
    call = BAG_ERRORS[name]
    raises_as_torch_does(lambda: call(_ours), lambda: call(_theirs))


def test_2d_input_with_offsets_is_torchs_error_naming_our_type():
    with pytest.raises(ValueError) as theirs:
        TF.embedding_bag(torch.ones(2, 2, dtype=torch.long), torch.ones(3, 2),
                         torch.tensor([0, 1]))
    with pytest.raises(ValueError) as ours:
        F.embedding_bag(Tensor(np.ones((2, 2), np.int64)), Tensor(np.ones((3, 2))),
                        Tensor(np.array([0, 1])))
    prefix = "found offsets of type "
    assert str(ours.value).split(prefix)[0] == str(theirs.value).split(prefix)[0]
    assert str(ours.value).endswith(prefix + str(Tensor))


@pytest.mark.parametrize("offsets", [[0, 3, 2], [0, 2, 1, 4], [0, 4, 4, 3]])
def test_offsets_out_of_order_are_an_error(offsets):
    """torch 2.13 checks no order on CPU (its bags are then no sums of their entries); here it
    is an error that names the first pair out of order."""
    i = next(k for k in range(len(offsets) - 1) if offsets[k] > offsets[k + 1])
    with pytest.raises(RuntimeError, match=f"offsets have to be non-decreasing, but got "
                                           f"offsets\\[{i}\\] = {offsets[i]} > "
                                           f"offsets\\[{i + 1}\\] = {offsets[i + 1]}"):
        F.embedding_bag(Tensor(np.arange(4)), Tensor(_weights()), Tensor(np.array(offsets)))


def test_a_compiled_call_raises_on_each_calls_offsets_and_indices():
    """The checks of offsets and indices are ops of the program: a later call with bad values
    raises as eager code does, with the same message."""
    bag = nn.EmbeddingBag(10, 3, mode="sum", rng=0, dtype=np.float64)
    step = autograd.compile(lambda i, o: bag(i, o))
    good = (Tensor(np.array([1, 2, 3, 4])), Tensor(np.array([0, 1, 3])))
    _same(step(*good), bag(*good), np.float64)
    for i, o, message in (([1, 2, 3, 4], [0, 3, 1], "non-decreasing"),
                          ([1, 2, 3, 4], [1, 2, 3], "offsets\\[0\\] has to be 0"),
                          ([1, 2, 3, 4], [0, 2, 5], "can not be greater"),
                          ([1, 12, 3, 4], [0, 1, 3], "found idx to be 12")):
        args = Tensor(np.array(i)), Tensor(np.array(o))
        with pytest.raises(RuntimeError, match=message):
            bag(*args)
        with pytest.raises(RuntimeError, match=message):
            step(*args)
    assert len(step._programs) == 1


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_compiled_embedding_bag_follows_each_calls_bags(mode):
    """Offsets, padding entries and maxima move from call to call; a compiled training step
    of the tutorial's model keeps the eager step's loss and weights."""
    rng = np.random.default_rng(5)
    bag = nn.EmbeddingBag(12, 4, mode=mode, padding_idx=0, rng=1, dtype=np.float64)
    fn = lambda i, o: bag(i, o).tanh().sum(1)      # noqa: E731
    step = autograd.compile(fn)
    for call in range(4):
        text = Tensor(rng.integers(0, 12, 15))
        offsets = Tensor(np.r_[0, np.sort(rng.choice(np.arange(1, 16), 4))])
        got, want = step(text, offsets), fn(text, offsets)
        _same(got, want, np.float64)
        g = rng.standard_normal(5)
        (got * Tensor(g)).sum().backward()
        compiled_grad = bag.weight.grad.numpy().copy()
        bag.weight.grad = None
        (want * Tensor(g)).sum().backward()
        np.testing.assert_allclose(compiled_grad, bag.weight.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)
        bag.weight.grad = None
    assert len(step._programs) == 1


def test_embedding_bag_gradcheck():
    w = Tensor(_weights(6, 3), requires_grad=True)
    psw = Tensor(np.random.default_rng(2).standard_normal(7), requires_grad=True)
    idx, offsets = Tensor(np.array([1, 2, 5, 5, 0, 3, 2])), Tensor(np.array([0, 2, 2, 5]))
    for mode in ("sum", "mean", "max"):
        assert gradcheck(lambda w: F.embedding_bag(idx, w, offsets, mode=mode,
                                                   padding_idx=3), [w])
    assert gradcheck(lambda w, p: F.embedding_bag(idx, w, offsets, mode="sum",
                                                  per_sample_weights=p), [w, psw])


# ---------------------------------------------------------------------------------------------
# nn.EmbeddingBag
def _both_seeded(seed):
    torch.manual_seed(seed)
    autograd.manual_seed(seed)


def _same_rng_state():
    np.testing.assert_array_equal(autograd.get_rng_state().numpy(),
                                  torch.get_rng_state().numpy())


MODULES = [
    ("EmbeddingBag", "EmbeddingBag(10, 3)"),
    ("EmbeddingBag-padding", "EmbeddingBag(7, 5, padding_idx=-2, mode='sum')"),
    ("EmbeddingBag-options", "EmbeddingBag(6, 2, max_norm=1.0, norm_type=1.0, "
                             "scale_grad_by_freq=True, mode='max', sparse=True, "
                             "include_last_offset=True, padding_idx=2)"),
    ("EmbeddingBag-double", "EmbeddingBag(4, 3, dtype=DOUBLE)"),
    ("Bilinear", "Bilinear(3, 4, 5)"),
    ("Bilinear-no-bias", "Bilinear(20, 2, 7, bias=False)"),
    ("Bilinear-double", "Bilinear(2, 3, 1, dtype=DOUBLE)"),
    ("AdaptiveMaxPool1d", "AdaptiveMaxPool1d(3)"),
    ("AdaptiveMaxPool2d", "AdaptiveMaxPool2d((2, None), return_indices=True)"),
    ("AdaptiveMaxPool2d-int", "AdaptiveMaxPool2d(4)"),
    ("MaxUnpool2d", "MaxUnpool2d(2)"),
    ("MaxUnpool2d-pairs", "MaxUnpool2d((2, 3), stride=1, padding=(1, 0))"),
]


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("name, make", MODULES, ids=[m[0] for m in MODULES])
def test_modules_initialize_print_and_save_as_torch(name, make, seed):
    """From the same seed: the same parameters (torch's draws, in torch's order, leaving the
    generator where torch leaves it), the same repr, state_dict keys and attributes."""
    _both_seeded(seed)
    ours = eval(f"nn.{make}".replace("DOUBLE", "np.float64"))
    theirs = eval(f"torch.nn.{make}".replace("DOUBLE", "torch.float64"))
    _same_rng_state()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        a, b = ours.state_dict()[key].numpy(), value.numpy()
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    for attr in ("padding_idx", "mode", "include_last_offset", "in1_features", "out_features",
                 "output_size", "return_indices", "kernel_size", "stride", "padding"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_embedding_bag_from_pretrained_as_torch():
    w = _weights(5, 3)
    for kwargs in ({}, {"freeze": False, "mode": "max", "padding_idx": 1},
                   {"include_last_offset": True, "mode": "sum", "max_norm": 2.0}):
        ours = nn.EmbeddingBag.from_pretrained(Tensor(w), **kwargs)
        theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), **kwargs)
        assert repr(ours) == repr(theirs)
        assert ours.weight.requires_grad == theirs.weight.requires_grad
        assert ours.include_last_offset == theirs.include_last_offset
        idx, offsets = [1, 2, 4, 0, 3], [0, 2, 5] if kwargs.get("include_last_offset") \
            else [0, 2]
        out = ours(Tensor(np.array(idx)), Tensor(np.array(offsets)))
        ref = theirs(torch.tensor(idx), torch.tensor(offsets))
        _same(out, ref, np.float64)
    shared = Tensor(w.copy())
    bag = nn.EmbeddingBag.from_pretrained(shared)
    shared.numpy()[0, 0] = 42.0                     # torch shares the storage too
    assert bag.weight.numpy()[0, 0] == 42.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_bag_module_forward_matches_torch(dtype):
    _both_seeded(3)
    ours = nn.EmbeddingBag(10, 4, mode="sum", padding_idx=9, dtype=dtype)
    theirs = torch.nn.EmbeddingBag(10, 4, mode="sum", padding_idx=9,
                                   dtype=torch.float64 if dtype == np.float64 else None)
    idx, offsets = np.array(TEXT), np.array([0, 3, 3, 6])
    psw = np.random.default_rng(4).standard_normal(len(TEXT)).astype(dtype)
    out = ours(Tensor(idx), Tensor(offsets), per_sample_weights=Tensor(psw))
    ref = theirs(torch.tensor(idx), torch.tensor(offsets), per_sample_weights=torch.tensor(psw))
    _same(out, ref, dtype)
    _backward(out, ref, dtype)
    _same(ours.weight.grad, theirs.weight.grad, dtype)


def test_text_classification_tutorial_model_trains_as_torch():
    """PyTorch's text-classification tutorial: EmbeddingBag(vocab, embed_dim, sparse=False)
    and a Linear head, init_weights, flat text and offsets, cross-entropy, gradient clipping
    and SGD: 4 steps from the same seed give torch's losses and weights."""
    def build(m):
        class Model(m.Module):
            def __init__(self, vocab_size, embed_dim, num_class):
                super().__init__()
                self.embedding = m.EmbeddingBag(vocab_size, embed_dim, sparse=False)
                self.fc = m.Linear(embed_dim, num_class)
                initrange = 0.5
                self.embedding.weight.data.uniform_(-initrange, initrange)
                self.fc.weight.data.uniform_(-initrange, initrange)
                self.fc.bias.data.zero_()

            def forward(self, text, offsets):
                return self.fc(self.embedding(text, offsets))
        return Model(30, 8, 4)

    _both_seeded(11)
    ours, theirs = build(nn), build(torch.nn)
    opt_ours = optim.SGD(ours.parameters(), lr=5.0)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=5.0)
    rng = np.random.default_rng(12)
    for _ in range(4):
        lengths = rng.integers(1, 7, 5)
        text = rng.integers(0, 30, lengths.sum())
        offsets = np.r_[0, np.cumsum(lengths)[:-1]]
        label = rng.integers(0, 4, 5)
        losses = []
        for model, opt, kind, Fm, clip in (
                (ours, opt_ours, Tensor, F, nn.utils.clip_grad_norm_),
                (theirs, opt_theirs, torch.tensor, TF, torch.nn.utils.clip_grad_norm_)):
            opt.zero_grad()
            loss = Fm.cross_entropy(model(kind(text), kind(offsets)), kind(label))
            loss.backward()
            clip(model.parameters(), 0.1)
            opt.step()
            losses.append(loss)
        np.testing.assert_allclose(losses[0].item(), losses[1].item(), rtol=1e-5)
    for (k, p), (k2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert k == k2
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


# ---------------------------------------------------------------------------------------------
# F.bilinear and nn.Bilinear
BILINEAR = [((2, 3), (2, 4), 5), ((6, 2, 3), (6, 2, 4), 2), ((3,), (4,), 5), ((0, 3), (0, 4), 2),
            ((2, 1, 1), (2, 1, 3), 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape1, shape2, out", BILINEAR, ids=[str(b) for b in BILINEAR])
def test_bilinear_matches_torch(shape1, shape2, out, bias, dtype):
    rng = np.random.default_rng(8)
    x1, t1 = _pair(rng.standard_normal(shape1), dtype)
    x2, t2 = _pair(rng.standard_normal(shape2), dtype)
    w, tw = _pair(rng.standard_normal((out, shape1[-1], shape2[-1])), dtype)
    b, tb = _pair(rng.standard_normal(out), dtype) if bias else (None, None)
    y, ref = F.bilinear(x1, x2, w, b), TF.bilinear(t1, t2, tw, tb)
    _same(y, ref, dtype, "value")
    assert type(y.grad_fn).__name__ == type(ref.grad_fn).__name__
    _backward(y, ref, dtype)
    for a, t, what in ((x1, t1, "input1"), (x2, t2, "input2"), (w, tw, "weight"), (b, tb, "bias")):
        if a is not None:
            _same(a.grad, t.grad, dtype, f"{what}'s gradient")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bilinear_module_matches_torch(dtype):
    _both_seeded(4)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours, theirs = nn.Bilinear(3, 4, 2, dtype=dtype), torch.nn.Bilinear(3, 4, 2, dtype=tdtype)
    rng = np.random.default_rng(9)
    x1, t1 = _pair(rng.standard_normal((5, 3)), dtype)
    x2, t2 = _pair(rng.standard_normal((5, 4)), dtype)
    y, ref = ours(x1, x2), theirs(t1, t2)
    _same(y, ref, dtype)
    _backward(y, ref, dtype)
    _same(ours.weight.grad, theirs.weight.grad, dtype)
    _same(ours.bias.grad, theirs.bias.grad, dtype)
    _same(x2.grad, t2.grad, dtype)


def test_bilinear_uses_the_rng_it_is_given():
    """rng= draws U(-1/sqrt(in1), 1/sqrt(in1)) from numpy: weight first, then bias."""
    m = nn.Bilinear(4, 2, 3, rng=5, dtype=np.float64)
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(m.weight.detach().numpy(), g.uniform(-0.5, 0.5, (3, 4, 2)))
    np.testing.assert_array_equal(m.bias.detach().numpy(), g.uniform(-0.5, 0.5, 3))


def _bilinear_errors():
    w = lambda m, dtype="float": m(5, 3, 4, dtype=dtype)      # noqa: E731
    b = lambda m: m(5)                                          # noqa: E731
    return {
        "input dims": lambda m: F_(m).bilinear(m(2, 3), m(1, 2, 4), w(m), b(m)),
        "batch dims": lambda m: F_(m).bilinear(m(2, 3), m(3, 4), w(m), b(m)),
        "broadcast batch": lambda m: F_(m).bilinear(m(1, 3), m(2, 4), w(m), b(m)),
        "input1 size": lambda m: F_(m).bilinear(m(2, 2), m(2, 4), w(m), b(m)),
        "input2 size": lambda m: F_(m).bilinear(m(2, 3), m(2, 5), w(m), b(m)),
        "bias size": lambda m: F_(m).bilinear(m(2, 3), m(2, 4), w(m), m(4)),
        "2-d bias": lambda m: F_(m).bilinear(m(2, 3), m(2, 4), w(m), m(1, 5)),
        "2-d weight": lambda m: F_(m).bilinear(m(2, 3), m(2, 4), m(3, 4), b(m)),
        "2-d weight, input2": lambda m: F_(m).bilinear(m(2, 4), m(2, 4), m(3, 4), b(m)),
        "0-d inputs": lambda m: F_(m).bilinear(m(), m(), m(5, 1, 1), b(m)),
        "dtypes": lambda m: F_(m).bilinear(m(2, 3, dtype="double"), m(2, 4), w(m), b(m)),
        "dtypes without bias": lambda m: F_(m).bilinear(m(2, 3), m(2, 4), w(m, "double")),
        "module: in1_features 0": lambda m: nn_(m).Bilinear(0, 3, 4),
        "module: input1 size": lambda m: nn_(m).Bilinear(3, 4, 5)(m(2, 2), m(2, 4)),
    }


BILINEAR_ERRORS = _bilinear_errors()


@pytest.mark.parametrize("name", sorted(BILINEAR_ERRORS))
def test_bilinear_errors_are_torchs(name):
    call = BILINEAR_ERRORS[name]
    raises_as_torch_does(lambda: call(_ours), lambda: call(_theirs))


def test_bilinear_gradcheck():
    rng = np.random.default_rng(10)
    args = [Tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((3, 2), (3, 4), (2, 2, 4), (2,))]
    assert gradcheck(F.bilinear, args)


# ---------------------------------------------------------------------------------------------
# adaptive max pooling, max pooling's indices, MaxUnpool2d
def _compare_pool(ours_fn, torch_fn, x, dtype):
    """Values, indices (exactly) and the input's gradient."""
    xo, xt = _pair(x, dtype)
    out, ref = ours_fn(xo), torch_fn(xt)
    if isinstance(ref, tuple):
        (out, idx), (ref, ridx) = out, ref
        assert isinstance(idx, Tensor) and not idx.requires_grad
        np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
        assert idx.numpy().dtype == np.int64
    _same(out, ref, dtype)
    _backward(out, ref, dtype)
    _same(xo.grad, xt.grad, dtype, "input's gradient")


ADAPTIVE_1D = [((2, 3, 7), 3), ((2, 3, 7), 1), ((3, 7), 5), ((1, 2, 5), 5), ((1, 2, 4), 9),
               ((2, 1, 6), (4,))]
ADAPTIVE_2D = [((2, 3, 5, 7), 3), ((2, 3, 5, 7), (2, 4)), ((3, 5, 7), (None, 2)),
               ((1, 2, 4, 4), 1), ((1, 2, 3, 5), (6, 8)), ((2, 2, 5, 3), (5, None))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("shape, size", ADAPTIVE_1D, ids=[str(a) for a in ADAPTIVE_1D])
def test_adaptive_max_pool1d_matches_torch(shape, size, indices, dtype):
    x = np.random.default_rng(11).standard_normal(shape)
    _compare_pool(lambda x: F.adaptive_max_pool1d(x, size, indices),
                  lambda x: TF.adaptive_max_pool1d(x, size, indices), x, dtype)
    _compare_pool(nn.AdaptiveMaxPool1d(size, indices), torch.nn.AdaptiveMaxPool1d(size, indices),
                  x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("shape, size", ADAPTIVE_2D, ids=[str(a) for a in ADAPTIVE_2D])
def test_adaptive_max_pool2d_matches_torch(shape, size, indices, dtype):
    x = np.random.default_rng(12).standard_normal(shape)
    _compare_pool(lambda x: F.adaptive_max_pool2d(x, size, indices),
                  lambda x: TF.adaptive_max_pool2d(x, size, indices), x, dtype)
    _compare_pool(nn.AdaptiveMaxPool2d(size, indices), torch.nn.AdaptiveMaxPool2d(size, indices),
                  x, dtype)


@pytest.mark.parametrize("indices", [False, True])
def test_adaptive_max_pool_to_size_zero_is_empty_as_torch(indices):
    """An output size of 0 gives an empty output (torch's backward then refuses it)."""
    x = np.ones((2, 3, 6, 6), np.float32)
    for ours, theirs in ((F.adaptive_max_pool2d(Tensor(x), (4, 0), indices),
                          TF.adaptive_max_pool2d(torch.tensor(x), (4, 0), indices)),
                         (F.adaptive_max_pool1d(Tensor(x[0]), 0, indices),
                          TF.adaptive_max_pool1d(torch.tensor(x[0]), 0, indices))):
        for a, b in zip(ours, theirs) if indices else [(ours, theirs)]:
            assert tuple(a.shape) == tuple(b.shape) and a.numpy().dtype == b.numpy().dtype


MAX_POOLS = [(2, None, 0, False), (3, 2, 1, False), (3, 2, 1, True), ((2, 3), (1, 2), (1, 0), True),
             (3, 3, 1, True), (4, 1, 2, False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding, ceil", MAX_POOLS,
                         ids=[str(p) for p in MAX_POOLS])
def test_max_pool_indices_and_unpooling_match_torch(kernel, stride, padding, ceil, dtype):
    """max_pool1d/2d(return_indices=True), MaxPool2d(return_indices=True), and MaxUnpool2d of
    its output (overlapping windows share positions), batched and not."""
    rng = np.random.default_rng(13)
    for shape in ((2, 3, 7, 8), (3, 6, 5)):
        x = rng.standard_normal(shape)
        _compare_pool(lambda x: F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil,
                                             return_indices=True),
                      lambda x: TF.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil,
                                              return_indices=True), x, dtype)
        _compare_pool(nn.MaxPool2d(kernel, stride, padding, return_indices=True, ceil_mode=ceil),
                      torch.nn.MaxPool2d(kernel, stride, padding, return_indices=True,
                                         ceil_mode=ceil), x, dtype)

        def round_trip(m, x):
            pool = m.MaxPool2d(kernel, stride, padding, return_indices=True, ceil_mode=ceil)
            unpool = m.MaxUnpool2d(kernel, stride, padding)
            return unpool(*pool(x), output_size=x.shape[-2:])
        _compare_pool(lambda x: round_trip(nn, x), lambda x: round_trip(torch.nn, x), x, dtype)
    k1 = kernel if isinstance(kernel, int) else kernel[1]
    s1 = stride if stride is None or isinstance(stride, int) else stride[1]
    p1 = padding if isinstance(padding, int) else padding[1]
    for shape in ((2, 3, 9), (3, 8)):
        _compare_pool(lambda x: F.max_pool1d(x, k1, s1, p1, ceil_mode=ceil, return_indices=True),
                      lambda x: TF.max_pool1d(x, k1, s1, p1, ceil_mode=ceil,
                                              return_indices=True),
                      rng.standard_normal(shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_unpool2d_with_output_size_matches_torch(dtype):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 5, 5))
    for size in ((5, 5), (2, 3, 5, 5), (5, 4), (4, 5)):
        def call(m, x):
            y, i = (F if m is nn else TF).max_pool2d(x, 2, return_indices=True)
            return m.MaxUnpool2d(2)(y, i, output_size=size)
        _compare_pool(lambda x: call(nn, x), lambda x: call(torch.nn, x), x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool_indices_of_ties_and_nans_are_torchs(dtype):
    """A tie goes to the first maximum (row-major), a window with nans to its last nan."""
    x = np.zeros((1, 2, 6, 6))
    x[0, 1, ::2, 1::2] = np.nan
    x[0, 1, 3, 3] = np.nan
    for ours, theirs in (
            (lambda x: F.adaptive_max_pool2d(x, (3, 4), True),
             lambda x: TF.adaptive_max_pool2d(x, (3, 4), True)),
            (lambda x: F.adaptive_max_pool1d(x[0], 4, True),
             lambda x: TF.adaptive_max_pool1d(x[0], 4, True)),
            (lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
             lambda x: TF.max_pool2d(x, 3, 2, 1, return_indices=True))):
        xo, xt = _pair(x, dtype)
        (out, idx), (ref, ridx) = ours(xo), theirs(xt)
        np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
        np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())


def _pool_errors():
    long = lambda m, *v: m(list(v), "long")                     # noqa: E731

    def pooled(m):
        y, i = F_(m).max_pool2d(m(1, 1, 4, 4), 2, return_indices=True)
        return y, i
    return {
        "adaptive 1d of 1-d input": lambda m: F_(m).adaptive_max_pool1d(m(7), 3),
        "adaptive 1d of 4-d input": lambda m: F_(m).adaptive_max_pool1d(m(1, 2, 3, 7), 3),
        "adaptive 1d of two sizes": lambda m: F_(m).adaptive_max_pool1d(m(2, 3, 7), (2, 3)),
        "adaptive 1d of None": lambda m: F_(m).adaptive_max_pool1d(m(2, 3, 7), None),
        "adaptive 1d of empty length": lambda m: F_(m).adaptive_max_pool1d(m(2, 3, 0), 2),
        "adaptive 2d of 2-d input": lambda m: F_(m).adaptive_max_pool2d(m(3, 7), 3),
        "adaptive 2d of 5-d input": lambda m: F_(m).adaptive_max_pool2d(m(1, 1, 3, 3, 7), 3),
        "adaptive 2d of three sizes": lambda m: F_(m).adaptive_max_pool2d(m(2, 3, 5, 7),
                                                                          (1, 2, 3)),
        "adaptive 2d of a negative size": lambda m: F_(m).adaptive_max_pool2d(m(2, 3, 5, 7),
                                                                              (-1, 2)),
        "adaptive 2d of empty height": lambda m: F_(m).adaptive_max_pool2d(m(2, 3, 0, 7), 2),
        "adaptive 2d of integers": lambda m: F_(m).adaptive_max_pool2d(m(2, 3, 5, 7,
                                                                         dtype="long"), 2),
        "module adaptive 2d": lambda m: nn_(m).AdaptiveMaxPool2d(2)(m(3, 7)),
        "unpool output_size too large": lambda m: F_(m).max_unpool2d(*pooled(m), 2,
                                                                     output_size=(7, 5)),
        "unpool output_size too small": lambda m: F_(m).max_unpool2d(*pooled(m), 2,
                                                                     output_size=(2, 2)),
        "unpool output_size of 3": lambda m: F_(m).max_unpool2d(*pooled(m), 2,
                                                                output_size=(1, 5, 5)),
        "unpool index too large": lambda m: F_(m).max_unpool2d(
            pooled(m)[0], m([[[[0, 1], [16, 3]]]], "long"), 2),
        "unpool negative index": lambda m: F_(m).max_unpool2d(
            pooled(m)[0], m([[[[0, -1], [2, 3]]]], "long"), 2),
        "unpool indices' shape": lambda m: F_(m).max_unpool2d(pooled(m)[0], pooled(m)[1][..., :1],
                                                              2),
        "unpool float indices": lambda m: F_(m).max_unpool2d(pooled(m)[0], m(1, 1, 2, 2,
                                                                             dtype="double"), 2),
        "unpool 2-d input": lambda m: F_(m).max_unpool2d(pooled(m)[0][0, 0],
                                                         pooled(m)[1][0, 0], 2),
        "unpool 5-d input": lambda m: F_(m).max_unpool2d(pooled(m)[0][None],
                                                         pooled(m)[1][None], 2),
        "module unpool index too large": lambda m: nn_(m).MaxUnpool2d(2)(
            pooled(m)[0], long(m, 0, 1, 2, 99).reshape(1, 1, 2, 2)),
    }


POOL_ERRORS = _pool_errors()


@pytest.mark.parametrize("name", sorted(POOL_ERRORS))
def test_pool_errors_are_torchs(name):
    call = POOL_ERRORS[name]
    raises_as_torch_does(lambda: call(_ours), lambda: call(_theirs))


def test_pools_gradcheck():
    rng = np.random.default_rng(15)
    x = Tensor(rng.standard_normal((2, 2, 5, 7)), requires_grad=True)
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), [x])
    assert gradcheck(lambda x: F.adaptive_max_pool1d(x[0], 3), [x])
    # windows that do not overlap: where two share a maximum, unpooling writes it once but
    # gives each its gradient (as torch), which is no derivative of the composition
    assert gradcheck(lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2,
                                              output_size=(5, 7)), [x])


def test_compiled_pools_follow_each_calls_maxima():
    """The positions of the maxima (and so the unpooled output and the gradient) are read
    from each call's input: one trace, eager's values and gradients at every call."""
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    adaptive = nn.AdaptiveMaxPool2d((2, 3))

    def fn(x):
        return unpool(*pool(x)).sum((2, 3)) + adaptive(x).sum((2, 3))
    step = autograd.compile(fn)
    rng = np.random.default_rng(16)
    for call in range(4):
        x = Tensor(rng.standard_normal((2, 3, 4, 6)), requires_grad=True)
        x2 = Tensor(x.detach().numpy().copy(), requires_grad=True)
        got, want = step(x), fn(x2)
        _same(got, want, np.float64)
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
    assert len(step._programs) == 1


# ---------------------------------------------------------------------------------------------
# F.conv3d and nn.Conv3d
CONV_TOL = {np.float64: TOL[np.float64], np.float32: dict(rtol=1e-5, atol=2e-5)}
CONV3D = [
    ({}, (2, 4, 5, 6, 7), (6, 4, 2, 3, 2)),
    ({"stride": 2, "padding": 1}, (2, 4, 5, 6, 7), (3, 4, 3, 3, 3)),
    ({"stride": (1, 2, 3), "padding": (2, 0, 1), "dilation": (2, 1, 2)}, (1, 2, 6, 5, 7),
     (3, 2, 2, 3, 2)),
    ({"groups": 2}, (2, 4, 3, 4, 5), (6, 2, 2, 2, 2)),
    ({"padding": "same"}, (1, 3, 4, 5, 6), (2, 3, 2, 3, 4)),
    ({"padding": "same", "dilation": 2}, (1, 2, 5, 5, 6), (2, 2, 2, 3, 3)),
    ({"padding": "valid"}, (4, 5, 6, 7), (3, 4, 2, 3, 2)),           # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kwargs, xshape, wshape", CONV3D, ids=[str(c[0]) for c in CONV3D])
def test_conv3d_matches_torch(kwargs, xshape, wshape, bias, dtype):
    rng = np.random.default_rng(17)
    x, xt = _pair(rng.standard_normal(xshape), dtype)
    w, wt = _pair(rng.standard_normal(wshape), dtype)
    b, bt = _pair(rng.standard_normal(wshape[0]), dtype) if bias else (None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # torch's note on 'same' with an even kernel
        out, ref = F.conv3d(x, w, b, **kwargs), TF.conv3d(xt, wt, bt, **kwargs)
    # float32 sums of up to 48 products of size ~1 (values ~10): rounding reaches 2e-6
    tol = CONV_TOL[dtype]
    _same(out, ref, dtype, "value", tol)
    _backward(out, ref, dtype)
    for a, t, what in ((x, xt, "input"), (w, wt, "weight"), (b, bt, "bias")):
        if a is not None:
            _same(a.grad, t.grad, dtype, f"{what}'s gradient", tol)


CONV3D_MODULES = ["Conv3d(4, 3, (2, 3, 1), stride=2, padding=1, padding_mode='reflect')",
                  "Conv3d(4, 4, 3, padding='same', padding_mode='replicate', groups=2)",
                  "Conv3d(4, 2, 2, padding=(1, 0, 1), padding_mode='circular', bias=False)",
                  "Conv3d(4, 5, (1, 2, 3), dilation=(1, 2, 1))"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", CONV3D_MODULES)
def test_conv3d_module_initializes_and_computes_as_torch(make, dtype):
    _both_seeded(18)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours = eval(f"nn.{make[:-1]}, dtype=np.{np.dtype(dtype).name})")
    theirs = eval(f"torch.nn.{make[:-1]}, dtype=tdtype)")
    _same_rng_state()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy())
    x, xt = _pair(np.random.default_rng(19).standard_normal((2, 4, 5, 6, 7)), dtype)
    out, ref = ours(x), theirs(xt)
    tol = CONV_TOL[dtype]
    _same(out, ref, dtype, "value", tol)
    _backward(out, ref, dtype)
    _same(x.grad, xt.grad, dtype, "input's gradient", tol)
    _same(ours.weight.grad, theirs.weight.grad, dtype, "weight's gradient", tol)


def _conv3d_errors():
    return {
        "3-d input": lambda m: F_(m).conv3d(m(2, 3, 4), m(1, 2, 1, 1, 1)),
        "6-d input": lambda m: F_(m).conv3d(m(1, 1, 2, 3, 4, 4), m(1, 2, 1, 1, 1)),
        "channels": lambda m: F_(m).conv3d(m(1, 3, 4, 4, 4), m(2, 2, 1, 1, 1)),
        "groups": lambda m: F_(m).conv3d(m(1, 4, 4, 4, 4), m(3, 2, 1, 1, 1), groups=2),
        "kernel larger than the input": lambda m: F_(m).conv3d(m(1, 2, 2, 4, 4),
                                                               m(1, 2, 3, 1, 1)),
        "'same' with a stride": lambda m: F_(m).conv3d(m(1, 2, 4, 4, 4), m(1, 2, 3, 3, 3),
                                                       stride=2, padding="same"),
        "module: 'same' with a stride": lambda m: nn_(m).Conv3d(2, 2, 3, stride=2,
                                                                padding="same"),
        "module: groups": lambda m: nn_(m).Conv3d(3, 2, 1, groups=2),
    }


CONV3D_ERRORS = _conv3d_errors()


@pytest.mark.parametrize("name", sorted(CONV3D_ERRORS))
def test_conv3d_errors_are_torchs(name):
    call = CONV3D_ERRORS[name]
    raises_as_torch_does(lambda: call(_ours), lambda: call(_theirs))


def test_conv3d_gradcheck():
    rng = np.random.default_rng(20)
    args = [Tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((1, 2, 4, 3, 4), (2, 1, 2, 2, 3), (2,))]
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=1, groups=2),
                     args)


@pytest.mark.parametrize("call", [
    lambda m: F_(m).conv2d(m(1, 2, 2, 4), m(1, 2, 3, 1)),
    lambda m: F_(m).conv1d(m(1, 2, 2), m(1, 2, 3)),
    lambda m: F_(m).conv2d(m(1, 4, 4, 4), m(3, 2, 1, 1), groups=2)])
def test_conv1d_and_conv2d_share_conv3d_s_messages(call):
    """A kernel larger than the input and a weight not divisible by the groups, in conv1d and
    conv2d (their messages, once tapegrad's own wording, are now torch's)."""
    raises_as_torch_does(lambda: call(_ours), lambda: call(_theirs))
