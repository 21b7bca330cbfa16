"""Every loss against torch.nn.functional in float64 to 1e-6: value and input gradient, for
each reduction; modules against functions; the error messages."""
import numpy as np
import pytest

import nn
from autograd import Tensor, Value, grad

F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = dict(rtol=1e-6, atol=1e-9)
REDUCTIONS = ["mean", "sum", "none"]


def _check(ours_fn, torch_fn, x, *rest, grad_rest=()):
    """Compare value and gradient wrt x (and wrt the rest positions in grad_rest)."""
    xo = Tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ro = [Tensor(r, requires_grad=True) if i in grad_rest else r for i, r in enumerate(rest)]
    rt = [torch.tensor(r, requires_grad=i in grad_rest) if isinstance(r, np.ndarray) else r
          for i, r in enumerate(rest)]
    yo, yt = ours_fn(xo, *ro), torch_fn(xt, *rt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), **TOL)
    g = np.random.default_rng(1).normal(size=yo.shape)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL)
    for i in grad_rest:
        np.testing.assert_allclose(ro[i].grad, rt[i].grad.numpy(), **TOL)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction, rng):
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _check(lambda a, b: F.mse_loss(a, b, reduction=reduction), lambda a, b: TF.mse_loss(a, b,
           reduction=reduction), x, t, grad_rest=(0,))
    _check(lambda a, b: F.l1_loss(a, b, reduction=reduction), lambda a, b: TF.l1_loss(a, b,
           reduction=reduction), x, t, grad_rest=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, rng):
    p = rng.uniform(0.02, 0.98, size=(5, 2))
    t = rng.integers(0, 2, size=(5, 2)).astype(np.float64)
    w = rng.uniform(0.5, 2, size=(5, 2))
    _check(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
           lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), p, t)
    _check(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
           lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction=reduction), p, t, w)
    soft = rng.uniform(size=(5, 2))         # soft labels differentiate in torch too
    _check(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
           lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), p, soft,
           grad_rest=(0,))


def test_binary_cross_entropy_log_clamp():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(Tensor(p, requires_grad=True), t, reduction="none")
    theirs = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(ours.data, theirs.numpy())
    np.testing.assert_allclose(ours.data, [100, 100, 0, 0])
    x = Tensor(p, requires_grad=True)
    F.binary_cross_entropy(x, t).backward()
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_gradient_at_the_ends_equals_torch(dtype):
    """Regression: the gradient was the derivative of a where-clamped log (0 at p = 0, t = 1;
    -1e30 at p = 1e-30), torch's is (p - t) / max(p (1 - p), 1e-12) (-1e12 and -1e12).
    Loss, input gradient and target gradient are now bit-identical to torch's."""
    p, t = np.meshgrid([0.0, 1e-30, 1e-13, 0.3, 1 - 1e-13, 1.0], [0.0, 0.3, 1.0])
    p, t = p.ravel().astype(dtype), t.ravel().astype(dtype)
    x, y = Tensor(p.copy(), requires_grad=True), Tensor(t.copy(), requires_grad=True)
    xt, yt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    loss = F.binary_cross_entropy(x, y, reduction="none")
    loss_t = TF.binary_cross_entropy(xt, yt, reduction="none")
    np.testing.assert_array_equal(loss.data, loss_t.detach().numpy())
    loss.sum().backward()
    loss_t.sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    np.testing.assert_array_equal(y.grad, yt.grad.numpy())     # +-inf at p = 0, 1 as torch
    # the audit's cases, rows t = 0 (0..5), 0.3 (6..11), 1 (12..17)
    np.testing.assert_allclose(x.grad[[12, 5, 0, 17, 13]], [-1e12, 1e12, 0, 0, -1e12],
                               rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_weighted_endpoints_match_torch(reduction):
    p = np.array([[0.0, 1e-30, 0.3], [1 - 1e-13, 1.0, 0.7]])
    t = np.array([[1.0, 0.3, 0.0], [0.0, 0.0, 1.0]])
    w = np.array([[0.5, 2.0, 1.5], [3.0, 0.25, 1.0]])
    _check(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
           lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction=reduction), p, t, w)


def test_binary_cross_entropy_second_derivative_matches_torch(rng):
    p, t, w = rng.uniform(0.05, 0.95, 6), rng.uniform(size=6), rng.uniform(0.5, 2, size=6)
    x, y = Tensor(p.copy(), requires_grad=True), Tensor(t.copy(), requires_grad=True)
    xt, yt = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    (gx,) = grad(F.binary_cross_entropy(x, y, w), [x], create_graph=True)
    (gxt,) = torch.autograd.grad(TF.binary_cross_entropy(xt, yt, torch.tensor(w)), xt,
                                 create_graph=True)
    np.testing.assert_allclose(gx.data, gxt.detach().numpy(), **TOL)
    (gx * gx).sum().backward()
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(y.grad, yt.grad.numpy(), **TOL)


def test_binary_cross_entropy_errors():
    # torch raises RuntimeError here, tapegrad has raised ValueError: the error is both
    for exc in (ValueError, RuntimeError):
        with pytest.raises(exc, match=r"between 0 and 1.*probabilities in \[0, 1\].*"
                                      r"with_logits"):
            F.binary_cross_entropy(Tensor(np.array([1.5, 0.2])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"target size \(torch.Size\(\[4\]\)\) that is different "
                                         r"to the input size \(torch.Size\(\[4, 1\]\)\) is "
                                         r"deprecated"):
        F.binary_cross_entropy(Tensor(np.full((4, 1), 0.5)), np.ones(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction, rng):
    x = rng.normal(size=(6, 3)) * 4
    x[0, 0] = 0.0                              # the kink of the max(x, 0) formulation
    t = rng.uniform(size=(6, 3))
    w = rng.uniform(0.5, 2, size=(3,))
    pw = rng.uniform(0.5, 3, size=(3,))
    _check(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
           lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction), x, t,
           grad_rest=(0,))
    _check(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, reduction=reduction,
                                                                       pos_weight=d),
           lambda a, b, c, d: TF.binary_cross_entropy_with_logits(
               a, b, c, reduction=reduction, pos_weight=d), x, t, w, pw)


def test_bce_with_logits_is_stable_at_extreme_logits():
    x = Tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0]), requires_grad=True)
    t = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.data, [0, 0, 1000, 1000])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0, 0, 1, -1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_class_targets(reduction, rng):
    x = rng.normal(size=(7, 4)) * 2
    y = rng.integers(0, 4, size=7)
    y[2] = -100                                   # ignored
    w = rng.uniform(0.5, 2, size=4)
    _check(lambda a: F.cross_entropy(a, y, reduction=reduction),
           lambda a: TF.cross_entropy(a, torch.from_numpy(y), reduction=reduction), x)
    _check(lambda a: F.cross_entropy(a, y, w, reduction=reduction),
           lambda a: TF.cross_entropy(a, torch.from_numpy(y), torch.from_numpy(w),
                                      reduction=reduction), x)
    _check(lambda a: F.nll_loss(a, y, w, reduction=reduction),
           lambda a: TF.nll_loss(a, torch.from_numpy(y), torch.from_numpy(w),
                                 reduction=reduction), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extreme_logits_match_torch(reduction, dtype):
    """A row with a +inf, a row of -infs only (both nan in torch), a -inf target logit (inf)
    and logits of +-1e4 give torch's values and gradients, nan and inf in the same places."""
    x = np.array([[1e4, -1e4, 0.0], [np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf],
                  [-np.inf, 3.0, 1.0], [0.5, -0.5, 2.0]], dtype=dtype)
    y = np.array([0, 1, 2, 0, 2])
    for rows in ([0, 4], [0, 3, 4], [1, 4], [2, 4], list(range(5))):
        xo = Tensor(x[rows], requires_grad=True)
        xt = torch.tensor(x[rows], requires_grad=True)
        yo = F.cross_entropy(xo, y[rows], reduction=reduction)
        yt = TF.cross_entropy(xt, torch.from_numpy(y[rows]), reduction=reduction)
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-6)
        yo.sum().backward() if reduction == "none" else yo.backward()
        yt.sum().backward()
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_of_transposed_logits(reduction, rng):
    """Regression: logits that are a transposed view (F-ordered data) once got a wrong
    gradient at the targets, the VJP's in-place subtraction landing in a copy."""
    x = rng.normal(size=(5, 7))
    y = rng.integers(0, 5, size=7)
    _check(lambda a: F.cross_entropy(a.T, y, reduction=reduction),
           lambda a: TF.cross_entropy(a.T, torch.from_numpy(y), reduction=reduction), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_backward_twice_and_second_derivative(reduction, rng):
    """The VJP reuses the forward's exp(a - m) without changing it: a second backward through
    a retained graph gives the same gradient, and create_graph matches torch's double
    backward."""
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, size=6)
    w = rng.uniform(0.5, 2, size=4)
    for weight in (None, w):
        xo = Tensor(x, requires_grad=True)
        loss = F.cross_entropy(xo, y, weight, reduction=reduction).sum()
        loss.backward(retain_graph=True)
        first = np.array(xo.grad)
        loss.backward()
        np.testing.assert_allclose(xo.grad, 2 * first, rtol=1e-12)
        xt = torch.tensor(x, requires_grad=True)
        wt = None if weight is None else torch.from_numpy(weight)
        (gt,) = torch.autograd.grad(
            TF.cross_entropy(xt, torch.from_numpy(y), wt, reduction=reduction).sum(), xt,
            create_graph=True)
        xo = Tensor(x, requires_grad=True)
        (go,) = grad(F.cross_entropy(xo, y, weight, reduction=reduction).sum(), [xo],
                     create_graph=True)
        np.testing.assert_allclose(go.data, gt.detach().numpy(), **TOL)
        v = rng.normal(size=x.shape)
        (hv,) = grad((go * v).sum(), [xo])
        (hvt,) = torch.autograd.grad((gt * torch.from_numpy(v)).sum(), xt)
        np.testing.assert_allclose(hv.data, hvt.numpy(), **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_1d(reduction, rng):
    x = rng.normal(size=(2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    _check(lambda a: F.cross_entropy(a, y, reduction=reduction),
           lambda a: TF.cross_entropy(a, torch.from_numpy(y), reduction=reduction), x)
    x1 = rng.normal(size=5)
    _check(lambda a: F.cross_entropy(a, np.array(3), reduction=reduction),
           lambda a: TF.cross_entropy(a, torch.tensor(3), reduction=reduction), x1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets(reduction, rng):
    x = rng.normal(size=(5, 4))
    onehot = np.eye(4)[rng.integers(0, 4, size=5)]
    soft = rng.dirichlet(np.ones(4), size=5)
    w = rng.uniform(0.5, 2, size=4)
    for t in (onehot, soft):
        _check(lambda a: F.cross_entropy(a, t, reduction=reduction),
               lambda a: TF.cross_entropy(a, torch.from_numpy(t), reduction=reduction), x)
        _check(lambda a: F.cross_entropy(a, t, w, reduction=reduction),
               lambda a: TF.cross_entropy(a, torch.from_numpy(t), torch.from_numpy(w),
                                          reduction=reduction), x)
    y = rng.integers(0, 4, size=5)
    # one-hot targets give the same loss as class indices
    np.testing.assert_allclose(F.cross_entropy(Tensor(x), np.eye(4)[y]).data,
                               F.cross_entropy(Tensor(x), y).data)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing(reduction, rng):
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, size=6)
    y[1] = -100
    w = rng.uniform(0.5, 2, size=4)
    _check(lambda a: F.cross_entropy(a, y, w, reduction=reduction, label_smoothing=0.2),
           lambda a: TF.cross_entropy(a, torch.from_numpy(y), torch.from_numpy(w),
                                      reduction=reduction, label_smoothing=0.2), x)
    soft = rng.dirichlet(np.ones(4), size=6)
    _check(lambda a: F.cross_entropy(a, soft, reduction=reduction, label_smoothing=0.1),
           lambda a: TF.cross_entropy(a, torch.from_numpy(soft), reduction=reduction,
                                      label_smoothing=0.1), x)


def test_cross_entropy_is_stable_for_huge_logits():
    x = Tensor(np.array([[1e4, 0.0, -1e4]]), requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    np.testing.assert_allclose(loss.data, 1e4)
    loss.backward()
    np.testing.assert_allclose(x.grad, [[1, -1, 0]])


def test_class_target_errors():
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="target 4 is out of bounds for 4 classes"):
        F.cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"input of shape \(3, 4\) needs class targets of "
                                         r"shape \(3,\), got shape \(2,\)"):
        F.nll_loss(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="class targets must be integers"):
        F.cross_entropy(x, np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(x, np.zeros((3, 4)), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_losses(reduction, rng):
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, size=6)
    w = rng.uniform(0.5, 2, size=4)
    _check(lambda a: F.hinge_loss(a, y, reduction=reduction),
           lambda a: TF.multi_margin_loss(a, torch.from_numpy(y), reduction=reduction), x)
    _check(lambda a: F.hinge_loss(a, y, margin=0.5, weight=w, reduction=reduction),
           lambda a: TF.multi_margin_loss(a, torch.from_numpy(y), margin=0.5,
                                          weight=torch.from_numpy(w), reduction=reduction), x)
    t = np.where(rng.uniform(size=(6, 4)) > 0.5, 1.0, -1.0)
    _check(lambda a: F.hinge_embedding_loss(a, t, reduction=reduction),
           lambda a: TF.hinge_embedding_loss(a, torch.from_numpy(t), reduction=reduction), x)
    with pytest.raises(ValueError, match="1 or -1"):
        F.hinge_embedding_loss(Tensor(x), np.zeros((6, 4)))


def test_penalties(rng):
    ws = [Tensor(rng.normal(size=(3, 2)), requires_grad=True),
          Tensor(rng.normal(size=4), requires_grad=True)]
    l1, l2 = F.l1_penalty(ws), F.l2_penalty(ws)
    np.testing.assert_allclose(l1.data, sum(np.abs(w.data).sum() for w in ws))
    np.testing.assert_allclose(l2.data, sum((w.data ** 2).sum() for w in ws))
    (l1 + l2).backward()
    for w in ws:
        np.testing.assert_allclose(w.grad, np.sign(w.data) + 2 * w.data)
    lin = nn.Linear(3, 2)
    assert F.l2_penalty(lin).data == pytest.approx(
        float((lin.weight.data.astype(np.float64) ** 2).sum() + (lin.bias.data ** 2).sum()),
        rel=1e-5)
    with pytest.raises(ValueError, match="no parameters"):
        F.l1_penalty([])


def test_penalties_of_scalar_value_parameters():
    """Regression: F.l1_penalty(nn.MLP(2, [8, 1]).parameters()) raised AttributeError
    ('Value' object has no attribute 'sum'); Values now sum to a Value."""
    mlp = nn.MLP(2, [8, 1])
    data = np.array([p.data for p in mlp.parameters()])
    for params in (mlp.parameters(), mlp, list(mlp.parameters())):
        l1, l2 = F.l1_penalty(params), F.l2_penalty(params)
        assert isinstance(l1, Value) and isinstance(l2, Value)
        assert l1.data == pytest.approx(np.abs(data).sum())
        assert l2.data == pytest.approx((data ** 2).sum())
    mlp.zero_grad()
    (F.l1_penalty(mlp) + 0.5 * F.l2_penalty(mlp)).backward()
    np.testing.assert_allclose([p.grad for p in mlp.parameters()], np.sign(data) + data)
    assert F.l1_penalty(Value(-2.0)).data == 2.0


def test_hinge_is_the_documented_alias_of_hinge_loss(rng):
    assert F.hinge is F.hinge_loss and "hinge" in F.__all__
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    _check(lambda a: F.hinge(a, y), lambda a: TF.multi_margin_loss(a, torch.from_numpy(y)), x)


@pytest.mark.parametrize("ours,theirs,kind", [
    (nn.MSELoss, torch.nn.MSELoss, "real"), (nn.L1Loss, torch.nn.L1Loss, "real"),
    (nn.BCELoss, torch.nn.BCELoss, "prob"), (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss,
                                              "real"),
    (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, "class"),
    (nn.NLLLoss, torch.nn.NLLLoss, "class"), (nn.HingeLoss, torch.nn.MultiMarginLoss, "class")])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_modules_match_torch(ours, theirs, kind, reduction, rng):
    if kind == "class":
        x, t = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
        tt = torch.from_numpy(t)
    else:
        x = rng.uniform(0.05, 0.95, size=(5, 3)) if kind == "prob" else rng.normal(size=(5, 3))
        t = rng.uniform(size=(5, 3))
        tt = torch.from_numpy(t)
    _check(lambda a: ours(reduction=reduction)(a, t), lambda a: theirs(reduction=reduction)(
        a, tt), x)
    if ours is not nn.HingeLoss:        # torch prints a loss module empty: MSELoss()
        assert repr(ours(reduction=reduction)) == repr(theirs(reduction=reduction))
    else:
        assert f"reduction='{reduction}'" in repr(ours(reduction=reduction))


def test_class_targets_outside_the_classes_or_ignored():
    """One ravel_multi_index call both places the targets and checks them: a negative target
    (other than ignore_index) and one past the last class raise IndexError naming it, as torch
    refuses both; ignore_index inside or outside the class range drops those samples as torch
    does; an empty batch gives torch's nan mean."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    for bad in (-1, 3, -4):
        t = np.array([0, bad, 1, 2])
        with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 3 classes"):
            F.cross_entropy(Tensor(x), t)
    for ignore, t in ((-100, [0, -100, 1, 2]), (1, [0, 1, 1, 2]), (-1, [2, -1, 0, -1])):
        ours = Tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        loss = F.cross_entropy(ours, np.array(t), ignore_index=ignore)
        ref = TF.cross_entropy(theirs, torch.tensor(t), ignore_index=ignore)
        np.testing.assert_allclose(loss.data, ref.item(), rtol=1e-12)
        loss.backward()
        ref.backward()
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)
    empty = F.cross_entropy(Tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64))
    assert np.isnan(empty.data)
