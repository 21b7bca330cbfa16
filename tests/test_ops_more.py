"""The rows of autograd/ops_more.py beyond the generated op-table tests: erf's accuracy against
math.erf everywhere (its forward is a piecewise approximation, not a numpy call), its edge
values, and expm1 near 0 where exp(a) - 1 loses its digits."""
import math

import numpy as np
import pytest

from autograd import OPS, Tensor
from autograd.ops_more import _np_erf

torch = pytest.importorskip("torch")


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_erf_is_within_3_ulp_of_math_erf_on_a_dense_grid():
    xs = np.concatenate([np.linspace(-7.0, 7.0, 400_001),
                         np.logspace(-310, 1, 4000), -np.logspace(-310, 1, 4000),
                         np.nextafter([0.5, 6.0, 0.25 * 7 + 0.5], 0.0)])
    want = np.array([math.erf(x) for x in xs])
    got = _np_erf(xs)
    nonzero = want != 0
    assert _ulps(got[nonzero], want[nonzero]).max() <= 3.0
    assert np.array_equal(got[~nonzero], want[~nonzero])


def test_erf_edge_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -40.0, 5e-324])
    got = _np_erf(x)
    assert np.array_equal(got[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(got[1]) and np.isnan(got[4])
    assert got[5] == 1.0 and got[6] == -1.0 and got[7] == math.erf(5e-324)


def test_erf_keeps_float32_and_matches_torch_there():
    x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 3
    out = OPS["erf"](Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, torch.erf(torch.from_numpy(x)).numpy(), rtol=0,
                               atol=2.5e-7)


def test_expm1_is_exact_near_zero_where_exp_minus_one_is_not():
    x = Tensor(np.array([-1e-10, 1e-12, -3e-8]), dtype=np.float64, requires_grad=True)
    out = OPS["expm1"](x)
    np.testing.assert_array_equal(out.data, np.expm1(x.data))
    assert abs(out.data[0] / -1e-10 - 1) < 1e-9          # exp(x) - 1 is 8e-8 off here
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data), rtol=1e-15)


def test_the_new_rows_run_on_values_too():
    import math
    from autograd import Value
    x = Value(0.5)
    y = x.erf() + x.expm1()
    y.backward()
    assert y.data == math.erf(0.5) + math.expm1(0.5)
    assert x.grad == pytest.approx(2 / math.sqrt(math.pi) * math.exp(-0.25) + math.exp(0.5),
                                   rel=1e-15)
    assert Value(1000.0).expm1().data == math.inf