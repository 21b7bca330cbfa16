"""Helpers of the tests/test_torch_surface_*.py modules: run the same expression on tapegrad
and on torch and compare what comes back (values, dtypes, shapes, types, errors).

    same(lambda m: m.arange(5) * 2.5)        # m is autograd, then torch

Imports torch: import it only after `pytest.importorskip("torch")`.
"""
import re

import numpy as np
import pytest
import torch

import autograd
from autograd import Tensor

torch.set_num_threads(2)


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_same(ours, theirs, rtol=1e-6, atol=1e-7, what="result"):
    """ours (tapegrad's) equals theirs (torch's): a tensor of the same dtype, shape, values and
    requires_grad; a tuple / named tuple / list item by item (the same type name for named
    tuples); a number or bool equal; a dtype or Size equal as text."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), f"{what}: {type(ours).__name__}, torch gives a Tensor"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} vs {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), \
            f"{what}: shape {tuple(ours.shape)} vs {tuple(theirs.shape)}"
        assert ours.requires_grad == theirs.requires_grad, f"{what}: requires_grad differs"
        a, b = to_numpy(ours), to_numpy(theirs)
        if a.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b, err_msg=what)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        return
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)), f"{what}: {type(ours).__name__} vs a sequence"
        assert len(ours) == len(theirs), f"{what}: {len(ours)} items vs {len(theirs)}"
        if type(theirs).__module__ == "torch.return_types":
            assert type(ours).__name__ == type(theirs).__name__, what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, rtol, atol, f"{what}[{i}]")
        return
    if isinstance(theirs, (torch.dtype, torch.Size, torch.device)):
        assert str(ours) == str(theirs) and repr(ours) == repr(theirs), \
            f"{what}: {ours!r} vs {theirs!r}"
        return
    if isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=rtol, abs=atol, nan_ok=True), what
        return
    assert type(ours) is type(theirs) and ours == theirs, f"{what}: {ours!r} vs {theirs!r}"


def run_both(expr):
    """expr(autograd) and expr(torch): (ours, theirs), either an exception instance."""
    out = []
    for module in (autograd, torch):
        try:
            out.append(expr(module))
        except Exception as e:        # noqa: BLE001 (the error is what is compared)
            out.append(e)
    return out


def same(expr, rtol=1e-6, atol=1e-7):
    """expr gives the same result on tapegrad and on torch (or the same error)."""
    ours, theirs = run_both(expr)
    if isinstance(theirs, Exception):
        same_error(ours, theirs)
        return ours
    if isinstance(ours, Exception):
        raise ours
    assert_same(ours, theirs, rtol, atol)
    return ours


def same_error(ours, theirs, chars=None):
    """Both raised, the same type (by name, as a program printing type(e).__name__ sees it) and
    the first line of ours starts with torch's first line (up to `chars` characters)."""
    assert isinstance(ours, Exception), f"no error where torch raises {theirs!r}"
    assert isinstance(ours, type(theirs)) or type(ours).__name__ == type(theirs).__name__, \
        f"{type(ours).__name__} vs torch's {type(theirs).__name__}: {ours}"
    first = str(theirs).splitlines()[0] if str(theirs) else ""
    if chars is not None:
        first = first[:chars]
    assert str(ours).splitlines()[0].startswith(first), f"{str(ours)!r} vs torch's {first!r}"


def raises_as_torch_does(ours, theirs):
    """ours() raises what theirs() (torch) raises: its type or a subclass, and the same first
    line of message."""
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(want.type) as got:
        ours()
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]


def raises_like_torch(expr, chars=None):
    """expr raises on both, with torch's type and (the first line of) its message."""
    ours, theirs = run_both(expr)
    assert isinstance(theirs, Exception), f"torch does not raise: {theirs!r}"
    same_error(ours, theirs, chars)


def escape(text):
    return re.escape(text)
