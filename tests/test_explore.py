"""`autograd.explore`: the stepper's steps are the engine's (`Tape.explain`'s rows), it leaves
`.grad` alone, and its HTML carries every step and a static twin. The browser clicks through it
in test_explore_browser.py."""
import html
import json
import re
import shutil

import numpy as np
import pytest

import autograd
from autograd import Tape, Tensor, Value, explore

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def neuron():
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), labelled."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


def _data(ex):
    doc = ex.document()
    m = re.search(r'<script type="application/json" id="tg-data">(.*?)</script>', doc, re.S)
    return json.loads(m.group(1))


@pytest.mark.parametrize("build", ["neuron", "reuse", "tensor"])
def test_steps_are_tape_explain_rows(build):
    with Tape() as tape:
        if build == "neuron":
            o, _ = neuron()
        elif build == "reuse":
            x = Value(1.5, label="x")
            o = x * x + x.exp() * 3.0        # x feeds three edges
        else:
            rng = np.random.default_rng(0)
            W = Tensor(rng.normal(size=(3, 2)), requires_grad=True, label="W")
            x = Tensor(rng.normal(size=(4, 3)), label="x")
            o = (x @ W).tanh().sum()
    ex = explore(o)
    explained = tape.explain(o)
    assert [e["row"] for e in ex.backward] == explained.rows
    assert len(ex.backward) == len(explained)
    # the recorded ops, in recording order, one forward step each
    assert [ex.nodes[f["node"]]["name"] for f in ex.forward] == [f"v{k}" for k in
                                                                   range(len(tape))]
    assert _data(ex)["columns"] == explained._cols()


def test_leaves_grad_alone_and_matches_backward():
    o, leaves = neuron()
    ex = explore(o)
    assert all(v.grad == 0.0 for v in leaves.values()) and o.grad == 0.0
    o.backward()
    graph = autograd.engine.walk(o)
    for k, node in enumerate(graph):
        if node.requires_grad:
            assert ex.grads[k] == node.grad          # the same floats, added in the same order
    # the last accumulated figure shown for each leaf is its gradient
    last = {}
    for e in ex.backward:
        last[e["row"]["input"]] = e["row"]["accumulated"]
    for name, v in leaves.items():
        assert float(last[name]) == pytest.approx(v.grad, rel=1e-5, abs=1e-12)


def test_forward_texts_and_final_steps():
    o, _ = neuron()
    ex = explore(o)
    assert ex.forward[0]["text"] == "v0 = x1 * w1 = 2 * -3"
    assert ex.forward[0]["value"] == "-6"
    assert ex.forward[-1]["text"] == "v4 (o) = tanh(v3) = tanh(0.881374)"
    root = ex.nodes[ex.seed["node"]]
    assert root["final"] == 0 and root["grad"] == "grad 1"
    # every value that gets a gradient has it final at the last edge into it
    for k, info in enumerate(ex.nodes):
        into = [b for b, e in enumerate(ex.backward, 1) if e["input"] == k]
        if into:
            assert info["final"] == into[-1]
    assert len(ex) == 1 + 5 + 1 + 9           # start, 5 ops, the seed, 9 edges


def test_html_carries_steps_and_static_twin():
    o, _ = neuron()
    out = explore(o)._repr_html_()
    assert out.count("<iframe") == 1 and 'srcdoc="' in out
    doc = html.unescape(re.search(r'srcdoc="([^"]*)"', out).group(1))
    assert "<svg" in doc and 'id="tg-data"' in doc and "tg-next" in doc
    assert "cdn" not in doc.lower() and "http://" not in doc.replace(
        "http://www.w3.org", "")                      # nothing loaded from the network
    static = out[out.index('class="tapegrad-explore-static"'):]
    assert 'src="data:image/svg+xml;base64,' in static
    assert "Backward from v4 (o)" in static and "<table" in static and "<script" not in static


def test_labels_cannot_break_out_of_the_page():
    x = Value(1.0, label="</script><b>x&")
    ex = explore(x * 2.0)
    doc = ex.document()
    body = doc[doc.index('id="tg-data">'):]
    assert "</script><b>" not in body.split("</script>")[0]
    assert _data(ex)["nodes"][0]["name"] == "</script><b>x&"


def test_rankdir_fits_one_column():
    o, _ = neuron()
    assert _data(explore(o, rankdir="LR"))["rankdir"] == "LR"
    x = Value(0.5, label="x")
    y = x
    for _ in range(2):
        y = y * 2.0
    assert _data(explore(y))["rankdir"] == "LR"     # a short chain fits across
    wide = [Value(float(i), label=f"x{i}") for i in range(12)]
    s = wide[0]
    for v in wide[1:]:
        s = s + v
    data = _data(explore(s))
    assert data["rankdir"] == "TB"                  # twelve adds side by side would not


def test_layout_fields_fit_every_step():
    x = Value(0.1, label="x")
    y = x * 98765.4321 + x * -98765.4            # x's gradient passes through a long figure
    ex = explore(y)
    dot = ex._dot("LR", "layout").source
    k = next(i for i, n in enumerate(ex.nodes) if n["name"] == "x")
    texts = [e["grad"] for e in ex.backward if e["input"] == k]
    assert texts == ["grad -9.877e+04", "grad 0.0321"]     # partial, then final: both fit
    field = re.search(rf'v{k} \[label="\{{ x \| data 0.1 \| ([^}}]*) \}}"', dot).group(1)
    assert len(field) == max(len(t) for t in texts)


def test_refusals():
    with pytest.raises(TypeError, match="Value or Tensor"):
        explore(3.0)
    o, _ = neuron()
    o.backward()
    with pytest.raises(RuntimeError, match="call it before root.backward"):
        explore(o)
    x = Value(1.0)
    y = x
    for _ in range(60):
        y = y + 1.0
    with pytest.raises(ValueError, match=r"121 values, more than max_nodes=100"):
        explore(y)
    with pytest.raises(ValueError, match="rankdir"):
        explore(x * 2.0, rankdir="up")
    with pytest.raises(RuntimeError, match="does not require grad"):
        explore(Value(1.0, requires_grad=False) * 2.0)


def test_save_writes_a_page(tmp_path):
    o, _ = neuron()
    path = explore(o).save(tmp_path / "stepper.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "tapegrad-explore-frame" in text
