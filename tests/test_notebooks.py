"""Every primer notebook runs top to bottom (its asserts are the tests), and is stored clean."""
import importlib.util
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("nbformat")

os.environ.setdefault("MPLBACKEND", "Agg")      # this process; kernels get a headless backend
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _load_runner():
    spec = importlib.util.spec_from_file_location("notebooks_run", NOTEBOOKS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load_runner()
PATHS = run.notebook_paths()


def test_there_are_notebooks():
    assert PATHS, f"no NN_*.ipynb notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path):
    try:
        run.execute_notebook(path)
    except run.NotebookError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"], 1)
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs or execution counts; strip "
                       f"them before committing (jupyter nbconvert --clear-output --inplace "
                       f"{path.name})")


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_opens_with_its_questions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = nb["cells"][0]
    text = "".join(first["source"])
    assert first["cell_type"] == "markdown" and "Q" in text and "?" in text, (
        f"{path.name}: the first cell should be markdown listing the primer questions answered")


def test_a_failing_cell_names_notebook_cell_and_error(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# questions?"),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("assert x == 2, 'x should be two'")]
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(run.NotebookError) as info:
        run.execute_notebook(path, timeout=120)
    msg = str(info.value)
    assert "99_broken.ipynb" in msg and "code cell 2" in msg
    assert "AssertionError" in msg and "x should be two" in msg
    assert "\x1b[" not in msg          # no terminal colour codes in the report


def test_html_rendering_embeds_pictures(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")]
    path = tmp_path / "98_plot.ipynb"
    nbformat.write(nb, path)
    out = run.render_html(run.execute_notebook(path, timeout=120), tmp_path / "98_plot.html")
    html = out.read_text(encoding="utf-8")
    assert "data:image/png;base64" in html
    assert json.loads(path.read_text())["cells"][0]["outputs"] == []   # file left clean


def test_selection_by_prefix():
    if not PATHS:
        pytest.skip("no notebooks")
    first = PATHS[0]
    assert run.notebook_paths([first.stem[:2]])[0] == first
    with pytest.raises(FileNotFoundError, match="no notebook matches"):
        run.notebook_paths(["00_does_not_exist"])
