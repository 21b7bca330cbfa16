"""Lazy layers against torch's, on a d2l.ai-style network: reprs before and after the first
call, the classes they become, parameter shapes, and outputs once torch's weights are loaded."""
import numpy as np
import pytest

import nn
import optim
from autograd import Tensor

torch = pytest.importorskip("torch")


def _net(m):
    return m.Sequential(
        m.LazyConv2d(6, kernel_size=5, padding=2), m.LazyBatchNorm2d(), m.Sigmoid(),
        m.AvgPool2d(kernel_size=2, stride=2),
        m.Identity(),
        m.Flatten(), m.LazyLinear(12), m.LazyBatchNorm1d(), m.ReLU(), m.LazyLinear(3, bias=False))


def test_lazy_network_matches_torch_before_and_after_the_first_call():
    ours, theirs = _net(nn), _net(torch.nn)
    assert repr(ours) == repr(theirs)
    assert all(isinstance(m, nn.Linear) for m in ours if type(m).__name__ == "LazyLinear")
    x = np.random.default_rng(0).standard_normal((4, 2, 8, 8)).astype(np.float32)
    ours(Tensor(x))
    theirs(torch.from_numpy(x))
    assert repr(ours) == repr(theirs)
    assert [type(m) for m in ours][:2] == [nn.Conv2d, nn.BatchNorm2d]
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_lazy_layers_initialize_like_the_eager_ones_and_keep_their_parameters():
    lazy = nn.LazyLinear(5, rng=3)
    weight = lazy.weight
    assert weight.shape == (5, 0) and repr(lazy) == repr(torch.nn.LazyLinear(5))
    lazy(Tensor(np.ones((2, 7))))
    assert type(lazy) is nn.Linear and lazy.weight is weight
    np.testing.assert_array_equal(weight.data, nn.Linear(7, 5, rng=3).weight.data)
    conv = nn.LazyConv1d(4, 3, groups=2, rng=1)
    conv(Tensor(np.ones((2, 6, 9))))
    assert type(conv) is nn.Conv1d and conv.weight.shape == (4, 3, 3)
    np.testing.assert_array_equal(conv.weight.data, nn.Conv1d(6, 4, 3, groups=2, rng=1).weight.data)
    with pytest.raises(ValueError, match=r"in_channels \(5\) must be divisible by groups \(2\)"):
        nn.LazyConv2d(4, 3, groups=2)(Tensor(np.ones((1, 5, 4, 4))))


def test_a_lazy_model_trains_after_a_first_call():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    model(Tensor(x))
    opt = optim.SGD(model.parameters(), lr=0.1)
    y = x.sum(axis=1, keepdims=True)
    first = None
    for _ in range(30):
        loss = ((model(Tensor(x)) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
