"""Normalization and embedding against torch: F.batch_norm, instance_norm, layer_norm,
group_norm, rms_norm, local_response_norm, embedding and their modules (values and gradients
in float32 and float64, the running statistics in training and eval, reprs, torch's errors),
and a float64 gradcheck of each."""
import warnings

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor, gradcheck

torch = pytest.importorskip("torch")
from torch_surface import raises_as_torch_does  # noqa: E402
TF = torch.nn.functional
TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = [np.float64, np.float32]


def _pair(a, dtype, grad=True):
    """The same array as a Tensor of ours and a torch tensor (None stays None)."""
    if a is None:
        return None, None
    a = np.asarray(a, dtype=dtype)
    return (Tensor(a.copy(), requires_grad=grad),
            torch.tensor(a.copy(), requires_grad=grad))


def _check(ours_fn, torch_fn, arrays, dtype, seed=0, grad=True):
    """ours_fn(*Tensors) against torch_fn(*tensors): the value and the gradients of a random
    projection with respect to each array given (None passes through)."""
    pairs = [_pair(a, dtype, grad) for a in arrays]
    out = ours_fn(*[p[0] for p in pairs])
    ref = torch_fn(*[p[1] for p in pairs])
    assert out.dtype == dtype
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL[dtype])
    if grad:
        w = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
        (out * Tensor(w)).sum().backward()
        (ref * torch.from_numpy(w)).sum().backward()
        for k, (o, t) in enumerate(pairs):
            if o is not None:
                np.testing.assert_allclose(o.grad, t.grad.numpy(), **TOL[dtype],
                                           err_msg=f"gradient of argument {k}")
    return out


# ---------------------------------------------------------------------------------------------
# batch_norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 2), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_in_training_updates_the_running_stats_as_torch(dtype, shape, affine):
    rng = np.random.default_rng(1)
    c = shape[1]
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    ours_stats = [Tensor(np.zeros(c, dtype)), Tensor(np.ones(c, dtype))]
    torch_stats = [torch.zeros(c, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype),
                   torch.ones(c, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype)]
    for call in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        _check(lambda x, w, b: F.batch_norm(x, *ours_stats, w, b, True, 0.3, 1e-3),
               lambda x, w, b: TF.batch_norm(x, *torch_stats, w, b, True, 0.3, 1e-3),
               [x, w, b], dtype, seed=call)
        for o, t in zip(ours_stats, torch_stats):
            assert o.dtype == dtype
            np.testing.assert_allclose(o.data, t.numpy(), **TOL[dtype])
    # eval: the running estimates normalize
    _check(lambda x, w, b: F.batch_norm(x, *ours_stats, w, b),
           lambda x, w, b: TF.batch_norm(x, *torch_stats, w, b),
           [rng.standard_normal(shape), w, b], dtype)


def test_batch_norm_without_running_stats_and_their_gradient_in_eval():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 2))
    _check(lambda x: F.batch_norm(x, None, None, training=True),
           lambda x: TF.batch_norm(x, None, None, training=True), [x], np.float64)
    m, v = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    _check(lambda x, w: F.batch_norm(x, Tensor(m), Tensor(v), w, eps=0.1),
           lambda x, w: TF.batch_norm(x, torch.tensor(m), torch.tensor(v), w, eps=0.1),
           [x, rng.standard_normal(3)], np.float64)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_module_is_the_function_with_its_counter(momentum):
    """nn.BatchNorm1d calls F.batch_norm: momentum=None is a cumulative average over
    num_batches_tracked, which counts the training calls."""
    rng = np.random.default_rng(3)
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    for k in range(3):
        x = rng.standard_normal((4, 3))
        np.testing.assert_allclose(ours(Tensor(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), **TOL[np.float64])
    for key, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].data, v.numpy(), **TOL[np.float64],
                                   err_msg=key)


def test_batch_norm_gradcheck():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    w = Tensor(rng.standard_normal(3), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    m, v = Tensor(rng.standard_normal(3)), Tensor(rng.uniform(0.5, 2, 3))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [x, w, b])
    assert gradcheck(lambda x, w, b: F.batch_norm(x, m, v, w, b, False), [x, w, b])


BATCH_NORM_ERRORS = [
    ("eval without running_mean", lambda f, t: f.batch_norm(t(4, 3), None, None)),
    ("eval without running_var", lambda f, t: f.batch_norm(t(4, 3), t(3), None)),
    ("one running stat in training",
     lambda f, t: f.batch_norm(t(4, 3), t(3), None, training=True)),
    ("running_mean size", lambda f, t: f.batch_norm(t(4, 3, 5), t(4), t(4))),
    ("running_var size", lambda f, t: f.batch_norm(t(4, 3, 5), t(3), t(4), t(6), t(6))),
    ("weight size", lambda f, t: f.batch_norm(t(4, 3, 5), t(3), t(3), t(4))),
    ("bias size", lambda f, t: f.batch_norm(t(4, 3, 5), t(3), t(3), t(3), t(2))),
    ("one value per channel", lambda f, t: f.batch_norm(t(1, 3), t(3), t(3), training=True)),
    ("one value per channel 3d",
     lambda f, t: f.batch_norm(t(1, 3, 1), None, None, training=True)),
    ("eps in training", lambda f, t: f.batch_norm(t(4, 3), None, None, training=True, eps=0.0)),
    ("negative eps", lambda f, t: f.batch_norm(t(4, 3), t(3), t(3), eps=-1e-5)),
]


@pytest.mark.parametrize("name, call", BATCH_NORM_ERRORS, ids=[n for n, _ in BATCH_NORM_ERRORS])
def test_batch_norm_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s))),
                lambda: call(TF, lambda *s: torch.ones(s)))


# ---------------------------------------------------------------------------------------------
# instance_norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 3, 4, 2)])
def test_instance_norm_with_running_stats_in_training_and_eval(dtype, shape):
    rng = np.random.default_rng(5)
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    tdtype = torch.from_numpy(np.zeros(0, dtype)).dtype
    ours_stats = [Tensor(np.zeros(c, dtype)), Tensor(np.ones(c, dtype))]
    torch_stats = [torch.zeros(c, dtype=tdtype), torch.ones(c, dtype=tdtype)]
    for call in range(3):
        _check(lambda x, w, b: F.instance_norm(x, *ours_stats, w, b, True, 0.4, 1e-4),
               lambda x, w, b: TF.instance_norm(x, *torch_stats, w, b, True, 0.4, 1e-4),
               [rng.standard_normal(shape) * 3 - 1, w, b], dtype, seed=call)
        for o, t in zip(ours_stats, torch_stats):
            np.testing.assert_allclose(o.data, t.numpy(), **TOL[dtype])
    _check(lambda x, w, b: F.instance_norm(x, *ours_stats, w, b, use_input_stats=False),
           lambda x, w, b: TF.instance_norm(x, *torch_stats, w, b, use_input_stats=False),
           [rng.standard_normal(shape), w, b], dtype)
    _check(lambda x: F.instance_norm(x), lambda x: TF.instance_norm(x),
           [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 5)),
                                        ("InstanceNorm1d", (3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 4)),
                                        ("InstanceNorm2d", (3, 2, 4)),
                                        ("InstanceNorm3d", (2, 3, 2, 2, 3))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True, "track_running_stats": True},
                                    {"track_running_stats": True, "momentum": None}])
def test_instance_norm_modules_train_and_eval_as_torch(cls, shape, kwargs):
    rng = np.random.default_rng(6)
    ours = getattr(nn, cls)(3, dtype=np.float64, **kwargs)
    theirs = getattr(torch.nn, cls)(3, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mode in ("train", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = rng.standard_normal(shape) * 2 + 0.5
        _check(ours, theirs, [x], np.float64)
        for key, v in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].data, v.numpy(),
                                       **TOL[np.float64], err_msg=key)


def test_instance_norm_module_checks_its_input_as_torch():
    for make in (lambda m: m.InstanceNorm1d(3)(torch_or_ours(m, 3)),
                 lambda m: m.InstanceNorm1d(4, affine=True)(torch_or_ours(m, 2, 3, 5)),
                 lambda m: m.InstanceNorm2d(4)(torch_or_ours(m, 2, 4, 3, 5, 1)),
                 lambda m: m.InstanceNorm1d(4)(torch_or_ours(m, 4, 1))):
        raises_as_torch_does(lambda: make(nn), lambda: make(torch.nn))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(Tensor(np.ones((2, 3, 5))))


def torch_or_ours(m, *shape):
    return torch.ones(shape) if m is torch.nn else Tensor(np.ones(shape, np.float32))


INSTANCE_NORM_ERRORS = [
    ("one spatial element", lambda f, t: f.instance_norm(t(2, 3, 1))),
    ("no spatial dims", lambda f, t: f.instance_norm(t(3, 5))),
    ("no running stats without input stats",
     lambda f, t: f.instance_norm(t(2, 3, 4), use_input_stats=False)),
    ("one running stat", lambda f, t: f.instance_norm(t(2, 3, 4), t(3), None)),
    ("running_mean size", lambda f, t: f.instance_norm(t(4, 3, 5), t(4), t(4))),
    ("weight size", lambda f, t: f.instance_norm(t(4, 3, 5), weight=t(4))),
]


@pytest.mark.parametrize("name, call", INSTANCE_NORM_ERRORS,
                         ids=[n for n, _ in INSTANCE_NORM_ERRORS])
def test_instance_norm_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s))),
                lambda: call(TF, lambda *s: torch.ones(s)))


def test_instance_norm_gradcheck():
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal(3), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])


# ---------------------------------------------------------------------------------------------
# layer_norm, rms_norm, group_norm, local_response_norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_shape, shape", [((5,), (3, 5)), ((4, 5), (2, 3, 4, 5)),
                                               ([3], (3,))])
def test_layer_norm_and_rms_norm_match_torch(dtype, norm_shape, shape):
    rng = np.random.default_rng(8)
    x, w, b = (rng.standard_normal(shape), rng.standard_normal(norm_shape),
               rng.standard_normal(norm_shape))
    _check(lambda x, w, b: F.layer_norm(x, norm_shape, w, b, 1e-3),
           lambda x, w, b: TF.layer_norm(x, norm_shape, w, b, 1e-3), [x, w, b], dtype)
    _check(lambda x: F.layer_norm(x, norm_shape), lambda x: TF.layer_norm(x, norm_shape),
           [x], dtype)
    # eps=None: the dtype's machine epsilon; rows of tiny values show it
    x_small = x * 1e-4
    _check(lambda x, w: F.rms_norm(x, norm_shape, w), lambda x, w: TF.rms_norm(x, norm_shape, w),
           [x_small, w], dtype)
    _check(lambda x: F.rms_norm(x, norm_shape, eps=0.5),
           lambda x: TF.rms_norm(x, norm_shape, eps=0.5), [x], dtype)


def test_layer_norm_module_calls_the_function():
    rng = np.random.default_rng(9)
    ours, theirs = nn.LayerNorm((2, 3), dtype=np.float64), torch.nn.LayerNorm((2, 3)).double()
    ours.weight.data[...] = rng.standard_normal((2, 3))
    theirs.weight.data[...] = torch.tensor(ours.weight.data.numpy())
    _check(ours, theirs, [rng.standard_normal((4, 2, 3))], np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4), 2), ((2, 4, 3, 2), 1),
                                           ((2, 4, 3, 2), 4)])
def test_group_norm_matches_torch(dtype, shape, groups):
    rng = np.random.default_rng(10)
    c = shape[1]
    _check(lambda x, w, b: F.group_norm(x, groups, w, b, 1e-3),
           lambda x, w, b: TF.group_norm(x, groups, w, b, 1e-3),
           [rng.standard_normal(shape) * 2, rng.standard_normal(c), rng.standard_normal(c)],
           dtype)
    ours = nn.GroupNorm(groups, c, affine=False, dtype=dtype)
    theirs = torch.nn.GroupNorm(groups, c, affine=False)
    _check(ours, lambda x: theirs(x.to(torch.float64)).to(x.dtype),
           [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 6, 3, 2), (1, 4, 2, 2, 3)])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm_matches_torch(dtype, shape, size):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape) * 3
    _check(lambda x: F.local_response_norm(x, size, 0.5, 0.6, 1.5),
           lambda x: TF.local_response_norm(x, size, 0.5, 0.6, 1.5), [x], dtype)
    _check(nn.LocalResponseNorm(size), torch.nn.LocalResponseNorm(size), [x], dtype)


def test_normalization_reprs_and_parameters_are_torchs():
    pairs = [(lambda m: m.GroupNorm(2, 4)), (lambda m: m.GroupNorm(3, 6, eps=1e-3, affine=False)),
             (lambda m: m.GroupNorm(2, 4, bias=False)),
             (lambda m: m.RMSNorm(4)), (lambda m: m.RMSNorm([2, 3], eps=1e-3,
                                                            elementwise_affine=False)),
             (lambda m: m.LocalResponseNorm(3)), (lambda m: m.LocalResponseNorm(2, 1e-3, 0.5, 2.0)),
             (lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True)),
             (lambda m: m.LayerNorm(3)), (lambda m: m.BatchNorm1d(3))]
    for make in pairs:
        ours, theirs = make(nn), make(torch.nn)
        assert repr(ours) == repr(theirs)
        got = {k: v.data for k, v in ours.state_dict().items()}
        want = {k: v.numpy() for k, v in theirs.state_dict().items()}
        assert list(got) == list(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups "
                                         r"\(2\)"):
        nn.GroupNorm(2, 5)


NORM_ERRORS = [
    ("layer_norm shape", lambda f, t: f.layer_norm(t(4, 3, 5), (4,))),
    ("layer_norm shape 2", lambda f, t: f.layer_norm(t(4, 3, 5), (3, 4))),
    ("layer_norm int shape", lambda f, t: f.layer_norm(t(4, 3, 5), 5)),
    ("layer_norm weight", lambda f, t: f.layer_norm(t(4, 3, 5), (5,), t(4))),
    ("layer_norm bias", lambda f, t: f.layer_norm(t(4, 3, 5), (5,), None, t(4))),
    ("rms_norm shape", lambda f, t: f.rms_norm(t(4, 3, 5), (3, 4))),
    ("rms_norm weight", lambda f, t: f.rms_norm(t(4, 3, 5), [5], t(4))),
    ("group_norm channels", lambda f, t: f.group_norm(t(4, 3, 5), 2)),
    ("group_norm 1d", lambda f, t: f.group_norm(t(6), 2)),
    ("group_norm weight", lambda f, t: f.group_norm(t(4, 6, 5), 2, t(5))),
    ("group_norm one value", lambda f, t: f.group_norm(t(1, 4), 4)),
    ("local_response_norm 2d", lambda f, t: f.local_response_norm(t(3, 4), 2)),
]


@pytest.mark.parametrize("name, call", NORM_ERRORS, ids=[n for n, _ in NORM_ERRORS])
def test_norm_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s))),
                lambda: call(TF, lambda *s: torch.ones(s)))


def test_norms_gradcheck():
    rng = np.random.default_rng(12)

    def t(*shape):
        return Tensor(rng.standard_normal(shape), requires_grad=True)
    x, w, b = t(2, 3, 4), t(4), t(4)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), [x, w, b])
    assert gradcheck(lambda x, w: F.rms_norm(x, (4,), w), [x, w])
    x, w, b = t(2, 6, 3), t(6), t(6)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b), [x, w, b])
    assert gradcheck(lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 1.0), [x])


# ---------------------------------------------------------------------------------------------
# embedding
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"scale_grad_by_freq": True, "padding_idx": 0},
                                    {"sparse": True}])
def test_embedding_matches_torch(dtype, kwargs):
    rng = np.random.default_rng(13)
    idx = np.array([[1, 2, 3, 3], [0, 3, 4, 1], [3, 2, 2, 0]])
    w = rng.standard_normal((5, 3))
    wo, wt = _pair(w, dtype)
    out = F.embedding(Tensor(idx), wo, **kwargs)
    ref = TF.embedding(torch.tensor(idx), wt, **kwargs)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    g = rng.standard_normal(out.shape).astype(dtype)
    (out * Tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    grad = wt.grad.to_dense() if wt.grad.is_sparse else wt.grad
    np.testing.assert_allclose(wo.grad, grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (1.5, 3.0),
                                                 (0.8, float("inf"))])
def test_embedding_max_norm_renormalizes_the_rows_looked_up_in_place(max_norm, norm_type):
    rng = np.random.default_rng(14)
    w = rng.standard_normal((6, 4)) * 2
    w[5] *= 0.01                                   # a row within max_norm stays
    wo, wt = _pair(w, np.float64)
    for idx in (np.array([[0, 1], [1, 5]]), np.array([3, 3, 2])):
        out = F.embedding(Tensor(idx), wo, max_norm=max_norm, norm_type=norm_type)
        ref = TF.embedding(torch.tensor(idx), wt, max_norm=max_norm, norm_type=norm_type)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL[np.float64])
        np.testing.assert_allclose(wo.data, wt.detach().numpy(), **TOL[np.float64])
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(wo.grad, wt.grad.numpy(), **TOL[np.float64])
    assert np.all(wo.data[4] == w[4])               # never looked up: unchanged


def test_embedding_module_keywords_from_pretrained_and_repr():
    rng = np.random.default_rng(15)
    w = rng.standard_normal((4, 3))
    for kwargs in ({}, {"freeze": False, "padding_idx": 1}, {"padding_idx": -1, "max_norm": 1.0},
                   {"norm_type": 1.0, "scale_grad_by_freq": True, "sparse": True}):
        ours = nn.Embedding.from_pretrained(Tensor(w.copy()), **kwargs)
        theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w.copy()), **kwargs)
        assert repr(ours) == repr(theirs)
        assert ours.weight.requires_grad == theirs.weight.requires_grad
        idx = np.array([[0, 1, 3], [2, 1, 1]])
        np.testing.assert_allclose(ours(Tensor(idx)).data,
                                   theirs(torch.tensor(idx)).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)
    shared = Tensor(w.copy())
    emb = nn.Embedding.from_pretrained(shared, freeze=False)
    emb.weight.data[0, 0] = 7.0
    assert shared.data[0, 0] == 7.0                # one array, as torch's one storage
    emb = nn.Embedding(5, 2, None, 1.0, 1.0, True, True, dtype=np.float64)
    assert repr(emb) == repr(torch.nn.Embedding(5, 2, None, 1.0, 1.0, True, True))
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be "
                                             "2-dimensional"):
        nn.Embedding.from_pretrained(Tensor(np.ones(3)))


EMBEDDING_ERRORS = [
    ("weight 1d", lambda f, t, i: f.embedding(i([0, 1]), t(3))),
    ("weight 3d", lambda f, t, i: f.embedding(i([0, 1]), t(3, 2, 2))),
    ("index too large", lambda f, t, i: f.embedding(i([0, 3]), t(3, 2))),
    ("negative index", lambda f, t, i: f.embedding(i([0, -1]), t(3, 2))),
    ("padding_idx", lambda f, t, i: f.embedding(i([0, 1]), t(3, 2), padding_idx=3)),
    ("negative padding_idx", lambda f, t, i: f.embedding(i([0, 1]), t(3, 2), padding_idx=-4)),
    ("float indices", lambda f, t, i: f.embedding(t(2), t(3, 2))),
]


@pytest.mark.parametrize("name, call", EMBEDDING_ERRORS, ids=[n for n, _ in EMBEDDING_ERRORS])
def test_embedding_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s, np.float32)),
                             lambda v: Tensor(np.array(v))),
                lambda: call(TF, lambda *s: torch.ones(s), lambda v: torch.tensor(v)))


def test_embedding_gradcheck():
    rng = np.random.default_rng(16)
    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = Tensor(np.array([[0, 2, 2], [4, 0, 2]]))
    # (padding_idx and scale_grad_by_freq change the gradient on purpose, by torch's rules,
    # compared with torch above: it is no longer the derivative that gradcheck measures)
    assert gradcheck(lambda w: F.embedding(idx, w), [w])


def test_warnings_are_not_raised_by_the_usual_calls():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm1d(3)(Tensor(np.ones((2, 3, 4))))
        nn.GroupNorm(1, 3)(Tensor(np.ones((2, 3, 4))))
