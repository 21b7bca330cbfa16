"""`python -m autograd.demo` (`make demo`): backpropagation through one neuron, by hand.

    o = tanh(x1 w1 + x2 w2 + b)

Builds the neuron from `Value`s inside a `Tape`, prints the tape (the Wengert list), runs
backward step by step, prints every gradient next to its closed form and writes the graph as
SVG (or as DOT text when Graphviz's `dot` is missing).
"""
import argparse
import math
import os

from .draw import INSTALL_HINT, dot_available, draw_graph, render_svg
from .tape import Tape
from .value import Value


def neuron_demo(out_dir="demo_output", print_fn=print):
    """The neuron of micrograd's lecture (chosen so that o = tanh(0.8814) = 0.7071).

    Returns the path of the drawing it wrote (neuron.svg, or neuron.dot without Graphviz).
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    with Tape() as tape:
        x1w1 = x1 * w1
        x2w2 = x2 * w2
        n = x1w1 + x2w2 + b
        o = n.tanh()
    x1w1.label, x2w2.label, n.label, o.label = "x1*w1", "x2*w2", "n", "o"

    print_fn("Forward: o = tanh(x1*w1 + x2*w2 + b)\n")
    print_fn(tape)
    print_fn("")
    print_fn(tape.backward(o))

    # closed forms: do/dn = 1 - o^2, and n is linear in each input
    dn = 1.0 - o._data ** 2
    expected = {"x1": dn * w1._data, "w1": dn * x1._data, "x2": dn * w2._data,
                "w2": dn * x2._data, "b": dn}
    print_fn("\nGradients (do/dleaf), with the chain rule by hand: do/dn = 1 - o^2 = "
             f"{dn:.6g}")
    for leaf in (x1, w1, x2, w2, b):
        closed = expected[leaf.label]
        ok = "ok" if math.isclose(leaf.grad, closed, rel_tol=1e-12, abs_tol=1e-15) else "WRONG"
        print_fn(f"  {leaf.label:>2}.grad = {leaf.grad:+.6f}   closed form {closed:+.6f}  {ok}")

    os.makedirs(out_dir, exist_ok=True)
    if dot_available():
        path = render_svg(o, os.path.join(out_dir, "neuron.svg"))
    else:
        path = os.path.join(out_dir, "neuron.dot")
        with open(path, "w") as f:
            f.write(draw_graph(o).source)
        print_fn("\n" + INSTALL_HINT)
    print_fn(f"\nGraph written to {path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default="demo_output", help="where drawings are written")
    args = parser.parse_args(argv)
    neuron_demo(args.out_dir)


if __name__ == "__main__":
    main()
