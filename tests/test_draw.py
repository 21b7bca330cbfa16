"""`draw_graph`: structure of the DOT text, colours, the node cap, rendering with and without
Graphviz's `dot`."""
import re
import shutil

import numpy as np
import pytest

from autograd import Tensor, Value, draw_graph, render_svg
from autograd.draw import _grad_colour, _PALETTE, _svg_or_none

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def _counts(dot):
    src = dot.source
    edges = re.findall(r"^\s*(\w+) -> (\w+)", src, flags=re.M)
    nodes = re.findall(r"^\s*(\w+) \[label=", src, flags=re.M)
    return nodes, edges


def _expr():
    x = Value(2.0, label="x")
    y = x * x + 3 * x          # values: x, x*x, 3, 3*x, y; ops: *, *, +
    y.label = "y"
    y.backward()
    return x, y


def test_node_and_edge_counts():
    x, y = _expr()
    nodes, edges = _counts(draw_graph(y))
    values = [n for n in nodes if not n.endswith("_op")]
    ops = [n for n in nodes if n.endswith("_op")]
    assert len(values) == 5 and len(ops) == 3
    assert len(edges) == 9            # x -> (*) twice: reuse draws both edges
    assert edges.count(("v0", "v1_op")) == 2


def test_labels_data_grad_and_symbols():
    x, y = _expr()
    src = draw_graph(y).source
    assert 'v0 [label="{ x | data 2 | grad 7 }"' in src
    assert 'label="{ y | data 10 | grad 1 }"' in src
    assert 'label="{ data 3 }"' in src and "style=dashed" in src      # the constant 3
    assert re.search(r'v\d_op \[label="\+"', src) and re.search(r'v\d_op \[label="\*"', src)
    hidden = draw_graph(y, show_grad=False).source
    assert "| grad" not in hidden and "data 2" in hidden


def test_deterministic_and_rankdir():
    a = draw_graph(_expr()[1]).source
    b = draw_graph(_expr()[1]).source
    assert a == b and "rankdir=LR" in a
    assert "rankdir=TB" in draw_graph(_expr()[1], rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(_expr()[1], rankdir="up")


def test_escapes_record_characters():
    v = Value(1.0, label="a|b{c}<d>")
    assert r"a\|b\{c\}\<d\>" in draw_graph(v * 2.0).source


def test_tensor_shows_shape():
    x = Tensor(np.ones((2, 3)), requires_grad=True, label="x")
    y = (x * 2.0).sum()
    y.backward()
    src = draw_graph(y).source                  # compact: a box per op, shapes on the edges
    assert 'label="x (2, 3)\\n|grad| max 2 mean 2"' in src
    assert 'label="* 2"' in src                 # the constant 2 written into its op
    assert 'label="sum\\n= 12"' in src and 'label="(2, 3)"' in src
    assert "grad none" not in src               # an intermediate without .grad says nothing
    expanded = draw_graph(y, compact=False).source
    assert "data float64 (2, 3)" in expanded and r"\|grad\| max 2" in expanded
    assert "grad none" not in expanded and re.search(r'label=sum', expanded)


def test_colour_by_grad_decades_and_legend():
    assert _grad_colour(0.0)[0] == _grad_colour(None)[0] == "#d9d9d9"
    assert _grad_colour(float("nan"))[0] == _grad_colour(float("inf"))[0] == "#ff00ff"
    assert _grad_colour(1e-9)[0] == _PALETTE[0] and _grad_colour(1e9)[0] == _PALETTE[-1]
    assert _grad_colour(2.0)[0] == _PALETTE[6] and _grad_colour(-0.05)[0] == _PALETTE[4]
    assert _grad_colour(np.array([1e-3, -20.0]))[0] == _PALETTE[7]
    x = Value(1.0)
    y = (x * 2e-4).tanh()
    y.backward()
    src = draw_graph(y, color_by_grad=True).source
    assert "|grad|, log scale" in src
    assert f'fillcolor="{_PALETTE[2]}"' in src.split("legend")[0]      # x.grad ~ 2e-4
    # the legend spans the decades drawn (2e-4 to 1), not all ten
    legend = src[src.index("legend ["):]
    assert legend.count("<TD BGCOLOR") == 5 and "1e-4" in legend and "1e0" in legend
    assert "nan/inf" not in legend and "1e3" not in legend


def test_max_nodes_error():
    x = Value(1.0)
    y = x
    for _ in range(30):
        y = y + 1.0
    with pytest.raises(ValueError, match=r"61 values, more than max_nodes=50.*max_nodes=61"):
        draw_graph(y, max_nodes=50)
    assert len(_counts(draw_graph(y, max_nodes=61))[0]) == 61 + 30


def test_deep_graph_walk_is_iterative():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0
    with pytest.raises(ValueError, match="10001 values"):
        draw_graph(y)


def test_rejects_non_nodes():
    with pytest.raises(TypeError, match="Value or Tensor"):
        draw_graph(1.0)


@needs_dot
def test_svg_renders(tmp_path):
    _, y = _expr()
    path = render_svg(y, tmp_path / "g.svg", color_by_grad=True)
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "grad 7" in text
    svg = y._repr_svg_()
    assert "<svg" in svg and "data 10" in svg


def test_without_dot(monkeypatch, tmp_path):
    _, y = _expr()
    monkeypatch.setenv("PATH", str(tmp_path))       # no `dot` anywhere on PATH
    dot = draw_graph(y)
    assert dot.source.startswith("digraph")
    assert _svg_or_none(y) is None and y._repr_svg_() is None
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render_svg(y, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    # the Digraph's own rendering says the same, and Jupyter gets the hint with the DOT text
    for render in (lambda: dot.pipe(), lambda: dot.render(tmp_path / "g2")):
        with pytest.raises(RuntimeError, match="apt-get install graphviz"):
            render()
    bundle = dot._repr_mimebundle_()
    assert "apt-get install graphviz" in bundle["text/plain"] and "digraph" in bundle["text/plain"]


def test_svg_or_none_over_cap_falls_back():
    x = Value(1.0)
    y = x
    for _ in range(600):
        y = y + 1.0
    assert _svg_or_none(y) is None
