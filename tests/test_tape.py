"""`Tape`: the Wengert list it records and the backward steps it shows."""
import gc
import math
import weakref

import numpy as np
import pytest

import autograd
from autograd import Tape, Tensor, Value
from autograd.engine import STATE


def _neuron():
    x1, w1, b = Value(2.0, label="x1"), Value(-3.0, label="w1"), Value(6.5, label="b")
    return x1, w1, b


def test_records_nodes_in_creation_order():
    x1, w1, b = _neuron()
    with Tape() as tape:
        h = x1 * w1
        n = h + b
        o = n.tanh()
    assert tape.nodes == [h, n, o] and len(tape) == 3 and tape[2] is o
    assert not STATE.tapes and not STATE.hooks


def test_nothing_recorded_outside_or_under_no_grad():
    x = Value(1.0)
    y = x * 2.0
    with Tape() as tape:
        with autograd.no_grad():
            x * 3.0
        z = y + 1.0
    w = z * 2.0
    assert tape.nodes == [z]
    assert w not in tape.nodes


def test_wengert_list_text():
    x1, w1, b = _neuron()
    with Tape() as tape:
        o = (x1 * w1 + b).tanh()
        loss = (o - 1.0) ** 2
    o.label = "o"
    lines = str(tape).splitlines()
    assert lines[0] == "Tape: 5 ops (Wengert list, in recording order)"
    assert lines[1].split() == ["node", "op", "inputs", "value", "label"]
    rows = [line.split("  ") for line in lines[3:]]
    cells = [[c.strip() for c in r if c.strip()] for r in rows]
    assert cells == [
        ["x1", "input", "2"],
        ["w1", "input", "-3"],
        ["b", "input", "6.5"],
        ["v0", "mul (*)", "x1, w1", "-6"],
        ["v1", "add (+)", "v0, b", "0.5"],
        ["v2", "tanh", "v1", f"{math.tanh(0.5):.6g}", "o"],
        ["v3", "add (+)", "v2, -1", f"{math.tanh(0.5) - 1:.6g}"],
        ["v4", "pow (**)", "v3, 2", f"{loss.data:.6g}"],
    ]


def test_unlabelled_inputs_and_earlier_nodes_are_named():
    a, b = Value(1.0), Value(2.0)
    early = a * b
    with Tape() as tape:
        y = early + a
    rows = tape.rows()
    assert [r["node"] for r in rows] == ["out0", "in0", "v0"]
    assert rows[-1]["inputs"] == "out0, in0"
    assert y.data == 3.0


def test_tensor_rows_show_shape_and_dtype():
    x = Tensor(np.ones((2, 3)), requires_grad=True, label="x")
    with Tape() as tape:
        y = (x * 2.0).sum()
    rows = tape.rows()
    assert rows[0] == {"node": "x", "op": "input", "inputs": "", "value": "float64 (2, 3)",
                       "label": ""}
    assert rows[1]["value"] == "float64 (2, 3)"
    assert rows[2]["op"] == "sum" and rows[2]["value"].startswith("12")
    assert y.data == 12.0


def test_html_is_an_escaped_table():
    x = Value(1.0, label="<x>")
    with Tape() as tape:
        x * 2.0
    page = tape._repr_html_()
    assert page.startswith("<table") and page.count("<tr>") == 3
    assert "&lt;x&gt;" in page and "<x>" not in page


def test_backward_steps_and_grads():
    x1, w1, b = _neuron()
    with Tape() as tape:
        h = x1 * w1
        o = (h + b).tanh()
    steps = tape.backward(o)
    dn = 1 - math.tanh(0.5) ** 2
    assert (x1.grad, w1.grad, b.grad) == pytest.approx((dn * -3.0, dn * 2.0, dn), rel=1e-12)
    table = [(r["node"], r["input"], r["local"], r["upstream"], r["contribution"])
             for r in steps.rows]
    f = f"{dn:.6g}"
    assert table == [
        ("v2", "v1", f, "1", f),
        ("v1", "v0", "1", f, f),
        ("v1", "b", "1", f, f),
        ("v0", "x1", "-3", f, f"{-3 * dn:.6g}"),
        ("v0", "w1", "2", f, f"{2 * dn:.6g}"),
    ]
    text = str(steps)
    assert "contribution = upstream * local" in text and len(text.splitlines()) == 2 + 1 + 5
    with pytest.raises(RuntimeError, match="retain_graph"):
        o.backward()


def test_accumulated_so_far_sums_reuse():
    a = Value(3.0, label="a")
    with Tape() as tape:
        b = a * a
        c = b + a
    steps = tape.backward(c)
    acc = [(r["input"], r["accumulated"]) for r in steps.rows]
    # c = a^2 + a: first the direct edge (1), then the two edges through a*a (3 each)
    assert acc == [("v0", "1"), ("a", "1"), ("a", "4"), ("a", "7")]
    assert a.grad == 7.0


def test_local_derivative_when_upstream_is_zero():
    # a dead relu makes the upstream 0; the local derivative is still shown exactly
    x = Value(2.0, label="x")
    with Tape() as tape:
        h = x * 3.0
        y = (h * -1.0).relu()
    rows = tape.explain(y).rows
    assert [(r["input"], r["local"], r["upstream"]) for r in rows] == [
        ("v1", "0", "1"), ("v0", "-1", "0"), ("x", "3", "-0")]


def test_explain_touches_no_grad_and_keeps_graph():
    x = Value(0.5, label="x")
    with Tape() as tape:
        y = x.exp() * x
    steps = tape.explain(y)
    assert x.grad == 0.0 and y.grad == 0.0 and len(steps) == 3
    y.backward()
    assert x.grad == pytest.approx(math.exp(0.5) * 1.5, rel=1e-12)


def test_backward_retain_graph():
    x = Value(0.5)
    with Tape() as tape:
        y = x.sin()
    tape.backward(y, retain_graph=True)
    tape.backward(y)
    assert x.grad == pytest.approx(2 * math.cos(0.5), rel=1e-12)


def test_leaky_relu_local_uses_slope():
    x = Value(-1.0)
    with Tape() as tape:
        y = x.leaky_relu(0.2)
    assert tape.backward(y).rows[0]["local"] == "0.2"


def test_tensor_backward_steps():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, label="x")
    b = Tensor(np.ones(3), requires_grad=True, label="b")
    with Tape() as tape:
        y = (x * b).sum()
    steps = tape.backward(y)
    assert "local" not in steps._cols()
    assert [(r["node"], r["input"]) for r in steps.rows] == [("v1", "v0"), ("v0", "x"),
                                                              ("v0", "b")]
    assert steps.rows[2]["accumulated"] == "float64 (3,) [3, 5, 7]"
    np.testing.assert_allclose(b.grad, [3.0, 5.0, 7.0])
    assert "<table" in steps._repr_html_()


def test_nested_tapes_and_errors():
    x = Value(1.0)
    with Tape() as outer:
        a = x * 2.0
        with Tape() as inner:
            b = a + 1.0
            with pytest.raises(RuntimeError, match="already recording"):
                with inner:
                    pass
        c = b * b
    assert outer.nodes == [a, b, c] and inner.nodes == [b]
    assert STATE.tapes == [] and not STATE.hooks
    with pytest.raises(TypeError, match="Value or Tensor"):
        outer.backward(3.0)


def test_tape_left_on_exception():
    with pytest.raises(KeyError):
        with Tape():
            raise KeyError("x")
    assert STATE.tapes == [] and not STATE.hooks


def test_tape_makes_no_cycles():
    was = gc.isenabled()
    gc.disable()
    try:
        x = Value(1.0)
        with Tape() as tape:
            y = x.tanh() * 2.0
        tape.backward(y)
        r = weakref.ref(y)
        del y
        assert r() is not None          # the tape keeps what it recorded
        del tape
        assert r() is None
    finally:
        if was:
            gc.enable()
