"""The README's examples run as written: every ```python block, in order, in one namespace
(later blocks build on earlier ones, as a reader typing them in would), in a scratch folder for
the files they write."""
import pathlib
import re

import matplotlib
import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_examples():
    assert len(_blocks()) >= 10


def test_every_readme_example_runs(tmp_path, monkeypatch, capsys):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    for k, block in enumerate(_blocks()):
        try:
            exec(compile(block, f"README.md python block {k}", "exec"), namespace)
        except Exception as e:      # noqa: BLE001  the failing block is the message
            pytest.fail(f"README block {k} raised {type(e).__name__}: {e}\n---\n{block}")
    out = capsys.readouterr().out
    assert "Value(data=0.707107, grad=1)" in out          # the neuron's printed result
    assert (tmp_path / "stepper.html").exists() and (tmp_path / "neuron.svg").exists()
