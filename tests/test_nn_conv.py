"""Conv2d, MaxPool2d and AvgPool2d against torch's modules: same weights (torch's state_dict as
numpy arrays), same input -> same output, parameter and input gradients, float64, to 1e-6."""
import math
import re

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

TOL = 1e-6


def _close(a, b, what):
    a = np.asarray(a.data) if isinstance(a, Tensor) else a
    b = b.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    err = np.max(np.abs(a - b))
    assert err < TOL, f"{what}: max abs difference {err:.3g} from torch"


def _run_both(ours, theirs, shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x, xt = Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
    out, outt = ours(x), theirs(xt)
    _close(out, outt, "output")
    r = rng.standard_normal(outt.shape)
    (out * r).sum().backward()
    (outt * torch.tensor(r)).sum().backward()
    _close(x.grad, xt.grad, "grad of the input")
    return out


@pytest.mark.parametrize("cfg", [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=1, bias=False),
    dict(kernel_size=(5, 5), padding=2),
])
def test_conv2d_matches_torch(cfg):
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(3, 4, **cfg).double()
    ours = nn.Conv2d(3, 4, **cfg, rng=0, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    _run_both(ours, theirs, (2, 3, 7, 8), seed=1)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, f"grad of {name}")


def test_conv2d_unbatched_input_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    ours = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out = _run_both(ours, theirs, (2, 5, 5), seed=2)
    assert out.shape == (3, 5, 5)


def test_conv2d_default_init_is_pytorchs():
    conv = nn.Conv2d(3, 8, 5, rng=3)
    assert conv.weight.shape == (8, 3, 5, 5) and conv.bias.shape == (8,)
    assert conv.weight.dtype == np.float32
    bound = 1 / math.sqrt(3 * 5 * 5)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.95 * bound        # 600 draws fill the interval
    # the same standard deviation as torch's default init (uniform: bound / sqrt(3))
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.1 * bound
    np.testing.assert_array_equal(conv.weight.data, nn.Conv2d(3, 8, 5, rng=3).weight.data)


def test_conv2d_wrong_channels_names_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\).*3 channels.*"
                                         r"\(2, 1, 6, 6\).*\(8, 3, 3, 3\)"):
        conv(np.zeros((2, 1, 6, 6), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*\(N, 3, H, W\).*\(6, 6\)"):
        conv(np.zeros((6, 6), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*kernel 3x3 is larger.*2x2"):
        conv(np.zeros((1, 3, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(3, 8, (3, 3, 3))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("cfg", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(2, 1)),
])
def test_pools_match_torch(kind, cfg):
    ours = (nn.MaxPool2d if kind == "max" else nn.AvgPool2d)(**cfg)
    theirs = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(**cfg)
    _run_both(ours, theirs, (2, 3, 7, 6), seed=4)
    assert ours.state_dict() == {} and not list(ours.parameters())


def test_max_pool_ties_send_gradient_to_first_maximum_like_torch():
    a = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    x, xt = Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
    nn.MaxPool2d(2)(x).sum().backward()
    torch.nn.MaxPool2d(2)(xt).sum().backward()
    _close(x.grad, xt.grad, "tied max")


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("cfg", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_sends_an_infinite_gradient_to_the_maximum_only_like_torch(fast, cfg):
    """An inf or nan upstream reaches each window's maximum; the other entries get 0, not
    inf * 0 = nan (the fast and the textbook VJP, non-overlapping and overlapping windows)."""
    a = np.random.default_rng(5).standard_normal((1, 2, 4, 4))
    x, xt = Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)
    with autograd.fast_paths(fast):
        out = nn.MaxPool2d(**cfg)(x)
        g = np.ones(out.shape)
        g.flat[0], g.flat[1], g.flat[-1] = np.inf, -np.inf, np.nan
        out.backward(g)
    torch.nn.MaxPool2d(**cfg)(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_pool_errors():
    with pytest.raises(ValueError, match=r"MaxPool2d: padding \(2, 2\) must be at most half"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError,
                       match=r"AvgPool2d\(kernel_size=2, stride=2, padding=0\).*\(N, C, H, W\)"):
        nn.AvgPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=5, stride=5.*kernel 5x5"):
        nn.MaxPool2d(5)(np.zeros((1, 1, 3, 3)))


def test_small_cnn_state_dict_keys_match_torch():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                         nn.AvgPool2d(2))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 6, 3), torch.nn.AvgPool2d(2))
    sd = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(sd)
    ours.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-5)
    assert "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in repr(ours)


@pytest.mark.parametrize("fn, layout", [
    ("conv2d", "out_channels, in_channels / groups"),
    ("conv_transpose2d", "in_channels, out_channels / groups")])
def test_a_weight_with_the_wrong_dims_is_named(fn, layout):
    import nn.functional as F
    from autograd import Tensor
    x, w = Tensor(np.zeros((1, 2, 5, 5))), Tensor(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=re.escape(f"{fn}: weight must have 4 dims ({layout}, "
                                                   f"*kernel), got shape (2, 2, 3)")):
        getattr(F, fn)(x, w)
    with pytest.raises(ValueError, match=re.escape(f"Expected 3D (unbatched) or 4D (batched) "
                                                   f"input to {fn}, but got input of size: "
                                                   f"[5, 5]")):
        getattr(F, fn)(Tensor(np.zeros((5, 5))), Tensor(np.zeros((2, 2, 3, 3))))
