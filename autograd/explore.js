// tapegrad's backprop stepper (autograd/explore.py). Plain DOM calls only: no innerHTML and no
// eval, so a page that enforces Trusted Types (VS Code's notebook webview) runs it as it is.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tg-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var F = D.forward.length, B = D.backward.length, LAST = F + 1 + B;
  var svg = document.querySelector("#graph svg");
  var canvas = svg.querySelector("g.graph");
  var step = 0, timer = null;

  function byId(id) { return document.getElementById(id); }

  var nodes = D.nodes.map(function (info, k) {
    var g = byId("n" + k);
    return { info: info, g: g, box: g.querySelector("polygon"), texts: g.querySelectorAll("text"),
             op: byId("o" + k), out: byId("f" + k) };
  });
  // the edges into each op, by node index
  var inEdges = D.nodes.map(function () { return []; });
  D.forward.forEach(function (f) {
    f.inputs.forEach(function (_, i) { inEdges[f.node].push(byId("e" + f.node + "_" + i)); });
  });

  function setText(el, text) { if (el && el.textContent !== text) { el.textContent = text; } }
  function mark(el, cls, on) { if (el) { el.classList.toggle(cls, !!on); } }

  // ------------------------------------------------------------------ the graph at a step
  function paintNodes(fwdDone, b) {
    var grad = {};
    if (b >= 0) {
      grad[D.root] = D.seed.grad;
      for (var j = 0; j < b; j++) { grad[D.backward[j].input] = D.backward[j].grad; }
    }
    nodes.forEach(function (n, k) {
      var info = n.info, pending = info.fwd > fwdDone;
      [n.g, n.op, n.out].concat(inEdges[k]).forEach(function (el) { mark(el, "tg-pending", pending); });
      if (info.const) { return; }
      setText(n.texts[0], info.long);
      setText(n.texts[1], pending ? "data ?" : info.data);
      setText(n.texts[2], grad[k] === undefined ? "grad ?" : grad[k]);
      var final = b >= 0 && info.final >= 0 && info.final <= b;
      n.box.setAttribute("fill", final && info.fill ? info.fill : "white");
      for (var t = 0; t < n.texts.length; t++) {
        n.texts[t].setAttribute("fill", final && info.font ? info.font : "black");
      }
      mark(n.g, "tg-partial", grad[k] !== undefined && !final);
      n.g.setAttribute("data-final", final ? "1" : "0");
    });
  }

  function clearMarks() {
    ["tg-cur", "tg-src", "tg-dst"].forEach(function (cls) {
      Array.prototype.forEach.call(document.querySelectorAll("." + cls), function (el) {
        el.classList.remove(cls);
      });
    });
    var note = byId("tg-note");
    if (note) { note.parentNode.removeChild(note); }
  }

  // The chain rule of one edge, written beside it: of four places around the edge's middle,
  // the one that hides the least of the nodes and stays inside the drawing.
  var boxes = null;
  function nodeBoxes() {
    if (boxes === null) {
      boxes = Array.prototype.map.call(canvas.querySelectorAll("g.node"), function (g) {
        return g.getBBox();
      });
    }
    return boxes;
  }
  function overlap(a, b) {
    var w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
    var h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
    return w > 0 && h > 0 ? w * h : 0;
  }
  function annotate(e) {
    var group = byId(e.edge), path = group && group.querySelector("path");
    if (!path) { return; }
    var r = e.row, node = D.nodes[e.node].name, input = D.nodes[e.input].name;
    var lines = [["local \u2202" + node + "/\u2202" + input + " = " + r.local, false],
                 ["upstream \u2202" + D.rootName + "/\u2202" + node + " = " + r.upstream, false],
                 ["product = " + r.contribution, false],
                 [input + " grad so far = " + r.accumulated, true]];
    if (D.columns.indexOf("local") < 0) { lines.shift(); }
    var mid = path.getPointAtLength(path.getTotalLength() / 2);
    var g = document.createElementNS(SVGNS, "g");
    g.setAttribute("id", "tg-note");
    g.setAttribute("class", "tg-note");
    var rect = document.createElementNS(SVGNS, "rect");
    g.appendChild(rect);
    lines.forEach(function (line, i) {
      var t = document.createElementNS(SVGNS, "text");
      t.setAttribute("x", 0);
      t.setAttribute("y", i * 13);
      if (line[1]) { t.setAttribute("class", "tg-strong"); }
      t.textContent = line[0];
      g.appendChild(t);
    });
    canvas.appendChild(g);
    var bb = g.getBBox(), pad = 4;
    rect.setAttribute("x", bb.x - pad);
    rect.setAttribute("y", bb.y - pad);
    rect.setAttribute("width", bb.width + 2 * pad);
    rect.setAttribute("height", bb.height + 2 * pad);
    rect.setAttribute("rx", 3);
    var w = bb.width + 2 * pad, h = bb.height + 2 * pad, gap = 10;
    // the canvas group is translated by (4, height - 4): the drawing spans these coordinates
    var view = svg.viewBox.baseVal, x0 = -4, y0 = -(view.height - 4);
    var x1 = view.width - 4, y1 = 4;
    var best = null;
    [[gap, -gap - h], [-gap - w, -gap - h], [gap, gap], [-gap - w, gap],
     [gap, -h / 2], [-gap - w, -h / 2]].forEach(function (d) {
      var box = { x: mid.x + d[0], y: mid.y + d[1], width: w, height: h };
      // inside the drawing: shifted there when it sticks out
      box.x = Math.max(x0, Math.min(box.x, x1 - w));
      box.y = Math.max(y0, Math.min(box.y, y1 - h));
      var cost = nodeBoxes().reduce(function (sum, n) { return sum + overlap(box, n); }, 0);
      if (best === null || cost < best.cost) { best = { cost: cost, box: box }; }
    });
    var dx = best.box.x - (bb.x - pad), dy = best.box.y - (bb.y - pad);
    g.setAttribute("transform", "translate(" + dx + "," + dy + ")");
  }

  // ------------------------------------------------------------------ the panel
  function detail(rows) {
    var table = byId("tg-detail");
    while (table.firstChild) { table.removeChild(table.firstChild); }
    rows.forEach(function (r) {
      var tr = document.createElement("tr"), a = document.createElement("td");
      var b = document.createElement("td");
      a.textContent = r[1];
      b.textContent = r[2];
      b.setAttribute("data-k", r[0]);
      tr.appendChild(a);
      tr.appendChild(b);
      table.appendChild(tr);
    });
  }

  function panel(fwdDone, b) {
    var title, rows = [];
    if (step === 0) {
      title = "Start: the inputs and parameters are known. Step forward through the " + F +
              " recorded ops, then backward through the " + B + " edges.";
    } else if (b < 0) {
      var f = D.forward[step - 1];
      title = "Forward " + step + " of " + F + ": the engine records op '" + f.op + "'";
      rows = [["forward", "computes", f.text], ["value", "value", f.value]];
    } else if (b === 0) {
      title = "Backward starts at the output: d" + D.rootName + "/d" + D.rootName + " = " +
              D.seed.text + " (the seed); the tape is replayed in reverse";
      rows = [["seed", "seed", D.seed.text]];
    } else {
      var e = D.backward[b - 1], r = e.row;
      title = "Backward " + b + " of " + B + ": chain rule on the edge " + r.input + " \u2192 " +
              r.node + (b === B ? " (last step: every gradient is final)" : "");
      rows = [["node", "node", r.node + " = " + r.op], ["input", "input", r.input]];
      if (D.columns.indexOf("local") >= 0) {
        rows.push(["local", "local d(node)/d(input)", r.local]);
      }
      rows.push(["upstream", "upstream d(" + D.rootName + ")/d(node)", r.upstream]);
      rows.push(["contribution", "contribution = upstream \u00d7 local", r.contribution]);
      rows.push(["accumulated", "input grad so far", r.accumulated]);
    }
    setText(byId("tg-title"), title);
    detail(rows);
  }

  function buildRows() {
    var box = byId("tg-rows"), table = document.createElement("table");
    var cap = document.createElement("caption"), head = document.createElement("tr");
    var heads = { local: "local d(node)/d(input)", upstream: "upstream d(root)/d(node)",
                  accumulated: "input grad so far" };
    cap.textContent = D.title;
    table.appendChild(cap);
    D.columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = heads[c] || c;
      head.appendChild(th);
    });
    var thead = document.createElement("thead"), tbody = document.createElement("tbody");
    thead.appendChild(head);
    table.appendChild(thead);
    D.backward.forEach(function (e, j) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-step", j + 1);
      D.columns.forEach(function (c) {
        var td = document.createElement("td");
        td.textContent = e.row[c];
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { go(F + 2 + j); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    box.appendChild(table);
  }

  function markRows(b) {
    var box = byId("tg-rows");
    Array.prototype.forEach.call(box.querySelectorAll("tbody tr"), function (tr, j) {
      tr.className = j + 1 === b ? "tg-cur" : (j + 1 < b ? "tg-done" : "tg-todo");
      if (j + 1 === b) {
        // scroll the table only: scrollIntoView would scroll the notebook page as well
        var top = tr.offsetTop - box.clientHeight / 2;
        box.scrollTop = Math.max(0, top);
      }
    });
  }

  // ------------------------------------------------------------------ stepping
  function render() {
    var fwdDone = Math.min(step, F), b = step - F - 1;
    clearMarks();
    paintNodes(fwdDone, b);
    if (step >= 1 && step <= F) {
      var k = D.forward[step - 1].node, n = nodes[k];
      [n.g, n.op, n.out].concat(inEdges[k]).forEach(function (el) { mark(el, "tg-cur", true); });
    } else if (b === 0) {
      mark(nodes[D.root].g, "tg-cur", true);
    } else if (b > 0) {
      var e = D.backward[b - 1];
      mark(byId(e.edge), "tg-cur", true);
      mark(nodes[e.node].g, "tg-src", true);
      mark(nodes[e.input].g, "tg-dst", true);
      annotate(e);
    }
    panel(fwdDone, b);
    markRows(b);
    byId("tg-slider").value = step;
    var phase = step <= F ? "forward " + fwdDone + "/" + F : "backward " + b + "/" + B;
    setText(byId("tg-pos"), "step " + step + "/" + LAST + " \u00b7 " + phase);
    byId("tg-first").disabled = byId("tg-prev").disabled = step === 0;
    byId("tg-last").disabled = byId("tg-next").disabled = step === LAST;
    document.body.setAttribute("data-step", step);
    fit();
  }

  function go(s) {
    step = Math.max(0, Math.min(LAST, s));
    if (step === LAST) { stop(); }
    render();
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    setText(byId("tg-play"), "play");
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (step === LAST) { step = 0; }
    setText(byId("tg-play"), "pause");
    timer = setInterval(function () { go(step + 1); }, 900);
  }

  // ------------------------------------------------------------------ the host page
  var frame = null;
  try { frame = window.frameElement; } catch (err) { frame = null; }   // cross-origin host
  function fit() {
    if (frame) { frame.style.height = document.documentElement.scrollHeight + 2 + "px"; }
  }
  if (frame && frame.parentNode) {
    // the stepper runs: hide the static copy shown where scripts do not
    var twin = frame.parentNode.querySelector(".tapegrad-explore-static");
    if (twin) { twin.style.display = "none"; }
  }

  byId("tg-first").addEventListener("click", function () { stop(); go(0); });
  byId("tg-prev").addEventListener("click", function () { stop(); go(step - 1); });
  byId("tg-next").addEventListener("click", function () { stop(); go(step + 1); });
  byId("tg-last").addEventListener("click", function () { stop(); go(LAST); });
  byId("tg-play").addEventListener("click", play);
  var slider = byId("tg-slider");
  slider.max = LAST;
  slider.addEventListener("input", function () { stop(); go(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (ev) {
    var keys = { ArrowRight: 1, ArrowLeft: -1 };
    if (ev.key in keys) { stop(); go(step + keys[ev.key]); ev.preventDefault(); }
    else if (ev.key === "Home") { stop(); go(0); ev.preventDefault(); }
    else if (ev.key === "End") { stop(); go(LAST); ev.preventDefault(); }
    else if (ev.key === " ") { play(); ev.preventDefault(); }
  });
  window.addEventListener("resize", fit);
  buildRows();
  render();
  document.body.setAttribute("data-ready", "1");
}());
