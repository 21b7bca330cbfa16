"""`make demo` runs nn.demo: it must train, report its accuracy and write the files it names."""
import os

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_demo_trains_digits_and_writes_its_pictures(tmp_path, capsys):
    from nn import demo

    acc = demo.main(["--out-dir", str(tmp_path), "--epochs", "30"])
    out = capsys.readouterr().out
    assert acc >= 0.95
    assert "Test accuracy" in out
    for name in ("loss_curve.png", "confusion_matrix.png"):
        path = os.path.join(str(tmp_path), name)
        assert path in out and os.path.getsize(path) > 1000
    graph = [line.strip() for line in out.splitlines() if "neuron_graph" in line]
    assert graph and os.path.getsize(graph[0]) > 1000


def test_neuron_graph_shows_nonzero_gradients():
    import numpy as np

    from nn import demo

    model, _, _, _, (x_test, _) = demo.train_digits(epochs=2, progress=False)
    source = demo.neuron_graph(model, x_test[0]).source
    assert "relu" in source
    assert "grad 0.0" not in source.replace("grad 0.0 ", "")
    assert np.isfinite(model[0].weight.data).all()
