"""`Tape`: watch the engine work. Records a computation as a Wengert list and replays its
backward pass step by step, as text or as an HTML table in a notebook.

    with autograd.Tape() as tape:
        y = (x * w + b).tanh()
    print(tape)               # v0 = x * w, v1 = v0 + b, v2 = tanh(v1), with values
    print(tape.backward(y))   # each edge: upstream grad * local derivative = contribution

The Wengert list is the tape the engine itself replays: each recorded node in creation order,
which is a topological order, so backward walks it in reverse. The chain rule at each step is

    contribution to d(root)/d(input) = d(root)/d(node) * d(node)/d(input)
                                       (upstream)        (local derivative)

and an input used more than once adds up its contributions ("accumulated so far").

A Tape keeps every node recorded into it alive for as long as the Tape itself is alive; nothing
else points to it, so dropping the tape frees them.
"""
import html

import numpy as np

from .backends import SCALAR
from .engine import _FREED, STATE, Node, _refresh_hooks, run_backward


class Tape:
    """Records every node created inside `with Tape() as tape:`, in creation order.

    `len(tape)`, `tape[i]` and iteration give the recorded nodes; `print(tape)` (or the notebook
    display) shows the Wengert list: node, op (with its symbol), inputs, value. Leaves and
    nodes made before the tape opened are shown as inputs, by label (or `in0`, `in1`, ...), and
    constants by value. Tapes nest: each open tape records the node.
    """

    def __init__(self):
        self._nodes = []

    def __enter__(self):
        if any(t is self for t in STATE.tapes):
            raise RuntimeError("Tape: this tape is already recording (a Tape cannot be nested "
                               "inside itself)")
        STATE.tapes.append(self)
        _refresh_hooks()
        return self

    def __exit__(self, *exc):
        # by identity: two tapes never compare equal, but be explicit about which one leaves
        STATE.tapes[:] = [t for t in STATE.tapes if t is not self]
        _refresh_hooks()
        return False

    # ------------------------------------------------------------------ the recorded nodes
    @property
    def nodes(self):
        """The recorded nodes, in creation order (a copy)."""
        return list(self._nodes)

    def __len__(self):
        return len(self._nodes)

    def __getitem__(self, i):
        return self._nodes[i]

    def __iter__(self):
        return iter(self._nodes)

    def _names(self):
        return _Names(self._nodes)

    def rows(self):
        """The Wengert list as dicts: node, op, inputs, value, label (the strings printed)."""
        names = self._names()
        rows = []
        for leaf in names.inputs():
            rows.append({"node": names(leaf), "op": "input", "inputs": "",
                         "value": _fmt_data(leaf._data), "label": ""})
        for node in self._nodes:
            rows.append({"node": names(node), "op": _op_text(node._op),
                         "inputs": ", ".join(names(p) for p in node._parents),
                         "value": _fmt_data(node._data), "label": node.label})
        return rows

    def __str__(self):
        rows = self.rows()
        cols = ["node", "op", "inputs", "value"]
        if any(r["label"] for r in rows):
            cols.append("label")
        title = f"Tape: {len(self._nodes)} ops (Wengert list, in recording order)"
        return title + "\n" + _text_table(cols, rows)

    def __repr__(self):
        return f"<Tape of {len(self._nodes)} ops>"

    def _repr_html_(self):
        rows = self.rows()
        cols = ["node", "op", "inputs", "value"]
        if any(r["label"] for r in rows):
            cols.append("label")
        caption = (f"Tape: {len(self._nodes)} ops, in recording order. Backward replays it "
                   f"from the bottom up.")
        return _html_table(cols, rows, caption, muted=lambda r: r["op"] == "input")

    # ------------------------------------------------------------------ the backward pass
    def backward(self, root, grad=None, retain_graph=False):
        """`root.backward(grad, retain_graph)`, recording each step; returns the steps.

        Fills `.grad` exactly as `root.backward()` does. The returned `BackwardSteps` prints
        (or displays in a notebook) one row per edge of the graph, in the order the engine
        visits them.
        """
        return self._run(root, grad, retain_graph, accumulate=True)

    def explain(self, root, grad=None):
        """The backward steps of `root` without touching any `.grad` and without freeing the
        graph: look first, then call `backward()`."""
        return self._run(root, grad, True, accumulate=False)

    def _run(self, root, grad, retain_graph, accumulate):
        if not isinstance(root, Node):
            raise TypeError(f"Tape.backward: root must be a Value or Tensor, got "
                            f"{type(root).__name__}")
        seed = root._seed(grad)
        # Keep the saved context until the table is built (leaky_relu's slope lives there),
        # then free it as the caller asked.
        trace = backward_trace(root, seed, accumulate)
        steps = BackwardSteps(root, seed, trace, self._names())
        if not retain_graph:
            for node, *_ in trace:
                node._ctx = _FREED
        return steps


def backward_trace(root, seed, accumulate=False):
    """The edges of root's backward pass in the order the engine replays them, as
    [(node, input position, contribution, input), ...]: the engine's own loop, watched. The
    graph is kept (retain_graph); .grad is filled as backward() fills it only if `accumulate`."""
    trace = []
    run_backward(root, seed, True, False, root._keep_grad if accumulate else _ignore,
                 lambda node, i, p, contribution: trace.append((node, i, contribution, p)))
    return trace


def _ignore(node, g):
    """The `take` of a pass that shows its gradients without storing them."""


class BackwardSteps:
    """The backward pass of one root, one row per edge (node -> input) in replay order.

    Columns: step, node, op, input, local derivative d(node)/d(input) (Value only: for a Tensor
    it is a Jacobian the engine never builds), upstream gradient d(root)/d(node), contribution
    (upstream times local: what this edge adds to the input's gradient) and the input's gradient
    accumulated so far in this pass.
    """

    def __init__(self, root, seed, trace, names):
        self.root_name = names.long(root)
        self.seed = seed
        self.rows = []
        acc = {id(root): seed}
        for step, (node, i, pg, p) in enumerate(trace, 1):
            upstream = acc[id(node)]
            prev = acc.get(id(p))
            acc[id(p)] = pg if prev is None else prev + pg
            self.rows.append({
                "step": str(step), "node": names.long(node), "op": _op_text(node._op),
                "input": names.long(p), "local": _local_text(node, i),
                "upstream": _fmt_grad(upstream), "contribution": _fmt_grad(pg),
                "accumulated": _fmt_grad(acc[id(p)]),
            })

    _COLS = ["step", "node", "op", "input", "local", "upstream", "contribution", "accumulated"]
    _HEAD = {"local": "local d(node)/d(input)", "upstream": "upstream d(root)/d(node)",
             "accumulated": "input grad so far"}

    def __len__(self):
        return len(self.rows)

    def _cols(self):
        # a Tensor op has no local derivative to print: drop the column rather than fill it
        if self.rows and all(r["local"] == _JACOBIAN for r in self.rows):
            return [c for c in self._COLS if c != "local"]
        return self._COLS

    def _title(self):
        return (f"Backward from {self.root_name} (seed d{self.root_name}/d{self.root_name} = "
                f"{_fmt_data(self.seed)}): contribution = upstream * local, summed per input")

    def __str__(self):
        return self._title() + "\n" + _text_table(self._cols(), self.rows, self._HEAD)

    def __repr__(self):
        return f"<BackwardSteps from {self.root_name}: {len(self.rows)} steps>"

    def _repr_html_(self):
        return _html_table(self._cols(), self.rows, self._title(), self._HEAD)


# ---------------------------------------------------------------------------------------------
class _Names:
    """Stable printable names: tape nodes v0, v1, ...; other nodes by label, else in0, in1, ...
    (leaves) or out0, ... (made before the tape opened); constants by their value."""

    def __init__(self, nodes):
        self._name = {id(n): f"v{k}" for k, n in enumerate(nodes)}
        self._counts = {"in": 0, "out": 0}
        self._inputs = []
        for n in nodes:             # inputs numbered in order of first use
            for p in n._parents:
                self(p)

    def __call__(self, node):
        name = self._name.get(id(node))
        if name is not None:
            return name
        if not node.requires_grad and node.is_leaf and not node.label:
            return _fmt_const(node._data)
        if node.label:
            name = node.label
        else:
            kind = "in" if node.is_leaf else "out"
            name = f"{kind}{self._counts[kind]}"
            self._counts[kind] += 1
        self._name[id(node)] = name
        self._inputs.append(node)
        return name

    def long(self, node):
        """The name plus the label of a labelled tape node: `v3 (n)`."""
        name = self(node)
        if node.label and name != node.label:
            return f"{name} ({node.label})"
        return name

    def inputs(self):
        """Nodes the tape reads but did not record (leaves, earlier results), first use first."""
        return list(self._inputs)


def _op_text(op):
    if op is None:
        return "input"
    return op.name if op.symbol == op.name else f"{op.name} ({op.symbol})"


def _fmt_const(x):
    """A constant operand: its value when it is one number, else its shape and dtype."""
    if not isinstance(x, (np.ndarray, np.generic)):
        return _fmt_data(x)
    if x.size == 1:
        return f"{x.item():.6g}"
    return "const " + _fmt_data(x)


def _fmt_data(x):
    """A float as 6 significant digits; an array as its shape and dtype (plus values if tiny)."""
    if isinstance(x, Node):
        x = x._data
    if isinstance(x, (np.ndarray, np.generic)):
        if x.ndim == 0:
            return f"{x.item():.6g} ({x.dtype})"
        head = f"{x.dtype} {tuple(x.shape)}"
        if x.size <= 4:
            vals = ", ".join(f"{v:.4g}" for v in x.ravel().tolist())
            return f"{head} [{vals}]"
        return head
    return f"{float(x):.6g}"


def _fmt_grad(x):
    """A gradient: like _fmt_data, plus the Frobenius norm of a larger array (its size)."""
    text = _fmt_data(x)
    if isinstance(x, np.ndarray) and x.size > 4:
        text += f" norm {float(np.linalg.norm(x)):.4g}"
    return text


_JACOBIAN = "(Jacobian, not formed)"


def _local_text(node, i):
    """d(node)/d(input i) for a scalar op: its VJP applied to an upstream gradient of 1."""
    if node._reference_backend is not SCALAR:
        return _JACOBIAN
    ins = [p._data for p in node._parents]
    return _fmt_data(node._op.vjps[i](SCALAR, 1.0, node._data, node._ctx, *ins))


def _text_table(cols, rows, head=None):
    head = head or {}
    titles = [head.get(c, c) for c in cols]
    widths = [max([len(t)] + [len(r[c]) for r in rows]) for c, t in zip(cols, titles)]
    lines = ["  ".join(t.ljust(w) for t, w in zip(titles, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r in rows:
        lines.append("  ".join(r[c].ljust(w) for c, w in zip(cols, widths)).rstrip())
    return "\n".join(lines)


_STYLE = ("border-collapse:collapse;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
          "font-size:12px")
_CELL = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap"


def _html_table(cols, rows, caption, head=None, muted=None):
    head = head or {}
    esc = html.escape
    out = [f'<table style="{_STYLE}">',
           f'<caption style="caption-side:top;text-align:left;padding:4px 0;font-weight:bold">'
           f'{esc(caption)}</caption>',
           "<thead><tr>" + "".join(
               f'<th style="{_CELL};border-bottom:2px solid #888">{esc(head.get(c, c))}</th>'
               for c in cols) + "</tr></thead>", "<tbody>"]
    for r in rows:
        colour = ";color:#888" if muted is not None and muted(r) else ""
        out.append("<tr>" + "".join(f'<td style="{_CELL}{colour}">{esc(r[c])}</td>'
                                    for c in cols) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
