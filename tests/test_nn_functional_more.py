"""The nn.functional surface of issue 15 against torch.nn.functional: values and gradients in
float64 (inputs include the boundaries where torch's gradient rule matters), keyword defaults,
warnings and errors."""
import warnings

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor
from autograd.testing import assert_gradients_close

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = dict(rtol=1e-7, atol=1e-9)


def _both(ours_fn, torch_fn, *arrays, grad=None, seed=0, tol=TOL):
    """Value and gradients of ours_fn(*Tensors) against torch_fn(*tensors); `grad` lists the
    positions that require grad (all by default)."""
    grad = range(len(arrays)) if grad is None else grad
    xs = [Tensor(np.array(a, dtype=np.float64), requires_grad=i in grad)
          for i, a in enumerate(arrays)]
    ts = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=i in grad)
          for i, a in enumerate(arrays)]
    out, ref = ours_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    for i in grad:
        np.testing.assert_allclose(xs[i].grad, ts[i].grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")
    return out


def _points(*extra):
    """Normal draws plus the given boundary points."""
    x = np.random.default_rng(1).standard_normal(24) * 3
    return np.concatenate([x, np.array(extra, dtype=np.float64)])


# ---------------------------------------------------------------------------------------------
# activations
ACTIVATIONS = [
    ("relu", (), (0.0,)),
    ("relu6", (), (0.0, 6.0, 7.0, -1.0)),
    ("hardtanh", (), (-1.0, 1.0, 0.0)),
    ("hardtanh", (-2.0, 0.5), (-2.0, 0.5)),
    ("hardsigmoid", (), (-3.0, 3.0, 0.0)),
    ("hardswish", (), (-3.0, 3.0, 0.0, -4.0, 4.0)),
    ("elu", (), (0.0, -1e-10, 50.0, 800.0, -800.0)),
    ("elu", (0.3,), (0.0, -2.0)),
    ("selu", (), (0.0, -3.0, 900.0)),
    ("celu", (0.5,), (0.0, -2.0, 900.0)),
    ("gelu", (), (0.0, -6.0, 6.0, -40.0)),
    ("silu", (), (0.0, -50.0, 50.0)),
    ("mish", (), (0.0, -30.0, 30.0)),
    ("softplus", (), (0.0, 19.9, 20.0, 20.1, -40.0, 800.0)),
    ("softplus", (2.0, 5.0), (2.5, 2.6, 0.0, -30.0)),
    ("softplus", (0.5,), (40.0, 39.0, -3.0)),
    ("softsign", (), (0.0, -1e3)),
    ("logsigmoid", (), (0.0, -40.0, 40.0, 800.0, -800.0)),
    ("leaky_relu", (0.2,), (0.0,)),
    ("sigmoid", (), (0.0,)),
    ("tanh", (), (0.0,)),
]


@pytest.mark.parametrize("name, args, extra", ACTIVATIONS,
                         ids=[f"{n}{a}" for n, a, _ in ACTIVATIONS])
def test_activation_matches_torch_including_its_boundaries(name, args, extra):
    x = _points(*extra)
    with np.errstate(over="ignore"):
        _both(lambda a: getattr(F, name)(a, *args), lambda a: getattr(TF, name)(a, *args), x)


def test_gelu_tanh_approximation_and_bad_argument():
    x = _points(0.0, 4.0, -4.0)
    _both(lambda a: F.gelu(a, approximate="tanh"), lambda a: TF.gelu(a, approximate="tanh"), x)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(Tensor(x), approximate="erf")


def test_gelu_is_gradchecked_in_float64():
    x = Tensor(np.linspace(-4, 4, 9), dtype=np.float64, requires_grad=True)
    assert_gradients_close(lambda a: F.gelu(a), x)
    assert_gradients_close(lambda a: F.elu(a, 0.7), Tensor(np.linspace(-3, 3, 8),
                                                          dtype=np.float64, requires_grad=True))


def test_activations_keep_float32():
    x = Tensor(np.linspace(-3, 3, 7).astype(np.float32))
    for fn in (F.gelu, F.elu, F.selu, F.silu, F.mish, F.softplus, F.hardswish, F.logsigmoid):
        assert fn(x).dtype == np.float32, fn.__name__


def test_activation_argument_errors_match_torch():
    x = Tensor(np.zeros(3))
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)


@pytest.mark.parametrize("shape, n", [((4, 3), 3), ((2, 3, 5), 3), ((2, 3, 4, 4), 1), ((5,), 1)])
def test_prelu_per_channel_and_shared(shape, n):
    x = np.random.default_rng(2).standard_normal(shape)
    x.flat[0] = 0.0
    w = np.linspace(0.1, 0.4, n)
    _both(F.prelu, TF.prelu, x, w)


def test_prelu_module_and_channel_mismatch():
    m = nn.PReLU(3)
    assert m.weight.shape == (3,) and np.all(m.weight.data == 0.25)
    assert repr(m) == repr(torch.nn.PReLU(3))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 4"):
        m(Tensor(np.ones((2, 4))))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_without_dim_uses_torchs_legacy_choice_and_warns(fn, ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice for " + fn):
        out = getattr(F, fn)(Tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TF, fn)(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)


def test_softmax_dtype_argument_and_module_dim_none():
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    out = F.softmax(Tensor(x), dim=1, dtype=np.float64)
    assert out.dtype == np.float64
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        nn.Softmax()(Tensor(x))
    assert repr(nn.LogSoftmax(dim=1)) == repr(torch.nn.LogSoftmax(dim=1))


def test_inplace_gives_the_same_values_written_into_the_input():
    x = np.random.default_rng(3).standard_normal(10)
    for name in ("relu", "relu6", "elu", "selu", "silu", "hardtanh", "leaky_relu", "hardswish"):
        fn = getattr(F, name)
        t = Tensor(x.copy())
        assert fn(t, inplace=True) is t
        np.testing.assert_array_equal(t.numpy(), fn(Tensor(x.copy())).numpy())
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"


MODULES = [("GELU", {}), ("GELU", {"approximate": "tanh"}), ("ELU", {"alpha": 0.5}),
           ("SELU", {}), ("CELU", {}), ("SiLU", {}), ("Mish", {}), ("Softplus", {"beta": 2.0}),
           ("Hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("ReLU6", {}), ("Hardsigmoid", {}),
           ("Hardswish", {}), ("Softsign", {}), ("LogSigmoid", {}), ("LeakyReLU", {}),
           ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}), ("Softmin", {"dim": 1}),
           ("Tanh", {}), ("Sigmoid", {})]


@pytest.mark.parametrize("name, kwargs", MODULES, ids=[n for n, _ in MODULES])
def test_activation_module_matches_torch_module(name, kwargs):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    _both(ours, theirs, np.random.default_rng(4).standard_normal((3, 4)) * 3)


# ---------------------------------------------------------------------------------------------
# dropout
def test_dropout_keeps_torchs_positional_order():
    x = Tensor(np.ones((3, 4)))
    assert F.dropout(x, 0.5, False, True) is x                  # (input, p, training, inplace)
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))


@pytest.mark.parametrize("fn, shape", [("dropout1d", (6, 40, 5)), ("dropout1d", (40, 5)),
                                       ("dropout2d", (6, 40, 3, 3))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    out = getattr(F, fn)(Tensor(np.ones(shape)), 0.5, rng=0).numpy()
    channels = shape[0] * shape[1] if len(shape) > 2 else shape[0]
    flat = out.reshape(channels, -1)                   # one row per (sample, channel)
    assert np.all((flat == 0).all(axis=1) | (flat == 2.0).all(axis=1))
    assert 0.3 < (flat == 0).all(axis=1).mean() < 0.7
    np.testing.assert_array_equal(getattr(F, fn)(Tensor(np.ones(shape)), 0.5, False).data,
                                  np.ones(shape))


def test_dropout2d_follows_torch_on_3d_and_other_ranks():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        out = F.dropout2d(Tensor(np.ones((4, 50, 6))), 0.5, rng=1).data
    assert np.all((out == 0).all(axis=2) | (out == 2).all(axis=2))     # (N, C, L) channels
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(Tensor(np.ones((4, 5))), 0.5, rng=1)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(Tensor(np.ones((2, 3, 4, 5))))


def test_dropout_modules():
    d = nn.Dropout2d(0.3, rng=0)
    assert repr(d) == repr(torch.nn.Dropout2d(0.3)) == "Dropout2d(p=0.3, inplace=False)"
    assert repr(nn.Dropout()) == repr(torch.nn.Dropout())
    d.eval()
    x = Tensor(np.ones((2, 3, 4, 4)))
    assert d(x) is x
    with pytest.raises(TypeError, match="second argument is inplace"):
        nn.Dropout(0.5, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# convolution, padding and pooling
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
CONV1D = [dict(), dict(stride=2), dict(padding=2), dict(padding="same"), dict(padding="valid"),
          dict(dilation=2, padding=1), dict(groups=2), dict(dilation=2, padding="same"),
          dict(stride=3, padding=1, dilation=2, groups=2)]


@pytest.mark.parametrize("kwargs", CONV1D, ids=[str(k) for k in CONV1D])
def test_conv1d_matches_torch(kwargs):
    rng = np.random.default_rng(5)
    g = kwargs.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 4 // g, 4)), \
        rng.standard_normal(6)
    _both(lambda a, c, d: F.conv1d(a, c, d, **kwargs),
          lambda a, c, d: TF.conv1d(a, c, d, **kwargs), x, w, b)


CONV2D = [dict(padding=(1, 2)), dict(padding="same"), dict(dilation=(2, 1), stride=(1, 2)),
          dict(groups=3, padding=1), dict(groups=3, dilation=2, padding="same")]


@pytest.mark.parametrize("kwargs", CONV2D, ids=[str(k) for k in CONV2D])
def test_conv2d_dilation_groups_same_match_torch(kwargs):
    rng = np.random.default_rng(6)
    g = kwargs.get("groups", 1)
    x, w = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((6, 3 // g, 3, 2))
    _both(lambda a, c: F.conv2d(a, c, None, **kwargs), lambda a, c: TF.conv2d(a, c, **kwargs),
          x, w)


def test_conv_unbatched_inputs_and_errors_match_torch():
    rng = np.random.default_rng(7)
    _both(lambda a, c: F.conv1d(a, c), lambda a, c: TF.conv1d(a, c),
          rng.standard_normal((3, 9)), rng.standard_normal((2, 3, 3)))
    x = Tensor(np.ones((1, 2, 5)))
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv1d(x, Tensor(np.ones((3, 2, 3))), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Invalid padding string: 'full'"):
        F.conv1d(x, Tensor(np.ones((3, 2, 3))), padding="full")
    with pytest.raises(RuntimeError, match=r"expected input\[1, 2, 5\] to have 4 channels"):
        F.conv1d(x, Tensor(np.ones((4, 2, 3))), groups=2)
    with pytest.raises(ValueError, match="Kernel size can't be greater than actual input size"):
        F.conv1d(x, Tensor(np.ones((3, 2, 7))))


@pytest.mark.parametrize("cls, kwargs, shape", [
    ("Conv1d", dict(in_channels=4, out_channels=6, kernel_size=3, padding="same", groups=2),
     (2, 4, 9)),
    ("Conv1d", dict(in_channels=2, out_channels=3, kernel_size=3, padding=2,
                    padding_mode="reflect"), (2, 2, 7)),
    ("Conv1d", dict(in_channels=2, out_channels=3, kernel_size=4, padding="same",
                    padding_mode="circular"), (2, 7)),
    ("Conv2d", dict(in_channels=2, out_channels=4, kernel_size=3, padding=1,
                    padding_mode="replicate", bias=False), (2, 2, 5, 6)),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=(3, 2), dilation=(1, 2),
                    groups=4, stride=2), (1, 4, 8, 9)),
])
def test_conv_layers_match_torch_after_loading_its_weights(cls, kwargs, shape):
    ours, theirs = getattr(nn, cls)(**kwargs, dtype=np.float64), getattr(torch.nn, cls)(**kwargs)
    theirs = theirs.double()
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(8).standard_normal(shape)
    xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)


def test_conv_layer_init_bounds_follow_fan_in_of_the_group():
    conv = nn.Conv1d(8, 4, 5, groups=4, rng=0)
    bound = 1 / np.sqrt(2 * 5)
    assert conv.weight.shape == (4, 2, 5)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        nn.Conv2d(3, 4, 3, device="cuda")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_pad_modes_match_torch(mode):
    x = np.random.default_rng(9).standard_normal((2, 3, 5, 6))
    _both(lambda a: F.pad(a, (2, 1, 1, 3), mode=mode), lambda a: TF.pad(a, (2, 1, 1, 3),
                                                                         mode=mode), x)
    _both(lambda a: F.pad(a, (2, 3), mode), lambda a: TF.pad(a, (2, 3), mode), x[0])


def test_pad_errors():
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding"):
        F.pad(Tensor(np.ones((1, 1, 5))), (5, 3), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D"):
        F.pad(Tensor(np.ones(5)), (2, 3), mode="reflect")
    np.testing.assert_array_equal(F.pad(Tensor(np.ones((1, 2))), (1, 1), value=7.0).data,
                                  [[7, 1, 1, 7]])


POOLS_1D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
            dict(kernel_size=2, stride=2, ceil_mode=True), dict(kernel_size=4, stride=3,
                                                                ceil_mode=True)]


@pytest.mark.parametrize("kwargs", POOLS_1D, ids=[str(k) for k in POOLS_1D])
@pytest.mark.parametrize("length", [7, 6])
def test_pool1d_matches_torch(kwargs, length):
    x = np.random.default_rng(length).standard_normal((2, 3, length))
    _both(lambda a: F.max_pool1d(a, **kwargs), lambda a: TF.max_pool1d(a, **kwargs), x)
    _both(lambda a: F.avg_pool1d(a, **kwargs), lambda a: TF.avg_pool1d(a, **kwargs), x)
    _both(lambda a: F.avg_pool1d(a, **kwargs, count_include_pad=False),
          lambda a: TF.avg_pool1d(a, **kwargs, count_include_pad=False), x)


POOLS_2D = [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
            dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0)),
            dict(kernel_size=2, stride=1, ceil_mode=True)]


@pytest.mark.parametrize("kwargs", POOLS_2D, ids=[str(k) for k in POOLS_2D])
def test_pool2d_options_match_torch(kwargs):
    x = np.random.default_rng(10).standard_normal((2, 2, 7, 6))
    _both(lambda a: F.max_pool2d(a, **kwargs), lambda a: TF.max_pool2d(a, **kwargs), x)
    for extra in (dict(), dict(count_include_pad=False), dict(divisor_override=5)):
        _both(lambda a: F.avg_pool2d(a, **kwargs, **extra),
              lambda a: TF.avg_pool2d(a, **kwargs, **extra), x)


@pytest.mark.parametrize("cls, kwargs, shape", [
    ("MaxPool1d", dict(kernel_size=3, stride=2), (2, 3, 9)),
    ("MaxPool1d", dict(kernel_size=2, ceil_mode=True), (3, 7)),
    ("AvgPool1d", dict(kernel_size=3, padding=1, count_include_pad=False), (2, 3, 8)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 6, 7)),
    ("AvgPool2d", dict(kernel_size=2, ceil_mode=True), (2, 5, 5)),
    ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 10)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 2)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", dict(output_size=1), (2, 3, 5, 4)),
    ("AdaptiveAvgPool2d", dict(output_size=(None, 3)), (3, 4, 7)),
    ("AdaptiveAvgPool2d", dict(output_size=(5, 7)), (1, 2, 3, 4)),
])
def test_pool_modules_match_torch(cls, kwargs, shape):
    ours, theirs = getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
    assert repr(ours) == repr(theirs)
    _both(ours, theirs, np.random.default_rng(11).standard_normal(shape))


def test_pool_errors_match_torch():
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool1d(Tensor(np.ones((1, 4, 2))), 3)
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d: output_size must be 2"):
        F.adaptive_avg_pool2d(Tensor(np.ones((1, 4, 2))), (3,))
    # return_indices=True, once refused, gives torch's indices (tests/test_nn_more_modules.py)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    _, indices = F.max_pool2d(Tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), torch.nn.functional.max_pool2d(
        torch.tensor(x), 2, return_indices=True)[1].numpy())


# ---------------------------------------------------------------------------------------------
# normalize, distances, one_hot
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_normalize_matches_torch_including_zero_rows(p):
    x = np.random.default_rng(12).standard_normal((4, 5))
    x[1] = 0.0
    _both(lambda a: F.normalize(a, p=p), lambda a: TF.normalize(a, p=p), x)
    _both(lambda a: F.normalize(a, dim=0), lambda a: TF.normalize(a, dim=0), x)


def test_cosine_similarity_matches_torch_with_small_and_zero_norms():
    a = np.array([[1e-5, 0.0], [3.0, 4.0], [0.0, 0.0]])
    b = np.array([[1e-5, 1e-5], [1.0, 2.0], [1.0, 0.0]])
    _both(lambda x, y: F.cosine_similarity(x, y, dim=1, eps=1e-4),
          lambda x, y: TF.cosine_similarity(x, y, dim=1, eps=1e-4), a, b)
    rng = np.random.default_rng(13)
    _both(lambda x, y: F.cosine_similarity(x, y, dim=-1),
          lambda x, y: TF.cosine_similarity(x, y, dim=-1), rng.standard_normal((2, 3, 4)),
          rng.standard_normal((2, 1, 4)))
    m = nn.CosineSimilarity(dim=0)
    assert repr(m) == repr(torch.nn.CosineSimilarity(dim=0))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(4\) must match the size of "
                                           r"tensor b \(5\) at non-singleton dimension 1"):
        F.cosine_similarity(Tensor(np.ones((3, 4))), Tensor(np.ones((3, 5))))


def test_pairwise_distance_matches_torch():
    rng = np.random.default_rng(14)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y[0] = x[0]
    for p in (2.0, 1.0):
        _both(lambda a, b: F.pairwise_distance(a, b, p), lambda a, b: TF.pairwise_distance(
            a, b, p), x, y)
    _both(lambda a, b: F.pairwise_distance(a, b, keepdim=True),
          lambda a, b: TF.pairwise_distance(a, b, keepdim=True), x, y)


def test_one_hot_matches_torch():
    idx = np.array([[0, 2], [1, 4]])
    out = F.one_hot(Tensor(idx))
    ref = TF.one_hot(torch.from_numpy(idx))
    assert out.dtype == np.int64 and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.data, ref.numpy())
    np.testing.assert_array_equal(F.one_hot(idx[0], 5).data, TF.one_hot(torch.tensor([0, 2]),
                                                                        5).numpy())
    assert F.one_hot(np.array(2), 3).data.tolist() == [0, 0, 1]
    assert F.one_hot(np.zeros(0, dtype=np.int64), 3).shape == (0, 3)
    for bad, n, msg in [([0, 3], 2, "smaller than num_classes"), ([-1, 0], -1, "non-negative"),
                        (np.zeros(0, dtype=np.int64), -1, "empty tensor")]:
        with pytest.raises(RuntimeError, match=msg):
            F.one_hot(np.asarray(bad), n)
    with pytest.raises(RuntimeError, match="index tensor of type LongTensor"):
        F.one_hot(Tensor(np.array([0.0, 1.0])))


# ---------------------------------------------------------------------------------------------
# losses
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huber_and_smooth_l1_match_torch(reduction):
    rng = np.random.default_rng(15)
    x, t = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))
    x[0, :3] = t[0, :3] + np.array([1.0, -1.0, 0.0])      # |d| exactly delta, and d = 0
    for delta in (1.0, 0.5):
        _both(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
              lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), x, t)
    for beta in (1.0, 0.5, 0.0):
        _both(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
              lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), x, t)
    ours, theirs = nn.HuberLoss(reduction, 0.7), torch.nn.HuberLoss(reduction, 0.7)
    _both(ours, theirs, x, t, grad=(0,))


def test_huber_and_smooth_l1_errors_match_torch():
    x = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values"):
        F.smooth_l1_loss(x, x, beta=-1.0)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(16)
    logq = np.log(rng.dirichlet(np.ones(5), size=4))
    p = rng.dirichlet(np.ones(5), size=4)
    p[0, 1] = 0.0                                     # 0 log 0 = 0
    target = np.log(p + 1e-3) if log_target else p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _both(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
              lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
              logq, target, grad=(0,) if not log_target else (0, 1))
        _both(nn.KLDivLoss(reduction=reduction, log_target=log_target),
              torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), logq, target,
              grad=(0,))


def test_kl_div_mean_warns_as_torch():
    x = Tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.kl_div(x, np.full((2, 2), 0.5), reduction="foo")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_mse_and_l1_match_torch(reduction):
    rng = np.random.default_rng(17)
    x, t, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0, 2, (3, 4))
    for name in ("mse_loss", "l1_loss", "huber_loss"):
        _both(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
              lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c), x, t, w,
              grad=(0,))
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(Tensor(x), t, weight=w[0])


def test_regression_losses_broadcast_with_torchs_warning():
    rng = np.random.default_rng(18)
    x, t = rng.standard_normal((5, 1)), rng.standard_normal(5)
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[5\]\)\) that is "
                                             r"different to the input size "
                                             r"\(torch.Size\(\[5, 1\]\)\)"):
            out = getattr(F, name)(Tensor(x), t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(TF, name)(torch.from_numpy(x), torch.from_numpy(t))
        np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)


LEGACY = [(None, None), (True, None), (False, None), (None, True), (None, False),
          (True, True), (False, True), (True, False), (False, False)]


@pytest.mark.parametrize("size_average, reduce", LEGACY, ids=[str(x) for x in LEGACY])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "kl_div",
                                  "binary_cross_entropy", "nll_loss", "cross_entropy",
                                  "hinge_embedding_loss", "multi_margin_loss"])
def test_legacy_size_average_and_reduce_follow_torch(name, size_average, reduce):
    rng = np.random.default_rng(19)
    if name in ("nll_loss", "cross_entropy", "multi_margin_loss"):
        x, t = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    elif name == "binary_cross_entropy":
        x, t = rng.uniform(0.1, 0.9, (4, 3)), rng.integers(0, 2, (4, 3)).astype(np.float64)
    elif name == "hinge_embedding_loss":
        x, t = rng.standard_normal((4, 3)), rng.choice([-1.0, 1.0], (4, 3))
    else:
        x, t = rng.standard_normal((4, 3)), rng.uniform(0.1, 1, (4, 3))
    kwargs = dict(size_average=size_average, reduce=reduce)
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        out = getattr(F, name)(Tensor(x), t, **kwargs)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        ref = getattr(TF, name)(torch.from_numpy(x), torch.from_numpy(t), **kwargs)
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)
    assert sorted(str(w.message) for w in ours_w) == sorted(str(w.message) for w in theirs_w)


def test_legacy_keywords_on_loss_modules():
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        loss = nn.CrossEntropyLoss(None, None, -1, False)      # torch's positional order
    assert loss.reduction == "none" and loss.ignore_index == -1
    with pytest.warns(UserWarning, match="elementwise_mean"):
        F.mse_loss(Tensor(np.ones(2)), np.zeros(2), reduction="elementwise_mean")


def _torch_parameters(fn):
    """Parameter names of a torch.nn.functional function; builtins carry them in the first
    line of their docstring, 'conv1d(input, weight, bias=None, ...) -> Tensor'."""
    import inspect
    import re
    try:
        names = list(inspect.signature(fn).parameters)
    except ValueError:
        head = next(line for line in fn.__doc__.splitlines() if line.strip())
        names = [re.split(r"[=:]", a)[0].strip() for a in head[head.index("(") + 1:
                                                             head.index(")")].split(",")]
    return [n for n in names if n not in ("args", "kwargs")]


@pytest.mark.parametrize("name", [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "kl_div", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge_embedding_loss",
    "multi_margin_loss", "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "conv1d", "conv2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d", "dropout",
    "dropout1d", "dropout2d", "softmax", "log_softmax", "softplus", "elu", "selu", "gelu",
    "hardtanh", "relu", "leaky_relu", "normalize", "pad", "one_hot", "cosine_similarity",
    "pairwise_distance", "prelu"])
def test_signatures_follow_torchs_positional_order(name):
    import inspect
    ours = list(inspect.signature(getattr(F, name)).parameters)
    theirs = _torch_parameters(getattr(TF, name))
    assert ours[:len(theirs)] == theirs


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pair_losses_match_torch(reduction):
    rng = np.random.default_rng(20)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    _both(lambda p, q: F.margin_ranking_loss(p[:, 0], q[:, 0], y, 0.3, reduction=reduction),
          lambda p, q: TF.margin_ranking_loss(p[:, 0], q[:, 0], torch.from_numpy(y), 0.3,
                                              reduction=reduction), a, b)
    _both(lambda p, q: F.cosine_embedding_loss(p, q, y, 0.1, reduction=reduction),
          lambda p, q: TF.cosine_embedding_loss(p, q, torch.from_numpy(y), 0.1,
                                                reduction=reduction), a, b)
    n = rng.standard_normal((5, 4))
    for swap in (False, True):
        _both(lambda p, q, r: F.triplet_margin_loss(p, q, r, swap=swap, reduction=reduction),
              lambda p, q, r: TF.triplet_margin_loss(p, q, r, swap=swap, reduction=reduction),
              a, b, n)
    t = rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 2, 4)
    _both(lambda p: F.multi_margin_loss(p, t, p=2, margin=0.7, weight=w, reduction=reduction),
          lambda p: TF.multi_margin_loss(p, torch.from_numpy(t), p=2, margin=0.7,
                                         weight=torch.from_numpy(w), reduction=reduction), a)


def test_loss_modules_match_torch_modules():
    rng = np.random.default_rng(21)
    a, b, n = (rng.standard_normal((5, 4)) for _ in range(3))
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    _both(lambda p, q: nn.CosineEmbeddingLoss(0.2)(p, q, y),
          lambda p, q: torch.nn.CosineEmbeddingLoss(0.2)(p, q, torch.from_numpy(y)), a, b)
    _both(lambda p, q: nn.MarginRankingLoss(0.1)(p, q, y[:, None]),
          lambda p, q: torch.nn.MarginRankingLoss(0.1)(p, q, torch.from_numpy(y[:, None])),
          a, b)
    _both(nn.TripletMarginLoss(margin=0.5, p=1), torch.nn.TripletMarginLoss(margin=0.5, p=1),
          a, b, n)
    _both(nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3), a, b)
    _both(nn.PairwiseDistance(), torch.nn.PairwiseDistance(), a, b)
    t = rng.integers(0, 4, 5)
    _both(lambda p: nn.MultiMarginLoss(p=2)(p, t),
          lambda p: torch.nn.MultiMarginLoss(p=2)(p, torch.from_numpy(t)), a)
    pw = rng.uniform(0.5, 3, 4)
    tb = rng.integers(0, 2, (5, 4)).astype(np.float64)
    _both(lambda p: nn.BCEWithLogitsLoss(pos_weight=pw)(p, tb),
          lambda p: torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pw))(
              p, torch.from_numpy(tb)), a)
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[5\]\)\) must be the same "
                                         r"as input size \(torch.Size\(\[5, 4\]\)\)"):
        nn.BCEWithLogitsLoss()(Tensor(a), tb[:, 0])


# ---------------------------------------------------------------------------------------------
# transposed convolution and upsampling (the DCGAN tutorial's generator)
CONVT = [dict(), dict(stride=2, padding=1, output_padding=1), dict(stride=2, padding=1),
         dict(groups=2, stride=2), dict(dilation=2, padding=2), dict(stride=(2, 1),
                                                                     padding=(0, 1))]


@pytest.mark.parametrize("kwargs", CONVT, ids=[str(k) for k in CONVT])
def test_conv_transpose2d_matches_torch(kwargs):
    rng = np.random.default_rng(22)
    g = kwargs.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 3, 3, 4)), \
        rng.standard_normal(3 * g)
    _both(lambda a, c, d: F.conv_transpose2d(a, c, d, **kwargs),
          lambda a, c, d: TF.conv_transpose2d(a, c, d, **kwargs), x, w, b)


def test_conv_transpose1d_unbatched_and_errors_match_torch():
    rng = np.random.default_rng(23)
    _both(lambda a, c: F.conv_transpose1d(a, c, stride=3, padding=1),
          lambda a, c: TF.conv_transpose1d(a, c, stride=3, padding=1),
          rng.standard_normal((2, 7)), rng.standard_normal((2, 4, 3)))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride "
                                           "or dilation"):
        F.conv_transpose2d(Tensor(np.ones((1, 4, 3, 3))), Tensor(np.ones((4, 2, 3, 3))),
                           stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 3, 3\] to have 4 channels"):
        F.conv_transpose2d(Tensor(np.ones((1, 3, 3, 3))), Tensor(np.ones((4, 2, 3, 3))))


@pytest.mark.parametrize("cls, kwargs, shape", [
    ("ConvTranspose2d", dict(in_channels=4, out_channels=2, kernel_size=4, stride=2, padding=1,
                             bias=False), (2, 4, 4, 4)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                             output_padding=1, groups=2), (1, 4, 3, 5)),
    ("ConvTranspose1d", dict(in_channels=3, out_channels=2, kernel_size=5, dilation=2),
     (2, 3, 6)),
])
def test_conv_transpose_layers_match_torch(cls, kwargs, shape):
    ours, theirs = getattr(nn, cls)(**kwargs, dtype=np.float64), \
        getattr(torch.nn, cls)(**kwargs).double()
    assert repr(ours) == repr(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    ours.load_state_dict(theirs.state_dict())
    _both(ours, theirs, np.random.default_rng(24).standard_normal(shape), grad=(0,))


def test_conv_transpose_init_and_output_size_follow_torch():
    layer = nn.ConvTranspose2d(8, 4, 3, stride=2, rng=0)
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(layer.bias.data).max() <= bound and np.abs(layer.weight.data).max() <= bound
    ref = torch.nn.ConvTranspose2d(8, 4, 3, stride=2)
    x = np.random.default_rng(25).standard_normal((1, 8, 5, 5)).astype(np.float32)
    assert layer(Tensor(x), output_size=(12, 12)).shape == \
        tuple(ref(torch.from_numpy(x), output_size=(12, 12)).shape) == (1, 4, 12, 12)
    with pytest.raises(ValueError, match="requested an output size of"):
        layer(Tensor(x), output_size=(20, 20))
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=(7, 3)),
                                    dict(scale_factor=1.5), dict(scale_factor=(2, 3)),
                                    dict(size=(10, 9)), dict(scale_factor=0.5)])
def test_nearest_interpolate_matches_torch(kwargs):
    x = np.random.default_rng(26).standard_normal((2, 3, 5, 4))
    _both(lambda a: F.interpolate(a, **kwargs), lambda a: TF.interpolate(a, **kwargs), x)
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    _both(ours, theirs, x)


def test_interpolate_refuses_what_it_does_not_do():
    with pytest.raises(NotImplementedError, match="mode 'bilinear' is not supported"):
        F.interpolate(Tensor(np.ones((1, 1, 2, 2))), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(Tensor(np.ones((1, 1, 2, 2))))
