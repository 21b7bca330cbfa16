"""`explore(root)`: step through the forward pass and then backpropagation on the drawn graph.

    o = (x1 * w1 + x2 * w2 + b).tanh()
    autograd.explore(o)        # in a notebook: buttons under the graph; before o.backward()

Forward, one step per recorded op in recording order: the op and the value it makes light up.
Backward, one step per edge in the order the engine replays them: the edge lights up, and beside
it stand the local derivative d(node)/d(input), the upstream gradient d(root)/d(node), their
product, and the input's gradient accumulated so far. A value takes its gradient colour (one
colour per decade of |grad|, as `draw_graph(color_by_grad=True)`) once its gradient is final.
Below the graph the same rows as `Tape.explain(root)`, the current one highlighted.

The numbers are the engine's: `explore` runs the engine's own backward replay once, with the
trace that `Tape.explain` reads and without touching any `.grad`, and shows those rows (the
strings `BackwardSteps` makes from that trace). Nothing here differentiates anything.

How it is shown, and why this way. The result is one self-contained HTML fragment: the graph
laid out by Graphviz into SVG here in Python, the numbers of every step as JSON, and a small
inline script (no library, no network, no CDN) that steps through them. It sits in an
`<iframe srcdoc=...>` because that is the one form every front end runs as it is: JupyterLab and
Notebook 7 put a trusted output's HTML in the page and run its scripts, VS Code's HTML renderer
does the same (its `domEval`), and nbconvert's HTML export copies outputs unsanitized, so
`make notebooks` pages keep working steppers; the iframe keeps the script's element ids and CSS
away from the notebook's and from other steppers. anywidget (or ipywidgets) was the
alternative: it needs a kernel-side package and a front-end extension, and a static HTML export
of a widget loads its JavaScript from a CDN, so readers of an exported page could not step
without network access. Where scripts do not run (a notebook opened untrusted in JupyterLab,
whose sanitizer strips iframes and scripts, or a viewer that does the same) the fragment shows
its static part instead: the final graph as an image and the `Tape.explain` table. The
iframe's script hides that part when it runs, so a reader sees one or the other.
"""
import base64
import html
import json
import re
from importlib import resources

from .draw import _escape, _grad_colour, dot_available, INSTALL_HINT
from .engine import Node, walk
from .graph import _fmt
from .tape import BackwardSteps, _Names, _fmt_data, backward_trace

MAX_WIDTH_PX = 800          # one notebook column
_INFIX = {"add": "+", "mul": "*", "pow": "**"}


def explore(root, max_nodes=100, rankdir=None):
    """An interactive backprop stepper on the graph of `root` (a Value, or a one-element
    Tensor), shown by Jupyter; `.save(path)` writes it as a standalone HTML page.

    Call it before `root.backward()`: it replays the backward pass itself (without touching
    any `.grad`), which needs the graph's saved values that backward frees.
    max_nodes: refuse (ValueError) graphs with more values than this; stepping through
        hundreds of edges teaches nothing (draw_graph draws large graphs).
    rankdir: "LR" or "TB"; by default LR when the graph fits one notebook column, else TB.
    Needs Graphviz's `dot` program for the layout.
    """
    if not isinstance(root, Node):
        raise TypeError(f"explore: root must be a Value or Tensor, got {type(root).__name__}")
    if rankdir not in (None, "LR", "TB"):
        raise ValueError(f"explore: rankdir must be 'LR', 'TB' or None, got {rankdir!r}")
    nodes = walk(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"explore: the graph has {len(nodes)} values, more than max_nodes={max_nodes}; "
            f"step through a smaller piece (one neuron, one layer on a few inputs), draw this "
            f"one with draw_graph, or raise the cap with explore(root, max_nodes="
            f"{len(nodes)})")
    if not dot_available():
        raise RuntimeError(INSTALL_HINT)
    return Explorer(root, nodes, rankdir)


class Explorer:
    """The steps of one root's forward and backward passes, and their HTML form.

    forward: one dict per recorded op, in recording order (node index, input indices, text).
    backward: one dict per edge in replay order; `row` is the row `Tape.explain` prints.
    steps: the `BackwardSteps` built from the engine's trace.
    nodes: one dict per value of the graph (name, fields, the step its data and its final
        gradient appear at, its gradient colour).
    """

    def __init__(self, root, nodes, rankdir):
        ops = [n for n in nodes if n._op is not None]
        names = _Names(ops)       # the names a Tape that recorded just this graph would give
        seed = root._seed(None)
        try:
            trace = backward_trace(root, seed)
        except RuntimeError as e:
            if "second time" not in str(e):
                raise
            raise RuntimeError(
                "explore: this graph's saved values were freed by an earlier backward(); "
                "explore replays the backward pass itself, so call it before "
                "root.backward() (or pass retain_graph=True to that backward)") from None
        self.steps = BackwardSteps(root, seed, trace, names)
        self.root_name = names(root)
        key = {id(n): k for k, n in enumerate(nodes)}
        self._key = key
        self._nodes = nodes
        self._names = names
        self.forward = [self._forward_step(n, names) for n in ops]
        fwd_at = {id(n): j for j, n in enumerate(ops, 1)}

        acc = {id(root): seed}
        final_at = {id(root): 0}
        self.backward = []
        for b, ((node, i, pg, p), row) in enumerate(zip(trace, self.steps.rows), 1):
            prev = acc.get(id(p))
            acc[id(p)] = pg if prev is None else prev + pg     # as the engine adds them
            final_at[id(p)] = b
            self.backward.append({"node": key[id(node)], "input": key[id(p)], "position": i,
                                  "edge": f"e{key[id(node)]}_{i}",
                                  "grad": _grad_text(acc[id(p)]), "row": row})
        self.grads = {key[i]: g for i, g in acc.items()}      # node index -> final gradient
        self.nodes = []
        for k, n in enumerate(nodes):
            info = {"name": names(n), "long": names.long(n), "const": not n.requires_grad,
                    "fwd": fwd_at.get(id(n), 0), "final": final_at.get(id(n), -1),
                    "data": "data " + _fmt(n._data), "fill": None, "font": None}
            if id(n) in acc:
                info["grad"] = _grad_text(acc[id(n)])
                info["fill"], info["font"] = _grad_colour(acc[id(n)])
            self.nodes.append(info)
        self.seed = {"node": key[id(root)], "grad": _grad_text(seed),
                     "text": _fmt_data(seed)}
        self._rankdir = rankdir
        self._svgs = {}

    # ------------------------------------------------------------------ graph and layout
    def _fields(self, k, state):
        """The record fields of value k: its name, data and grad texts. state "final" shows
        the end of the backward pass; "layout" the widest text each field will ever hold, so
        that the boxes Graphviz sizes fit every step."""
        info = self.nodes[k]
        if info["const"]:
            if not self._nodes[k].label:
                return [info["long"]]
            return [info["long"], info["data"]]
        data = info["data"]
        grad = info.get("grad", "grad ?")
        if state == "layout":
            data = max(data, "data ?", key=len)
            texts = [grad, "grad ?"] + [e["grad"] for e in self.backward if e["input"] == k]
            grad = max(texts, key=len)
        return [info["long"], data, grad]

    def _dot(self, rankdir, state):
        import graphviz
        dot = graphviz.Digraph("explore", format="svg")
        dot.attr(rankdir=rankdir, nodesep="0.25", ranksep="0.35")
        dot.attr("node", fontname="Helvetica", fontsize="11")
        dot.attr("edge", color="#555555", arrowsize="0.7")
        flip = rankdir in ("LR", "RL")
        for k, n in enumerate(self._nodes):
            info = self.nodes[k]
            text = " | ".join(_escape(f) for f in self._fields(k, state))
            attrs = {"id": f"n{k}", "shape": "record",
                     "label": "{ " + text + " }" if flip else text}
            if info["const"]:
                attrs["style"] = "dashed"
            elif state == "final" and info["fill"]:
                attrs.update(style="filled", fillcolor=info["fill"], fontcolor=info["font"])
            dot.node(f"v{k}", **attrs)
            if n._op is not None:
                symbol = n._op.symbol
                dot.node(f"v{k}_op", _escape(symbol), id=f"o{k}", fontsize="10",
                         shape="circle" if len(symbol) <= 2 else "ellipse", width="0.3",
                         height="0.3", margin="0.02")
                for i, p in enumerate(n._parents):
                    dot.edge(f"v{self._key[id(p)]}", f"v{k}_op", id=f"e{k}_{i}")
                dot.edge(f"v{k}_op", f"v{k}", id=f"f{k}")
        return dot

    def _svg(self, state):
        """(SVG text, rankdir, width in px, height in px) of the graph in `state`. The layout
        state picks the rankdir: LR when it fits one notebook column, else the narrower one;
        the final state (the static view) reuses that rankdir."""
        if state in self._svgs:
            return self._svgs[state]
        if state == "layout":
            choices = [self._rankdir] if self._rankdir else ["LR", "TB"]
        else:
            choices = [self._svg("layout")[1]]
        best = None
        for rankdir in choices:
            svg = self._dot(rankdir, state).pipe(format="svg").decode("utf-8")
            w, h = _svg_size(svg)
            if best is None or w < best[2]:
                best = (svg, rankdir, w, h)
            if w <= MAX_WIDTH_PX:
                break           # LR fits the column: keep it (inputs left, output right)
        self._svgs[state] = best
        return best

    # ------------------------------------------------------------------ steps as text
    def _forward_step(self, n, names):
        key = self._key
        op = n._op
        args = [names(p) for p in n._parents]
        vals = [_fmt_data(p._data) for p in n._parents]
        out = _fmt_data(n._data)
        if op.name in _INFIX and len(args) == 2:
            sym = _INFIX[op.name]
            expr, nums = f" {sym} ".join(args), f" {sym} ".join(vals)
        else:
            expr, nums = f"{op.name}({', '.join(args)})", f"{op.name}({', '.join(vals)})"
        text = f"{names.long(n)} = {expr}"
        if all(isinstance(p._data, float) for p in n._parents):
            text += f" = {nums}"
        return {"node": key[id(n)], "inputs": [key[id(p)] for p in n._parents],
                "op": op.name, "text": text, "value": out}

    def __len__(self):
        """Number of positions of the stepper: start, each op, the seed, each edge."""
        return len(self.forward) + len(self.backward) + 2

    def __repr__(self):
        return (f"<explore {self.steps.root_name}: {len(self.forward)} forward ops, "
                f"{len(self.backward)} backward steps; shown in a notebook, or "
                f".save('stepper.html')>")

    # ------------------------------------------------------------------ HTML
    def _data(self):
        svg, rankdir, w, h = self._svg("layout")
        return {"root": self.seed["node"], "rootName": self.root_name, "rankdir": rankdir,
                "nodes": [{"name": i["name"], "long": i["long"], "const": i["const"],
                           "fwd": i["fwd"], "final": i["final"], "data": i["data"],
                           "grad": i.get("grad"), "fill": i["fill"], "font": i["font"]}
                          for i in self.nodes],
                "forward": self.forward,
                "seed": self.seed,
                "backward": [{k: e[k] for k in ("node", "input", "position", "edge", "grad",
                                                "row")} for e in self.backward],
                "columns": self.steps._cols(),
                "title": self.steps._title()}

    def document(self):
        """The stepper as a complete HTML document (what the iframe shows)."""
        svg, rankdir, w, h = self._svg("layout")
        data = json.dumps(self._data(), separators=(",", ":"))
        # inside <script>: "</" would end the element; \u escapes keep the JSON the same
        data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        svg = _fluid(svg, w)
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                f"<title>tapegrad: backprop stepper</title><style>{_asset('explore.css')}"
                f"</style></head><body>{_BODY.format(svg=svg)}"
                f"<script type=\"application/json\" id=\"tg-data\">{data}</script>"
                f"<script>{_asset('explore.js')}</script></body></html>")

    def _static(self):
        """What shows where scripts do not run: the final graph and the explain table."""
        svg, rankdir, w, h = self._svg("final")
        b64 = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return (f'<div class="tapegrad-explore-static">'
                f'<p style="font-size:12px;color:#555;margin:4px 0">Static view of '
                f'<code>autograd.explore</code>: the interactive stepper needs JavaScript '
                f'(run the cell, or trust the notebook). The graph after the backward pass, '
                f'then every backward step:</p>'
                f'<img alt="computation graph of {html.escape(self.steps.root_name)} '
                f'coloured by gradient" style="max-width:100%;width:{min(w, MAX_WIDTH_PX)}px" '
                f'src="data:image/svg+xml;base64,{b64}">'
                f'{self.steps._repr_html_()}</div>')

    def _repr_html_(self):
        doc = html.escape(self.document(), quote=True)
        return (f'<div class="tapegrad-explore" style="max-width:{MAX_WIDTH_PX + 20}px">'
                f'<iframe class="tapegrad-explore-frame" title="backprop stepper: '
                f'{html.escape(self.steps.root_name)}" srcdoc="{doc}" '
                f'style="width:100%;height:0;border:0;display:block"></iframe>'
                f'{self._static()}</div>')

    def save(self, path):
        """Write the stepper as a standalone HTML page (opens in any browser); returns path."""
        page = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tapegrad: backprop "
                "stepper</title></head><body style=\"font-family:sans-serif\">"
                f"{self._repr_html_()}</body></html>")
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
        return path


def _grad_text(g):
    if isinstance(g, (float, int)):
        return f"grad {g:.4g}"
    return "grad " + _fmt(g) if g.size == 1 else f"grad max {float(abs(g).max()):.3g}"


def _svg_size(svg):
    """(width, height) in CSS pixels of a Graphviz SVG, whose sizes are in points."""
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return float(m.group(1)) * 4 / 3, float(m.group(2)) * 4 / 3


def _fluid(svg, width):
    """The SVG element without its XML prolog, scaled down to the column but never up."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r'<svg width="[\d.]+pt" height="[\d.]+pt"',
                  f'<svg style="width:100%;max-width:{width:.0f}px;height:auto"', svg, count=1)


def _asset(name):
    return resources.files("autograd").joinpath(name).read_text(encoding="utf-8")


_BODY = """<div id="bar">
<button id="tg-first" title="start (Home)">&#xAB;</button>
<button id="tg-prev" title="previous step (left arrow)">&#x25C0;</button>
<button id="tg-play" title="play / pause (space)">play</button>
<button id="tg-next" title="next step (right arrow)">&#x25B6;</button>
<button id="tg-last" title="end (End)">&#xBB;</button>
<input id="tg-slider" type="range" min="0" value="0" aria-label="step">
<span id="tg-pos"></span>
</div>
<div id="graph">{svg}</div>
<div id="panel"><div id="tg-title"></div><table id="tg-detail"></table></div>
<div id="tg-rows"></div>"""
