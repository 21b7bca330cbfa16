"""Execute the primer notebooks top to bottom, and optionally render them to HTML.

    python notebooks/run.py                      # every notebooks/NN_*.ipynb
    python notebooks/run.py 01 03_perceptron     # a selection (prefix or file name)
    python notebooks/run.py --html notebooks/html
    python notebooks/run.py --figures /tmp/figs   # every figure as a PNG, to look at
    python notebooks/run.py --seed-offset 1       # every seed of every notebook shifted by 1

Each notebook runs in a fresh python3 kernel of this interpreter with the working directory
`notebooks/`, matplotlib's headless inline backend and plain-text tqdm bars. The first failing
cell stops the run with the notebook's name, the cell's number, its source and its error.
The notebooks on disk are never modified: they are committed without outputs.

Seeds: every notebook takes its seeds as `SEED + k` with `SEED` from `teaching.py`, which reads
TAPEGRAD_SEED_OFFSET (0 by default). A claim that holds only for the committed seeds fails
under `--seed-offset 1` or `2`: run those before trusting a new assertion. tests/test_notebooks.py
runs every notebook with the committed seeds and shifted by 1 (TAPEGRAD_TEST_SEED_OFFSET).
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_TIMEOUT = 600          # seconds per cell: generous, a slow CI machine must not flake
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(RuntimeError):
    """A notebook cell raised: the message names the notebook, the cell and the error."""

    def __init__(self, name, cell_index, source, ename, evalue, traceback):
        self.name, self.cell_index, self.ename, self.evalue = name, cell_index, ename, evalue
        # nbclient's traceback text already holds the cell's source; a timeout has none
        if source and source not in traceback:
            traceback = "\n".join("    " + line for line in source.splitlines()[:12]) + \
                "\n" + traceback
        super().__init__(f"notebook {name}: code cell {cell_index} raised {ename}: {evalue}\n"
                         f"{traceback}")


def notebook_paths(names=()):
    """The numbered notebooks (`NN_*.ipynb`) in order, or those matching `names` (a file name,
    a path, or a prefix such as `03` or `03_perceptron`)."""
    every = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [p for p in every if p.stem == stem or p.stem.startswith(stem)]
        if not hits:
            raise FileNotFoundError(f"no notebook matches {name!r}; there are: "
                                    + ", ".join(p.name for p in every))
        chosen += [p for p in hits if p not in chosen]
    return chosen


def kernel_env(seed_offset=0):
    """The environment of the notebook kernel: headless matplotlib, plain tqdm bars, no widget
    front end (sliders show one setting), the seed offset, and the project importable even
    without `pip install -e .`."""
    env = dict(os.environ)
    env["TAPEGRAD_SEED_OFFSET"] = str(int(seed_offset))
    env["TAPEGRAD_HEADLESS"] = "1"
    # Headless either way; the inline backend (not Agg) also sends each figure to the notebook
    # as a PNG, so the HTML pages have their pictures. Agg would show nothing.
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["TQDM_MININTERVAL"] = "1"     # fewer redraws: a readable bar in the saved output
    env["TQDM_NCOLS"] = "90"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # The notebooks' matrices are small: a second BLAS thread buys nothing, and when the other
    # core is busy (CI runs tests beside the kernel) its spin-waits made them 10x slower.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _strip(text):
    return _ANSI.sub("", text)


def execute_notebook(path, timeout=CELL_TIMEOUT, seed_offset=0):
    """Run the notebook at `path` in a fresh kernel and return the executed notebook (a
    NotebookNode); the file is left as it is. Raises NotebookError at the first failing cell.
    `seed_offset` shifts every seed the notebook draws (see the module docstring)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    # "python3" resolves to this interpreter: jupyter_client swaps a kernel argv of `python`
    # for sys.executable, so the kernel sees the same venv as the caller.
    # The kernel's own log (a warning about its TCP transport at every start) is not the
    # notebook's output: keep it off the runner's stderr.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                            resources={"metadata": {"path": str(HERE)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:
        client.execute(env=kernel_env(seed_offset), cwd=str(HERE))
    except (CellExecutionError, CellTimeoutError) as e:
        index, cell = _failed_cell(nb)
        if isinstance(e, CellTimeoutError):
            ename, evalue, tb = "CellTimeoutError", f"cell ran longer than {timeout} s", ""
        else:
            ename, evalue = getattr(e, "ename", type(e).__name__), getattr(e, "evalue", str(e))
            tb = _strip(getattr(e, "traceback", "") or str(e))
        raise NotebookError(path.name, index, cell.source if cell else "", ename, evalue,
                            tb) from None
    return nb


def _failed_cell(nb):
    """(index among code cells counting from 1, cell) of the cell holding an error output,
    else of the last cell that started executing."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, c in enumerate(code, 1):
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            return i, c
    started = [(i, c) for i, c in enumerate(code, 1) if c.get("execution_count")]
    return started[-1] if started else (0, None)


def render_html(nb, out_path):
    """Write an executed notebook as a standalone HTML page (pictures embedded)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(body, encoding="utf-8")
    return out_path


def save_figures(nb, out_dir, stem):
    """Write every PNG the executed notebook shows as `stem_cellNN_K.png` (NN counts code cells
    from 1); returns the paths."""
    import base64

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code, 1):
        k = 0
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                k += 1
                path = out_dir / f"{stem}_cell{i:02d}_{k}.png"
                path.write_bytes(base64.b64decode(png))
                paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all NN_*.ipynb)")
    parser.add_argument("--html", metavar="DIR", help="render each executed notebook here")
    parser.add_argument("--figures", metavar="DIR", help="write every figure here as a PNG")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="N",
                        help="shift every seed of the notebooks by N (default 0)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds per cell (default {CELL_TIMEOUT})")
    args = parser.parse_args(argv)
    paths = notebook_paths(args.names)
    if not paths:
        print("no notebooks found in", HERE)
        return 1
    failed = []
    for path in paths:
        start = time.perf_counter()
        try:
            nb = execute_notebook(path, args.timeout, args.seed_offset)
        except NotebookError as e:
            print(f"FAIL {path.name} ({time.perf_counter() - start:.1f} s)\n{e}", flush=True)
            failed.append(path.name)
            continue
        line = f"ok   {path.name} ({time.perf_counter() - start:.1f} s)"
        if args.html:
            out = render_html(nb, Path(args.html) / (path.stem + ".html"))
            line += f" -> {out}"
        if args.figures:
            line += f", {len(save_figures(nb, args.figures, path.stem))} figures"
        print(line, flush=True)
    if failed:
        print(f"{len(failed)} of {len(paths)} notebooks failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
