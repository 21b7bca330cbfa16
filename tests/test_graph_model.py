"""The graph model behind draw_graph for models: names from named_parameters() and the layer
that made each op, clusters, collapsed modules, zoom, the summary above the node cap, gradients
of intermediates, and the rankdir that fits one notebook column."""
import gc
import re
import shutil

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor, Value, draw_graph
from autograd.engine import STATE
from autograd.graph import Graph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def mlp(seed=0, batch=16):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    x = Tensor(rng.normal(size=(batch, 4)).astype(np.float32), label="x")
    y = rng.integers(0, 3, batch)
    return model, x, y


def lines(graph):
    return {b.key: b.lines for b in graph.boxes}


def heads(graph, kind):
    return [b.lines[0] for b in graph.boxes if b.kind == kind]


class Block(nn.Module):
    """Several ops in one module, and a module inside a module."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(3, 3, rng=2), nn.Tanh())

    def forward(self, x):
        return self.inner(x) * 2.0 + x


def test_names_follow_the_model():
    model, x, y = mlp()
    loss = F.cross_entropy(model(x), y)
    g = Graph(loss, model=model)
    assert heads(g, "param") == ["0.weight (8, 4)", "0.bias (8,)", "2.weight (3, 8)",
                                 "2.bias (3,)"]
    assert heads(g, "op") == ["Linear 0", "ReLU 1", "Linear 2", "cross_entropy"]
    assert heads(g, "input") == ["x (16, 4)"]
    shapes = sorted(label for _, _, label in g.edges if label)
    assert shapes == ["(16, 3)", "(16, 8)", "(16, 8)"]        # results travel on edges
    root = next(b for b in g.boxes if b.root)
    assert root.lines[1] == f"= {loss.item():.4g}"


def test_names_without_the_model_come_from_classes():
    model, x, y = mlp()
    criterion = nn.CrossEntropyLoss()       # kept: a graph holds its modules only weakly
    loss = criterion(model(x), y)
    g = Graph(loss)
    assert heads(g, "op") == ["Linear", "ReLU", "Linear #2", "CrossEntropyLoss"]
    assert all(h.startswith("leaf") for h in heads(g, "leaf"))   # no names to give


def test_module_of_several_ops_and_nested_clusters():
    model = nn.Sequential(Block(), nn.ReLU())
    x = Tensor(np.ones((2, 3), np.float32), label="x")
    out = model(x).sum()
    g = Graph(out, model=model)
    assert heads(g, "op") == ["Linear 0.inner.0", "Tanh 0.inner.1", "Block 0: * 2",
                              "Block 0: add", "ReLU 1", "sum"]
    grouped = Graph(out, model=model, group_modules=True)
    assert grouped.clusters == {"0.inner.0": "Linear 0.inner.0", "0.inner": "Sequential 0.inner",
                                "0": "Block 0", "0.inner.1": "Tanh 0.inner.1", "1": "ReLU 1"}
    src = draw_graph(out, model=model, group_modules=True).source
    # Linear's cluster sits inside the Sequential's, inside the Block's
    block = src.index('label="Block 0"')
    inner = src.index('label="Sequential 0.inner"')
    linear = src.index('label="Linear 0.inner.0"')
    assert src.rfind("subgraph", 0, linear) > src.rfind("subgraph", 0, inner) > \
        src.rfind("subgraph", 0, block)
    assert src.count("subgraph cluster_") == 5


def test_collapse_draws_a_module_as_one_box():
    model, x, y = mlp()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    g = Graph(loss, model=model, collapse=["0"])
    box = next(b for b in g.boxes if b.kind == "module")
    assert box.lines[:3] == ["Linear 0", "0.weight (8, 4)", "0.bias (8,)"]
    assert box.grad is not None and np.abs(box.grad).max() == max(
        np.abs(model[0].weight.grad).max(), np.abs(model[0].bias.grad).max())
    into = [(s, d) for s, d, _ in g.edges if d == box.key]
    assert into == [("v4", box.key)]                  # x in; the weights are inside
    assert [(d, lab) for s, d, lab in g.edges if s == box.key] == [("v6", "(16, 8)")]
    assert heads(g, "param") == ["2.weight (3, 8)", "2.bias (3,)"]
    every = Graph(loss, model=model, collapse=True)
    assert [b.lines[0] for b in every.boxes if b.kind == "module"] == ["Linear 0", "Linear 2",
                                                                       "ReLU 1"]
    by_object = Graph(loss, model=model, collapse=[model[2]])
    assert [b.lines[0] for b in by_object.boxes if b.kind == "module"] == ["Linear 2"]


def test_zoom_into_one_module():
    model, x, y = mlp()
    loss = F.cross_entropy(model(x), y)
    g = Graph(loss, model=model, module="2")
    assert heads(g, "op") == ["Linear 2"]
    assert heads(g, "param") == ["2.weight (3, 8)", "2.bias (3,)"]
    assert heads(g, "stub") == ["from ReLU 1: relu", "to cross_entropy"]
    assert "module '2' (Linear 2) alone" in g.note
    with pytest.raises(ValueError, match=r"no op of this graph was made in module '7'"):
        Graph(loss, model=model, module="7")


def test_above_the_cap_a_summary_and_a_way_to_zoom():
    layers = []
    for i in range(30):
        layers += [nn.Linear(6, 6, rng=i), nn.Tanh()]
    model = nn.Sequential(*layers)
    x = Tensor(np.ones((2, 6), np.float32))
    out = model(x).sum()
    g = Graph(out, model=model, max_nodes=80)
    assert "122 values, more than max_nodes=80" in g.note and "module='0'" in g.note
    assert sum(b.kind == "module" for b in g.boxes) == 60
    with pytest.raises(ValueError, match="still 62 boxes"):
        Graph(out, model=model, max_nodes=50)
    assert heads(Graph(out, model=model, max_nodes=80, module="5"), "op") == ["Tanh 5"]
    # no modules to summarize by: refused as before, saying how to go on
    v = Value(1.0)
    for _ in range(60):
        v = v * 1.0
    with pytest.raises(ValueError, match="121 values, more than max_nodes=100"):
        Graph(v, max_nodes=100)


@needs_dot
def test_large_graph_fits_one_column():
    layers = []
    for i in range(12):
        layers += [nn.Linear(6, 6, rng=i), nn.Tanh()]
    model = nn.Sequential(*layers)
    out = model(Tensor(np.ones((2, 6), np.float32))).sum()
    out.backward()
    dot = draw_graph(out, model=model, color_by_grad=True)
    assert "rankdir=TB" in dot.source            # 25 ops in a row would not fit across
    svg = dot.pipe(format="svg").decode()
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    assert width * 4 / 3 <= 801


def test_intermediate_gradients_on_request():
    model, x, y = mlp()
    h = model[0](x)
    h.retain_grad()
    loss = F.cross_entropy(model[2](model[1](h)), y)
    asked = Graph(loss, model=model, intermediate_grads=True)       # before backward
    assert model[0].weight.grad is None                               # .grad untouched
    g_asked = {b.lines[0]: b.grad for b in asked.boxes if b.kind == "op"}
    loss.backward()
    kept = Graph(loss, model=model)
    ops = {b.lines[0]: b for b in kept.boxes if b.kind == "op"}
    np.testing.assert_array_equal(ops["Linear 0"].grad, h.grad)       # retain_grad shows
    np.testing.assert_array_equal(g_asked["Linear 0"], h.grad)        # the same numbers
    assert ops["ReLU 1"].grad is None and len(ops["ReLU 1"].lines) == 1   # no "grad none"
    assert g_asked["ReLU 1"] is not None and g_asked["ReLU 1"].shape == (16, 8)
    assert any(t.startswith("|grad| max") for t in ops["Linear 0"].lines)
    with pytest.raises(RuntimeError, match="draw before root.backward"):
        Graph(loss, model=model, intermediate_grads=True)


def test_rankdir_fits_and_is_deterministic():
    model, x, y = mlp()
    loss = F.cross_entropy(model(x), y)
    assert Graph(loss, model=model).rankdir(800) == "LR"
    v = Value(1.0, label="v")
    for _ in range(8):
        v = v.tanh()
    assert Graph(v).rankdir(800) == "TB"
    assert "rankdir=RL" in draw_graph(v, rankdir="RL").source
    a = draw_graph(loss, model=model, group_modules=True).source
    b = draw_graph(loss, model=model, group_modules=True).source
    assert a == b


def test_graph_does_not_keep_the_model_alive():
    model, x, y = mlp()
    out = model(x).sum()
    assert heads(Graph(out), "op")[0] == "Linear"
    del model
    gc.collect()
    # the parameters live on in the graph; their module is gone, so the ops go unnamed
    assert heads(Graph(out), "op") == ["linear", "relu", "linear", "sum"]


def test_module_hook_restores_state():
    model, x, y = mlp()
    assert STATE.module is None and not STATE.hooks
    model(x)
    assert STATE.module is None and not STATE.hooks

    class Broken(nn.Module):
        def forward(self, x):
            raise KeyError("inside forward")

    with pytest.raises(KeyError):
        nn.Sequential(nn.ReLU(), Broken())(x)
    assert STATE.module is None and not STATE.hooks
    # a Value graph outside any module records nothing about modules
    v = Value(1.0) * 2.0
    assert getattr(v, "_module", None) is None
