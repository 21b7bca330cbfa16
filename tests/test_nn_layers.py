"""Every layer against the torch module with the same weights and input, float64, to 1e-6:
outputs, input gradients and parameter gradients; torch's state_dict loads as is."""
import numpy as np
import pytest

import nn
from autograd import Tensor

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

TOL = dict(rtol=1e-6, atol=1e-8)


def _copy_to_torch(ours, theirs):
    """Our state_dict into the torch module: also checks key names and shapes agree."""
    sd = {k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd, strict=True)


def _compare(ours, theirs, x, rng, integer_input=False):
    """Forward both, backward a random upstream gradient, compare everything."""
    if integer_input:
        xo, xt = x, torch.from_numpy(x)
    else:
        xo = Tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), **TOL)
    g = rng.normal(size=yo.shape)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    if not integer_input:
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tp = theirs_params[name]
        assert p.shape == tuple(tp.shape), name
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), err_msg=name, **TOL)
    return yo, yt


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_linear_matches_torch(rng):
    ours = nn.Linear(5, 3, rng=1, dtype=np.float64)
    theirs = torch.nn.Linear(5, 3).double()
    _copy_to_torch(ours, theirs)
    _compare(ours, theirs, rng.normal(size=(4, 5)), rng)
    _compare(ours, theirs, rng.normal(size=(2, 4, 5)), rng)
    ours.zero_grad()
    nb = nn.Linear(5, 3, bias=False, dtype=np.float64)
    tb = torch.nn.Linear(5, 3, bias=False).double()
    _copy_to_torch(nb, tb)
    _compare(nb, tb, rng.normal(size=(4, 5)), rng)


def test_linear_default_init_bounds_and_seed():
    lin = nn.Linear(16, 200, rng=0)
    bound = 1 / 4
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.weight.data).max() > 0.9 * bound
    assert np.abs(lin.bias.data).max() <= bound
    np.testing.assert_array_equal(nn.Linear(16, 200, rng=0).weight.data, lin.weight.data)
    assert lin.weight.dtype == np.float32 and lin.weight.shape == (200, 16)


def test_linear_wrong_width_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=2, bias=True\): "
                                         r"expected input with last dimension 4, got shape "
                                         r"\(2, 3\) \(weight shape \(2, 4\)\)$"):
        nn.Linear(4, 2)(np.zeros((2, 3), dtype=np.float32))


def test_sequential_mlp_matches_torch(rng):
    ours = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                         nn.Linear(8, 3), nn.LogSoftmax(dim=1)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                                 torch.nn.Tanh(), torch.nn.Linear(8, 3),
                                 torch.nn.LogSoftmax(dim=1)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_to_torch(ours, theirs)
    _compare(ours, theirs, rng.normal(size=(6, 4)), rng)


def test_torch_state_dict_loads_as_is(rng):
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.LayerNorm(8), torch.nn.Linear(8, 2))
    theirs.train()
    theirs(torch.randn(5, 4))            # move the running statistics off their defaults
    ours = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.LayerNorm(8), nn.Linear(8, 2))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.load_state_dict(theirs.state_dict())         # torch tensors are accepted as well
    theirs.eval()
    ours.eval()
    x = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert int(ours[1].num_batches_tracked.data) == 1


@pytest.mark.parametrize("name,args", [
    ("ReLU", ()), ("LeakyReLU", (0.2,)), ("Tanh", ()), ("Sigmoid", ()), ("Softmax", (1,)),
    ("LogSoftmax", (1,)), ("Softmax", (0,)), ("Identity", ()), ("Flatten", ())])
def test_activation_modules_match_torch(name, args, rng):
    ours = getattr(nn, name)(*args)
    theirs = getattr(torch.nn, name)(*args)
    x = rng.normal(size=(3, 4, 2)) * 3
    _compare(ours, theirs, x, rng)


def test_step_is_heaviside_with_zero_gradient():
    x = Tensor(np.array([-2.0, -0.0, 0.0, 0.5]), requires_grad=True)
    y = nn.Step()(x)
    np.testing.assert_array_equal(y.data, [0, 1, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(4))


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_and_eval_match_torch(cls, shape, momentum, rng):
    ours = getattr(nn, cls)(3, momentum=momentum, dtype=np.float64)
    theirs = getattr(torch.nn, cls)(3, momentum=momentum).double()
    ours.weight.data[...] = rng.normal(size=3)
    ours.bias.data[...] = rng.normal(size=3)
    _copy_to_torch(ours, theirs)
    for _ in range(3):                      # several steps: running stats accumulate
        ours.zero_grad()
        theirs.zero_grad()
        _compare(ours, theirs, rng.normal(size=shape) * 2 + 1, rng)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), err_msg=k, **TOL)
    ours.eval()
    theirs.eval()
    ours.zero_grad()
    theirs.zero_grad()
    _compare(ours, theirs, rng.normal(size=shape), rng)
    assert int(ours.num_batches_tracked.data) == 3


def test_batchnorm_without_affine_or_running_stats(rng):
    ours = nn.BatchNorm1d(3, affine=False, track_running_stats=False, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    ours.eval()
    theirs.eval()                # no running stats: eval normalizes with the batch's
    _compare(ours, theirs, rng.normal(size=(5, 3)), rng)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected 2-D or 3-D input with 3 "
                                         r"channels in dim 1, got shape \(4, 5\)"):
        nn.BatchNorm1d(3)(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(np.zeros((2, 3)))


@pytest.mark.parametrize("norm_shape,shape", [(5, (3, 5)), ((4, 5), (2, 3, 4, 5))])
def test_layernorm_matches_torch(norm_shape, shape, rng):
    ours = nn.LayerNorm(norm_shape, dtype=np.float64)
    theirs = torch.nn.LayerNorm(norm_shape).double()
    ours.weight.data[...] = rng.normal(size=ours.weight.shape)
    ours.bias.data[...] = rng.normal(size=ours.bias.shape)
    _copy_to_torch(ours, theirs)
    _compare(ours, theirs, rng.normal(size=shape), rng)
    with pytest.raises(ValueError, match="LayerNorm"):
        ours(np.zeros((3, 6)))


def test_embedding_matches_torch(rng):
    ours = nn.Embedding(10, 4, padding_idx=2, rng=0, dtype=np.float64)
    theirs = torch.nn.Embedding(10, 4, padding_idx=2).double()
    assert np.all(ours.weight.data[2] == 0)
    _copy_to_torch(ours, theirs)
    idx = np.array([[1, 2, 3], [3, 3, 9]])
    _compare(ours, theirs, idx, rng, integer_input=True)
    assert np.all(ours.weight.grad[2] == 0)
    with pytest.raises(IndexError, match=r"Embedding\(10, 4, padding_idx=2\): index 10"):
        ours(np.array([10]))
    with pytest.raises(TypeError, match="integers"):
        ours(np.array([1.0]))


def test_dropout_statistics_and_eval():
    d = nn.Dropout(0.3, rng=0)
    x = np.ones((200, 500))
    y = d(Tensor(x, requires_grad=True)).data.numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.02            # inverted: expectation preserved
    d.eval()
    np.testing.assert_array_equal(d(Tensor(x)).data, x)
    d.train()
    xt = Tensor(np.ones((3, 4)), requires_grad=True)
    out = d(xt)
    out.sum().backward()
    np.testing.assert_array_equal(xt.grad, out.data)   # gradient is the same mask * scale
    a = nn.Dropout(0.5, rng=7)(np.ones(50)).data
    b = nn.Dropout(0.5, rng=7)(np.ones(50)).data
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_residual(rng):
    inner = nn.Linear(4, 4, dtype=np.float64)
    res = nn.Residual(inner)
    x = rng.normal(size=(2, 4))
    np.testing.assert_allclose(res(x).data, x + inner(x).data)
    assert list(res.state_dict()) == ["module.weight", "module.bias"]
    with pytest.raises(ValueError, match=r"Residual\(Linear\).*\(2, 4\) to \(2, 3\)"):
        nn.Residual(nn.Linear(4, 3))(np.zeros((2, 4)))


def test_functional_dropout_and_linear(rng):
    F = nn.functional
    x = Tensor(rng.normal(size=(3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))
    w, b = rng.normal(size=(2, 4)), rng.normal(size=2)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.T + b)
    with pytest.raises(ValueError, match=r"linear: input of shape \(3, 4\).*\(2, 5\)"):
        F.linear(x, rng.normal(size=(2, 5)))


def test_functional_softmax_family_is_stable():
    F = nn.functional
    x = Tensor(np.array([[1000.0, 0.0, -1000.0]]), requires_grad=True)
    np.testing.assert_allclose(F.softmax(x, 1).data, [[1, 0, 0]])
    np.testing.assert_allclose(F.log_softmax(x, 1).data, [[0, -1000, -2000]])
    np.testing.assert_allclose(F.logsumexp(x, 1).data, [1000.0])
    F.log_softmax(x, 1).sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(F.softplus(Tensor(np.array([800.0, -800.0, 0.0]))).data,
                               [800.0, 0.0, np.log(2)])


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(3, 2), (4, 3)),
    (lambda: nn.BatchNorm1d(3), (5, 3)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    (lambda: nn.LayerNorm(4), (2, 4)),
    (lambda: nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.Tanh())), (2, 3)),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 3),
                           nn.Softmax(1)), (2, 3))])
def test_layers_gradcheck(make, shape, rng):
    from autograd.testing import check_module
    x = Tensor(rng.normal(size=shape) + 0.5, requires_grad=True)
    check_module(make(), x)


def test_embedding_and_losses_gradcheck(rng):
    from autograd.testing import assert_gradients_close, check_module
    check_module(nn.Embedding(5, 3, rng=0), np.array([[0, 4, 4], [1, 0, 2]]))
    F = nn.functional
    x = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 2])
    assert_gradients_close(lambda a: F.cross_entropy(a, y), x)
    assert_gradients_close(lambda a: F.binary_cross_entropy_with_logits(a, np.ones((4, 3))), x)
    assert_gradients_close(lambda a: F.binary_cross_entropy(a.sigmoid(), np.ones((4, 3))), x)
    assert_gradients_close(lambda a: F.hinge_loss(a, y, margin=0.3), x)


def test_functional_conv_and_pool_wrap_autograds_with_torchs_signatures(rng):
    from autograd import functional as AF
    F = nn.functional
    x = Tensor(rng.standard_normal((2, 3, 6, 6)))
    w = Tensor(rng.standard_normal((4, 3, 3, 3)))
    np.testing.assert_array_equal(F.conv2d(x, w, None, 1, 1).data,
                                  AF.conv2d(x, w, None, 1, 1).data)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).data, AF.max_pool2d(x, 2).data)
    np.testing.assert_array_equal(F.avg_pool2d(x, 3, 1, 1).data, AF.avg_pool2d(x, 3, 1, 1).data)
    with pytest.raises(AttributeError, match="no attribute 'conv9d'"):
        F.conv9d
