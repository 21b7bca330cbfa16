"""nn.init against torch.nn.init's conventions: fans (incl. conv kernels), gains, bounds and
standard deviations; reproducible with a seed; in place."""
import math

import numpy as np
import pytest

import nn
from autograd import Tensor

init = nn.init
torch = pytest.importorskip("torch")

SHAPES = [(3, 5), (64, 32), (8, 3, 3, 3), (4, 2, 5), (16, 4, 2, 3, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(np.zeros(shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    assert ours == theirs


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                      ("tanh", None), ("relu", None), ("leaky_relu", None),
                                      ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                      ("selu", None)])
def test_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


def _bound_and_std(fn, shape, **kw):
    t = Tensor(np.zeros(shape))
    out = fn(t, rng=0, **kw)
    assert out is t                          # in place, returns the tensor
    return np.abs(t.numpy()).max(), t.numpy().std()


@pytest.mark.parametrize("shape", [(400, 300), (64, 16, 5, 5)])
def test_random_initializers_have_torch_spread(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(np.zeros(shape))
    a = math.sqrt(6 / (fan_in + fan_out))
    m, s = _bound_and_std(init.xavier_uniform_, shape)
    assert a * 0.99 < m <= a and s == pytest.approx(a / math.sqrt(3), rel=0.02)
    m, s = _bound_and_std(init.xavier_uniform_, shape, gain=2.0)
    assert 2 * a * 0.99 < m <= 2 * a
    _, s = _bound_and_std(init.xavier_normal_, shape)
    assert s == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    b = math.sqrt(2) * math.sqrt(3 / fan_in)
    m, s = _bound_and_std(init.kaiming_uniform_, shape, nonlinearity="relu")
    assert b * 0.99 < m <= b
    b = math.sqrt(3 / fan_out) * math.sqrt(2)
    m, _ = _bound_and_std(init.kaiming_uniform_, shape, mode="fan_out", nonlinearity="relu")
    assert b * 0.99 < m <= b
    m, _ = _bound_and_std(init.kaiming_uniform_, shape, a=math.sqrt(5))
    assert 1 / math.sqrt(fan_in) * 0.99 < m <= 1 / math.sqrt(fan_in)   # Linear's default
    _, s = _bound_and_std(init.kaiming_normal_, shape)
    assert s == pytest.approx(init.calculate_gain("leaky_relu", 0) / math.sqrt(fan_in), rel=0.02)
    # the same comparisons on torch's own initializers: the conventions agree
    tt = torch.empty(shape)
    torch.nn.init.kaiming_normal_(tt)
    assert tt.std().item() == pytest.approx(s, rel=0.03)
    torch.nn.init.xavier_uniform_(tt)
    assert tt.abs().max().item() == pytest.approx(a, rel=0.01)


def test_simple_fills_and_seeds():
    t = Tensor(np.zeros((3, 4), dtype=np.float32))
    arr = t.numpy()
    init.constant_(t, 0.5)
    assert t.numpy() is arr and np.all(t.data == 0.5) and t.dtype == np.float32
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    init.uniform_(t, -2, -1, rng=3)
    assert t.data.min() >= -2 and t.data.max() <= -1
    x, y = np.zeros(100), np.zeros(100)
    init.normal_(x, 1.0, 0.1, rng=np.random.default_rng(5))
    init.normal_(y, 1.0, 0.1, rng=5)
    np.testing.assert_array_equal(x, y)
    g = np.random.default_rng(1)
    a, b = init.normal_(np.zeros(5), rng=g), init.normal_(np.zeros(5), rng=g)
    assert not np.array_equal(a, b)            # one generator, consecutive draws


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(np.zeros(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(np.zeros((2, 2)), mode="fan_avg")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.normal_(np.zeros(2), rng="seed")
