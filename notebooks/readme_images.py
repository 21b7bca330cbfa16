"""Remake the README's pictures of the backprop stepper and of a grouped model graph.

    .venv/bin/python notebooks/readme_images.py      # writes notebooks/img/*.png

The stepper is photographed by headless Chromium (tests/browser.py) at a backward step of
micrograd's neuron; the model graph is rendered by Graphviz at one notebook column's width.
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

import browser  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd import Tensor, Value, draw_graph, explore  # noqa: E402

IMG = HERE / "img"


def stepper(path, step=12):
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    page = explore(o).save(IMG / "_stepper.html")
    with browser.chromium(816, 1200) as d:
        d.get(Path(page).as_uri())
        frame = d.find_element("css selector", "iframe")
        d.switch_to.frame(frame)
        for _ in range(step):
            d.find_element("id", "tg-next").click()
        d.switch_to.default_content()
        frame.screenshot(str(path))
    Path(page).unlink()
    return path


def model_graph(path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    x = Tensor(rng.normal(size=(16, 4)).astype(np.float32), label="x")
    loss = F.cross_entropy(model(x), rng.integers(0, 3, 16))
    loss.backward()
    dot = draw_graph(loss, model=model, group_modules=True, color_by_grad=True)
    path.write_bytes(dot.pipe(format="png"))
    return path


if __name__ == "__main__":
    print(stepper(IMG / "stepper.png"))
    print(model_graph(IMG / "model_graph.png"))
