"""pytest plugin of tapegrad (registered through the `pytest11` entry point `tapegrad`).

    @pytest.mark.gradcheck(atol=1e-6, rtol=1e-4)        # optional: tolerances for this test
    def test_my_layer(gradcheck):
        x = Tensor(np.ones(3), dtype=np.float64, requires_grad=True)
        gradcheck(lambda a: my_layer(a), x)

The `gradcheck` fixture is `autograd.testing.assert_gradients_close` with the marker's eps, atol,
rtol and seed as defaults (keyword arguments of a call override them). A failure shows in
pytest's report as the table of failing elements, worst first, with the traceback cut at the
test's own line.

PYTEST_DONT_REWRITE (no asserts here; pytest imports this module before it could rewrite it)
"""
import pytest

from .testing import assert_gradients_close

_TOLERANCES = ("eps", "atol", "rtol", "seed")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gradcheck(eps=1e-6, atol=1e-5, rtol=1e-3, seed=0): tolerances of the "
        "tapegrad `gradcheck` fixture for this test")


def _marker_tolerances(node):
    marker = node.get_closest_marker("gradcheck")
    if marker is None:
        return {}
    if marker.args:
        raise TypeError(f"@pytest.mark.gradcheck takes keyword arguments only "
                        f"({', '.join(_TOLERANCES)}), got positional {marker.args!r}")
    unknown = sorted(set(marker.kwargs) - set(_TOLERANCES))
    if unknown:
        raise TypeError(f"@pytest.mark.gradcheck: unknown argument(s) {', '.join(unknown)}; "
                        f"use {', '.join(_TOLERANCES)}")
    return dict(marker.kwargs)


@pytest.fixture
def gradcheck(request):
    """check(fn, inputs, **tolerances): assert_gradients_close with this test's tolerances."""
    defaults = _marker_tolerances(request.node)

    def check(fn, inputs, **tolerances):
        __tracebackhide__ = True
        assert_gradients_close(fn, inputs, **{**defaults, **tolerances})
        return True

    check.tolerances = defaults
    return check

