"""`detect_anomaly`: the first nan/inf in forward or backward names the op and the line."""
import math
import sys

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value
from autograd.engine import STATE

HERE = __file__


def test_forward_log_of_negative_names_op_and_line():
    x = Value(-1.0)
    with autograd.detect_anomaly(strict=True):
        with pytest.raises(FloatingPointError) as info:
            x.log()  # the line named in the message
    msg = str(info.value)
    assert "'log'" in msg and "forward" in msg
    line = info.tb.tb_lineno
    assert f"{HERE}:{line}" in msg and "test_forward_log_of_negative" in msg


def test_backward_sqrt_at_zero_names_op_and_line():
    x = Value(0.0)
    with autograd.detect_anomaly(strict=True):
        line = sys._getframe().f_lineno + 1
        y = x.sqrt() * 2.0
        with pytest.raises(FloatingPointError, match="'sqrt'.*backward") as info:
            y.backward()
    assert f"{HERE}:{line} in test_backward_sqrt_at_zero" in str(info.value)


def test_backward_site_is_the_creating_line():
    x = Value(0.0)
    with autograd.detect_anomaly(strict=True):
        s = x.sqrt(); created = s._where  # noqa: E702  (same line on purpose)
        with pytest.raises(FloatingPointError) as info:
            s.backward()
    assert created in str(info.value)
    assert created.startswith(f"{HERE}:")


def test_tensor_forward_and_backward():
    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    with autograd.detect_anomaly(strict=True), np.errstate(invalid="ignore", divide="ignore"):
        with pytest.raises(FloatingPointError, match="'log'.*forward"):
            x.log()
        z = Tensor(np.array([0.0, 4.0]), requires_grad=True)
        y = z.sqrt().sum()
        with pytest.raises(FloatingPointError, match="'sqrt'.*backward"):
            y.backward()


def test_off_by_default_gives_pytorch_values():
    x = Value(0.0)
    y = x.sqrt()
    y.backward()
    assert x.grad == math.inf
    assert math.isnan(Value(-1.0).log().data)
    assert not STATE.anomaly and not STATE.hooks


def test_node_made_outside_anomaly_mode():
    x = Value(0.0)
    y = x.sqrt()
    with autograd.detect_anomaly(strict=True):
        with pytest.raises(FloatingPointError, match="made outside detect_anomaly"):
            y.backward()


def test_create_graph_names_the_differentiated_op():
    # Regression: with create_graph the VJP's own nodes were checked as forward ops, so the
    # error named 'pow' (inside sqrt's VJP) and the line of the grad() call.
    x = Value(0.0)
    with autograd.detect_anomaly(strict=True):
        y = x.sqrt()
        with pytest.raises(FloatingPointError, match="op 'sqrt'.*backward.*create_graph"):
            autograd.grad(y, [x], create_graph=True)


def test_mode_restored_after_error():
    with pytest.raises(FloatingPointError):
        with autograd.detect_anomaly(strict=True):
            Value(-1.0).log()
    assert not STATE.anomaly and not STATE.hooks


def test_finite_run_unaffected():
    x = Value(0.5)
    with autograd.detect_anomaly(strict=True):
        y = (x.exp() * x).tanh()
        y.backward()
    t = math.tanh(math.exp(0.5) * 0.5)
    assert x.grad == pytest.approx((1 - t * t) * math.exp(0.5) * 1.5, rel=1e-12)
