"""Every primer notebook runs top to bottom (its asserts are the tests), and is stored clean."""
import importlib.util
import json
import os
import re
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


def output_noise(nb):
    """What a reader should not see in an executed notebook's outputs: terminal escape codes,
    warnings, widget views (they show nothing in a static page)."""
    noise = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code, 1):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = out.get("text", "") + "".join(data.get("text/plain", ""))
            if "\x1b[" in text:
                noise.append(f"code cell {i}: a terminal escape code")
            if re.search(r"\w+Warning\b", text):
                noise.append(f"code cell {i}: a warning: {text.strip()[:300]}")
            if "application/vnd.jupyter.widget-view+json" in data:
                noise.append(f"code cell {i}: a widget, which a static page cannot show")
    return noise


# Every notebook runs twice: with the committed seeds, and with every seed shifted (a claim that
# holds for one lucky seed fails there). TAPEGRAD_TEST_SEED_OFFSET picks the shift (default 1;
# `python notebooks/run.py --seed-offset 2` tries another by hand).
SHIFTED = int(os.environ.get("TAPEGRAD_TEST_SEED_OFFSET", "1"))
RUNS = [(p, offset) for offset in sorted({0, SHIFTED}) for p in PATHS]


def _workers():
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _execute(path, offset):
    try:
        return run.execute_notebook(path, seed_offset=offset)
    except run.NotebookError as e:
        return e


@pytest.fixture(scope="module")
def executed(request):
    """{(notebook path, seed offset): executed notebook or its NotebookError} for the runs this
    session selected, executed up front on one kernel per core (each kernel is a process and
    uses one BLAS thread, so the runs do not slow each other down)."""
    from concurrent.futures import ThreadPoolExecutor

    wanted = [tuple(item.callspec.params[k] for k in ("path", "seed_offset"))
              for item in request.session.items
              if getattr(item, "originalname", "") == "test_notebook_runs"]
    # the longest notebooks first, so that no core waits on one alone at the end
    wanted.sort(key=lambda run_: -run_[0].stat().st_size)
    with ThreadPoolExecutor(_workers()) as pool:
        futures = {run_: pool.submit(_execute, *run_) for run_ in wanted}
        return {run_: f.result() for run_, f in futures.items()}


@pytest.mark.parametrize("path,seed_offset", RUNS,
                         ids=[f"{p.stem}-seeds+{offset}" for p, offset in RUNS])
def test_notebook_runs(path, seed_offset, executed):
    nb = executed[path, seed_offset]
    if isinstance(nb, run.NotebookError):
        pytest.fail(f"with seed offset {seed_offset}: {nb}", pytrace=False)
    noise = output_noise(nb)
    assert not noise, f"{path.name}:\n" + "\n".join(noise)


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


# ---------------------------------------------------------------------------------------------
# exercises: every notebook ends with exercises whose checkers can say "right" and "not right
# yet"; the reference answers are in notebooks/answers/<notebook>.py
ANSWERS = NOTEBOOKS / "answers"
_ANSWER_CELL = re.compile(r"# Exercise (\d+\.\d+): your answer")
_SECTION = re.compile(r"^# %% Exercise (\d+\.\d+)( wrong)?[ \t]*$", re.M)


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def exercise_section(path):
    """Sources of the notebook's first code cell (its imports) and of every code cell from its
    first '## Exercise' heading on: the part a learner works in, runnable on its own."""
    cells = _cells(path)
    sources = ["".join(c["source"]) for c in cells]
    start = next((i for i, (c, s) in enumerate(zip(cells, sources))
                  if c["cell_type"] == "markdown" and s.lstrip().startswith("## Exercise")), None)
    if start is None:
        return None
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    return [sources[code[0]]] + [sources[i] for i in code if i >= start and i != code[0]]


def answer_sections(path):
    """{exercise id: source} and {exercise id: wrong source} from notebooks/answers/."""
    text = (ANSWERS / (path.stem + ".py")).read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    right, wrong = {}, {}
    for ex, is_wrong, body in zip(parts[1::3], parts[2::3], parts[3::3]):
        (wrong if is_wrong else right)[ex] = body.strip("\n") + "\n"
    return right, wrong


def answer_id(source):
    match = _ANSWER_CELL.match(source)
    return match.group(1) if match else None


def run_exercises(sources, monkeypatch):
    """Execute cell sources in one fresh namespace in this process, as the notebook would run
    them headless; returns {exercise: status of its last verdict}."""
    import warnings

    import matplotlib.pyplot as plt

    monkeypatch.syspath_prepend(str(NOTEBOOKS))
    monkeypatch.chdir(NOTEBOOKS)
    monkeypatch.setenv("TAPEGRAD_HEADLESS", "1")
    import exercise_checks

    exercise_checks.LOG.clear()
    namespace = {"__name__": "__main__"}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            for k, source in enumerate(sources):
                exec(compile(source, f"<exercise cell {k}>", "exec"), namespace)
    finally:
        plt.close("all")
    return {v.exercise: v.status for v in exercise_checks.LOG}


WITH_EXERCISES = [p for p in PATHS if exercise_section(p) is not None]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_ends_with_exercises_and_their_answers(path):
    sources = exercise_section(path)
    assert sources is not None, f"{path.name}: no '## Exercises' section"
    ids = [answer_id(s) for s in sources if answer_id(s)]
    assert len(ids) >= 3, f"{path.name}: {len(ids)} answer cells, want at least 3"
    assert (ANSWERS / (path.stem + ".py")).exists(), f"no answers/{path.stem}.py"
    right, _ = answer_sections(path)
    missing = [ex for ex in ids if ex not in right]
    assert not missing, f"{path.name}: no reference answer for exercises {missing}"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_exercises_as_shipped_are_unanswered_or_broken(path, monkeypatch):
    verdicts = run_exercises(exercise_section(path), monkeypatch)
    ids = [answer_id(s) for s in exercise_section(path) if answer_id(s)]
    assert set(ids) <= set(verdicts), f"exercises without a checker call: {set(ids) - set(verdicts)}"
    assert "right" not in verdicts.values(), f"a checker accepts the unanswered cell: {verdicts}"
    assert "not right yet" in verdicts.values(), "no broken cell for the learner to fix"
    assert "not answered yet" in verdicts.values(), "no question for the learner to answer"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_reference_answers_are_right(path, monkeypatch):
    right, _ = answer_sections(path)
    sources = [right.get(answer_id(s), s) for s in exercise_section(path)]
    verdicts = run_exercises(sources, monkeypatch)
    assert verdicts and set(verdicts.values()) == {"right"}, verdicts


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_wrong_answers_are_caught(path, monkeypatch):
    # a checker that cannot fail is caught here: each exercise gets a wrong answer (its own
    # wrong section, or the cell as shipped when that is a broken cell to fix)
    _, wrong = answer_sections(path)
    sources = [wrong.get(answer_id(s), s) for s in exercise_section(path)]
    verdicts = run_exercises(sources, monkeypatch)
    assert verdicts and set(verdicts.values()) == {"not right yet"}, verdicts


def test_seed_offset_reaches_the_notebook(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from teaching import SEED\nassert SEED == 3, SEED")]
    path = tmp_path / "97_seed.ipynb"
    nbformat.write(nb, path)
    run.execute_notebook(path, timeout=120, seed_offset=3)
    with pytest.raises(run.NotebookError, match="AssertionError"):
        run.execute_notebook(path, timeout=120)


def _teaching(monkeypatch):
    monkeypatch.syspath_prepend(str(NOTEBOOKS))
    import teaching
    return teaching


def test_spread_and_its_two_standard_errors(monkeypatch):
    teaching = _teaching(monkeypatch)
    s = teaching.Spread([0.90, 0.92, 0.91, 0.93, 0.89])
    assert s.n == 5 and abs(s.mean - 0.91) < 1e-12 and (s.lo, s.hi) == (0.89, 0.93)
    assert abs(s.std - 0.0158113883) < 1e-9 and abs(s.sem - s.std / 5 ** 0.5) < 1e-15
    assert f"{s:.2f}" == "0.91 +- 0.02 (0.89..0.93)"
    assert teaching.Spread([0.01, 0.012, 0.009, 0.011, 0.01]).clearly_positive()
    assert not teaching.Spread([0.02, -0.015, 0.01, -0.01, 0.005]).clearly_positive()
    assert not teaching.Spread([-0.01, -0.012, -0.009]).clearly_positive()
    with pytest.raises(ValueError):
        teaching.Spread([])


def test_explore_headless_calls_once_with_the_start_values(monkeypatch, capsys):
    teaching = _teaching(monkeypatch)
    monkeypatch.setenv("TAPEGRAD_HEADLESS", "1")
    seen = []
    result = teaching.explore(lambda lr, mode, w: seen.append((lr, mode, w)) or "done",
                              lr={"log": (0.1, 0.001, 1.0)}, mode=["sgd", "adam"],
                              w=(1.5, -5.0, 5.0, 0.1))
    assert seen == [(0.1, "sgd", 1.5)] and result == "done"
    assert "static output" in capsys.readouterr().out


def test_explore_live_gives_one_widget_per_parameter(monkeypatch):
    # in Jupyter the same call is ipywidgets.interact, with a widget per parameter that starts
    # at the value the headless run shows
    ipywidgets = pytest.importorskip("ipywidgets")
    teaching = _teaching(monkeypatch)
    monkeypatch.setattr(teaching, "_live_kernel", lambda: True)
    seen = {}
    monkeypatch.setattr(ipywidgets, "interact", lambda fn, **widgets: seen.update(widgets))
    result = teaching.explore(lambda lr, p, n, mode: None, lr={"log": (0.6, 0.01, 1.5)},
                              p=(0.5, 0.0, 0.9, 0.05), n=(3, 1, 10, 1), mode=["sgd", "adam"])
    assert result is None
    kinds = {name: (type(w).__name__, w.value) for name, w in seen.items()}
    assert kinds["p"] == ("FloatSlider", 0.5) and kinds["n"] == ("IntSlider", 3)
    assert kinds["mode"] == ("Dropdown", "sgd")
    assert kinds["lr"][0] == "FloatLogSlider" and abs(kinds["lr"][1] - 0.6) < 1e-9
    # a logarithmic slider moves over log10 of the value
    assert seen["lr"].min == pytest.approx(-2.0) and seen["lr"].max == pytest.approx(0.1760913)
