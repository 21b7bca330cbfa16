"""optim.LBFGS, optim.Rprop and optim.ASGD against torch.optim (float64): constructor surface,
trajectories, state dicts and their layout, errors word for word, and compiled training steps.

Rprop and ASGD do torch's arithmetic in torch's order: their trajectories agree to 1e-12.
LBFGS's dot products and its `x + t d` are where numpy and torch round differently (torch's
dot sums in its own order and its add(alpha=) fuses the multiply-add): a step differs from
torch's by about 1e-16 relative, which the line search and the history can amplify, so the
LBFGS cases are chosen to stay within 1e-10 over their steps."""
import inspect

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
from autograd import Tensor, Value
from autograd.compile import CompileError
from test_compile import _assert_close, _twins
from test_optim import _compare_state, _gradients, _message, _starts

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

TOL = 1e-10
EXACT = 1e-12       # Rprop and ASGD: the same operations in the same order as torch's
NAMES = ["LBFGS", "Rprop", "ASGD"]


# ------------------------------------------------------------------------------ the surface
@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_and_defaults_are_torchs(name):
    ours = inspect.signature(getattr(optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert ours[key].kind == p.kind, key
        if p.default is not inspect.Parameter.empty:
            assert ours[key].default == p.default, key
    mine = getattr(optim, name)([Tensor(np.zeros(2), requires_grad=True)], lr=0.5)
    ref = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.5)
    assert mine.defaults == ref.defaults
    assert list(mine.param_groups[0]) == list(ref.param_groups[0])
    assert name in optim.__all__


def test_lbfgs_max_eval_defaults_to_five_quarters_of_max_iter():
    for max_iter in (1, 4, 7, 20):
        mine = optim.LBFGS([Value(1.0)], max_iter=max_iter).defaults["max_eval"]
        ref = torch.optim.LBFGS([torch.zeros(1, requires_grad=True)], max_iter=max_iter)
        assert mine == ref.defaults["max_eval"] == max_iter * 5 // 4
    assert optim.LBFGS([Value(1.0)], max_iter=7, max_eval=3).defaults["max_eval"] == 3


def _x():
    return Tensor(np.zeros(2), requires_grad=True), torch.zeros(2, requires_grad=True)


ERRORS = [
    ("LBFGS groups", lambda m, x, y: m.LBFGS([{"params": [x]}, {"params": [y]}])),
    ("LBFGS lr", lambda m, x, y: m.LBFGS([x], lr=-1)),
    ("Rprop lr", lambda m, x, y: m.Rprop([x], lr=-0.5)),
    ("Rprop etas low", lambda m, x, y: m.Rprop([x], etas=(1.5, 2.0))),
    ("Rprop etas high", lambda m, x, y: m.Rprop([x], etas=(0.5, 0.9))),
    ("Rprop etas zero", lambda m, x, y: m.Rprop([x], etas=(0.0, 1.2))),
    ("ASGD lr", lambda m, x, y: m.ASGD([x], lr=-1e-3)),
    ("ASGD weight_decay", lambda m, x, y: m.ASGD([x], weight_decay=-0.1)),
    ("empty", lambda m, x, y: m.LBFGS([])),
    ("step without closure", lambda m, x, y: m.LBFGS([x]).step()),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_are_torchs_word_for_word(case):
    _, make = case
    (x, xt), (y, yt) = _x(), _x()
    kind, msg = _message(lambda: make(torch.optim, xt, yt))
    assert kind is not None
    assert _message(lambda: make(optim, x, y)) == (kind, msg)


def _rosen(x):
    """Rosenbrock's function (1 - x0)^2 + 100 (x1 - x0^2)^2: a curved valley, minimum at
    (1, 1); for Tensors of torch and tapegrad alike."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _closure(opt, x, f=_rosen):
    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss
    return closure


def test_lbfgs_errors_at_step_are_torchs():
    # an unknown line search is refused at the first iteration, as torch does
    x, xt = _x()
    ref = torch.optim.LBFGS([xt], line_search_fn="bogus")
    mine = optim.LBFGS([x], line_search_fn="bogus")
    want = _message(lambda: ref.step(_closure(ref, xt)))
    assert want == (RuntimeError, "only 'strong_wolfe' is supported")
    assert _message(lambda: mine.step(_closure(mine, x))) == want
    # a group added after construction: the step refuses it, with torch's AssertionError
    (x, xt), (y, yt) = _x(), _x()
    ref, mine = torch.optim.LBFGS([xt]), optim.LBFGS([x])
    ref.add_param_group({"params": [yt]})
    mine.add_param_group({"params": [y]})
    want = _message(lambda: ref.step(_closure(ref, xt)))
    assert want[0] is AssertionError
    assert _message(lambda: mine.step(_closure(mine, x))) == want


# ------------------------------------------------------------------------ Rprop and ASGD
CONFIGS = [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.6, t0=5)),       # averaging from step 6
    ("ASGD", dict(lr=0.03, t0=3, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, lambd=1e-3, t0=2, weight_decay=0.05, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in cfg.items()) or 'defaults'}"
       for name, cfg in CONFIGS]
STEPS = 20


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=IDS)
def test_rprop_asgd_tensor_trajectories_and_state_are_torchs(name, cfg):
    starts = _starts()
    ours = [Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a, requires_grad=True) for a in starts]
    idle, idle_t = Tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True,
                                                                        dtype=torch.float64)
    opt = getattr(optim, name)(ours + [idle], foreach=False, **cfg)
    ref = getattr(torch.optim, name)(theirs + [idle_t], foreach=False, **cfg)
    for t in range(STEPS):
        grads = _gradients([p.detach().numpy() for p in theirs], t)
        for p, q, g in zip(ours, theirs, grads):
            p.grad = Tensor(g.copy())
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=EXACT, atol=EXACT,
                                       err_msg=f"step {t}")
    assert all(not np.allclose(p.data, a) for p, a in zip(ours, starts))
    _compare_state(opt, ref)
    mine, theirs_sd = opt.state_dict()["state"][0], ref.state_dict()["state"][0]
    for key, v in theirs_sd.items():       # 0-d float32 tensors (step, eta, mu) as torch's
        assert tuple(mine[key].shape) == tuple(v.shape), key
        assert str(mine[key].dtype) == str(v.dtype), key
        np.testing.assert_allclose(mine[key].numpy(), v.numpy(), rtol=EXACT, err_msg=key)


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=IDS)
def test_rprop_asgd_value_trajectories_are_torchs(name, cfg):
    starts = np.random.default_rng(3).normal(size=5)
    ours = [Value(x) for x in starts]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in starts]
    opt = getattr(optim, name)(ours, foreach=False, **cfg)
    ref = getattr(torch.optim, name)(theirs, foreach=False, **cfg)
    for t in range(STEPS):
        for p, q, g in zip(ours, theirs, _gradients([q.item() for q in theirs], t)):
            p.grad = float(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        np.testing.assert_allclose([p.data for p in ours], [q.item() for q in theirs],
                                   rtol=EXACT, atol=EXACT, err_msg=f"step {t}")
    assert all(type(p.data) is float for p in ours)
    assert all(type(v) is float for s in opt.state.values() for v in s.values())
    _compare_state(opt, ref)


def test_rprop_shrinks_the_step_and_skips_it_where_the_gradient_changed_sign():
    p = Tensor(np.array([1.0, 1.0, 1.0]), requires_grad=True)
    opt = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.15))
    p.grad = Tensor(np.array([1.0, -1.0, 0.0]))
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 1.1, 1.0])
    p.grad = Tensor(np.array([1.0, 1.0, 2.0]))    # same sign, flipped sign, from zero
    opt.step()
    # 0.1 * 2 clipped to 0.15; 0.1 * 0.5 and no step; unchanged 0.1
    np.testing.assert_allclose(opt.state[p]["step_size"], [0.15, 0.05, 0.1])
    np.testing.assert_allclose(p.data, [0.75, 1.1, 0.9])
    np.testing.assert_array_equal(opt.state[p]["prev"], [1.0, 0.0, 2.0])


def test_asgd_averages_the_iterates_after_t0():
    p = Tensor(np.array([0.0]), requires_grad=True)
    opt = optim.ASGD([p], lr=0.1, lambd=0.0, t0=2)
    seen = []
    for g in (1.3, -1.7, 2.9, 0.7, -3.1):
        p.grad = Tensor(np.array([g]))
        opt.step()
        seen.append(p.data.item())
        if len(seen) <= 4:          # a copy of p, as torch's ax.copy_(param)
            assert opt.state[p]["ax"][0] == seen[-1]
    # mu = 1 / max(1, step - t0) after each step: ax is p through step 4, the mean of the
    # iterates of steps 4 and 5 at step 5, and mu is 1/3 for step 6
    np.testing.assert_allclose(opt.state[p]["ax"], [(seen[3] + seen[4]) / 2], rtol=1e-15)
    assert opt.state[p]["mu"] == float(np.float32(1 / 3))


def test_asgd_copies_p_into_ax_before_averaging_as_torch():
    """While mu = 1, torch copies p into ax (ax + (p - ax) would round differently here: a
    strong decay, lambd * eta near 1, takes p far below ax at each step). (torch fuses
    p - eta g into one rounding, numpy rounds twice: p agrees to 1e-16 relative.)"""
    start = np.array([1000.0, 3.7, -250.3])
    p = Tensor(start.copy(), requires_grad=True)
    pt = torch.tensor(start, requires_grad=True)
    cfg = dict(lr=0.1, lambd=9.99, alpha=0.0, t0=2)
    opt, ref = optim.ASGD([p], **cfg), torch.optim.ASGD([pt], foreach=False, **cfg)
    for g in (1.3, -1.7, 2.9, 0.7, -0.4):
        p.grad, pt.grad = Tensor(np.array([g, -g, 2 * g])), torch.tensor([g, -g, 2 * g],
                                                                         dtype=torch.float64)
        copies = ref.state[pt].get("mu", 1.0) == 1.0
        opt.step()
        ref.step()
        np.testing.assert_allclose(p.data, pt.detach().numpy(), rtol=1e-15)
        np.testing.assert_allclose(opt.state[p]["ax"], ref.state[pt]["ax"].numpy(), rtol=1e-15)
        if copies:
            assert np.array_equal(opt.state[p]["ax"], p.data)
    assert not copies           # and the last step averaged


def test_asgd_keeps_eta_at_torchs_float32_precision():
    """torch keeps eta in a float32 0-d tensor: lr = 0.01 is stepped with float32(0.01)."""
    p = Tensor(np.array([1.0]), requires_grad=True)
    pt = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt, ref = optim.ASGD([p], lr=0.01), torch.optim.ASGD([pt], lr=0.01, foreach=False)
    p.grad, pt.grad = Tensor(np.array([1.0])), torch.tensor([1.0], dtype=torch.float64)
    opt.step()
    ref.step()
    assert p.data[0] == pt.item() != 1.0 * (1 - 1e-6) - 0.01
    assert opt.state[p]["eta"] == ref.state[pt]["eta"].item() != 0.01 / (1 + 1e-6) ** 0.75


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=IDS)
def test_rprop_asgd_load_torchs_state_dict_and_continue_as_torch(name, cfg):
    starts = _starts(2)
    theirs = [torch.tensor(a, requires_grad=True) for a in starts]
    ref = getattr(torch.optim, name)(theirs, foreach=False, **cfg)
    for t in range(8):
        for q, g in zip(theirs, _gradients([q.detach().numpy() for q in theirs], t)):
            q.grad = torch.tensor(g)
        ref.step()
    ours = [Tensor(q.detach().numpy().copy(), requires_grad=True) for q in theirs]
    opt = getattr(optim, name)(ours, lr=0.5)
    sd = ref.state_dict()
    opt.load_state_dict({"state": {i: {k: v.numpy() for k, v in s.items()}
                                   for i, s in sd["state"].items()},
                         "param_groups": sd["param_groups"]})
    assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"]
    for t in range(8, 16):
        grads = _gradients([q.detach().numpy() for q in theirs], t)
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = Tensor(g.copy()), torch.tensor(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=EXACT, atol=EXACT)
    _compare_state(opt, ref)


@pytest.mark.parametrize("via", ["state_dict", "npz"])
@pytest.mark.parametrize("name,cfg", [CONFIGS[1], CONFIGS[4]], ids=[IDS[1], IDS[4]])
def test_rprop_asgd_round_trip_resumes_the_same_trajectory(name, cfg, via, tmp_path):
    cls = getattr(optim, name)
    straight = [Tensor(a.copy(), requires_grad=True) for a in _starts(4)]
    opt = cls(straight, **cfg)
    trajectory = []
    for t in range(16):
        for p, g in zip(straight, _gradients([p.data for p in straight], t)):
            p.grad = Tensor(g)
        opt.step()
        trajectory.append([np.array(p.data) for p in straight])
        if t == 7:
            saved = opt.state_dict()
            optim.save(opt, tmp_path / "o.npz")
            at_save = [np.array(p.data) for p in straight]
    resumed = [Tensor(a, requires_grad=True) for a in at_save]
    opt2 = cls(resumed, lr=0.9)
    if via == "npz":
        optim.load(opt2, tmp_path / "o.npz")
    else:
        opt2.load_state_dict(saved)
    for t in range(8, 16):
        for p, g in zip(resumed, _gradients([p.data for p in resumed], t)):
            p.grad = Tensor(g)
        opt2.step()
        for a, b in zip(resumed, trajectory[t]):
            assert np.array_equal(a.data, b), f"step {t}"


# ------------------------------------------------------------------------------------ LBFGS
def _wavy(x):
    """sum(sin(3 x) + 0.1 x^2) and its gradient, for numpy arrays and torch tensors: many
    local minima along any line, so the line search brackets and zooms."""
    lib = torch if isinstance(x, torch.Tensor) else np
    return float(lib.sum(lib.sin(3 * x) + 0.1 * x * x)), 3 * lib.cos(3 * x) + 0.2 * x


def test_strong_wolfe_line_search_is_torchs():
    from torch.optim.lbfgs import _strong_wolfe as torch_search

    from optim.lbfgs import _strong_wolfe
    rng = np.random.default_rng(0)
    zooms = 0
    for k in range(400):
        x = rng.normal(size=3) * 2
        f, g = _wavy(x)
        d = -g * rng.uniform(0.1, 3)
        t = 10 ** rng.uniform(-2, 1.5)
        max_ls = int(rng.integers(1, 26))
        mine = _strong_wolfe(lambda x, t, d: _wavy(x + t * d), x, t, d, f, g, g.dot(d),
                             max_ls=max_ls)
        xt, dt = torch.tensor(x), torch.tensor(d)
        ft, gt = _wavy(xt)
        ref = torch_search(lambda x, t, d: _wavy(x + t * d), xt, t, dt, ft, gt, gt.dot(dt),
                           max_ls=max_ls)
        assert mine[3] == ref[3], f"case {k}: evaluations"
        np.testing.assert_allclose(float(mine[2]), float(ref[2]), rtol=EXACT, atol=EXACT,
                                   err_msg=f"case {k}: t")
        np.testing.assert_allclose(mine[0], ref[0], rtol=EXACT, err_msg=f"case {k}: loss")
        np.testing.assert_allclose(mine[1], ref[1].numpy(), rtol=EXACT, atol=EXACT)
        zooms += mine[3] > 2
    assert zooms > 50


def test_cubic_interpolate_is_torchs():
    from torch.optim.lbfgs import _cubic_interpolate as torch_cubic

    from optim.lbfgs import _cubic_interpolate
    rng = np.random.default_rng(1)
    for k in range(300):
        x1, x2, f1, f2 = rng.normal(size=4) * 3
        g1, g2 = rng.normal(size=2) * 3
        bounds = None if k % 2 else tuple(sorted(rng.normal(size=2) * 4))
        mine = _cubic_interpolate(x1, f1, np.float64(g1), x2, f2, np.float64(g2), bounds)
        ref = torch_cubic(x1, f1, torch.tensor(g1), x2, f2, torch.tensor(g2), bounds)
        np.testing.assert_allclose(float(mine), float(ref), rtol=EXACT, atol=EXACT,
                                   err_msg=f"case {k}")


def _lbfgs_pair(start, **cfg):
    x = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    xt = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    return (x, optim.LBFGS([x], **cfg)), (xt, torch.optim.LBFGS([xt], **cfg))


def _assert_same_step(mine, ref, what):
    """The same loss returned, and the same counters in the state."""
    (x, opt, loss), (xt, ref_opt, ref_loss) = mine, ref
    assert isinstance(loss, Tensor)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=TOL, atol=TOL, err_msg=what)
    np.testing.assert_allclose(x.data, xt.detach().numpy(), rtol=TOL, atol=TOL, err_msg=what)
    for key in ("func_evals", "n_iter"):
        assert opt.state[x][key] == ref_opt.state[xt][key], f"{what}: {key}"


ROSEN = [
    dict(lr=0.02, max_iter=4),
    dict(lr=0.02, max_iter=8, history_size=2),
    dict(lr=0.05, max_iter=5, history_size=1, max_eval=4),
    dict(line_search_fn="strong_wolfe", max_iter=3),
    dict(line_search_fn="strong_wolfe", max_iter=4, history_size=2),
    dict(line_search_fn="strong_wolfe", max_iter=3, history_size=5, lr=0.5),
    dict(line_search_fn="strong_wolfe", max_iter=6, history_size=100, max_eval=5),
]


@pytest.mark.parametrize("cfg", ROSEN, ids=[str(c) for c in ROSEN])
def test_lbfgs_on_rosenbrock_follows_torch(cfg):
    (x, opt), (xt, ref) = _lbfgs_pair([-1.2, 1.0], **cfg)
    losses = []
    for k in range(8):
        loss = opt.step(_closure(opt, x))
        ref_loss = ref.step(_closure(ref, xt))
        _assert_same_step((x, opt, loss), (xt, ref, ref_loss), f"step {k}")
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    # the whole state as torch's: the same keys, the same kinds (Tensor or number), values
    mine, theirs = opt.state_dict()["state"][0], ref.state_dict()["state"][0]
    assert list(mine) == list(theirs)
    for key, v in theirs.items():
        _assert_same_entry(mine[key], v, key)
    assert opt.state_dict()["param_groups"] == ref.state_dict()["param_groups"]


def _assert_same_entry(mine, theirs, key):
    if isinstance(theirs, list):
        assert isinstance(mine, list) and len(mine) == len(theirs), key
        for a, b in zip(mine, theirs):
            _assert_same_entry(a, b, key)
    elif isinstance(theirs, torch.Tensor):
        assert isinstance(mine, Tensor), key
        assert tuple(mine.shape) == tuple(theirs.shape), key
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-8, atol=TOL,
                                   err_msg=key)
    else:
        assert type(mine) is type(theirs), key
        assert mine == theirs if theirs is None or isinstance(theirs, int) else \
            abs(mine - theirs) <= TOL * max(1.0, abs(theirs)), key


def _mlp_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(16, 3))
    y = np.sin(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3]
    weights = [rng.normal(size=(3, 8)) * 0.5, np.zeros(8), rng.normal(size=(8, 1)) * 0.5,
               np.zeros(1)]
    return X, y, weights


def _mlp_loss(ps, X, y):
    return ((((X @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]) - y) ** 2).mean()


MLP = [
    dict(lr=0.5, max_iter=4, history_size=100),
    dict(lr=0.5, max_iter=4, history_size=3),
    dict(lr=1, max_iter=5, line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=5, history_size=1, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("cfg", MLP, ids=[str(c) for c in MLP])
def test_lbfgs_trains_an_mlp_as_torch(cfg):
    X, y, weights = _mlp_data()
    ps = [Tensor(w.copy(), requires_grad=True) for w in weights]
    qs = [torch.tensor(w, requires_grad=True) for w in weights]
    opt, ref = optim.LBFGS(ps, **cfg), torch.optim.LBFGS(qs, **cfg)
    Xc, yc, Xt, yt = Tensor(X), Tensor(y), torch.tensor(X), torch.tensor(y)
    losses = []
    for k in range(6):
        loss = opt.step(_closure(opt, ps, lambda ps: _mlp_loss(ps, Xc, yc)))
        ref_loss = ref.step(_closure(ref, qs, lambda qs: _mlp_loss(qs, Xt, yt)))
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=TOL, atol=TOL)
        for p, q in zip(ps, qs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=TOL, atol=TOL,
                                       err_msg=f"step {k}")
        losses.append(loss.item())
    assert opt.state[ps[0]]["func_evals"] == ref.state[qs[0]]["func_evals"]
    assert losses[-1] < 0.2 * losses[0]
    assert list(opt.state) == [ps[0]]         # the history lives under the first parameter


def test_lbfgs_stops_on_tolerance_grad_with_one_evaluation():
    (x, opt), (xt, ref) = _lbfgs_pair([1.0, 1.0 + 1e-9], tolerance_grad=1e-5)
    loss, ref_loss = opt.step(_closure(opt, x)), ref.step(_closure(ref, xt))
    _assert_same_step((x, opt, loss), (xt, ref, ref_loss), "at the optimum")
    assert opt.state[x]["func_evals"] == 1 and opt.state[x]["n_iter"] == 0
    assert list(opt.state[x]) == ["func_evals", "n_iter"] == list(ref.state[xt])
    np.testing.assert_array_equal(x.data, [1.0, 1.0 + 1e-9])      # not moved


def _quadratic(x):
    """0.5 sum(a x^2) + sum(b x): L-BFGS reaches its minimum -b / a in a few iterations."""
    a = np.array([1.0, 3.0, 0.5])
    b = np.array([1.0, -2.0, 0.3])
    if isinstance(x, torch.Tensor):
        a, b = torch.tensor(a), torch.tensor(b)
    else:
        a, b = Tensor(a), Tensor(b)
    return (a * x * x).sum() * 0.5 + (b * x).sum()


# (function, start, options, torch's (n_iter, func_evals) after the first step): each stops
# before max_iter = 20, on another of torch's conditions
STOPS = {
    "grad": (_quadratic, [2.0, 1.0, -1.0], dict(tolerance_grad=1e-4), (8, 9)),
    "grad-wolfe": (_quadratic, [2.0, 1.0, -1.0],
                   dict(tolerance_grad=1e-3, line_search_fn="strong_wolfe"), (7, 8)),
    "directional-derivative": (_quadratic, [2.0, 1.0, -1.0], dict(tolerance_change=1e-2),
                               (5, 5)),
    "loss-change": (_quadratic, [-0.97, 2 / 3 + 0.01, -0.62],     # near the minimum
                    dict(lr=0.01, tolerance_change=1e-4), (1, 2)),
    "small-step": (_rosen, [-1.2, 1.0], dict(tolerance_change=1e-3, lr=0.001), (1, 2)),
    "change-wolfe": (_rosen, [-1.2, 1.0],
                     dict(tolerance_change=1e-2, line_search_fn="strong_wolfe"), (2, 4)),
}


@pytest.mark.parametrize("case", sorted(STOPS))
def test_lbfgs_tolerance_stops_as_torch(case):
    f, start, cfg, first = STOPS[case]
    (x, opt), (xt, ref) = _lbfgs_pair(start, **cfg)
    for k in range(3):
        loss, ref_loss = opt.step(_closure(opt, x, f)), ref.step(_closure(ref, xt, f))
        _assert_same_step((x, opt, loss), (xt, ref, ref_loss), f"step {k}")
        if k == 0:
            assert (opt.state[x]["n_iter"], opt.state[x]["func_evals"]) == first


def test_lbfgs_on_values_follows_torch():
    a, b = Value(-1.2), Value(1.0)
    xt = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    cfg = dict(line_search_fn="strong_wolfe", max_iter=4, history_size=3)
    opt, ref = optim.LBFGS([a, b], **cfg), torch.optim.LBFGS([xt], **cfg)
    for k in range(6):
        loss = opt.step(_closure(opt, [a, b]))
        ref_loss = ref.step(_closure(ref, xt))
        assert isinstance(loss, Value) and type(a.data) is float
        np.testing.assert_allclose(loss.data, ref_loss.item(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose([a.data, b.data], xt.detach().numpy(), rtol=TOL, atol=TOL,
                                   err_msg=f"step {k}")
    assert opt.state[a]["func_evals"] == ref.state[xt]["func_evals"]


def test_lbfgs_calls_the_closure_with_gradients_enabled_and_returns_its_first_loss():
    x = Tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3)
    calls = []

    def closure():
        calls.append(autograd.is_grad_enabled())
        opt.zero_grad()
        loss = _rosen(x)
        loss.backward()
        return loss

    losses = []

    def recorded():
        losses.append(closure())
        return losses[-1]

    with autograd.no_grad():
        first = opt.step(recorded)
    assert calls == [True, True, True]          # max_iter = 3: the last loss is not evaluated
    assert first is losses[0]
    assert first.item() == _rosen(Tensor(np.array([-1.2, 1.0]))).item()


def _numpy_state(sd):
    """A torch state dict with its tensors as numpy arrays (lists entrywise)."""
    def conv(v):
        if isinstance(v, list):
            return [conv(e) for e in v]
        return v.numpy() if isinstance(v, torch.Tensor) else v
    return {"state": {i: {k: conv(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_loads_torchs_state_dict_and_continues_as_torch(line_search_fn):
    cfg = dict(lr=0.02 if line_search_fn is None else 1, max_iter=3, history_size=4,
               line_search_fn=line_search_fn)
    xt = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    ref = torch.optim.LBFGS([xt], **cfg)
    for _ in range(3):
        ref.step(_closure(ref, xt))
    x = Tensor(xt.detach().numpy().copy(), requires_grad=True)
    opt = optim.LBFGS([x], lr=7.0)
    opt.load_state_dict(_numpy_state(ref.state_dict()))
    assert opt.param_groups[0]["lr"] == cfg["lr"]
    for k in range(4):
        loss, ref_loss = opt.step(_closure(opt, x)), ref.step(_closure(ref, xt))
        _assert_same_step((x, opt, loss), (xt, ref, ref_loss), f"step {k} after loading")


@pytest.mark.parametrize("via", ["state_dict", "npz"])
def test_lbfgs_round_trip_resumes_the_same_trajectory(via, tmp_path):
    cfg = dict(max_iter=3, history_size=3, line_search_fn="strong_wolfe")
    x = Tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = optim.LBFGS([x], **cfg)
    trajectory = []
    for k in range(8):
        opt.step(_closure(opt, x))
        trajectory.append(np.array(x.data))
        if k == 3:
            saved = opt.state_dict()
            optim.save(opt, tmp_path / "o.npz")
            at_save = np.array(x.data)
    assert len(saved["state"][0]["old_dirs"]) == 3 and saved["state"][0]["al"][0] is not None
    y = Tensor(at_save, requires_grad=True)
    opt2 = optim.LBFGS([y], lr=3.0)
    if via == "npz":
        optim.load(opt2, tmp_path / "o.npz")
    else:
        opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == 1
    assert {k: type(v) for k, v in opt2.state_dict()["state"][0].items()} == \
        {k: type(v) for k, v in saved["state"][0].items()}
    for k in range(4, 8):
        opt2.step(_closure(opt2, y))
        assert np.array_equal(y.data, trajectory[k]), f"step {k}"


def test_lbfgs_state_dict_is_a_copy():
    x = Tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3)
    opt.step(_closure(opt, x))
    sd = opt.state_dict()
    d, dirs = sd["state"][0]["d"].numpy().copy(), len(sd["state"][0]["old_dirs"])
    opt.step(_closure(opt, x))
    np.testing.assert_array_equal(sd["state"][0]["d"].numpy(), d)
    assert len(sd["state"][0]["old_dirs"]) == dirs < len(opt.state[x]["old_dirs"])


def test_lbfgs_with_a_scheduler_as_torch():
    (x, opt), (xt, ref) = _lbfgs_pair([-1.2, 1.0], lr=0.05, max_iter=3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, step_size=2, gamma=0.5)
    for k in range(5):
        loss, ref_loss = opt.step(_closure(opt, x)), ref.step(_closure(ref, xt))
        sched.step()
        ref_sched.step()
        _assert_same_step((x, opt, loss), (xt, ref, ref_loss), f"step {k}")
    assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"] == 0.0125


# --------------------------------------------------------------------------------- compile
def _model():
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.Rprop(ps, lr=0.05),
    lambda ps: optim.Rprop(ps, lr=0.05, etas=(0.4, 1.3), maximize=False),
    lambda ps: optim.ASGD(ps, lr=0.1, t0=2, weight_decay=0.01),
], ids=["rprop", "rprop-etas", "asgd"])
def test_a_compiled_training_step_with_rprop_or_asgd_trains_as_eager(make_opt):
    (m_c, opt_c), (m_e, opt_e) = _twins(_model, make_opt)

    def step_of(model, opt):
        def train_step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return train_step

    compiled, eager = autograd.compile(step_of(m_c, opt_c)), step_of(m_e, opt_e)
    rng = np.random.default_rng(41)
    for k in range(6):
        x = Tensor(rng.standard_normal((5, 4)))
        y = rng.integers(0, 3, 5)
        _assert_close(compiled(x, y), eager(x, y), rtol=EXACT, what=f"loss at call {k}")
        for p, q in zip(m_c.parameters(), m_e.parameters()):
            _assert_close(p, q, rtol=EXACT, what=f"parameter after call {k}")
            for key, v in opt_e.state[q].items():
                _assert_close(np.asarray(opt_c.state[p][key]), np.asarray(v), rtol=EXACT,
                              what=f"state {key}")
    assert opt_c.state[next(m_c.parameters())]["step"] == 6.0
    assert "def backward" in compiled.source


def test_lbfgs_step_inside_a_compiled_function_is_refused_by_name():
    model = _model().double()
    opt = optim.LBFGS(model.parameters())

    def train_step(x, y):
        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        return opt.step(closure)

    with pytest.raises(CompileError, match=r"calls optimizer\.step\(closure\) of LBFGS inside "
                                           r"the compiled function.*compile the loss alone and "
                                           r"call the step outside, with the compiled loss in "
                                           r"the closure"):
        autograd.compile(train_step)(Tensor(np.ones((2, 4))), np.array([0, 1]))


def test_lbfgs_with_a_compiled_loss_inside_its_closure_trains_as_eager():
    models = [_model().double() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    rng = np.random.default_rng(5)
    x, y = Tensor(rng.standard_normal((8, 4))), rng.integers(0, 3, 8)
    cfg = dict(max_iter=5, history_size=4, line_search_fn="strong_wolfe")
    losses = []
    for compiled in (True, False):
        model = models[0] if compiled else models[1]
        opt = optim.LBFGS(model.parameters(), **cfg)

        def loss_of(x, y):
            return F.cross_entropy(model(x), y)
        loss_fn = autograd.compile(loss_of) if compiled else loss_of

        def closure():
            opt.zero_grad()
            loss = loss_fn(x, y)
            loss.backward()
            return loss
        losses.append([opt.step(closure).item() for _ in range(4)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=EXACT)
    assert losses[0][-1] < 0.5 * losses[0][0]
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        _assert_close(p, q, rtol=1e-10, what="parameter")
