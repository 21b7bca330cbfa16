"""Padding modules, pixel and channel shuffles, fold and unfold against torch: values and
gradients in float32 and float64, reprs, torch's errors, and a float64 gradcheck of each."""
import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor, gradcheck

torch = pytest.importorskip("torch")
from torch_surface import raises_as_torch_does  # noqa: E402
TF = torch.nn.functional
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
DTYPES = [np.float64, np.float32]


def _check(ours_fn, torch_fn, x, dtype, seed=0):
    """ours_fn(Tensor) against torch_fn(tensor): value, and the gradient of a projection."""
    x = np.asarray(x, dtype=dtype)
    xo, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    out, ref = ours_fn(xo), torch_fn(xt)
    assert out.dtype == dtype and tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL[dtype])
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    (out * Tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


PADS = [
    ("ZeroPad1d(2)", (2, 3, 4)), ("ZeroPad1d((1, 3))", (3, 4)), ("ZeroPad1d((0, 2))", (2, 2, 3, 4)),
    ("ZeroPad2d(1)", (2, 3, 4, 5)), ("ZeroPad2d((1, 0, 2, 3))", (3, 4, 5)),
    ("ConstantPad1d(2, 3.5)", (2, 3, 4)), ("ConstantPad1d((0, 1), -1)", (3, 4)),
    ("ConstantPad2d((1, 2, 0, 1), 0.25)", (2, 3, 4, 5)),
    ("ReflectionPad1d(2)", (2, 3, 4)), ("ReflectionPad1d((3, 1))", (3, 4)),
    ("ReflectionPad2d(1)", (2, 3, 4, 5)), ("ReflectionPad2d((2, 1, 0, 3))", (3, 4, 5)),
    ("ReplicationPad1d(3)", (2, 3, 4)), ("ReplicationPad1d((0, 5))", (3, 4)),
    ("ReplicationPad2d((1, 2, 3, 0))", (2, 3, 4, 5)), ("ReplicationPad2d(2)", (3, 4, 5)),
    ("CircularPad1d(2)", (2, 3, 4)), ("CircularPad1d((4, 1))", (3, 4)),
    ("CircularPad2d((1, 2, 3, 0))", (2, 3, 4, 5)), ("CircularPad2d(1)", (3, 4, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make, shape", PADS, ids=[m for m, _ in PADS])
def test_padding_modules_match_torch(make, shape, dtype):
    ours, theirs = eval(f"nn.{make}"), eval(f"torch.nn.{make}")
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    _check(ours, theirs, _x(*shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pad, shape", [((-1, 2), (3, 4)), ((-1, 2, 1, -2), (3, 4)),
                                        ((0, -4), (2, 4)), ((-2, -1, 0, 0), (2, 3, 5)),
                                        ("ZeroPad2d(-1)", (2, 3, 4, 5))])
def test_negative_constant_padding_crops_as_torch(pad, shape, dtype):
    """A negative width crops that side (torch narrows; F.pad refused it), values and
    gradients as torch's; a crop past the other side is torch's error."""
    if isinstance(pad, str):
        _check(eval(f"nn.{pad}"), eval(f"torch.nn.{pad}"), _x(*shape), dtype)
    else:
        _check(lambda x: F.pad(x, pad, value=0.5), lambda x: TF.pad(x, pad, value=0.5),
               _x(*shape), dtype)
    raises_as_torch_does(lambda: F.pad(Tensor(np.ones((3, 4))), (-3, -2)),
                lambda: TF.pad(torch.ones(3, 4), (-3, -2)))


PAD_ERRORS = [
    ("reflect 1d input", lambda m, t: m.ReflectionPad1d(1)(t(3))),
    ("reflect 4d input", lambda m, t: m.ReflectionPad1d(1)(t(2, 3, 4, 5))),
    ("reflect pad too large", lambda m, t: m.ReflectionPad1d(3)(t(2, 3))),
    ("replicate 2d input", lambda m, t: m.ReplicationPad2d(1)(t(3, 4))),
    ("circular 1d input", lambda m, t: m.CircularPad1d(1)(t(3))),
    ("circular 2d input", lambda m, t: m.CircularPad2d(1)(t(3, 4))),
    ("circular wraps twice", lambda m, t: m.CircularPad1d(4)(t(2, 3))),
]


@pytest.mark.parametrize("name, call", PAD_ERRORS, ids=[n for n, _ in PAD_ERRORS])
def test_padding_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(nn, lambda *s: Tensor(np.ones(s, np.float32))),
                lambda: call(torch.nn, lambda *s: torch.ones(s)))


def test_padding_gradcheck():
    x = Tensor(_x(2, 3, 4), requires_grad=True)
    for m in (nn.ConstantPad1d((1, 2), 0.5), nn.ReflectionPad1d(2), nn.ReplicationPad1d((2, 1)),
              nn.CircularPad1d((3, 1)), nn.ReflectionPad2d((1, 2, 0, 1)),
              nn.ReplicationPad2d(1), nn.CircularPad2d((1, 0, 2, 1)), nn.ZeroPad2d(1)):
        assert gradcheck(m, [x])


# ---------------------------------------------------------------------------------------------
# shuffles
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, r", [((1, 8, 2, 3), 2), ((9, 2, 2), 3), ((2, 2, 4, 1, 3), 2),
                                      ((2, 3, 2, 2), 1)])
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r, dtype):
    x = _x(*shape)
    _check(lambda x: F.pixel_shuffle(x, r), lambda x: TF.pixel_shuffle(x, r), x, dtype)
    _check(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), x, dtype)
    big = TF.pixel_shuffle(torch.tensor(x), r).numpy()
    _check(lambda x: F.pixel_unshuffle(x, r), lambda x: TF.pixel_unshuffle(x, r), big, dtype)
    _check(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), big, dtype)
    out = F.pixel_unshuffle(F.pixel_shuffle(Tensor(x), r), r)
    np.testing.assert_array_equal(out.data, x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 2), ((2, 6, 3), 3), ((1, 8, 2, 2), 4),
                                           ((2, 6, 1, 1, 2), 6), ((2, 4, 3), 1)])
def test_channel_shuffle_matches_torch(shape, groups, dtype):
    x = _x(*shape)
    _check(lambda x: F.channel_shuffle(x, groups), lambda x: TF.channel_shuffle(x, groups), x,
           dtype)
    _check(nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups), x, dtype)


SHUFFLE_ERRORS = [
    ("pixel_shuffle dims", lambda f, t: f.pixel_shuffle(t(2, 3), 2)),
    ("pixel_shuffle channels", lambda f, t: f.pixel_shuffle(t(5, 2, 3), 2)),
    ("pixel_shuffle factor", lambda f, t: f.pixel_shuffle(t(4, 2, 3), 0)),
    ("pixel_unshuffle dims", lambda f, t: f.pixel_unshuffle(t(2, 3), 2)),
    ("pixel_unshuffle height", lambda f, t: f.pixel_unshuffle(t(1, 3, 4), 2)),
    ("pixel_unshuffle width", lambda f, t: f.pixel_unshuffle(t(1, 4, 3), 2)),
    ("pixel_unshuffle factor", lambda f, t: f.pixel_unshuffle(t(1, 4, 4), 0)),
    ("channel_shuffle groups", lambda f, t: f.channel_shuffle(t(2, 6, 3), 4)),
    ("channel_shuffle positive", lambda f, t: f.channel_shuffle(t(2, 6, 3), -1)),
    ("channel_shuffle dims", lambda f, t: f.channel_shuffle(t(2, 6), 2)),
]


@pytest.mark.parametrize("name, call", SHUFFLE_ERRORS, ids=[n for n, _ in SHUFFLE_ERRORS])
def test_shuffle_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s))),
                lambda: call(TF, lambda *s: torch.ones(s)))


def test_shuffles_gradcheck():
    x = Tensor(_x(2, 8, 2, 2), requires_grad=True)
    assert gradcheck(lambda x: F.pixel_shuffle(x, 2), [x])
    assert gradcheck(lambda x: F.pixel_unshuffle(x, 2), [x])
    assert gradcheck(lambda x: F.channel_shuffle(x, 4), [x])


def test_shuffle_reprs_are_torchs():
    for make in ("PixelShuffle(2)", "PixelUnshuffle(3)", "ChannelShuffle(2)", "Unfold(2)",
                 "Unfold((2, 3), dilation=2, padding=1, stride=(1, 2))", "Fold((4, 5), 2)",
                 "Fold(4, (2, 3), 1, 0, 1)"):
        assert repr(eval(f"nn.{make}")) == repr(eval(f"torch.nn.{make}"))


# ---------------------------------------------------------------------------------------------
# fold and unfold
WINDOWS = [
    ((1, 2, 4, 5), dict(kernel_size=2)),
    ((2, 3, 5, 5), dict(kernel_size=(2, 3), stride=(1, 2))),
    ((1, 2, 7, 6), dict(kernel_size=3, dilation=2, padding=1, stride=2)),
    ((2, 1, 5, 4), dict(kernel_size=(3, 1), dilation=(1, 2), padding=(2, 0), stride=(2, 1))),
    ((3, 4, 5), dict(kernel_size=2, padding=1)),           # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kw", WINDOWS, ids=[str(k) for _, k in WINDOWS])
def test_unfold_and_fold_match_torch(shape, kw, dtype):
    x = _x(*shape)
    _check(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), x, dtype)
    _check(nn.Unfold(**kw), torch.nn.Unfold(**kw), x, dtype)
    cols = TF.unfold(torch.tensor(x), **kw).numpy() * 1.5 - 0.5
    size = shape[-2:]
    _check(lambda c: F.fold(c, size, **kw), lambda c: TF.fold(c, size, **kw), cols, dtype)
    _check(nn.Fold(size, **kw), torch.nn.Fold(size, **kw), cols, dtype)


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), c> = <x, fold(c)>: fold sums overlapping blocks back."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    kw = dict(kernel_size=(3, 2), dilation=(2, 1), padding=1, stride=(1, 2))
    u = F.unfold(Tensor(x), **kw)
    c = rng.standard_normal(u.shape)
    lhs = float((u.data * c).sum())
    rhs = float((x * F.fold(Tensor(c), (6, 5), **kw).data).sum())
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


FOLD_ERRORS = [
    ("unfold 5d", lambda f, t: f.unfold(t(1, 2, 3, 4, 5), 2)),
    ("unfold kernel too large", lambda f, t: f.unfold(t(1, 2, 3, 4), 5)),
    ("unfold kernel", lambda f, t: f.unfold(t(1, 2, 3, 4), 0)),
    ("unfold stride", lambda f, t: f.unfold(t(1, 2, 3, 4), 2, stride=0)),
    ("unfold padding", lambda f, t: f.unfold(t(1, 2, 3, 4), 2, padding=-1)),
    ("unfold dilation first", lambda f, t: f.unfold(t(1, 2, 3, 4), 2, 0, -1, 0)),
    ("unfold kernel size length", lambda f, t: f.unfold(t(1, 2, 3, 4), (2, 2, 2))),
    ("fold 4d", lambda f, t: f.fold(t(1, 8, 6, 1), (3, 4), 2)),
    ("fold 1d", lambda f, t: f.fold(t(8), (3, 4), 2)),
    ("fold channels", lambda f, t: f.fold(t(1, 7, 6), (3, 4), 2)),
    ("fold blocks", lambda f, t: f.fold(t(1, 8, 5), (3, 4), 2)),
    ("fold no blocks", lambda f, t: f.fold(t(1, 8, 1), (1, 1), 2)),
    ("fold stride first", lambda f, t: f.fold(t(1, 8, 6), (3, 4), 2, stride=0, dilation=0)),
    ("fold output size length", lambda f, t: f.fold(t(1, 8, 6), (3, 4, 5), 2)),
    ("fold padding", lambda f, t: f.fold(t(1, 8, 6), (3, 4), 2, padding=-1)),
]


@pytest.mark.parametrize("name, call", FOLD_ERRORS, ids=[n for n, _ in FOLD_ERRORS])
def test_fold_errors_are_torchs(name, call):
    raises_as_torch_does(lambda: call(F, lambda *s: Tensor(np.ones(s))),
                lambda: call(TF, lambda *s: torch.ones(s)))


def test_fold_and_unfold_gradcheck_and_second_derivative():
    x = Tensor(_x(1, 2, 5, 4), requires_grad=True)
    kw = dict(kernel_size=2, dilation=(2, 1), padding=1, stride=(2, 1))
    assert gradcheck(lambda x: F.unfold(x, **kw), [x])
    c = Tensor(_x(1, 8, 15), requires_grad=True)
    assert gradcheck(lambda c: F.fold(c, (5, 4), **kw), [c])
    assert gradcheck(lambda c: F.fold(c * c, (5, 4), **kw), [c])
