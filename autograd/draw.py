"""`draw_graph`: the computation graph of a Value or Tensor as a Graphviz drawing.

What is drawn comes from the graph model (autograd/graph.py): for a Value graph a record per
value (label | data | grad) and a small node per op showing its symbol from the op table; for a
Tensor graph one box per op, named after the layer that made it, parameters named as in
`named_parameters()`, and each result's shape on its edge. Modules can be grouped into clusters,
collapsed into one box or drawn alone. Boxes are laid out in recording order, so the same
expression always gives the same DOT text; the walk is iterative (no recursion at any depth).

Graphviz's `dot` program turns the DOT text into pictures. Without it `draw_graph` still returns
the `graphviz.Digraph` (its `.source` is the DOT text); only rendering needs `dot`.
"""
import math
import shutil
import textwrap

import graphviz
import numpy as np

from .graph import Graph

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


def draw_graph(root, rankdir=None, show_grad=True, color_by_grad=False, max_nodes=500,
               show_data=True, model=None, group_modules=False, collapse=(), module=None,
               compact=None, intermediate_grads=False, max_width=800):
    """The graph that `root` was computed from, as a `graphviz.Digraph`.

    rankdir: "LR" (inputs left, output right), "TB", "RL" or "BT"; None picks LR when the
        graph fits `max_width` pixels across, else the narrower of LR and TB.
    show_grad / show_data: include each value's gradient / data.
    color_by_grad: fill each box by log10 |grad| (an array by its largest |entry|), one colour
        per decade, with a legend of the decades present: vanishing gradients show blue,
        exploding ones red, nan/inf magenta, exactly zero grey.
    model: the nn.Module that made the graph: parameters are named as in
        `model.named_parameters()` ("0.weight (8, 4)") and ops after the layer that made them
        ("Linear 0", "ReLU 1"); without it, ops are named after their module's class.
    group_modules: draw each module's boxes in a labelled cluster (nested as the modules are).
    collapse: module names (as in named_modules(), or the modules) to draw as one box each,
        with their parameters and largest gradient; True collapses every top-level module.
    module: draw only this module's ops and parameters (a zoom); what flows in from outside or
        out to the rest of the graph shows as a dashed stub.
    compact: one box per op with result shapes on the edges (torchviz's layout), rather than
        a box per value and a circle per op (micrograd's). Default: compact for Tensor graphs.
    intermediate_grads: show d(root)/d(node) for every node, computed by one replay of the
        backward pass that leaves `.grad` alone (so draw before backward(), or keep the graph
        with backward(retain_graph=True)). Otherwise a Tensor intermediate shows a gradient only
        when `retain_grad()` kept one.
    max_nodes: above this many values, a graph made by modules is drawn with each top-level
        module collapsed, and says how to zoom into one; one without modules is refused
        (ValueError): Graphviz needs minutes for tens of thousands of nodes.
    max_width: pixels; Graphviz scales a wider drawing down to this (one notebook column).
    In Jupyter the returned Digraph displays itself; `.source` is the DOT text. Without `dot`,
    rendering raises a RuntimeError saying how to install Graphviz (see `Drawing`).
    """
    if rankdir not in (None, "LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    graph = Graph(root, model=model, module=module, collapse=collapse, compact=compact,
                  group_modules=group_modules, intermediate_grads=intermediate_grads,
                  show_data=show_data, show_grad=show_grad, max_nodes=max_nodes)
    rankdir = rankdir or graph.rankdir(max_width)
    dot = Drawing("tapegrad", format="svg")
    dot.attr(rankdir=rankdir, size=f"{max_width * 0.75 / 72:.2f},1000")
    if graph.note:
        # left-justified lines (\l) short enough not to widen the drawing
        note = "".join(_esc(line) + "\\l" for line in textwrap.wrap(graph.note, 64))
        dot.attr(label=note, labelloc="t", labeljust="l", fontname="Helvetica",
                 fontsize="10")
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9", fontcolor="#555555")
    holders = {}
    for path, label in graph.clusters.items():
        holders[path] = graphviz.Digraph(name=f"cluster_{len(holders)}")
        holders[path].attr(label=label, fontname="Helvetica", fontsize="10", color="#9ecae1",
                           style="rounded")
    flip = rankdir in ("LR", "RL")
    coloured = []
    for box in graph.boxes:
        attrs = _box_attrs(box, flip)
        if color_by_grad and box.grad is not None and box.kind != "stub":
            fill, font = _grad_colour(box.grad)
            attrs.update(style=_with_filled(attrs.get("style")), fillcolor=fill,
                         fontcolor=font)
            coloured.append(box.grad)
        holders.get(box.module, dot).node(box.key, **attrs)
    # nested clusters: each one complete before its parent copies it in
    for path in sorted(holders, key=lambda p: -p.count(".")):
        parent = path.rsplit(".", 1)[0] if "." in path else None
        holders.get(parent, dot).subgraph(holders[path])
    kinds = {box.key: box.kind for box in graph.boxes}
    for src, dst, label in graph.edges:
        attrs = {"label": _esc(label)} if label else {}
        if kinds.get(src) in _CHAIN and kinds.get(dst) in _CHAIN:
            attrs["weight"] = "4"       # the path of results stays straight; leaves go aside
        dot.edge(src, dst, **attrs)
    if color_by_grad and coloured:
        _legend(dot, coloured)
    return dot


_CHAIN = ("op", "module", "circle", "value")


def _box_attrs(box, flip):
    """Graphviz attributes of one box, by kind."""
    if box.record:
        text = " | ".join(_escape(t) for t in box.lines)
        attrs = {"label": "{ " + text + " }" if flip else text, "shape": "record"}
        if box.dashed:
            attrs["style"] = "dashed"
        return attrs
    label = "\\n".join(_esc(t) for t in box.lines)
    if box.kind == "circle":
        one = len(box.lines) == 1 and len(box.lines[0]) <= 2
        return {"label": label, "shape": "circle" if one else "ellipse", "fontsize": "10",
                "width": "0.3", "height": "0.3", "margin": "0.02"}
    attrs = {"label": label, "shape": "box"}
    if box.kind == "op":
        attrs["style"] = "rounded"
    elif box.kind == "param":
        attrs.update(style="filled", fillcolor="#deebf7")
    elif box.kind == "module":
        attrs.update(shape="box3d", style="filled", fillcolor="#f0f0f0")
    elif box.kind == "stub":
        attrs.update(style="dashed", color="#999999", fontcolor="#666666", fontsize="9")
    elif box.dashed:
        attrs["style"] = "dashed"
    if box.root:
        attrs["penwidth"] = "2"
    return attrs


def _with_filled(style):
    parts = [p for p in (style or "").split(",") if p and p != "dashed"]
    return ",".join([p for p in parts if p != "filled"] + ["filled"])


def _esc(text):
    """A label line for a plain (not record) node: backslashes stay literal."""
    return text.replace("\\", "\\\\")


def _escape(text):
    """Record labels treat { } | < > as structure; escape them (and quotes, backslashes)."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _grad_magnitude(g):
    if g is None:
        return None
    if isinstance(g, (np.ndarray, np.generic)):
        a = np.abs(g)
        return float(a.max()) if a.size else 0.0
    return abs(float(g))


def _decade(m):
    """Palette index of a finite, non-zero magnitude."""
    return min(max(math.floor(math.log10(m)), _DECADES[0]), _DECADES[-1]) - _DECADES[0]


def _grad_colour(g):
    """(fill colour, font colour) for a gradient: one colour per decade of |g|."""
    m = _grad_magnitude(g)
    if m is None or m == 0.0:
        return _ZERO, "black"
    if not math.isfinite(m):
        return _NONFINITE, "white"
    k = _decade(m)
    return _PALETTE[k], "white" if k in _DARK else "black"


def _legend(dot, grads):
    """One row of swatches, from the smallest decade of |grad| drawn to the largest (and the
    zero and nan/inf colours when some box has them): it is as wide as the graph needs."""
    decades, zero, nonfinite = set(), False, False
    for g in grads:
        m = _grad_magnitude(g)
        if m is None or m == 0.0:
            zero = True
        elif not math.isfinite(m):
            nonfinite = True
        else:
            decades.add(_decade(m))
    cells = []
    if decades:
        for k in range(min(decades), max(decades) + 1):
            e = _DECADES[k]
            text = f"&lt;1e{e + 1}" if k == 0 else (f"&ge;1e{e}" if k == len(_DECADES) - 1
                                                    else f"1e{e}")
            cells.append((text, _PALETTE[k], "white" if k in _DARK else "black"))
    if zero:
        cells.append(("0", _ZERO, "black"))
    if nonfinite:
        cells.append(("nan/inf", _NONFINITE, "white"))
    row = "".join(f'<TD BGCOLOR="{fill}"><FONT COLOR="{font}">{text}</FONT></TD>'
                  for text, fill, font in cells)
    dot.node("legend", f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">'
                       f'<TR><TD BORDER="0">|grad|, log scale</TD>{row}</TR></TABLE>>',
             shape="plaintext", fontsize="9")


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
