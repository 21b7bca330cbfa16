"""The pytest plugin (entry point `tapegrad`), run inside pytest's own `pytester`."""
import re
from importlib.metadata import entry_points

import pytest

FAKE_OPS = """
import numpy as np
import pytest
from autograd import Tensor
from autograd.ops import REAL, Op


def sin_op(factor):
    return Op("my_sin", None, lambda c, a: np.sin(a),
              (lambda xp, g, out, c, a: factor * (g * xp.cos(a)),), (REAL,), "sin")


def x():
    return Tensor(np.linspace(-1.0, 1.0, 4), dtype=np.float64, requires_grad=True)
"""


def _plugin_args():
    """The entry point loads the plugin; name it explicitly only if the package lacks it."""
    names = {e.name for e in entry_points(group="pytest11")}
    # hypothesis: its plugin re-imports the whole library inside every inner run (3 s each)
    quiet = ["-p", "no:hypothesispytest"]
    return quiet if "tapegrad" in names else quiet + ["-p", "autograd.pytest_plugin"]


def test_entry_point_is_registered():
    eps = [e for e in entry_points(group="pytest11") if e.name == "tapegrad"]
    assert eps and eps[0].value == "autograd.pytest_plugin", (
        "reinstall the project (pip install -e .) so the pytest11 entry point is registered")


def test_failing_gradient_prints_the_table(pytester):
    pytester.makepyfile(FAKE_OPS + """

def test_wrong_backward(gradcheck):
    gradcheck(lambda a: sin_op(-1.0)(a), x())


def test_right_backward(gradcheck):
    assert gradcheck(lambda a: sin_op(1.0)(a), x())
""")
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*assert_gradients_close failed: 4 of 4 gradient elements*",
        "*worst first*",
        "*input*element*analytical*numerical*error*",
        "*input 0*",
    ])
    # the traceback is cut at the test's line: no frames of autograd itself
    assert "autograd/gradcheck.py:" not in result.stdout.str()
    assert "def assert_gradients_close" not in result.stdout.str()


def test_marker_sets_tolerances(pytester):
    pytester.makepyfile(FAKE_OPS + """

@pytest.mark.gradcheck(rtol=0.1, atol=1e-4)
def test_loose(gradcheck):
    assert gradcheck.tolerances == {"rtol": 0.1, "atol": 1e-4}
    gradcheck(lambda a: sin_op(1.02)(a), x())


def test_default(gradcheck):
    assert gradcheck.tolerances == {}
    gradcheck(lambda a: sin_op(1.02)(a), x())


@pytest.mark.gradcheck(rtol=0.1)
def test_call_overrides_marker(gradcheck):
    gradcheck(lambda a: sin_op(1.02)(a), x(), rtol=1e-3)
""")
    result = pytester.runpytest("--strict-markers", *_plugin_args())
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*test_default*", "*rtol=0.001*"])


FAKE_MODULE = """
import numpy as np
import pytest
import nn
from autograd import Tensor
from autograd.ops import REAL, Op

DW = {"right": lambda xp, g, x, w: 2.0 * g * x * w,
      "wrong factor": lambda xp, g, x, w: 2.1 * g * x * w,
      "wrong sign": lambda xp, g, x, w: -2.0 * g * x * w}
DB = {"right": lambda g: g,                        # the engine sums it over the batch
      "one broadcast slice": lambda g: g[:1],
      "divided by the batch size": lambda g: g.mean(axis=0)}


class Quad(nn.Module):
    # x * w^2 + b through a user-defined op row with the VJPs under test
    def __init__(self, dw, db):
        super().__init__()
        rng = np.random.default_rng(3)
        self.weight = nn.Parameter(rng.uniform(0.5, 1.5, 3))
        self.bias = nn.Parameter(rng.standard_normal(3))
        self.op = Op("quad", None, lambda c, x, w, b: x * w * w + b,
                     (lambda xp, g, out, c, x, w, b: g * w * w,
                      lambda xp, g, out, c, x, w, b: DW[dw](xp, g, x, w),
                      lambda xp, g, out, c, x, w, b: DB[db](g)), (REAL,) * 3, "x * w^2 + b")

    def forward(self, x):
        return self.op(x, self.weight, self.bias).tanh()


@pytest.mark.parametrize("dw, db", [(dw, "right") for dw in DW] +
                         [("right", db) for db in DB if db != "right"])
def test_module(gradcheck, dw, db):
    m = Quad(dw, db)
    x = Tensor(np.random.default_rng(4).uniform(-2.0, 2.0, (4, 3)), dtype=np.float64)
    # the fixture perturbs the parameters in place; the module reads them
    gradcheck(lambda *_: (m(x) * m(x)).sum(), list(m.parameters()))
"""


def test_wrong_parameter_vjps_of_a_module_fail(pytester):
    """Every wrong parameter VJP (factor, sign, broadcast reduction done by hand) fails with the
    table of the wrong parameter's 3 elements; the right module passes."""
    pytester.makepyfile(FAKE_MODULE)
    result = pytester.runpytest("-rA", "-vv", *_plugin_args())
    result.assert_outcomes(failed=4, passed=1)
    out = result.stdout.str()
    test = "test_wrong_parameter_vjps_of_a_module_fail.py::test_module"
    assert f"PASSED {test}[right-right]" in out
    for case, wrong in (("wrong factor-right", "input 0"), ("wrong sign-right", "input 0"),
                        ("right-one broadcast slice", "input 1"),
                        ("right-divided by the batch size", "input 1")):
        assert (f"FAILED {test}[{case}] - autograd.gradcheck.GradcheckError: "
                f"assert_gradients_close failed: 3 of 6 gradient elements") in out, case
        section = out.split(f"_ test_module[{case}] _")[1].split("_ test_module[")[0]
        rows = re.findall(r"^E\s+(input \d+)\s", section, flags=re.M)   # the table's rows
        assert rows == [wrong] * 3, section


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers", *_plugin_args())
    result.stdout.fnmatch_lines(["@pytest.mark.gradcheck(*atol*rtol*"])


def test_bad_marker_arguments_are_named(pytester):
    pytester.makepyfile(FAKE_OPS + """

@pytest.mark.gradcheck(tolerance=0.1)
def test_typo(gradcheck):
    pass
""")
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown argument(s) tolerance*"])


def test_fixture_is_available_here(gradcheck):
    """The plugin is active in this project's own suite too."""
    from autograd import Value
    assert gradcheck(lambda a: a.tanh() * a, Value(0.3))


if __name__ == "__main__":       # pragma: no cover
    pytest.main([__file__])
