"""`draw_graph`: the computation graph of a Value or Tensor as a Graphviz drawing.

One record node per value (label | data | grad; a Tensor shows its dtype and shape instead of
its numbers) and one small node per op, showing the op's symbol from the op table. Nodes are
laid out in recording order, so the same expression always gives the same DOT text. The walk
is iterative: a graph of any depth is walked without recursion.

Graphviz's `dot` program turns the DOT text into pictures. Without it `draw_graph` still returns
the `graphviz.Digraph` (its `.source` is the DOT text); only rendering needs `dot`.
"""
import math
import shutil

import graphviz
import numpy as np

from .engine import Node, walk

INSTALL_HINT = ("Graphviz's `dot` program is not installed, so the graph cannot be rendered "
                "(its DOT text is still in draw_graph(...).source). Install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install graphviz`.")

# |grad| by decade, from vanishing (blue) to exploding (red): RdYlBu reversed, one colour per
# decade from <= 1e-6 to >= 1e3. Zero and non-finite gradients get colours of their own.
_DECADES = range(-6, 4)
_PALETTE = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8",
            "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026"]
_DARK = {0, 1, 8, 9}            # palette entries that need white text
_ZERO = "#d9d9d9"
_NONFINITE = "#ff00ff"


class Drawing(graphviz.Digraph):
    """The `graphviz.Digraph` that draw_graph returns. Without Graphviz's `dot` program,
    rendering it (pipe, render, view) raises a RuntimeError that says how to install Graphviz,
    and Jupyter shows that message with the DOT text instead of a picture."""

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(INSTALL_HINT) from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(INSTALL_HINT) from None

    def view(self, *args, **kwargs):
        try:
            return super().view(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(INSTALL_HINT) from None

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except (graphviz.ExecutableNotFound, RuntimeError):
            return {"text/plain": f"{INSTALL_HINT}\n\n{self.source}"}


def draw_graph(root, rankdir="LR", show_grad=True, color_by_grad=False, max_nodes=500,
               show_data=True):
    """The graph that `root` was computed from, as a `graphviz.Digraph`.

    rankdir: "LR" (inputs left, output right) or "TB", "RL", "BT".
    show_grad / show_data: include the grad / data field of each value.
    color_by_grad: fill each value by log10 |grad| (a Tensor by its largest |grad| entry), one
        colour per decade, with a legend: vanishing gradients show blue, exploding ones red,
        nan/inf magenta, exactly zero grey.
    max_nodes: refuse (ValueError) graphs with more values than this; Graphviz needs minutes
        for tens of thousands of nodes and the picture is unreadable long before.
    In Jupyter the returned Digraph displays itself; `.source` is the DOT text. Without `dot`,
    rendering raises a RuntimeError saying how to install Graphviz (see `Drawing`).
    """
    if not isinstance(root, Node):
        raise TypeError(f"draw_graph: root must be a Value or Tensor, got {type(root).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    nodes = walk(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(nodes)} values, more than max_nodes={max_nodes}. "
            f"Draw a smaller part (e.g. one neuron), or raise the cap with "
            f"draw_graph(root, max_nodes={len(nodes)}) (Graphviz gets slow past a few "
            f"thousand nodes).")
    dot = Drawing("tapegrad", format="svg")
    dot.attr(rankdir=rankdir)
    dot.attr("node", fontname="Helvetica", fontsize="11")
    name = {id(n): f"v{k}" for k, n in enumerate(nodes)}
    for n in nodes:
        vid = name[id(n)]
        # constants (numbers lifted into the graph) are dashed and have no grad field
        attrs = {} if n.requires_grad else {"style": "dashed"}
        if color_by_grad and n.requires_grad:
            fill, font = _grad_colour(n.grad)
            attrs = {"style": "filled", "fillcolor": fill, "fontcolor": font}
        dot.node(vid, _record_label(n, show_data, show_grad and n.requires_grad),
                 shape="record", **attrs)
        if n._op is not None:
            oid = vid + "_op"
            dot.node(oid, _escape(n._op.symbol), shape="circle" if len(n._op.symbol) <= 2
                     else "ellipse", fontsize="10", width="0.3", height="0.3", margin="0.02")
            for p in n._parents:
                dot.edge(name[id(p)], oid)
            dot.edge(oid, vid)
    if color_by_grad:
        _legend(dot)
    return dot


def _escape(text):
    """Record labels treat { } | < > as structure; escape them (and quotes, backslashes)."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _fmt(x):
    if x is None:
        return "none"
    if isinstance(x, (np.ndarray, np.generic)):
        if x.size == 1:
            return f"{x.item():.4g}"
        return f"{x.dtype} {tuple(x.shape)}"
    return f"{x:.4g}"


def _record_label(n, show_data, show_grad):
    fields = []
    if n.label:
        fields.append(_escape(n.label))
    if show_data:
        fields.append("data " + _escape(_fmt(n.data)))
    if show_grad:
        g = n.grad
        if isinstance(g, np.ndarray) and g.size > 1:
            text = f"grad max {float(np.abs(g).max()):.3g}"
        else:
            text = "grad " + _fmt(g)
        fields.append(_escape(text))
    if not fields:
        fields.append(" ")
    return "{ " + " | ".join(fields) + " }"


def _grad_magnitude(g):
    if g is None:
        return None
    if isinstance(g, (np.ndarray, np.generic)):
        a = np.abs(g)
        return float(a.max()) if a.size else 0.0
    return abs(float(g))


def _grad_colour(g):
    """(fill colour, font colour) for a gradient: one colour per decade of |g|."""
    m = _grad_magnitude(g)
    if m is None or m == 0.0:
        return _ZERO, "black"
    if not math.isfinite(m):
        return _NONFINITE, "white"
    k = min(max(math.floor(math.log10(m)), _DECADES[0]), _DECADES[-1]) - _DECADES[0]
    return _PALETTE[k], "white" if k in _DARK else "black"


def _legend(dot):
    """A row of swatches: the colour of each decade of |grad|."""
    with dot.subgraph(name="cluster_legend") as leg:
        leg.attr(label="|grad| (log scale)", fontname="Helvetica", fontsize="10",
                 color="#bbbbbb")
        leg.attr("node", shape="box", style="filled", fontsize="9", width="0.4", height="0.25")
        names = []
        for k, e in enumerate(_DECADES):
            if e == _DECADES[0]:
                text = f"< 1e{e + 1}"
            elif e == _DECADES[-1]:
                text = f">= 1e{e}"
            else:
                text = f"1e{e}"
            names.append(f"legend{k}")
            leg.node(names[-1], text, fillcolor=_PALETTE[k],
                     fontcolor="white" if k in _DARK else "black")
        leg.node("legend_zero", "0", fillcolor=_ZERO)
        leg.node("legend_nonfinite", "nan/inf", fillcolor=_NONFINITE, fontcolor="white")
        names += ["legend_zero", "legend_nonfinite"]
        for a, b in zip(names, names[1:]):          # invisible edges keep the swatches in a row
            leg.edge(a, b, style="invis")


def dot_available():
    """Whether Graphviz's `dot` program is on PATH."""
    return shutil.which("dot") is not None


def render_svg(root, path, **options):
    """Draw `root`'s graph (options as draw_graph) into the SVG file `path`; returns the path.

    Raises RuntimeError with installation instructions when `dot` is missing.
    """
    svg = draw_graph(root, **options).pipe(format="svg")
    with open(path, "wb") as f:
        f.write(svg)
    return path


def _svg_or_none(root):
    """SVG text of `root`'s graph for Jupyter, or None (no `dot`, or a graph over the cap) so
    that Jupyter falls back to the repr."""
    if not dot_available():
        return None
    try:
        return draw_graph(root).pipe(format="svg").decode("utf-8")
    except (RuntimeError, ValueError):
        return None
