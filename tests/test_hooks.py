"""Tensor.register_hook and register_post_accumulate_grad_hook against torch's.

Each scenario runs the same program on tapegrad and on torch, its hooks writing what they see
into a log: (name, the tensor seen). Then the logs must match entry by entry (the same hooks
called, in the same order, with the same values, requires_grad included) and so must what the
program returns (.grad, autograd.grad's results). tapegrad runs each scenario with its fast
paths on and off: both loops must run hooks as torch does.
"""
import copy
import functools
import gc

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd import Tensor  # noqa: E402
from autograd import engine, fast  # noqa: E402
from torch_surface import assert_same, raises_like_torch  # noqa: E402

# torch's advice on backward(create_graph=True), which two scenarios call on purpose
# its warning that a deep copy leaves hooks behind, and anomaly mode's
pytestmark = [pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True"),
              pytest.mark.filterwarnings("ignore:backward hook .* will not be serialized"),
              pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")]


@pytest.fixture(autouse=True)
def _no_hooked_leaf_left():
    """No leaf with hooks outlives a test: while one lives, a compiled function's first call
    runs eagerly (its leaves are not known before the trace), which later test modules would
    see. (A hook that holds its own tensor is a cycle, freed by the collector.)"""
    yield

    def left():
        return [t for t in list(engine.HOOKED.values())
                if t._op is None and engine.Hooks.in_force(t)]
    if left():
        gc.collect()
    assert not left()


def _grad(m):
    return m.grad if m is autograd else m.autograd.grad


def _watch(log, name, change=None, flat=False):
    """A hook that logs what it sees under `name` (flat: as a vector) and returns change(g)
    (None: keeps it)."""
    def hook(g):
        seen = g.detach().clone()
        log.append((name, seen.reshape(-1) if flat else seen, g.requires_grad))
        return None if change is None else change(g)
    return hook


def _leaf(m, values, dtype=None):
    return m.tensor(values, requires_grad=True, dtype=dtype or m.float64)


# ---------------------------------------------------------------------------------------------
# scenarios: f(m, log) -> what to compare (tensors, lists of them, None)
def leaf_hooks_chained(m, log):
    """Two hooks on a leaf: the second sees the first's result; .grad gets the last."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "first", lambda g: g * 2))
    x.register_hook(_watch(log, "second"))
    ((x * x).sum() + x.sum()).backward()
    return x.grad


def leaf_hook_sees_the_new_gradient_only(m, log):
    """A second backward: the hook sees this pass's gradient, .grad the sum."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x", lambda g: g + 1))
    (x * x).sum().backward()
    (x * 3).sum().backward()
    return x.grad


def leaf_used_twice(m, log):
    """Once, with the gradient summed over both paths."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x"))
    ((x * 5) * (x + 1)).sum().backward()
    return x.grad


def intermediate_hook_changes_what_goes_back(m, log):
    x = _leaf(m, [1., 2., 3.])
    y = x.exp()
    y.register_hook(_watch(log, "y", lambda g: g * 10))
    z = (y * x).sum()
    z.backward()
    return x.grad, y.retains_grad


def retain_grad_keeps_the_gradient_after_every_hook(m, log):
    """retain_grad() stores the gradient after all hooks, registered before or after it."""
    out = []
    for retain_first in (True, False):
        a = _leaf(m, [1., 2.])
        b = a * 3
        if retain_first:
            b.retain_grad()
        b.register_hook(_watch(log, "times ten", lambda g: g * 10))
        if not retain_first:
            b.retain_grad()
        b.register_hook(_watch(log, "plus one", lambda g: g + 1))
        (b * b).sum().backward()
        out += [b.grad, a.grad]
    return out


def hook_on_the_root(m, log):
    x = _leaf(m, [1., 2.])
    loss = (x * 2).sum()
    loss.register_hook(_watch(log, "loss", lambda g: g * 5))
    loss.backward()
    return x.grad


def hook_on_a_root_given_a_gradient(m, log):
    x = _leaf(m, [1., 2.])
    y = x * 2
    y.register_hook(_watch(log, "y"))
    y.backward(m.tensor([3., 4.], dtype=m.float64))
    return x.grad


def hooks_not_reached(m, log):
    """Tensors whose gradient no pass computes: a result not used by the loss, a detached
    copy's source, a leaf the loss does not use: their hooks are not called."""
    x = _leaf(m, [1., 2.])
    unused = _leaf(m, [3.])
    unused.register_hook(_watch(log, "unused leaf"))
    side = x * 3
    side.register_hook(_watch(log, "side result"))
    d = (x * 2).detach().requires_grad_()
    d.register_hook(_watch(log, "detached"))
    (x * x).sum().backward()
    return x.grad, d.grad


def mlp_order(m, log):
    """The order of the hooks of an MLP's parameters and activations: each parameter as soon
    as its gradient is complete (out, b2, W2, h, ...), torch's."""
    rng = np.random.default_rng(0)
    W1, b1 = _leaf(m, rng.standard_normal((3, 4))), _leaf(m, rng.standard_normal(4))
    W2, b2 = _leaf(m, rng.standard_normal((4, 2))), _leaf(m, rng.standard_normal(2))
    for name, t in [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]:
        t.register_hook(_watch(log, name))
    x = m.tensor(rng.standard_normal((5, 3)), dtype=m.float64)
    pre = x @ W1 + b1
    pre.register_hook(_watch(log, "pre"))
    h = m.tanh(pre)
    h.register_hook(_watch(log, "h"))
    out = h @ W2 + b2
    out.register_hook(_watch(log, "out"))
    out.pow(2).mean().backward()
    return [W1.grad, b1.grad, W2.grad, b2.grad]


def order_of_leaves_and_results(m, log):
    a, b, c = _leaf(m, [1., 2.]), _leaf(m, [3., 4.]), _leaf(m, [5., 6.])
    a.register_hook(_watch(log, "a"))
    b.register_hook(_watch(log, "b"))
    y = a * b
    y.register_hook(_watch(log, "y"))
    c.register_hook(_watch(log, "c"))
    z = y * c
    z.register_hook(_watch(log, "z"))
    u = z * a                   # a used again, later: complete only after u and y
    u.register_hook(_watch(log, "u"))
    u.sum().backward()
    return [a.grad, b.grad, c.grad]


def retain_graph_calls_hooks_at_each_pass(m, log):
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x"))
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    return x.grad


def removed_hooks(m, log):
    x = _leaf(m, [1., 2.])
    handle = x.register_hook(_watch(log, "removed", lambda g: g * 100))
    x.register_hook(_watch(log, "kept"))
    handle.remove()
    handle.remove()             # again: nothing
    with x.register_hook(_watch(log, "inside with", lambda g: g * 3)):
        (x * x).sum().backward()
    (x * x).sum().backward()
    return x.grad


def hook_removing_itself(m, log):
    x = _leaf(m, [1., 2.])
    handles = []

    def once(g):
        log.append(("once", g.clone(), False))
        handles[0].remove()
        return g * 2
    handles.append(x.register_hook(once))
    x.register_hook(_watch(log, "after"))
    (x * x).sum().backward()
    (x * x).sum().backward()
    return x.grad


def autograd_grad_of_a_leaf(m, log):
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x", lambda g: g * 2))
    y = x * 3
    y.register_hook(_watch(log, "y", lambda g: g + 1))
    z = (y * y).sum()
    got = _grad(m)(z, x)
    return list(got) + [x.grad]


def autograd_grad_of_an_intermediate(m, log):
    """Hooks of the input itself run, those behind it do not (nothing needs them)."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x"))
    y = x * 3
    y.register_hook(_watch(log, "y", lambda g: g + 1))
    z = (y * y).sum()
    return list(_grad(m)(z, y)) + [x.grad]


def autograd_grad_runs_no_hook_off_the_path(m, log):
    a, b = _leaf(m, [1., 2.]), _leaf(m, [3., 4.])
    b.register_hook(_watch(log, "b"))
    w = b * 2
    w.register_hook(_watch(log, "w"))
    a.register_hook(_watch(log, "a"))
    return list(_grad(m)((a * w).sum(), a))


def backward_with_inputs(m, log):
    """backward(inputs=): hooks on the paths to the inputs only; a non-leaf input's .grad is
    its gradient after its hooks."""
    a, b = _leaf(m, [1., 2.]), _leaf(m, [3., 4.])
    a.register_hook(_watch(log, "a"))
    b.register_hook(_watch(log, "b"))
    w = b * 2
    w.register_hook(_watch(log, "w", lambda g: g * 3))
    loss = (a * w).sum()
    loss.backward(inputs=[a], retain_graph=True)
    loss.backward(inputs=[w])
    return [a.grad, b.grad, w.grad]


def create_graph_hooks_are_differentiated_through(m, log):
    """Under create_graph the hook gets a gradient with a graph, and what it returns is part
    of it; a second backward calls the hooks again."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x"))
    y = x ** 3
    y.register_hook(_watch(log, "y"))
    y.register_hook(lambda g: g * x)
    g, = _grad(m)(y.sum(), x, create_graph=True)
    seen = g.detach().clone()
    g.sum().backward()
    return [seen, g.requires_grad, x.grad]


def backward_create_graph(m, log):
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x", lambda g: g * x))
    (x ** 2).sum().backward(create_graph=True)
    first = x.grad.detach().clone()
    grad_of_grad, = _grad(m)(x.grad.sum(), x)
    return [first, x.grad.requires_grad, grad_of_grad]


def grad_mode_inside_hooks(m, log):
    """no_grad inside hooks of a plain backward, grad mode on under create_graph."""
    x = _leaf(m, [1., 2.])
    x.register_hook(lambda g: log.append(("enabled", m.tensor(m.is_grad_enabled()), False)))
    x.register_post_accumulate_grad_hook(
        lambda t: log.append(("post enabled", m.tensor(m.is_grad_enabled()), False)))
    (x * x).sum().backward()
    (x * x).sum().backward(create_graph=True)
    return None


def hook_returning_a_tensor_with_a_graph(m, log):
    """Without create_graph what a hook computes is not recorded: .grad has no graph and the
    tensors the hook used get no gradient."""
    x = _leaf(m, [1., 2.])
    w = _leaf(m, [3., 4.])
    x.register_hook(lambda g: g * w)
    (x * x).sum().backward()
    return [x.grad, x.grad.requires_grad, w.grad]


def in_place_change_after_the_hook(m, log):
    """Hooks registered before y.mul_(2) see the gradient of y's old value; those after, of
    the new one."""
    x = _leaf(m, [1., 2.])
    y = x * 3
    y.register_hook(_watch(log, "y before"))
    y.register_hook(lambda g: g * 100)
    y.mul_(2)
    y.register_hook(_watch(log, "y after"))
    (y * y).sum().backward()
    return x.grad


def relu_in_place_after_the_hook(m, log):
    """relu_ (and F.relu(inplace=True), nn.ReLU(inplace=True)) right after the op that made y:
    tapegrad's row writes into y's array without a copy, and the hooks registered before see
    the gradient of y's old value (masked), those after, of the new one."""
    x = _leaf(m, [[1., -2., 3.], [-1., 2., -3.]])
    w = _leaf(m, [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 1.0]])
    y = x @ w
    y.register_hook(_watch(log, "y before"))
    (F if m is autograd else m.nn.functional).relu(y, inplace=True)
    y.register_hook(_watch(log, "y after"))
    (y * 3.0).sum().backward()
    return [x.grad, w.grad]


def in_place_view_change_after_the_hook(m, log):
    """An in-place view op (unsqueeze_) is otherwise: the hooks registered before and after
    it run together, in registration order. (torch gives them the gradient in the shape
    before the change, tapegrad in the shape after: the hooks log it flat.)"""
    x = _leaf(m, [1., 2.])
    y = x * 3
    y.register_hook(_watch(log, "y before", lambda g: (g * 100).reshape(g.shape),
                           flat=True))
    y.unsqueeze_(0)
    y.register_hook(_watch(log, "y after", flat=True))
    (y * y).sum().backward()
    return x.grad


def leaf_changed_under_no_grad_keeps_its_hooks(m, log):
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x"))
    with m.no_grad():
        x.add_(1)
    (x * x).sum().backward()
    return x.grad


def hook_on_a_view(m, log):
    x = _leaf(m, [1., 2.])
    y = x * 1
    v = y[0:1]
    v.register_hook(_watch(log, "v"))
    y.register_hook(_watch(log, "y"))
    (v * 5).sum().backward()
    return x.grad


def hook_on_a_tensor_read_by_slices(m, log):
    """A gradient made of slices (the fast paths keep it sparse until complete) reaches the
    hook whole, as one tensor."""
    x = _leaf(m, [1., 2., 3., 4.])
    y = x * 1
    y.register_hook(_watch(log, "y", lambda g: g * 2))
    ((y[0:2] * 3).sum() + (y[1:4] ** 2).sum() + y[3]).backward()
    return x.grad


def hooks_under_anomaly_mode(m, log):
    """detect_anomaly() runs backward through the watched loop: the same hooks."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x", lambda g: g * 2))
    y = x.exp()
    y.register_hook(_watch(log, "y"))
    with (m.detect_anomaly() if m is autograd else m.autograd.detect_anomaly()):
        (y * x).sum().backward()
    return x.grad


def hook_kept_through_a_dtype_change_of_the_model(m, log):
    """A module's parameters keep their hooks when it changes dtype (the same objects)."""
    layer = (nn if m is autograd else m.nn).Linear(2, 1)
    with m.no_grad():
        layer.weight.copy_(m.tensor([[0.5, -1.0]]))
        layer.bias.fill_(0.25)
    layer.weight.register_hook(_watch(log, "weight", lambda g: g * 10))
    layer.double()
    layer(m.tensor([[1., 2.]], dtype=m.float64)).sum().backward()
    return [layer.weight.grad, layer.bias.grad]


def copies_have_no_hooks(m, log):
    """A deep copy of a hooked tensor or parameter (a target network) has no hooks."""
    x = _leaf(m, [1., 2.])
    x.register_hook(_watch(log, "x", lambda g: g * 10))
    layer = (nn if m is autograd else m.nn).Linear(2, 1).double()
    layer.weight.register_hook(_watch(log, "weight", lambda g: g * 10))
    y, twin = copy.deepcopy(x), copy.deepcopy(layer)
    (y * 1).sum().backward()
    twin(y.detach().reshape(1, 2)).sum().backward()
    (x * 1).sum().backward()
    return [y.grad, x.grad, twin.weight.grad.shape == (1, 2)]


def zero_d_leaf(m, log):
    x = m.tensor(2., requires_grad=True, dtype=m.float64)
    x.register_hook(_watch(log, "x", lambda g: g * 3))
    (x * x).backward()
    return x.grad


def float32_leaf_clamped(m, log):
    """p.register_hook(lambda g: g.clamp(-1, 1)): what .grad gets is clipped."""
    x = m.tensor([[0.5, -2.0], [3.0, 0.25]], requires_grad=True)
    x.register_hook(_watch(log, "raw", lambda g: g.clamp(-1, 1)))
    (x * x * x).sum().backward()
    return x.grad


def linear_layer_weight_hook(m, log):
    """A hook on an nn.Linear's weight, in a training step of SGD."""
    rng = np.random.default_rng(3)
    nn_ = nn if m is autograd else m.nn
    optim_ = __import__("optim") if m is autograd else m.optim
    layer = nn_.Linear(3, 2).double()
    with m.no_grad():
        layer.weight.copy_(m.tensor(rng.standard_normal((2, 3)), dtype=m.float64))
        layer.bias.copy_(m.tensor(rng.standard_normal(2), dtype=m.float64))
    layer.weight.register_hook(_watch(log, "weight", lambda g: g.clamp(-0.1, 0.1)))
    opt = optim_.SGD(layer.parameters(), lr=0.5)
    x = m.tensor(rng.standard_normal((4, 3)), dtype=m.float64)
    for _ in range(2):
        opt.zero_grad()
        (layer(x) ** 2).mean().backward()
        opt.step()
    return [layer.weight.detach().clone(), layer.bias.detach().clone()]


def post_accumulate_hooks(m, log):
    """After .grad is set (the hooks of register_hook first), in registration order; each
    backward() calls them, backward(inputs=) too, autograd.grad never."""
    x = _leaf(m, [1., 2.])
    x.register_hook(lambda g: g * 10)
    x.register_post_accumulate_grad_hook(
        lambda t: log.append(("post", t.grad.clone(), t.requires_grad)))
    x.register_post_accumulate_grad_hook(
        lambda t: log.append(("post2", t.grad.clone(), False)))
    (x * x).sum().backward()
    _grad(m)((x * x).sum(), x)
    (x * x).sum().backward(inputs=[x])
    return x.grad


def post_accumulate_hook_as_an_optimizer(m, log):
    """torch's documented use: a parameter updated as soon as its gradient is ready."""
    lr = 0.1
    w = _leaf(m, [1., -2., 3.])
    b = _leaf(m, [0.5])
    for p in (w, b):
        p.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-lr))
    x = m.tensor([[1., 2., 3.], [0., 1., -1.]], dtype=m.float64)
    for _ in range(3):
        w.grad, b.grad = None, None
        ((x @ w + b) ** 2).sum().backward()
    return [w.detach().clone(), b.detach().clone()]


def post_accumulate_hook_removed(m, log):
    x = _leaf(m, [1., 2.])
    h = x.register_post_accumulate_grad_hook(
        lambda t: log.append(("post", t.grad.clone(), False)))
    (x * x).sum().backward()
    h.remove()
    (x * x).sum().backward()
    return x.grad


def post_accumulate_hook_under_create_graph(m, log):
    x = _leaf(m, [1., 2.])
    x.register_post_accumulate_grad_hook(
        lambda t: log.append(("post", t.grad.detach().clone(), t.grad.requires_grad)))
    (x ** 3).sum().backward(create_graph=True)
    return None


SCENARIOS = {f.__name__: f for f in [
    leaf_hooks_chained, leaf_hook_sees_the_new_gradient_only, leaf_used_twice,
    intermediate_hook_changes_what_goes_back, retain_grad_keeps_the_gradient_after_every_hook,
    hook_on_the_root, hook_on_a_root_given_a_gradient, hooks_not_reached, mlp_order,
    order_of_leaves_and_results, retain_graph_calls_hooks_at_each_pass, removed_hooks,
    hook_removing_itself, autograd_grad_of_a_leaf, autograd_grad_of_an_intermediate,
    autograd_grad_runs_no_hook_off_the_path, backward_with_inputs,
    create_graph_hooks_are_differentiated_through, backward_create_graph, grad_mode_inside_hooks,
    hook_returning_a_tensor_with_a_graph, in_place_change_after_the_hook,
    relu_in_place_after_the_hook,
    in_place_view_change_after_the_hook, leaf_changed_under_no_grad_keeps_its_hooks,
    hook_on_a_view, hook_on_a_tensor_read_by_slices, hooks_under_anomaly_mode,
    hook_kept_through_a_dtype_change_of_the_model, copies_have_no_hooks, zero_d_leaf,
    float32_leaf_clamped, linear_layer_weight_hook, post_accumulate_hooks,
    post_accumulate_hook_as_an_optimizer, post_accumulate_hook_removed,
    post_accumulate_hook_under_create_graph]}


def _same(ours, theirs, what):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{what}[{i}]")
    elif theirs is None or isinstance(theirs, bool):
        assert ours is theirs, f"{what}: {ours!r}, torch {theirs!r}"
    else:
        assert_same(ours, theirs, rtol=1e-12, atol=1e-12, what=what)


@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_hooks_as_torch(name, fast_paths):
    """The hooks called, in order, with what they see, and the results: torch's."""
    scenario = SCENARIOS[name]
    log_torch, log_ours = [], []
    want = scenario(torch, log_torch)
    with autograd.fast_paths(fast_paths):
        got = scenario(autograd, log_ours)
    assert [e[0] for e in log_ours] == [e[0] for e in log_torch], "hooks called, in order"
    for (n, g_ours, rg_ours), (_, g_torch, rg_torch) in zip(log_ours, log_torch):
        assert rg_ours == rg_torch, f"{n}: requires_grad of the gradient seen"
        assert_same(g_ours, g_torch, rtol=1e-12, atol=1e-12, what=f"gradient seen by {n}")
    _same(got, want, "result")


def test_every_scenario_calls_a_hook_or_checks_a_result():
    """No scenario is empty on torch's side (a log or a result to compare)."""
    for name, scenario in SCENARIOS.items():
        log = []
        out = scenario(torch, log)
        assert log or out is not None, name


# ---------------------------------------------------------------------------------------------
# errors, as torch's
def _no_grad_hook(m):
    return m.tensor([1.]).register_hook(lambda g: g)


def _post_on_no_grad(m):
    return m.tensor([1.]).register_post_accumulate_grad_hook(lambda t: None)


def _post_on_non_leaf(m):
    x = m.tensor([1.], requires_grad=True)
    return (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def _hook_changing(change, on_leaf=True, float64=False):
    def run(m):
        x = m.tensor([1., 2.], requires_grad=True, dtype=m.float64 if float64 else None)
        t = x if on_leaf else x * 2
        t.register_hook(change(m))
        (t * t).sum().backward()
    return run


def _named_hook(m):
    def my_hook(g):
        return g.sum()
    return my_hook


class _CallableHook:
    def __call__(self, g):
        return g.sum()


def _post_hook_returning(hook):
    def run(m):
        x = m.tensor([1., 2.], requires_grad=True)
        x.register_post_accumulate_grad_hook(hook)
        (x * x).sum().backward()
    return run


def _raising_hook(m):
    x = m.tensor([1., 2.], requires_grad=True)

    def bad(g):
        raise ValueError("boom")
    x.register_hook(bad)
    (x * x).sum().backward()


ERRORS = {
    "register_hook without requires_grad": _no_grad_hook,
    "post hook without requires_grad": _post_on_no_grad,
    "post hook on a non-leaf": _post_on_non_leaf,
    "leaf: a hook changes the shape": _hook_changing(lambda m: lambda g: g.sum()),
    "intermediate: a hook changes the shape": _hook_changing(
        lambda m: lambda g: m.ones(3), on_leaf=False),
    "the hook's name in the message": _hook_changing(_named_hook),
    "a callable object's name": _hook_changing(lambda m: _CallableHook()),
    "a partial's name": _hook_changing(
        lambda m: functools.partial(lambda g, k: g.sum(), k=1)),
    "leaf: a hook changes the dtype": _hook_changing(lambda m: lambda g: g.double()),
    "intermediate: a hook changes the dtype": _hook_changing(
        lambda m: lambda g: g.double(), on_leaf=False),
    "float64 to float16": _hook_changing(lambda m: lambda g: g.half(), float64=True),
    "to an integer dtype": _hook_changing(lambda m: lambda g: g.long()),
    "dtype and shape: the dtype first": _hook_changing(
        lambda m: lambda g: m.ones(3, dtype=m.float64)),
    "a hook returns a number": _hook_changing(lambda m: lambda g: 3.0),
    "a post hook returns a number": _post_hook_returning(lambda t: 5),
    "a post hook returns another tensor": _post_hook_returning(lambda t: t * 100),
    "a post hook returns the gradient": _post_hook_returning(lambda t: t.grad),
    "a hook raises": _raising_hook,
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_as_torch(case):
    """torch's error type and first line of message."""
    raises_like_torch(ERRORS[case])


def test_post_hooks_after_one_returning_a_number_do_not_run():
    for m in (autograd, torch):
        seen = []
        x = m.tensor([1., 2.], requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda t: seen.append("first"))
        x.register_post_accumulate_grad_hook(lambda t: 5)
        x.register_post_accumulate_grad_hook(lambda t: seen.append("third"))
        with pytest.raises(TypeError):
            (x * x).sum().backward()
        assert seen == ["first"], m.__name__
        assert x.grad.tolist() == [2., 4.]


# ---------------------------------------------------------------------------------------------
# the handle
def test_the_handle_is_torch_utils_hooks_removable_handle():
    x = Tensor([1.], requires_grad=True)
    h1 = x.register_hook(lambda g: None)
    h2 = x.register_post_accumulate_grad_hook(lambda t: None)
    from autograd.utils.hooks import RemovableHandle
    assert type(h1) is type(h2) is RemovableHandle
    assert type(h1).__name__ == type(torch.tensor([1.], requires_grad=True)
                                     .register_hook(lambda g: None)).__name__
    assert h2.id > h1.id and RemovableHandle.next_id > h2.id
    with h1 as same:
        assert same is h1
    assert not x._hooks.grad and x._hooks.post
    h2.remove()
    assert not x._hooks.post


def test_a_handle_keeps_no_tensor_alive():
    import gc
    import weakref
    x = Tensor([1.], requires_grad=True)
    h = x.register_hook(lambda g: None)
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None
    h.remove()                  # the tensor gone: nothing to do, no error


# ---------------------------------------------------------------------------------------------
# the fast paths: no cost without hooks, the reference loop with them
def _mlp_loss(hook=None):
    rng = np.random.default_rng(1)
    w1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w2 = Tensor(rng.standard_normal((4, 1)), requires_grad=True)
    if hook is not None:
        w1.register_hook(hook)
    x = Tensor(rng.standard_normal((5, 3)))
    return (x @ w1).tanh() @ w2, (w1, w2)


def test_backward_without_hooks_stays_on_the_fast_loop(monkeypatch):
    calls = []
    monkeypatch.setattr(fast, "backpropagate",
                        lambda *a: calls.append(a) or engine.backpropagate(*a))
    loss, _ = _mlp_loss()
    keep = Tensor([1.], requires_grad=True)
    keep.register_hook(lambda g: None)     # a hook elsewhere: still the fast loop here
    loss.sum().backward()
    assert calls == []
    loss, (w1, w2) = _mlp_loss(hook=lambda g: g * 2)
    loss.sum().backward()
    assert len(calls) == 1                  # a hook in the graph: the reference loop's order


def test_removed_hooks_leave_the_fast_loop_to_itself(monkeypatch):
    calls = []
    monkeypatch.setattr(fast, "backpropagate",
                        lambda *a: calls.append(a) or engine.backpropagate(*a))
    rng = np.random.default_rng(1)
    w = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w.register_hook(lambda g: g * 2).remove()
    (w * w).sum().backward()
    assert calls == []


def test_hooks_with_the_fast_and_the_reference_loop_agree_on_a_model():
    """Every parameter of a small model hooked: the same calls, with the same values, and the
    same .grad with both loops, twice the gradient without hooks where a hook doubles it. (The
    order within a layer is not torch's: its linear is an addmm and a transpose, tapegrad's
    one node of inputs x, W, b.)"""
    runs = {}
    for fast_paths in (True, False):
        rng = np.random.default_rng(5)
        model = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=np.float64), nn.Tanh(),
                              nn.Linear(4, 2, rng=rng, dtype=np.float64))
        x = Tensor(rng.standard_normal((6, 3)))
        plain = [p.grad for p in _backward_of(model, x)]
        for p in model.parameters():
            p.grad = None
        log = []
        for name, p in model.named_parameters():
            p.register_hook(_watch(log, name, lambda g: g * 2))
        with autograd.fast_paths(fast_paths):
            hooked = [p.grad for p in _backward_of(model, x)]
        for a, b in zip(hooked, plain):
            np.testing.assert_allclose(a.numpy(), 2 * b.numpy(), rtol=1e-12)
        runs[fast_paths] = log, hooked
    (log_fast, grads_fast), (log_ref, grads_ref) = runs[True], runs[False]
    assert [n for n, *_ in log_fast] == [n for n, *_ in log_ref] == [
        "2.weight", "2.bias", "0.weight", "0.bias"]
    for (_, a, _), (_, b, _) in zip(log_fast, log_ref):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(grads_fast, grads_ref):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _backward_of(model, x):
    (model(x) ** 2).mean().backward()
    return list(model.parameters())
