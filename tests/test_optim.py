"""Optimizers against torch.optim: same start, same gradients, 100 steps, float64."""
import numpy as np
import pytest

import optim
from autograd import Tensor, Value

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

STEPS = 100
TOL = 1e-9          # stricter than the 1e-6 asked for: the same float64 arithmetic, reordered

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.5)),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.1, betas=(0.5, 0.9))),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-3)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-4)),
    ("RMSprop", dict(lr=0.005, maximize=True, momentum=0.3)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in cfg.items()) or 'defaults'}"
       for name, cfg in CONFIGS]

SHAPES = [(3, 4), (5,), ()]


def _starts(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in SHAPES]


def _gradients(datas, t):
    """A bounded, parameter-dependent gradient plus prerecorded noise (so every run of the same
    trajectory sees the same numbers): g = sin(1.3 x + 0.1 t) + 0.3 noise_t."""
    rng = np.random.default_rng(1000 + t)
    return [np.sin(1.3 * np.asarray(x) + 0.1 * t) + 0.3 * rng.normal(size=np.shape(x))
            for x in datas]


def _torch_opt(name, params, cfg):
    return getattr(torch.optim, name)(params, foreach=False, **cfg)


def _compare_state(ours, theirs):
    """Same state entries (names and values) and hyperparameters as torch's state_dict."""
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert sorted(mine["state"]) == sorted(ref["state"])
    for idx, entries in ref["state"].items():
        assert sorted(mine["state"][idx]) == sorted(entries)
        for k, v in entries.items():
            np.testing.assert_allclose(np.asarray(mine["state"][idx][k]),
                                       v.detach().numpy(), rtol=TOL, atol=TOL, err_msg=k)
    for g_mine, g_ref in zip(mine["param_groups"], ref["param_groups"]):
        assert g_mine["params"] == g_ref["params"]
        for k, v in g_mine.items():
            assert g_ref[k] == v, k


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=IDS)
def test_tensor_params_match_torch(name, cfg):
    starts = _starts()
    ours = [Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a, requires_grad=True) for a in starts]
    # one more parameter that never gets a gradient: skipped by both
    idle = Tensor(np.ones(2), requires_grad=True)
    idle_t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = getattr(optim, name)(ours + [idle], foreach=False, **cfg)
    ref = _torch_opt(name, theirs + [idle_t], cfg)
    for t in range(STEPS):
        grads = _gradients([p.detach().numpy() for p in theirs], t)
        for p, q, g in zip(ours, theirs, grads):
            p.grad = Tensor(g.copy())
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=TOL, atol=TOL,
                                       err_msg=f"step {t}")
    assert np.array_equal(idle.data, np.ones(2))     # its state (if any) is checked below
    assert all(np.isfinite(p.data).all() and not np.allclose(p.data, a)
               for p, a in zip(ours, starts))         # it moved, and stayed finite
    _compare_state(opt, ref)


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=IDS)
def test_value_params_match_torch(name, cfg):
    starts = np.random.default_rng(3).normal(size=6)
    ours = [Value(x) for x in starts]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in starts]
    opt = getattr(optim, name)(ours, foreach=False, **cfg)
    ref = _torch_opt(name, theirs, cfg)
    for t in range(STEPS):
        grads = _gradients([p.item() for p in theirs], t)
        for p, q, g in zip(ours, theirs, grads):
            p.grad = float(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        np.testing.assert_allclose([p.data for p in ours], [q.item() for q in theirs],
                                   rtol=TOL, atol=TOL, err_msg=f"step {t}")
    assert all(type(p.data) is float for p in ours)        # Values keep Python floats
    assert np.isfinite([p.data for p in ours]).all()
    assert all(type(v) is float for s in opt.state.values() for v in s.values())
    _compare_state(opt, ref)


def test_param_groups_with_their_own_options_match_torch():
    starts = _starts(5)
    ours = [Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a, requires_grad=True) for a in starts]

    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01, "momentum": 0.5}]

    opt = optim.SGD(groups(ours), lr=0.1, momentum=0.9, nesterov=True, foreach=False)
    ref = torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9, nesterov=True, foreach=False)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    for t in range(30):
        grads = _gradients([p.detach().numpy() for p in theirs], t)
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = Tensor(g.copy()), torch.tensor(g)
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=TOL, atol=TOL)
    _compare_state(opt, ref)


def test_add_param_group_and_named_params():
    a = Tensor(np.zeros(2), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    opt = optim.Adam([("a", a)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a"]
    opt.add_param_group({"params": [("b", b)], "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    assert opt.state_dict()["param_groups"][1]["params"] == [1]
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        opt.add_param_group({"params": [("b2", b)]})


# ------------------------------------------------------------------------------------ basics
def test_tensor_update_is_in_place_and_keeps_dtype():
    arr = np.ones((2, 3), dtype=np.float32)
    p = Tensor(arr, requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.Adagrad, optim.RMSprop):
        opt = cls([p], lr=0.1, **({"momentum": 0.9} if cls in (optim.SGD,) else {}))
        for _ in range(3):
            p.grad = Tensor(np.full((2, 3), 0.5, dtype=np.float32))
            opt.step()
        assert p.detach().numpy() is arr and p.data.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))
    assert (arr < 1).all()


def test_zero_grad_tensor_none_value_zero():
    t = Tensor(np.ones(3), requires_grad=True)
    v = Value(1.0)
    opt = optim.SGD([t, v], lr=0.1)
    (t * t).sum().backward()
    (v * v).backward()
    assert t.grad is not None and v.grad == 2.0
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(t.grad, np.zeros(3)) and v.grad == 0.0
    opt.zero_grad()
    assert t.grad is None and v.grad == 0.0


def test_closure_is_evaluated_and_its_loss_returned():
    x = Tensor(np.array([3.0, -2.0]), requires_grad=True)
    opt = optim.SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 13.0
    np.testing.assert_allclose(x.data, [1.5, -1.0])     # x - 0.25 * 2x


def test_mixed_value_and_tensor_params_in_one_optimizer():
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    v = Value(3.0)
    tt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    vt = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    opt = optim.RMSprop([t, v], lr=0.1, momentum=0.5, centered=True)
    ref = torch.optim.RMSprop([tt, vt], lr=0.1, momentum=0.5, centered=True, foreach=False)
    for _ in range(20):
        opt.zero_grad()
        ref.zero_grad()
        ((t * t).sum() + Tensor(np.array(0.0))).backward()
        (v * v * v).backward()
        ((tt * tt).sum()).backward()
        (vt * vt * vt).backward()
        opt.step()
        ref.step()
    np.testing.assert_allclose(t.data, tt.detach().numpy(), rtol=TOL, atol=TOL)
    assert abs(v.data - vt.item()) < TOL


# ------------------------------------------------------------------------------------ errors
def _message(fn):
    try:
        fn()
    except Exception as e:      # noqa: BLE001 - the oracle's exception, whatever it is
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_empty_parameter_list_as_torch(name):
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        getattr(optim, name)([])
    assert _message(lambda: getattr(torch.optim, name)([])) == (
        ValueError, "optimizer got an empty parameter list")


BAD = [
    ("SGD", dict(lr=-0.1)), ("Adam", dict(lr=-0.1)), ("AdamW", dict(lr=-0.1)),
    ("Adagrad", dict(lr=-0.1)), ("RMSprop", dict(lr=-0.1)),
    ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(betas=(1.0, 0.999))), ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(eps=-1e-8)), ("AdamW", dict(weight_decay=-0.01)),
    ("Adagrad", dict(lr_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)), ("RMSprop", dict(alpha=-0.9)),
    ("RMSprop", dict(momentum=-0.9)), ("RMSprop", dict(eps=-1.0)),
]


@pytest.mark.parametrize("name,cfg", BAD, ids=[f"{n}-{c}" for n, c in BAD])
def test_bad_hyperparameters_raise_as_torch(name, cfg):
    p = Tensor(np.zeros(2), requires_grad=True)
    kind, msg = _message(lambda: getattr(torch.optim, name)(
        [torch.zeros(2, requires_grad=True)], **cfg))
    assert kind is ValueError
    with pytest.raises(ValueError) as err:
        getattr(optim, name)([p], **cfg)
    assert str(err.value) == msg


def test_negative_lr_message():
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0\.1$"):
        optim.SGD([Value(1.0)], lr=-0.1)


def test_param_without_grad_is_skipped_as_torch():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0]), requires_grad=True)
    at = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    ref = torch.optim.Adam([at, bt], lr=0.1, foreach=False)
    (a * a).sum().backward()
    (at * at).sum().backward()
    opt.step()
    ref.step()
    assert b.grad is None and bt.grad is None
    assert np.array_equal(b.data, [3.0]) and bt.item() == 3.0
    assert list(opt.state_dict()["state"]) == list(ref.state_dict()["state"]) == [0]
    np.testing.assert_allclose(a.data, at.detach().numpy(), rtol=TOL, atol=TOL)


def test_bad_params_raise_clearly():
    t = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor; wrap it in a list"):
        optim.SGD(t, lr=0.1)
    with pytest.raises(TypeError, match="one of the params is a list"):
        optim.SGD([[1.0, 2.0]], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([t * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Value"):
        optim.SGD([Value(1.0) * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([t, t], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        optim.SGD([{"params": [t]}, {"params": [t]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {t}}], lr=0.1)


def test_required_hyperparameter_must_be_given_per_group():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Plain([Value(1.0)])
    assert Plain([{"params": [Value(1.0)], "lr": 0.5}]).param_groups[0]["lr"] == 0.5


# ------------------------------------------------------------------------------- state dicts
ROUND_TRIP = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
]


def _make(kind, datas):
    if kind == "Value":
        return [Value(float(x)) for x in np.concatenate([np.ravel(d) for d in datas])]
    return [Tensor(np.array(d, copy=True), requires_grad=True) for d in datas]


def _set_grads(params, t):
    for p, g in zip(params, _gradients([p.data for p in params], t)):
        p.grad = Tensor(g) if isinstance(p, Tensor) else float(g)


def _datas(params):
    return [np.array(p.data, copy=True) for p in params]


@pytest.mark.parametrize("via", ["state_dict", "npz"])
@pytest.mark.parametrize("kind", ["Tensor", "Value"])
@pytest.mark.parametrize("name,cfg", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_round_trip_mid_training_resumes_the_same_trajectory(name, cfg, kind, via, tmp_path):
    cls = getattr(optim, name)
    straight = _make(kind, _starts(7))
    opt = cls(straight, **cfg)
    trajectory = []
    for t in range(60):
        _set_grads(straight, t)
        opt.step()
        trajectory.append(_datas(straight))
        if t == 24:
            saved = opt.state_dict()
            if via == "npz":
                optim.save(opt, tmp_path / "opt.npz")
            at_save = _datas(straight)
    # a fresh optimizer with other hyperparameters: loading restores the saved ones
    resumed = _make(kind, at_save)
    opt2 = cls(resumed, lr=0.5)
    if via == "npz":
        optim.load(opt2, tmp_path / "opt.npz")
    else:
        opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == cfg["lr"]
    assert type(opt2.param_groups[0].get("betas", ())) is tuple
    for t in range(25, 60):
        _set_grads(resumed, t)
        opt2.step()
        for a, b in zip(_datas(resumed), trajectory[t]):
            assert np.array_equal(a, b), f"step {t}"


def test_state_dict_is_a_copy_and_has_torch_layout():
    p = Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor(np.ones(3), dtype=p.dtype)
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].clone()
    opt.step()
    assert np.array_equal(sd["state"][0]["exp_avg"], before)
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_npz_file_needs_no_pickle(tmp_path):
    p = Tensor(np.ones(3), requires_grad=True)
    v = Value(2.0)
    opt = optim.SGD([p, v], lr=0.1, momentum=0.9)
    p.grad, v.grad = Tensor(np.ones(3), dtype=p.dtype), 1.0
    opt.step()
    optim.save(opt, tmp_path / "o.npz")
    with np.load(tmp_path / "o.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["meta", "state.0.momentum_buffer", "state.1.momentum_buffer"]
        assert all(f[k].dtype != object for k in f.files)


def test_save_refuses_what_json_cannot_hold(tmp_path):
    opt = optim.SGD([{"params": [Value(1.0)], "callback": print}], lr=0.1)
    with pytest.raises(TypeError, match=r"param_groups\[0\]\['callback'\] is a "
                                        r"builtin_function_or_method"):
        optim.save(opt, tmp_path / "o.npz")


def test_load_state_dict_mismatches_raise():
    a = Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    a.grad = Tensor(np.ones(3), dtype=a.dtype)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": [Value(1.0)]}, {"params": [Value(2.0)]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.Adam([Value(1.0), Value(2.0)]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state 'exp_avg' has shape \(3,\) but its parameter "
                                         r"has shape \(4,\)"):
        optim.Adam([Tensor(np.ones(4), requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match="not an optimizer file"):
        import tempfile, os  # noqa: E401
        path = os.path.join(tempfile.mkdtemp(), "x.npz")
        np.savez(path, meta=np.array('{"format": "other"}'))
        optim.load(opt, path)


# ------------------------------------------------------------------------------ training MLPs
def _mlp_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(16, 3))
    y = np.sin(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3]
    W1, b1 = rng.normal(size=(3, 8)) * 0.5, np.zeros(8)
    W2, b2 = rng.normal(size=(8, 1)) * 0.5, np.zeros(1)
    return X, y, [W1, b1, W2, b2]


def _torch_mlp_run(weights, X, y, name, cfg, steps):
    ps = [torch.tensor(w, requires_grad=True) for w in weights]
    opt = getattr(torch.optim, name)(ps, foreach=False, **cfg)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        out = torch.tanh(Xt @ ps[0] + ps[1]) @ ps[2] + ps[3]
        ((out - yt) ** 2).mean().backward()
        opt.step()
        history.append([p.detach().numpy().copy() for p in ps])
    return history


@pytest.mark.parametrize("name,cfg", [("Adam", dict(lr=0.05)),
                                      ("SGD", dict(lr=0.1, momentum=0.9))])
def test_tensor_mlp_trains_like_torch(name, cfg):
    X, y, weights = _mlp_data()
    ps = [Tensor(w.copy(), requires_grad=True) for w in weights]
    opt = getattr(optim, name)(ps, **cfg)
    Xc, yc = Tensor(X), Tensor(y)
    ref = _torch_mlp_run(weights, X, y, name, cfg, 40)
    losses = []
    for t in range(40):
        opt.zero_grad()
        out = (Xc @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]
        loss = ((out - yc) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        for p, q in zip(ps, ref[t]):
            np.testing.assert_allclose(p.data, q, rtol=1e-8, atol=1e-8, err_msg=f"step {t}")
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("name,cfg", [("Adam", dict(lr=0.05)),
                                      ("SGD", dict(lr=0.1, momentum=0.9))])
def test_value_mlp_trains_like_torch_with_the_same_optimizer_class(name, cfg):
    X, y, weights = _mlp_data()
    W1 = [[Value(w) for w in row] for row in weights[0]]
    b1 = [Value(b) for b in weights[1]]
    W2 = [Value(w) for w in weights[2][:, 0]]
    b2 = Value(weights[3][0])
    params = [w for row in W1 for w in row] + b1 + W2 + [b2]
    opt = getattr(optim, name)(params, **cfg)
    ref = _torch_mlp_run(weights, X, y, name, cfg, 15)
    losses = []
    for t in range(15):
        opt.zero_grad()
        loss = Value(0.0)
        for x_row, y_row in zip(X, y):
            hidden = [(sum((W1[i][j] * x_row[i] for i in range(3)), b1[j])).tanh()
                      for j in range(8)]
            out = sum((W2[j] * hidden[j] for j in range(8)), b2)
            loss = loss + (out - y_row[0]) ** 2
        loss = loss * (1.0 / len(X))
        loss.backward()
        opt.step()
        losses.append(loss.data)
        flat = np.concatenate([q.ravel() for q in ref[t]])
        np.testing.assert_allclose([p.data for p in params], flat, rtol=1e-8, atol=1e-8,
                                   err_msg=f"step {t}")
    assert losses[-1] < losses[0]
    tensor_opt = getattr(optim, name)([Tensor(np.ones(2), requires_grad=True)], **cfg)
    assert type(tensor_opt) is type(opt)


def test_weight_decay_equals_half_lambda_l2_penalty_in_the_loss():
    nn = pytest.importorskip("nn")
    lam = 0.3
    start = np.array([1.0, -2.0, 0.5])
    a = Tensor(start.copy(), requires_grad=True)
    b = Tensor(start.copy(), requires_grad=True)
    opt_a = optim.SGD([a], lr=0.1, momentum=0.9, weight_decay=lam)
    opt_b = optim.SGD([b], lr=0.1, momentum=0.9)
    for _ in range(20):
        opt_a.zero_grad()
        opt_b.zero_grad()
        (a.sin() * 3.0).sum().backward()
        ((b.sin() * 3.0).sum() + (lam / 2) * nn.functional.l2_penalty([b])).backward()
        opt_a.step()
        opt_b.step()
    assert np.isfinite(a.data).all() and np.abs(a.data - start).min() > 0.1
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)
