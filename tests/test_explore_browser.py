"""The backprop stepper in a real browser: headless Chromium opens the HTML that a notebook
shows, clicks through every forward and backward step of a neuron, reads the numbers on the
page and checks them against the engine's gradients; then the same through nbconvert's HTML
export (what `make notebooks` writes). Screenshots of every step go to a temporary directory,
or to $TAPEGRAD_SCREENSHOTS when it is set.

Needs Debian's chromium and chromium-driver (`make test` installs them); without them the
tests skip, except under CI (CI=true), where a missing browser is a failure.
"""
import importlib.util
import os
from pathlib import Path

import pytest

import browser
from autograd import Value, explore
from autograd.draw import _grad_colour
from autograd.engine import walk

_why = browser.missing() or (None if __import__("shutil").which("dot") else "no Graphviz dot")
if _why and os.environ.get("CI"):
    raise RuntimeError(f"browser tests cannot run under CI: {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


@pytest.fixture(scope="module")
def driver():
    with browser.chromium(900, 1200) as d:
        yield d


@pytest.fixture
def shots(tmp_path):
    path = Path(os.environ.get("TAPEGRAD_SCREENSHOTS") or tmp_path / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _by_id(d, name):
    from selenium.webdriver.common.by import By
    return d.find_element(By.ID, name)


def _css(d, sel):
    from selenium.webdriver.common.by import By
    return d.find_element(By.CSS_SELECTOR, sel)


def _enter_stepper(d, url):
    """Open url, check the host page shows the stepper (not its static twin), switch into it."""
    from selenium.webdriver.support.ui import WebDriverWait
    d.get(url)
    frame = _css(d, "iframe.tapegrad-explore-frame")
    d.switch_to.frame(frame)
    WebDriverWait(d, 10).until(lambda d: d.find_element("tag name", "body")
                               .get_attribute("data-ready") == "1")
    d.switch_to.default_content()
    static = d.execute_script("return getComputedStyle(document.querySelector("
                              "'.tapegrad-explore-static')).display")
    assert static == "none", "the stepper ran but its static twin is still shown"
    assert frame.size["height"] > 300, "the iframe was not sized to its content"
    d.switch_to.frame(frame)
    return frame


def _panel(d):
    """The numbers the panel shows, by field."""
    return {el.get_attribute("data-k"): el.text
            for el in d.find_elements("css selector", "#tg-detail td[data-k]")}


def _svg_texts(d, k):
    return [t.text for t in d.find_elements("css selector", f"#n{k} text")]


def test_click_through_every_step(driver, tmp_path, shots):
    o = neuron()
    ex = explore(o)
    page = ex.save(tmp_path / "stepper.html")
    frame = _enter_stepper(driver, page.as_uri())
    d = driver
    F, B = len(ex.forward), len(ex.backward)
    assert d.find_element("tag name", "body").get_attribute("data-step") == "0"
    assert _by_id(d, "tg-prev").get_attribute("disabled")

    def shot(step):
        d.switch_to.default_content()
        _css(d, ".tapegrad-explore").screenshot(str(shots / f"neuron_step{step:02d}.png"))
        d.switch_to.frame(frame)

    shot(0)
    # forward: each op's value appears when its step comes, later ones stay pending
    for s, f in enumerate(ex.forward, 1):
        _by_id(d, "tg-next").click()
        assert d.find_element("tag name", "body").get_attribute("data-step") == str(s)
        panel = _panel(d)
        assert panel["forward"] == f["text"] and panel["value"] == f["value"]
        k = f["node"]
        assert _svg_texts(d, k)[1] == ex.nodes[k]["data"]
        assert "tg-cur" in _css(d, f"#o{k}").get_attribute("class")
        for later in ex.forward[s:]:
            assert "tg-pending" in _css(d, f"#n{later['node']}").get_attribute("class")
            assert _svg_texts(d, later["node"])[1] == "data ?"
        shot(s)
    # the seed
    _by_id(d, "tg-next").click()
    assert _panel(d) == {"seed": "1"}
    assert _svg_texts(d, ex.seed["node"])[2] == "grad 1"
    shot(F + 1)
    # backward: every edge's chain rule, the figures read off the page
    shown = {}
    for b, e in enumerate(ex.backward, 1):
        _by_id(d, "tg-next").click()
        panel = _panel(d)
        local, up, contrib = (float(panel[k]) for k in ("local", "upstream", "contribution"))
        assert contrib == pytest.approx(up * local, rel=1e-5, abs=1e-12)
        assert panel["accumulated"] == e["row"]["accumulated"]
        shown[e["row"]["input"]] = float(panel["accumulated"])
        assert _svg_texts(d, e["input"])[2] == e["grad"]
        note = _by_id(d, "tg-note").text
        assert f"grad so far = {e['row']['accumulated']}" in note and "upstream" in note
        assert _css(d, "#tg-rows tr.tg-cur").get_attribute("data-step") == str(b)
        assert "tg-cur" in _css(d, f"#{e['edge']}").get_attribute("class")
        shot(F + 1 + b)
    assert _by_id(d, "tg-next").get_attribute("disabled")

    # the engine's own backward gives the figures the page showed, and the colours
    o.backward()
    graph = walk(o)
    for k, node in enumerate(graph):
        if not node.requires_grad:
            continue
        name = ex.nodes[k]["long"]
        if node is not o:
            assert shown[name] == pytest.approx(node.grad, rel=1e-5, abs=1e-12), name
        box = _css(d, f"#n{k}")
        assert box.get_attribute("data-final") == "1"
        fill = _css(d, f"#n{k} polygon").get_attribute("fill")
        assert fill == _grad_colour(node.grad)[0], name

    # keys and the slider move too
    from selenium.webdriver.common.keys import Keys
    body = d.find_element("tag name", "body")
    body.send_keys(Keys.HOME)
    assert body.get_attribute("data-step") == "0"
    assert all(_svg_texts(d, f["node"])[1] == "data ?" for f in ex.forward)
    body.send_keys(Keys.END)
    body.send_keys(Keys.ARROW_LEFT)
    assert body.get_attribute("data-step") == str(F + B)
    d.switch_to.default_content()


def _load_runner():
    spec = importlib.util.spec_from_file_location("notebooks_run", NOTEBOOKS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_survives_nbconvert_html_export(driver, tmp_path, shots):
    """The notebook output, exported as `make notebooks` does, still steps in a browser."""
    import nbformat
    o = neuron()
    ex = explore(o)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("autograd.explore(o)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": ex._repr_html_(), "text/plain": repr(ex)})]
    nb.cells.append(cell)
    page = _load_runner().render_html(nb, tmp_path / "exported.html")
    frame = _enter_stepper(driver, page.as_uri())
    _by_id(driver, "tg-last").click()
    last = ex.backward[-1]
    assert _panel(driver)["accumulated"] == last["row"]["accumulated"]
    driver.switch_to.default_content()
    _css(driver, ".tapegrad-explore").screenshot(str(shots / "exported_last.png"))
    o.backward()
    w1 = next(n for n in walk(o) if n.label == "w1")
    assert last["row"]["input"] == "w1" and float(last["row"]["accumulated"]) == \
        pytest.approx(w1.grad, rel=1e-5)
    assert frame.size["height"] > 300
