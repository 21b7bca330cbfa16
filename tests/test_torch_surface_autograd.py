"""The autograd API as torch's: grad_fn (names, next_functions), is_leaf, retain_grad,
requires_grad_, detach_, Variable, backward's keywords (gradient, retain_graph, create_graph,
inputs), autograd.grad's signature, grad modes (no_grad as a decorator, set_grad_enabled,
inference_mode), anomaly mode's message, autograd.functional."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
import nn  # noqa: E402
from autograd import Tensor  # noqa: E402
from torch_surface import assert_same, raises_like_torch, run_both, same  # noqa: E402


def _tree(fn, depth=3):
    """A grad_fn as (name, [children]) to `depth` levels: AccumulateGrad and None by name."""
    if fn is None:
        return None
    name = fn.name()
    if depth == 0 or name.endswith("AccumulateGrad"):
        return name
    return name, [_tree(f, depth - 1) for f, _ in fn.next_functions]


def _F(m):
    return nn.functional if m is autograd else torch.nn.functional


# expressions whose graphs torch and tapegrad show alike, x and y leaves requiring grad, c not
GRAPHS = {
    "add-number": lambda m, x, y, c: x + 2, "radd": lambda m, x, y, c: 2 + x,
    "mul-number": lambda m, x, y, c: x * 2, "rmul": lambda m, x, y, c: 2 * x,
    "sub": lambda m, x, y, c: x - y, "sub-number": lambda m, x, y, c: x - 2,
    "rsub": lambda m, x, y, c: 2 - x, "sub-const": lambda m, x, y, c: x - c,
    "neg": lambda m, x, y, c: -x, "div": lambda m, x, y, c: x / y,
    "div-number": lambda m, x, y, c: x / 2, "rdiv": lambda m, x, y, c: 2 / x,
    "pow-number": lambda m, x, y, c: x ** 2, "rpow": lambda m, x, y, c: 2 ** x,
    "pow": lambda m, x, y, c: x ** y, "add-const": lambda m, x, y, c: c + x,
    "chain": lambda m, x, y, c: (2 * x.sin() + 1).sum(), "mean": lambda m, x, y, c: x.mean(),
    "mean-dim": lambda m, x, y, c: x.view(3, 1).mean(1), "sum-dim": lambda m, x, y, c: x.sum(0),
    "max": lambda m, x, y, c: x.max(), "max-dim": lambda m, x, y, c: x.view(3, 1).max(0)[0],
    "min": lambda m, x, y, c: x.min(), "amax": lambda m, x, y, c: x.amax(),
    "std": lambda m, x, y, c: x.std(), "var": lambda m, x, y, c: x.var(),
    "square": lambda m, x, y, c: x.square(), "sqrt": lambda m, x, y, c: x.abs().sqrt(),
    "rsqrt": lambda m, x, y, c: x.abs().rsqrt(), "exp": lambda m, x, y, c: x.exp(),
    "log2": lambda m, x, y, c: x.abs().log2(), "log1p": lambda m, x, y, c: x.abs().log1p(),
    "sigmoid": lambda m, x, y, c: m.sigmoid(x), "tanh": lambda m, x, y, c: m.tanh(x),
    "relu": lambda m, x, y, c: x.relu(), "clamp": lambda m, x, y, c: x.clamp(min=0),
    "double": lambda m, x, y, c: x.double(), "to": lambda m, x, y, c: x.to(m.float64),
    "getitem-int": lambda m, x, y, c: x[0], "getitem-slice": lambda m, x, y, c: x[:2],
    "getitem-list": lambda m, x, y, c: x[[0, 1]], "getitem-none": lambda m, x, y, c: x[None],
    "view": lambda m, x, y, c: x.view(3, 1), "reshape": lambda m, x, y, c: x.reshape(3, 1),
    "unsqueeze": lambda m, x, y, c: x.unsqueeze(0),
    "squeeze": lambda m, x, y, c: x.view(3, 1).squeeze(),
    "squeeze-dim": lambda m, x, y, c: x.view(3, 1).squeeze(1),
    "t": lambda m, x, y, c: x.view(3, 1).t(), "T": lambda m, x, y, c: x.view(3, 1).T,
    "transpose": lambda m, x, y, c: x.view(3, 1).transpose(0, 1),
    "permute": lambda m, x, y, c: x.view(3, 1).permute(1, 0),
    "flatten": lambda m, x, y, c: x.view(3, 1).flatten(),
    "expand": lambda m, x, y, c: x.expand(2, 3), "clone": lambda m, x, y, c: x.clone(),
    "cat": lambda m, x, y, c: m.cat([x, y]), "stack": lambda m, x, y, c: m.stack([x, y]),
    "softmax": lambda m, x, y, c: x.softmax(0), "log_softmax": lambda m, x, y, c: x.log_softmax(0),
    "where": lambda m, x, y, c: m.where(c > 0, x, y), "maximum": lambda m, x, y, c: m.maximum(x, y),
    "dot": lambda m, x, y, c: x.dot(y), "mm": lambda m, x, y, c: x.view(1, 3) @ y.view(3, 1),
    "mv": lambda m, x, y, c: y.view(1, 3).expand(2, 3) @ x,
    "sort": lambda m, x, y, c: x.sort()[0], "topk": lambda m, x, y, c: x.topk(2)[0],
    "gather": lambda m, x, y, c: x.gather(0, m.tensor([0])),
    "index_select": lambda m, x, y, c: x.index_select(0, m.tensor([0])),
    "chunk": lambda m, x, y, c: x.chunk(3)[0], "split": lambda m, x, y, c: x.split(1)[0],
    "unbind": lambda m, x, y, c: x.unbind()[0], "diag": lambda m, x, y, c: x.diag(),
    "triu": lambda m, x, y, c: x.view(3, 1).expand(3, 3).triu(),
    "masked_fill": lambda m, x, y, c: x.masked_fill(c > 0, 0.0),
    "sign": lambda m, x, y, c: x.sign(), "floor": lambda m, x, y, c: x.floor(),
    "round": lambda m, x, y, c: x.round(), "frac": lambda m, x, y, c: x.frac(),
    "fmod": lambda m, x, y, c: x.fmod(2.0), "remainder": lambda m, x, y, c: x.remainder(y),
    "prod": lambda m, x, y, c: x.prod(), "cumsum": lambda m, x, y, c: x.cumsum(0),
    "norm": lambda m, x, y, c: x.norm(), "repeat": lambda m, x, y, c: x.repeat(2),
    "flip": lambda m, x, y, c: x.flip(0), "roll": lambda m, x, y, c: x.roll(1),
    "iadd": lambda m, x, y, c: (lambda z: (z.__iadd__(1), z)[1])(x.clone()),
    "add_": lambda m, x, y, c: x.clone().add_(y), "mul_": lambda m, x, y, c: x.clone().mul_(2),
    "mse": lambda m, x, y, c: _F(m).mse_loss(x, y),
    "ce": lambda m, x, y, c: _F(m).cross_entropy(x.view(1, 3), m.tensor([1])),
    "bce": lambda m, x, y, c: _F(m).binary_cross_entropy(x.sigmoid(), c.sigmoid()),
    "bce-logits": lambda m, x, y, c: _F(m).binary_cross_entropy_with_logits(x, c.sigmoid()),
    "nll": lambda m, x, y, c: _F(m).nll_loss(x.view(1, 3), m.tensor([1])),
    "huber": lambda m, x, y, c: _F(m).huber_loss(x, y),
    "gelu": lambda m, x, y, c: _F(m).gelu(x), "silu": lambda m, x, y, c: _F(m).silu(x),
    "softplus": lambda m, x, y, c: _F(m).softplus(x),
    "leaky_relu": lambda m, x, y, c: _F(m).leaky_relu(x),
    "linear": lambda m, x, y, c: _F(m).linear(x.view(1, 3), y.view(1, 3), c[:1]),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_grad_fn_graph_as_torch(name):
    def run(m):
        x = m.tensor([0.5, -1.2, 2.0], requires_grad=True)
        y = m.tensor([1.5, 0.7, -0.4], requires_grad=True)
        c = m.tensor([0.3, -0.2, 0.9])
        return _tree(GRAPHS[name](m, x, y, c).grad_fn)
    ours, theirs = run_both(run)
    assert ours == theirs


def test_grad_fn_of_leaves_and_constants():
    same(lambda m: m.ones(2).grad_fn)
    same(lambda m: m.ones(2, requires_grad=True).grad_fn)
    same(lambda m: m.ones(2).is_leaf)
    same(lambda m: (m.ones(2, requires_grad=True) * 2).is_leaf)
    same(lambda m: (m.ones(2) * 2).is_leaf)
    x = autograd.ones(2, requires_grad=True)
    acc = (x * 2).grad_fn.next_functions[0][0]
    assert acc.variable is x and acc.next_functions == ()
    y = x * 2
    assert y.grad_fn == y.grad_fn and hash(y.grad_fn) == hash(y.grad_fn)


def test_retain_grad_requires_grad_and_detach():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.retain_grad()
        z = (y * y).sum()
        z.backward()
        return x.grad, y.grad, y.retains_grad, x.retains_grad
    same(run)

    def run2(m):
        a = m.tensor([1.0, 2.0])
        a.requires_grad_()
        b = (a * 2).detach_()
        return a.requires_grad, b.requires_grad, b.is_leaf, b.grad_fn
    same(run2)
    raises_like_torch(lambda m: (m.ones(2, requires_grad=True) * 2).requires_grad_(False))


def test_variable_is_a_tensor():
    v = autograd.Variable(autograd.ones(2), requires_grad=True)
    assert isinstance(v, Tensor) and v.requires_grad and v.is_leaf
    assert autograd.Variable(np.ones(2)).requires_grad is False


def test_backward_keywords():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * x
        y.backward(gradient=m.tensor([1.0, 0.5, 0.0]), retain_graph=True)
        first = x.grad.clone()
        y.backward(m.ones(3))
        return first, x.grad
    same(run)

    def run_inputs(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([3.0, 4.0], requires_grad=True)
        h = a * b
        (h * h).sum().backward(inputs=[b, h])
        return a.grad, b.grad, h.grad
    same(run_inputs)

    def run_create_graph(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
        return g.requires_grad, x.grad
    same(run_create_graph)
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(grad=autograd.ones(2))         # tapegrad's earlier name, kept
    assert x.grad.tolist() == [2.0, 4.0]


def test_backward_errors_as_torch():
    raises_like_torch(lambda m: (m.ones(2, 2, requires_grad=True) * 3).backward())
    raises_like_torch(lambda m: m.ones(2).sum().backward())

    def twice(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = (a.exp() * 2).sum()
        b.backward()
        b.backward()
    raises_like_torch(twice, chars=70)

    def float_grad(m):
        m.ones(2, requires_grad=True).grad = 0.5
    raises_like_torch(float_grad)

    def shape_grad(m):
        m.ones(2, requires_grad=True).grad = m.ones(3)
    raises_like_torch(shape_grad)

    def dtype_grad(m):
        m.ones(2, requires_grad=True).grad = m.ones(2, dtype=m.float64)
    raises_like_torch(dtype_grad, chars=150)    # torch goes on about its grad_dtype attribute

    def leaf_in_place(m):
        w = m.ones(3, requires_grad=True)
        w += 1
    raises_like_torch(leaf_in_place, chars=60)

    def saved_changed(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a.exp()
        c = b.sum()
        b.add_(1)
        c.backward()
    raises_like_torch(saved_changed, chars=70)


def _grad_after(change):
    """a -> b = 2a, then change(m, b) records ops on b and changes it in place; backward of
    the returned expression: a.grad, or the error."""
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = change(m, a)
        out.sum().backward()
        return a.grad
    return run


def _no_grad_add(m, b):
    c = b + 1
    with m.no_grad():
        b.add_(1)
    return c


# torch checks only the tensors a backward saved: add saves nothing, mul the other factor,
# exp and sigmoid their result, tanh its result (of c, not b). A change of anything else is
# harmless, and the gradient goes to the value the op used.
IN_PLACE_AFTER_USE = {
    "add does not save": lambda m, b: (lambda c: (b.add_(1), c)[1])(b + 1),
    "mul saves the other factor": lambda m, b: (lambda c: (b.add_(1), c)[1])(b * b),
    "mul by a constant saves it": lambda m, b: (
        lambda c: (b.add_(1), c + b)[1])(b * m.tensor([1.0, 2.0, 3.0])),
    "exp saves its result": lambda m, b: (lambda e: (lambda c: (e.add_(1), c)[1])(e * 2))(
        b.exp()),
    "exp's result changed itself": lambda m, b: (lambda e: (e.add_(1), e)[1])(b.exp()),
    "sigmoid's result": lambda m, b: (lambda e: (lambda c: (e.add_(1), c)[1])(e + 1))(
        b.sigmoid()),
    "two changes in a row": lambda m, b: (b.add_(1), b.mul_(3), b * b)[2],
    "used between two changes": lambda m, b: (
        lambda c: (b.add_(1), (lambda d: (b.mul_(2), c + d + b)[1])(b * 1))[1])(b + 1),
    "tanh's input": lambda m, b: (lambda c: (b.mul_(2), c + b)[1])(b.tanh()),
    "through a view": lambda m, b: (lambda c: (b[1:].add_(1), c)[1])(b + 1),
    "under no_grad": _no_grad_add,
}


@pytest.mark.parametrize("change", IN_PLACE_AFTER_USE.values(), ids=IN_PLACE_AFTER_USE.keys())
def test_in_place_after_use_follows_torchs_saved_tensors(change):
    run = _grad_after(lambda m, a: change(m, a * 2))
    ours, theirs = run_both(run)
    if isinstance(theirs, Exception):
        raises_like_torch(run, chars=70)
    else:
        same(run)


def test_autograd_grad_signature():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x ** 3).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True) if m is torch else \
            m.grad(y, x, create_graph=True)
        return g, type(m.autograd.grad(y, x, retain_graph=True) if m is torch else
                       m.grad(y, x, retain_graph=True)).__name__
    same(run)
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    (g,) = autograd.grad(y, [x], autograd.tensor(2.0), True, only_inputs=True)
    assert g.tolist() == [4.0, 8.0]
    with pytest.raises(TypeError, match="bool"):
        autograd.grad((x * x).sum(), [x], True)
    z = autograd.tensor([1.0], requires_grad=True)
    gz = autograd.grad((x * x).sum(), [x, z], materialize_grads=True)
    assert gz[1].tolist() == [0.0]


def test_grad_modes():
    x = autograd.ones(2, requires_grad=True)

    @autograd.no_grad()
    def f(a):
        return a * 2

    @autograd.no_grad
    def g(a):
        return a * 2

    assert not f(x).requires_grad and not g(x).requires_grad and autograd.is_grad_enabled()
    with autograd.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert autograd.is_grad_enabled()
    autograd.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
        with autograd.enable_grad():
            assert (x * 2).requires_grad
    finally:
        autograd.set_grad_enabled(True)
    with autograd.inference_mode():
        assert not (x * 2).requires_grad
    with autograd.inference_mode(False):
        assert (x * 2).requires_grad

    @autograd.inference_mode()
    def h(a):
        return a * 2
    assert not h(x).requires_grad and autograd.is_grad_enabled()


def test_anomaly_message_is_torchs():
    def run(m):
        x = m.tensor([0.0, 1.0, 4.0], requires_grad=True)
        ctx = m.autograd.detect_anomaly() if m is torch else m.detect_anomaly()
        with ctx:
            (x.sqrt() * 0).sum().backward()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = run_both(run)
    assert type(ours).__name__ == type(theirs).__name__ == "RuntimeError"
    assert str(ours).splitlines()[0] == str(theirs).splitlines()[0]
    assert isinstance(ours, FloatingPointError)
    autograd.set_detect_anomaly(True)
    assert autograd.is_anomaly_enabled()
    autograd.set_detect_anomaly(False)
    assert not autograd.is_anomaly_enabled()


def _anomaly(m, **kw):
    return m.autograd.detect_anomaly(**kw) if m is torch else m.detect_anomaly(**kw)


def _backward_through(m, make):
    """make(m) under anomaly mode, then backward: the gradient, or the error."""
    x = m.tensor([0.0, 2.0, -1.0], requires_grad=True)
    with _anomaly(m):
        make(m, x).sum().backward()
    return x.grad


@pytest.mark.parametrize("name, make", [
    # nan and -inf in the forward pass (log(0), log(-1), 0 * -inf) raise nothing there; the
    # first nan gradient is log(-1)'s, through x * log(x): MulBackward0's 0th output
    ("x * log(x)", lambda m, x: x * m.log(x)),
    # LogBackward0 at 0 (0 / 0) is the first nan: the log(0) case
    ("x * log(x[:2])", lambda m, x: x[:2] * m.log(x[:2])),
    # a forward nan (log of -1) whose gradient is finite: no error
    ("log(x) forward nan", lambda m, x: m.log(x * 0 + 3.0) + m.log(x)[2:].detach()),
    # inf in the backward (sqrt at 0): a gradient, not an anomaly, for torch
    ("sqrt at 0", lambda m, x: m.sqrt(x[:2])),
    # nan from 0 * inf in sqrt's backward: SqrtBackward0's 0th output
    ("0 * sqrt(x)", lambda m, x: m.sqrt(x[:2]) * 0),
    # the nan in the second input's gradient (0 * inf): MulBackward0's 1st output
    ("inf * x", lambda m, x: m.tensor([float("inf"), 1.0, 1.0]) * x * 0),
])
def test_anomaly_checks_what_torchs_checks(name, make):
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ours, theirs = run_both(lambda m: _backward_through(m, make))
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"{name}: no error where torch raises {theirs}"
        assert str(ours).splitlines()[0] == str(theirs).splitlines()[0]
    else:
        assert not isinstance(ours, Exception), f"{name}: {ours} where torch raises nothing"
        assert_same(ours, theirs, what=name)


def test_anomaly_check_nan_false_checks_nothing_as_torchs():
    def run(m):
        x = m.tensor([0.0, 4.0], requires_grad=True)
        with _anomaly(m, check_nan=False):
            assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
            (x.sqrt() * 0).sum().backward()
        return x.grad
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = run_both(run)
    assert_same(ours, theirs)


def test_anomaly_strict_is_tapegrads_stronger_check():
    # strict=True, tapegrad's own: inf in backward and any forward nan or inf are errors too
    x = autograd.tensor([0.0, 4.0], requires_grad=True)
    with autograd.detect_anomaly(strict=True):
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError, match="'sqrt' produced a non-finite value .* backward"):
            y.backward()
        with pytest.raises(FloatingPointError, match="'log' produced .* forward"), \
                np.errstate(all="ignore"):
            autograd.log(x - 1.0)
    assert not autograd.is_anomaly_enabled()


def test_autograd_functional_as_torch():
    from autograd import functional as AF
    from torch.autograd import functional as TF

    def f(x):
        return (x ** 3).sum() + (x[0] * x[1])

    x = np.array([1.0, 2.0, 0.5])
    ours, theirs = AF.hessian(f, autograd.tensor(x)), TF.hessian(f, torch.tensor(x))
    assert_same(ours, theirs)
    vec = lambda m, t: m.stack([t[0] * t[1], t[1].sin(), t[0] ** 2 + t[2]])  # noqa: E731
    assert_same(AF.jacobian(lambda t: vec(autograd, t), autograd.tensor(x)),
                TF.jacobian(lambda t: vec(torch, t), torch.tensor(x)))
    v = np.array([1.0, 0.0, 1.0])
    assert_same(AF.vjp(lambda t: vec(autograd, t), autograd.tensor(x), autograd.tensor(v)),
                TF.vjp(lambda t: vec(torch, t), torch.tensor(x), torch.tensor(v)))
    assert_same(AF.hvp(f, autograd.tensor(x), autograd.tensor(v)),
                TF.hvp(f, torch.tensor(x), torch.tensor(v)))
    assert_same(AF.jvp(lambda t: vec(autograd, t), autograd.tensor(x), autograd.tensor(v)),
                TF.jvp(lambda t: vec(torch, t), torch.tensor(x), torch.tensor(v)))
    two = lambda a, b: (a * b).sum()  # noqa: E731
    assert_same(AF.hessian(two, (autograd.tensor(x), autograd.tensor(v))),
                TF.hessian(two, (torch.tensor(x), torch.tensor(v))))


def test_an_element_is_a_view_of_its_tensor_as_in_torch():
    import torch
    seen = []
    for lib in (torch, autograd):
        t = lib.zeros(2, 3)
        with lib.no_grad():
            e = t[1, 2]
            e.add_(5.0)                 # changes t: x[i, j] is a 0-d view
            t[0, 1] += 1.0
        seen.append((t.tolist(), e.dim(), e.item()))
    assert seen[1] == seen[0]
