"""The graph model behind `draw_graph`: which boxes and edges a drawing has, what they are
called, which module made them, and which gradient each one shows, decided without rendering.

Two layouts of the same graph:
- expanded (micrograd's, the default for `Value` graphs): a record per value (label | data |
  grad) and a small circle per op between its inputs and its result;
- compact (torchviz's, the default for `Tensor` graphs): one box per op, named after the layer
  that made it (`Linear 0`, `ReLU 1`), one per leaf (parameters named as in
  `named_parameters()`, `0.weight (8, 4)`), the shape of each intermediate result on the edge
  that carries it, and scalar constants folded into their op's box (`* 2`).

Modules: inside `nn.Module.__call__` every recorded node remembers (weakly) the innermost module
running its forward. Given the model, a node's module is named by `model.named_modules()`;
without it, by the module's class. A module can be drawn as a labelled cluster of its boxes
(`group_modules`), collapsed into one box (`collapse`), or drawn alone (`module`, a zoom: what
comes from outside or goes outside shows as a dashed stub). Everything is walked in recording
order without recursion, so the same graph always gives the same model.
"""
import numpy as np

from .engine import Node, operands, run_backward, walk

_INFIX = {"add": "+", "mul": "*", "pow": "**", "matmul": "@"}


class Box:
    """One drawn node. kind: value, circle (an op of the expanded layout), op, param, input,
    leaf, const, module (collapsed), stub.

    lines: the label's lines (the fields of a value record); module: the dotted path of the
    module whose cluster holds it (None: top level); grad: the gradient it is coloured by
    (None: not coloured); shape: the shape its outgoing edges carry (compact layout)."""
    __slots__ = ("key", "kind", "lines", "module", "grad", "shape", "dashed", "root", "record")

    def __init__(self, key, kind, lines, module=None, grad=None, shape=None, dashed=False,
                 record=False):
        self.key, self.kind, self.lines, self.module = key, kind, lines, module
        self.grad, self.shape, self.dashed, self.root = grad, shape, dashed, False
        self.record = record        # fields side by side (a value of the expanded layout)

    def __repr__(self):
        return f"Box({self.key}, {self.kind}, {self.lines}, module={self.module})"


class Graph:
    """Boxes, edges and clusters of the graph of `root` (see draw_graph for the options).

    boxes: list of Box in recording order; edges: list of (from key, to key, label);
    clusters: dotted module path -> its label ("Linear 0"), for every module holding boxes
    and their ancestors; note: a sentence to print above the drawing (a summary), or "".
    """

    def __init__(self, root, model=None, module=None, collapse=(), compact=None,
                 group_modules=False, intermediate_grads=False, show_data=True,
                 show_grad=True, max_nodes=500):
        if not isinstance(root, Node):
            raise TypeError(f"draw_graph: root must be a Value or Tensor, got "
                            f"{type(root).__name__}")
        self.root = root
        self.nodes = walk(root, data_inputs=False)
        self.compact = (type(root).__name__ != "Value") if compact is None else bool(compact)
        self.show_data, self.show_grad = show_data, show_grad
        self.group = bool(group_modules)
        self.note = ""
        self._model = model
        self._param = {}            # id(parameter) -> dotted name
        self._path = {}             # id(module) -> dotted path ('' for the model itself)
        if model is not None:
            if not hasattr(model, "named_modules"):
                raise TypeError(f"draw_graph: model must be an nn.Module, got "
                                f"{type(model).__name__}")
            self._param = {id(p): name for name, p in model.named_parameters()}
            self._path = {id(m): name for name, m in model.named_modules()}
        self._labels = {}           # path -> label
        self._anon = {}             # id(module) -> path, for modules outside the model
        self._module = {id(n): self._module_of(n) for n in self.nodes}
        self._grads = self._gradients(intermediate_grads)
        zoom = self._as_path(module, "module") if module is not None else None
        if zoom is not None and zoom not in self._labels:
            known = ", ".join(repr(p) for p in sorted(self._labels)) or "none"
            raise ValueError(f"draw_graph: no op of this graph was made in module {zoom!r} "
                             f"(modules with ops here: {known})")
        if collapse is True:
            collapse = sorted({p.split(".")[0] for p in self._labels})
        collapse = [self._as_path(c, "collapse") for c in (collapse or ())]
        if len(self.nodes) > max_nodes and zoom is None:
            if not self._labels:
                raise ValueError(
                    f"draw_graph: the graph has {len(self.nodes)} values, more than "
                    f"max_nodes={max_nodes}. Draw a smaller part (e.g. one neuron), or raise "
                    f"the cap with draw_graph(root, max_nodes={len(self.nodes)}) (Graphviz "
                    f"gets slow past a few thousand nodes).")
            collapse = sorted({p.split(".")[0] for p in self._labels})
            example = collapse[0]
            self.note = (f"{len(self.nodes)} values, more than max_nodes={max_nodes}: each "
                         f"top-level module is drawn as one box. Zoom into one with "
                         f"draw_graph(root, model=model, module={example!r}).")
        self._build(zoom, collapse)
        if self.note and len(self.boxes) > max_nodes:
            raise ValueError(
                f"draw_graph: the graph has {len(self.nodes)} values and still "
                f"{len(self.boxes)} boxes with its modules collapsed, more than max_nodes="
                f"{max_nodes}; draw one module with draw_graph(root, model=model, "
                f"module=...), or raise the cap")

    # ------------------------------------------------------------------ modules and names
    def _module_of(self, n):
        """The dotted path of the module that made node n (None: top level)."""
        if n._op is None:
            name = self._param.get(id(n))
            if name is None or "." not in name:
                return None
            path = name.rsplit(".", 1)[0]
            self._label_path(path)
            return path
        ref = getattr(n, "_module", None)
        m = ref() if ref is not None else None
        if m is None:
            return None
        path = self._path.get(id(m))
        if path is None:
            path = self._anon.get(id(m))
            if path is None:
                # a module outside the model (a loss), or no model given: named by its class,
                # numbered when several modules share one
                cls = type(m).__name__
                count = sum(1 for p in self._anon.values() if p.split("#")[0] == cls)
                path = cls if count == 0 else f"{cls}#{count + 1}"
                self._anon[id(m)] = path
                self._labels[path] = path.replace("#", " #")
            return path
        if path == "":
            return None             # the model's own forward: its ops are the whole drawing
        self._label_path(path)
        return path

    def _label_path(self, path):
        """Label the module at `path` and its ancestors: "Linear 0", "Sequential encoder"."""
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            p = ".".join(parts[:i])
            if p in self._labels:
                break
            m = self._find_module(p)
            self._labels[p] = f"{type(m).__name__} {p}" if m is not None else p

    def _find_module(self, path):
        if self._model is None:
            return None
        for name, m in self._model.named_modules():
            if name == path:
                return m
        return None

    def _as_path(self, m, option):
        if isinstance(m, str):
            return m
        if id(m) in self._path:
            return self._path[id(m)]
        if id(m) in self._anon:
            return self._anon[id(m)]
        raise ValueError(f"draw_graph: {option}= takes a module's dotted name from "
                         f"model.named_modules() (or the module itself, when model= is given), "
                         f"got {type(m).__name__}")

    def param_name(self, n):
        return self._param.get(id(n))

    # ------------------------------------------------------------------ gradients
    def _gradients(self, intermediate):
        """id -> gradient to show: .grad where the engine kept one (every Value; Tensor
        leaves; retained intermediates), or with intermediate_grads=True d(root)/d(node) for
        every node, from one replay of the backward pass that leaves .grad alone."""
        if not intermediate:
            out = {}
            for n in self.nodes:
                if n.requires_grad and n.grad is not None:
                    out[id(n)] = _raw(n.grad)
            return out
        found = {}

        def take(node, g):
            found[id(node)] = g

        try:
            run_backward(self.root, self.root._seed(None), True, False, take)
        except RuntimeError as e:
            if "second time" not in str(e):
                raise
            raise RuntimeError(
                "draw_graph(intermediate_grads=True) replays the backward pass, which needs "
                "the graph's saved values: draw before root.backward(), or call "
                "root.backward(retain_graph=True)") from None
        return found

    # ------------------------------------------------------------------ boxes and edges
    def _build(self, zoom, collapse):
        self.boxes, self.edges = [], []
        key = {}                        # id(node) -> key of the box that stands for it
        inside = _within(zoom)
        groups = {}                     # collapsed path -> its Box
        folded = set()                  # ids of scalar constants written into their op's box
        box_of = {}
        order = self.nodes
        counts = {}                     # module path -> ops it made (one op: named by module)
        for n in order:
            if n._op is not None:
                m = self._module[id(n)]
                counts[m] = counts.get(m, 0) + 1

        def add(box):
            self.boxes.append(box)
            box_of[box.key] = box
            return box

        def collapsed(path):
            for c in collapse:
                if path is not None and (path == c or path.startswith(c + ".")):
                    return c
            return None

        uses = {}                       # id(node) -> number of ops reading it
        for n in order:
            for p in operands(n, False):
                uses[id(p)] = uses.get(id(p), 0) + 1
        for k, n in enumerate(order):
            m = self._module[id(n)]
            leaf = n._op is None
            if zoom is not None and not inside(m) and not (leaf and self._feeds(n, inside)):
                continue
            c = collapsed(m)
            if c is not None:
                box = groups.get(c)
                if box is None:
                    box = groups[c] = add(Box(f"m{len(groups)}", "module", [self._labels[c]],
                                              _parent(c) if self.group else None))
                    box.grad = []
                self._merge(box, n)
                key[id(n)] = box.key
                continue
            if self.compact and leaf and not n.requires_grad and _is_scalar(n._data) and \
                    not n.label:
                folded.add(id(n))       # a number: written into the op that reads it
                continue
            if not self.compact and not leaf:
                add(self._circle(n, k, m))
            box = add(self._box(n, k, m, counts))
            key[id(n)] = box.key
            if not self.compact and not leaf:
                self.edges.append((f"v{k}_op", box.key, ""))
            if n is self.root:
                box.root = True
        for box in groups.values():
            grads = [g for g in box.grad if g is not None]
            box.grad = max(grads, key=_magnitude) if grads else None
            box.lines += self._module_lines(box)
        # edges, and the values that cross the zoomed module's border as stubs
        seen = set()
        for k, n in enumerate(order):
            if n._op is None or id(n) not in key:
                continue
            dst = key[id(n)]
            if not self.compact and box_of[dst].kind != "module":
                dst = f"v{k}_op"
            consts = []
            for p in operands(n, False):
                if id(p) in folded:
                    consts.append(_fmt_scalar(p._data))
                    continue
                src = key.get(id(p))
                if src is None:         # made outside the zoomed module
                    src = f"s{k}_{len(self.edges)}"
                    add(Box(src, "stub", [f"from {self._where(p)}"], dashed=True))
                if src == key[id(n)]:
                    continue            # inside one collapsed module
                label = _shape_text(p) if self.compact and p._op is not None else ""
                edge = (src, dst, label)
                if box_of[key[id(n)]].kind == "module" or box_of.get(src).kind == "module":
                    if edge in seen:
                        continue
                    seen.add(edge)
                self.edges.append(edge)
            if consts and self.compact:
                box = box_of[key[id(n)]]
                if box.kind == "op":
                    box.lines[0] = _with_consts(n, box.lines[0], consts)
        if zoom is not None:
            for k, n in enumerate(order):
                if id(n) not in key:
                    continue
                for user in self._users(n):
                    if id(user) not in key and id(user) not in folded:
                        s = add(Box(f"t{k}_{len(self.edges)}", "stub",
                                    [f"to {self._where(user)}"], dashed=True))
                        self.edges.append((key[id(n)], s.key, _shape_text(n)
                                           if self.compact else ""))
            self.note = self.note or f"module {zoom!r} ({self._labels[zoom]}) alone"
        self.clusters = {}
        if self.group:
            for box in self.boxes:
                p = box.module
                while p is not None and p not in self.clusters:
                    self.clusters[p] = self._labels.get(p, p)
                    p = _parent(p)

    def _feeds(self, n, inside):
        """Whether leaf n is read by an op of the zoomed module."""
        return any(inside(self._module[id(u)]) for u in self._users(n))

    def _users(self, n):
        users = getattr(self, "_user_map", None)
        if users is None:
            users = self._user_map = {}
            for m in self.nodes:
                for p in operands(m, False):
                    users.setdefault(id(p), [])
                    if not users[id(p)] or users[id(p)][-1] is not m:
                        users[id(p)].append(m)
        return users.get(id(n), [])

    def _where(self, n):
        m = self._module[id(n)]
        name = self._labels.get(m, "") if m is not None else ""
        what = n._op.name if n._op is not None else (n.label or "input")
        return f"{name}: {what}" if name else what

    def _box(self, n, k, m, counts):
        grad = self._grads.get(id(n)) if self.show_grad and n.requires_grad else None
        name = self.param_name(n)
        cluster = m if self.group else None
        if not self.compact:
            lines = []
            label = name or n.label
            if label:
                lines.append(label)
            if self.show_data:
                lines.append("data " + _fmt(n._data))
            if self.show_grad and n.requires_grad and (grad is not None or n.grad is not None
                                                        or not n._op):
                lines.append(_grad_text(grad))
            kind = "value" if n._op is not None else ("const" if not n.requires_grad
                                                     else "leaf")
            return Box(f"v{k}", kind, lines or [" "], cluster, grad,
                       dashed=not n.requires_grad, record=True)
        shape = _shape_text(n)
        if n._op is None:
            if name is not None:
                kind, head = "param", f"{name} {shape}"
            elif n.requires_grad:
                kind, head = "leaf", f"{n.label or 'leaf'} {shape}"
            else:
                kind = "input" if n.label or not _is_scalar(n._data) else "const"
                head = f"{n.label or 'input'} {shape}" if kind == "input" else _fmt(n._data)
            lines = [head]
        else:
            kind = "op"
            mlabel = self._labels.get(m) if m is not None else None
            if mlabel is None:
                head = n._op.name
            elif self.group or counts.get(m, 0) > 1:
                head = n._op.name if self.group else f"{mlabel}: {n._op.name}"
            else:
                head = mlabel
            lines = [head]
            if n.label:
                lines[0] = f"{n.label} = {head}"
            if n is self.root or shape == "()":
                if self.show_data and np.size(n._data) == 1:
                    lines.append(f"= {_fmt(n._data)}")
                elif n is self.root:
                    lines.append(shape)
        if grad is not None:
            lines.append(_grad_text(grad))
        return Box(f"v{k}", kind, lines, cluster, grad, shape=shape,
                   dashed=kind in ("input", "const"))

    def _circle(self, n, k, m):
        """The op of a value in the expanded layout: its symbol, and the module that made it
        when clusters do not say so."""
        lines = [n._op.symbol]
        if m is not None and not self.group:
            lines.append(self._labels[m])
        return Box(f"v{k}_op", "circle", lines, m if self.group else None)

    def _merge(self, box, n):
        """Fold node n into the collapsed module's box: its parameters and gradients."""
        name = self.param_name(n)
        if name is not None:
            box.lines.append(f"{name} {_shape_text(n)}")
        if n.requires_grad and n._op is None:
            box.grad.append(self._grads.get(id(n)) if self.show_grad else None)

    def _module_lines(self, box):
        params = box.lines[1:]
        del box.lines[1:]
        lines = []
        if len(params) > 3:
            lines.append(f"{len(params)} parameter tensors")
        else:
            lines += params
        if box.grad is not None:
            lines.append(_grad_text(box.grad))
        return lines

    # ------------------------------------------------------------------ layout
    def rankdir(self, max_width_px):
        """LR when the graph fits `max_width_px` laid out left to right, else the narrower of
        LR and TB. An estimate from the boxes' text and a longest-path layering (how `dot`
        ranks a graph), so that no layout has to run twice."""
        preds = {b.key: [] for b in self.boxes}
        for src, dst, _ in self.edges:
            if dst in preds and src in preds:
                preds[dst].append(src)
        rank = {}
        for key in _topological([b.key for b in self.boxes], preds):
            ps = [rank[p] for p in preds[key] if p in rank]
            rank[key] = 1 + max(ps) if ps else 0
        # dot keeps edges short: a leaf sits one rank before its first reader, not at rank 0
        first = {}
        for src, dst, _ in self.edges:
            if not preds.get(src) and dst in rank:
                first[src] = min(first.get(src, rank[dst]), rank[dst])
        for key, r in first.items():
            rank[key] = max(r - 1, 0)
        width = {b.key: _text_width(b) for b in self.boxes}
        ranks = {}
        for key, r in rank.items():
            ranks.setdefault(r, []).append(key)
        if not ranks:
            return "LR"
        lr = sum(max(width[k] for k in ks) for ks in ranks.values()) + 36.0 * (len(ranks) - 1)
        tb = max(sum(width[k] for k in ks) + 18.0 * (len(ks) - 1) for ks in ranks.values())
        if lr * 4 / 3 <= max_width_px or lr <= tb:
            return "LR"
        return "TB"


def _topological(keys, preds):
    """Keys with every key after its predecessors (Kahn's algorithm, no recursion), ties and
    cycles (a collapsed module read and written around an outside op) in the given order."""
    succs = {k: [] for k in keys}
    missing = {k: 0 for k in keys}
    for k in keys:
        for p in preds[k]:
            succs[p].append(k)
            missing[k] += 1
    out, done = [], set()
    position = {k: i for i, k in enumerate(keys)}
    ready = [k for k in keys if missing[k] == 0]
    while len(out) < len(keys):
        if not ready:           # a cycle: take the earliest key left
            ready = [min((k for k in keys if k not in done), key=position.get)]
        ready.sort(key=position.get, reverse=True)
        k = ready.pop()
        if k in done:
            continue
        done.add(k)
        out.append(k)
        for s in succs[k]:
            missing[s] -= 1
            if missing[s] == 0 and s not in done:
                ready.append(s)
    return out


def _text_width(box):
    """Points a box's label takes at 11 pt Helvetica (about 6 pt a character), padded: a
    record's fields side by side, other boxes' lines stacked."""
    if box.kind == "circle":
        return max(22.0, 6.0 * max(len(t) for t in box.lines) + 10.0)
    if box.record:
        return sum(6.0 * len(t) + 16.0 for t in box.lines)
    return 6.0 * max(len(t) for t in box.lines) + 20.0


def _within(zoom):
    if zoom is None:
        return lambda path: True
    return lambda path: path is not None and (path == zoom or path.startswith(zoom + "."))


def _parent(path):
    return path.rsplit(".", 1)[0] if path is not None and "." in path else None


def _is_scalar(x):
    return not isinstance(x, np.ndarray) or x.size == 1


def _shape_text(n):
    shape = np.shape(n._data)
    return "()" if shape == () else str(tuple(shape))


def _fmt(x):
    if x is None:
        return "none"
    if isinstance(x, (np.ndarray, np.generic)):
        if x.size == 1:
            return f"{x.item():.4g}"
        return f"{x.dtype} {tuple(x.shape)}"
    return f"{x:.4g}"


def _fmt_scalar(x):
    return f"{np.asarray(x).item():.4g}"


def _with_consts(n, head, consts):
    """An op's box with the numbers it reads: `* 2`, `pow 3`, `Linear 0: add 1`."""
    sym = _INFIX.get(n._op.name)
    tail = " ".join(consts)
    if sym is not None and head.endswith(n._op.name):
        return f"{head[:-len(n._op.name)]}{sym} {tail}"
    return f"{head} {tail}"


def _magnitude(g):
    if g is None:
        return -1.0
    a = np.abs(np.asarray(g, dtype=np.float64))
    return float(a.max()) if a.size else 0.0


def _raw(g):
    """A gradient as the engine holds it: a float, or an array (a Tensor's .grad is a Tensor)."""
    return g._data if isinstance(g, Node) else g


def _grad_text(g):
    """`grad 0.5` for one number; |grad| max and mean for an array; `grad none` without."""
    if g is None:
        return "grad none"
    if isinstance(g, (np.ndarray, np.generic)) and np.size(g) > 1:
        a = np.abs(np.asarray(g, dtype=np.float64))
        return f"|grad| max {a.max():.3g} mean {a.mean():.3g}"
    return f"grad {float(np.asarray(g).item() if isinstance(g, np.ndarray) else g):.4g}"

