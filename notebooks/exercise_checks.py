"""The checkers of the notebooks' exercises.

Each checker takes the learner's answer (a value, a function, a class) and returns a Verdict:
"right", "not right yet" (with a hint) or "not answered yet" (the answer is still None, or
the function still raises NotImplementedError). Checkers compute the truth themselves, from
scratch (with tapegrad, or with numpy where tapegrad is what is being checked): a checker never
compares against a number copied from a notebook.
Where gradients are involved they use tapegrad's own testing tools (`autograd.gradcheck`,
`autograd.testing`).

The reference answers are in notebooks/answers/, one file per notebook; tests/test_notebooks.py
runs every exercise section with those answers (each checker must say "right") and with the
wrong answers beside them (each must say "not right yet"), so a checker that cannot fail is
caught.
"""
import math

import numpy as np

RIGHT, WRONG, UNANSWERED = "right", "not right yet", "not answered yet"

LOG = []            # every verdict given in this process, in order (the tests read it)


class Verdict:
    """The outcome of one check: `status` is RIGHT, WRONG or UNANSWERED; shows as one line."""

    def __init__(self, exercise, status, message=""):
        self.exercise, self.status, self.message = exercise, status, message

    @property
    def ok(self):
        return self.status == RIGHT

    def __repr__(self):
        mark = {RIGHT: "[right]", WRONG: "[not right yet]", UNANSWERED: "[not answered yet]"}
        text = f"Exercise {self.exercise} {mark[self.status]}"
        return text + (f" {self.message}" if self.message else "")

    __str__ = __repr__


def _verdict(exercise, status, message=""):
    verdict = Verdict(exercise, status, message)
    LOG.append(verdict)
    return verdict


def right(exercise, message=""):
    return _verdict(exercise, RIGHT, message)


def wrong(exercise, message):
    return _verdict(exercise, WRONG, message)


def unanswered(exercise, message="replace the None in the answer cell, then run it"):
    return _verdict(exercise, UNANSWERED, message)


def _choice(exercise, answer, truth, options, why):
    """A multiple-choice prediction: `answer` one of `options` (letters), `truth` the right one
    (computed by the checker)."""
    if answer is None:
        return unanswered(exercise, f"set the answer to one of {', '.join(map(repr, options))}")
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        return wrong(exercise, f"the answer should be one of {', '.join(map(repr, options))}, "
                               f"got {answer!r}")
    if answer.strip().lower() == truth:
        return right(exercise, why)
    return wrong(exercise, f"{answer!r} is not what happens: run the experiment cell and look "
                           f"again.")


def _call(exercise, fn, *args):
    """fn(*args), or a Verdict when the learner's code is missing or raises."""
    try:
        return fn(*args), None
    except NotImplementedError as e:
        return None, unanswered(exercise, str(e) or "the function is not written yet")
    except Exception as e:          # the learner's code is what is being checked: report it
        return None, wrong(exercise, f"the code raised {type(e).__name__}: {e}")


# ---------------------------------------------------------------------------------------------
# 01 neurons
def _fires(w, b, x):
    from autograd import Value

    return (Value(float(w)) * Value(float(x)) + Value(float(b))).sigmoid().data > 0.5


def check_1_1(answer):
    """Where does sigmoid(-2 x + 3) fire (output > 1/2)?"""
    w, b = -2.0, 3.0
    theta = -b / w
    options = {"a": lambda x: x > theta, "b": lambda x: x < theta,
               "c": lambda x: x > -theta, "d": lambda x: x < -theta}
    probes = np.linspace(-4, 4, 81) + 0.05          # off the grid of thresholds
    truth = [k for k, rule in options.items()
             if all(rule(x) == _fires(w, b, x) for x in probes)]
    return _choice("1.1", answer, truth[0], list(options),
                   "a negative weight flips the direction: the neuron fires for x < -b/w = 1.5.")


def check_1_2(w, theta):
    """A threshold unit (fires when w . x > theta) that computes NAND."""
    from autograd import Value

    if w is None or theta is None:
        return unanswered("1.2", "set w_nand (two weights) and theta_nand")
    truth = [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0)]
    outputs = []
    for x1, x2, _ in truth:
        n = Value(float(w[0])) * x1 + Value(float(w[1])) * x2 - float(theta)
        outputs.append(1 if n.data > 0 else 0)
    if outputs == [t for *_, t in truth]:
        return right("1.2", "NAND is AND with every sign flipped: w = -w_AND, theta = -theta_AND "
                            "(and NAND alone can build every other gate).")
    return wrong("1.2", f"for the inputs (0,0), (0,1), (1,0), (1,1) your unit outputs {outputs}, "
                        f"NAND is [1, 1, 1, 0]")


def check_1_3(tanh_slope):
    """A hand-written derivative of tanh, against the engine's backward()."""
    from autograd import Value

    xs = np.linspace(-3, 3, 41)
    engine = []
    for x in xs:
        v = Value(float(x))
        v.tanh().backward()
        engine.append(v.grad)
    mine, failed = _call("1.3", lambda: [float(tanh_slope(float(x))) for x in xs])
    if failed:
        return failed
    bad = [(x, m, e) for x, m, e in zip(xs, mine, engine) if not math.isclose(m, e, rel_tol=1e-9,
                                                                               abs_tol=1e-12)]
    if not bad:
        return right("1.3", "d tanh(x)/dx = 1 - tanh(x)^2, equal to the engine's backward() at "
                            "all 41 points.")
    x, m, e = bad[0]
    return wrong("1.3", f"{len(bad)} of 41 points differ from the engine, e.g. at x = {x:+.2f}: "
                        f"yours {m:.6f}, backward() {e:.6f}")


# ---------------------------------------------------------------------------------------------
# 02 learning from data
def _diabetes():
    """The standardized (bmi, s5) features and target of notebook 2."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    features = data.data[:, [2, 8]]
    X = (features - features.mean(0)) / features.std(0)
    y = (data.target - data.target.mean()) / data.target.std()
    return X, y


def _numpy_descent(X, y, lr, steps, w0=(0.0, 0.0), b0=0.0):
    """Gradient descent on mean((X w + b - y)^2) by the closed-form gradient: (losses, ws)."""
    w, b = np.array(w0, dtype=float), float(b0)
    losses, ws = [], [w.copy()]
    for _ in range(steps):
        r = X @ w + b - y
        losses.append(float(np.mean(r ** 2)))
        w = w - lr * 2 * X.T @ r / len(y)
        b = b - lr * 2 * r.mean()
        ws.append(w.copy())
    return np.array(losses), np.array(ws)


def check_2_1(answer):
    """What gradient descent does at 0.95 * 2 / lambda_max."""
    X, y = _diabetes()
    lam, vecs = np.linalg.eigh(2 / len(X) * X.T @ X)
    w_best = np.linalg.lstsq(X, y, rcond=None)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        losses, ws = _numpy_descent(X, y, 0.95 * 2 / lam.max(), 60, w0=(-1.0, 1.5))
    steep = (ws - w_best) @ vecs[:, -1]           # distance to the minimum, steep direction
    if not losses[-1] < losses[0]:
        truth = "a"
    elif np.all(np.sign(steep[1:12]) != np.sign(steep[:11])):
        truth = "c"
    else:
        truth = "b"
    return _choice("2.1", answer, truth, ["a", "b", "c"],
                   "along the steep direction each step multiplies the distance by "
                   "1 - η λmax = -0.9: smaller, and on the other side.")


def check_2_2(lr):
    """A learning rate that gets within 1e-6 of the minimum in 20 steps."""
    from autograd import tensor

    if lr is None:
        return unanswered("2.2", "set lr_2_2 to a learning rate")
    if not isinstance(lr, (int, float)) or not lr > 0:
        return wrong("2.2", f"a learning rate is a positive number, got {lr!r}")
    X, y = _diabetes()
    w = tensor(np.array([-1.0, 1.5]), requires_grad=True)
    b = tensor(np.zeros(()), requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(20):
            loss = ((tensor(X) @ w + b - tensor(y)) ** 2).mean()
            gw, gb = (g.detach().numpy() for g in _grads(loss, [w, b]))
            w = tensor(w.detach().numpy() - lr * gw, requires_grad=True)
            b = tensor(b.detach().numpy() - lr * gb, requires_grad=True)
        final = float(np.mean((X @ w.detach().numpy() + b.item() - y) ** 2))
    A = np.c_[X, np.ones(len(X))]
    best = float(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    gap = final - best
    if np.isfinite(gap) and gap < 1e-6:
        return right("2.2", f"after 20 steps the loss is {gap:.1e} above its minimum.")
    if not np.isfinite(final) or final > 1e3:
        return wrong("2.2", f"with lr = {lr:g} the descent diverges: the rate is above "
                            f"2 / λmax")
    return wrong("2.2", f"after 20 steps the loss is still {gap:.1e} above its minimum")


def _grads(loss, params):
    from autograd import grad

    return grad(loss, params)


def check_2_3(train):
    """The learner's training loop against gradient descent computed in numpy."""
    X, y = _diabetes()
    with np.errstate(over="ignore", invalid="ignore"):
        losses, failed = _call("2.3", train, X, y, 0.1, 50)
    if failed:
        return failed
    reference, _ = _numpy_descent(X, y, 0.1, 50)
    losses = np.asarray(losses, dtype=float)
    if losses.shape == reference.shape and np.allclose(losses, reference, rtol=1e-9, atol=0):
        return right("2.3", "backward() adds to .grad, so each step must start from cleared "
                            "gradients (w.grad = None, or zero_grad() with an optimizer).")
    if losses.shape != reference.shape:
        return wrong("2.3", f"expected 50 losses, got {losses.shape}")
    k = int(np.argmax(~np.isclose(losses, reference, rtol=1e-9, atol=0)))
    return wrong("2.3", f"the losses part from gradient descent at step {k}: {losses[k]:.6f} "
                        f"instead of {reference[k]:.6f}")


# ---------------------------------------------------------------------------------------------
# 03 perceptron and MLP
_X_BOOL = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def check_3_1(answer):
    """Epochs of the perceptron rule on OR with lr 0.1 against lr 1."""
    import nn

    y_or = np.array([0, 1, 1, 1])
    errors = {}
    for lr in (1.0, 0.1):
        p = nn.Perceptron(2, lr=lr)
        p.fit(_X_BOOL, y_or, epochs=50)
        errors[lr] = list(p.errors_)
    first_clean = {lr: e.index(0) if 0 in e else len(e) for lr, e in errors.items()}
    truth = ("a" if first_clean[0.1] > first_clean[1.0] else
             "c" if first_clean[0.1] < first_clean[1.0] else "b")
    return _choice("3.1", answer, truth, ["a", "b", "c"],
                   "from zero weights each update is 0.1 times as large, so the weights are "
                   "0.1 times those of the lr = 1 run and every prediction step(w.x + b) is "
                   "the same: the rate does not matter for the perceptron.")


def check_3_2(activation):
    """nn.MLP(2, [4, 1]) with the learner's activation, 300 SGD steps on XOR."""
    import nn
    import optim

    choices = ("linear", "tanh", "relu", "sigmoid")
    if activation not in choices:
        return wrong("3.2", f"the activation should be one of {choices}, got {activation!r}")
    targets = np.array([-1.0, 1.0, 1.0, -1.0])
    mlp = nn.MLP(2, [4, 1], activation=activation, rng=0)
    opt = optim.SGD(mlp.parameters(), lr=0.1)
    for _ in range(300):
        preds = [mlp(list(x)) for x in _X_BOOL]
        loss = sum((p - t) ** 2 for p, t in zip(preds, targets)) * (1 / 4)
        opt.zero_grad()
        loss.backward()
        opt.step()
    mse = loss.item()
    if mse < 0.05:
        return right("3.2", f"MSE {mse:.4f}: a non-linear activation lets the hidden layer "
                            f"bend the boundary.")
    return wrong("3.2", f"with {activation!r} the MSE is still {mse:.3f} after 300 steps")


def check_3_3(add_feature):
    """A bias-free ReLU network trained on the learner's 3-column features of the circles."""
    from sklearn.datasets import make_circles

    import nn
    import nn.functional as F
    import optim
    from autograd import tensor

    X, y = make_circles(n_samples=400, factor=0.45, noise=0.06, random_state=1)
    feats, failed = _call("3.3", add_feature, X)
    if failed:
        return failed
    feats = np.asarray(feats, dtype=np.float64)
    if feats.shape != (len(X), 3):
        return wrong("3.3", f"add_feature should return shape {(len(X), 3)}, got {feats.shape}")
    r = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(3, 32, bias=False, rng=r, dtype=np.float64), nn.ReLU(),
                        nn.Linear(32, 32, bias=False, rng=r, dtype=np.float64), nn.ReLU(),
                        nn.Linear(32, 1, bias=False, rng=r, dtype=np.float64))
    opt = optim.Adam(net.parameters(), lr=0.03)
    xt, yt = tensor(feats[:300]), tensor(y[:300, None].astype(np.float64))
    for _ in range(400):
        loss = F.binary_cross_entropy_with_logits(net(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = float(((net(tensor(feats[300:])).detach().numpy()[:, 0] > 0) == y[300:]).mean())
    if acc >= 0.9:
        return right("3.3", f"test accuracy {acc:.2f}: a constant column is a bias in disguise "
                            f"(its weights add a constant to every first-layer neuron); the "
                            f"squared radius works too, because it breaks the homogeneity.")
    return wrong("3.3", f"test accuracy {acc:.2f}: the features are still positively "
                        f"homogeneous in x (scaling the point scales every feature), so the "
                        f"prediction is still constant along each ray")


# ---------------------------------------------------------------------------------------------
# 04 forward propagation
def _value_layer(xs, W, b, act):
    from autograd import Value

    out = []
    for j in range(len(b)):
        z = Value(float(b[j]))
        for i, x in enumerate(xs):
            z = z + Value(float(W[j][i])) * x
        out.append(getattr(z, act)() if act else z)
    return out


def check_4_1(answer):
    """The number of values in the graph of a 3-4-1 network built from Values."""
    from autograd import Value, draw_graph

    if answer is None:
        return unanswered("4.1", "set answer_4_1 to a whole number")
    r = np.random.default_rng(0)
    xs = [Value(float(v)) for v in r.normal(size=3)]
    hidden = _value_layer(xs, r.normal(size=(4, 3)), r.normal(size=4), "tanh")
    (out,) = _value_layer(hidden, r.normal(size=(1, 4)), r.normal(size=1), "sigmoid")
    truth = draw_graph(out, show_grad=False).source.count("shape=record")
    if answer == truth:
        return right("4.1", f"{truth} values: the 3 inputs, then 2 + 3 n_in per neuron "
                            f"(bias, activation, and a weight, a product and a sum per input).")
    return wrong("4.1", f"{answer} is not the count; per neuron with n inputs: a bias, n weights, "
                        f"n products, n sums and the activation; do not forget the inputs")


def check_4_2(W):
    """One entry of a 2-2 layer changed so that neuron 1 ignores x2 (checked by gradients)."""
    from autograd import Value, grad

    original = np.array([[0.5, -1.2], [0.3, 0.8]])
    W = np.asarray(W, dtype=float)
    if W.shape != (2, 2):
        return wrong("4.2", f"W_4_2 should stay a 2x2 matrix, got shape {W.shape}")
    changed = int(np.sum(W != original))
    if changed == 0:
        return wrong("4.2", "W_4_2 is unchanged: change one entry")
    x1, x2 = Value(0.7), Value(-0.4)
    a1, a2 = _value_layer([x1, x2], W, [0.1, -0.2], "tanh")
    da1_dx2 = grad(a1, [x2])[0]
    da1_dx2 = 0.0 if da1_dx2 is None else float(np.asarray(getattr(da1_dx2, "data", da1_dx2)))
    if changed > 1:
        return wrong("4.2", f"{changed} entries changed: one is enough")
    if da1_dx2 != 0.0:
        return wrong("4.2", f"d a1 / d x2 = {da1_dx2:+.4f}: the first neuron still depends on x2")
    if not np.array_equal(W[1], original[1]):
        return wrong("4.2", "the second neuron's weights changed")
    return right("4.2", "W[j, i] is neuron j's weight on input i: W[0, 1] = 0 cuts x2 off from "
                        "neuron 1, and the engine's gradient d a1/d x2 is exactly 0.")


def check_4_3(linear_batch):
    """A vectorized layer against a Value forward pass, on square and non-square layers."""
    r = np.random.default_rng(1)
    for n_in, n_out in ((2, 2), (3, 5), (4, 1)):
        X = r.normal(size=(6, n_in))
        W, b = r.normal(size=(n_out, n_in)), r.normal(size=n_out)
        reference = np.array([[v.data for v in _value_layer(
            [_as_value(x) for x in row], W, b, None)] for row in X])
        Z, failed = _call("4.3", linear_batch, X, W, b)
        if failed:
            return failed
        Z = np.asarray(Z, dtype=float)
        if Z.shape != reference.shape or not np.allclose(Z, reference, atol=1e-12):
            return wrong("4.3", f"on a {n_in}-{n_out} layer the output has shape {Z.shape} and "
                                f"differs from the Value forward pass (shape {reference.shape})")
    return right("4.3", "W has one row per neuron (n_out, n_in), so a batch X (n, n_in) needs "
                        "X @ W.T; X @ W only runs at all when the layer is square.")


def _as_value(x):
    from autograd import Value

    return Value(float(x))


# ---------------------------------------------------------------------------------------------
# 05 backpropagation
def check_5_1(answer):
    """a.grad after b = a * a + a, b.backward(), a = 3."""
    from autograd import Value

    if answer is None:
        return unanswered("5.1", "set answer_5_1 to a number")
    a = Value(3.0)
    (a * a + a).backward()
    if isinstance(answer, (int, float)) and math.isclose(answer, a.grad):
        return right("5.1", "2a + 1 = 7: the gradients of every path from a to b add up "
                            "(3 and 3 through a * a, 1 through + a).")
    return wrong("5.1", f"{answer!r} is not a.grad; count the paths from a to b and add their "
                        f"contributions")


def check_5_2(hand_dL_dw1):
    """The learner's dL/dw1 for a sigmoid neuron against the engine's gradient."""
    from autograd import Value

    r = np.random.default_rng(5)
    for _ in range(20):
        x1, x2, t, w1, w2, b = (float(v) for v in r.normal(size=6))
        W1 = Value(w1)
        loss = ((W1 * x1 + Value(w2) * x2 + Value(b)).sigmoid() - t) ** 2
        loss.backward()
        mine, failed = _call("5.2", hand_dL_dw1, x1, x2, t, w1, w2, b)
        if failed:
            return failed
        if not math.isclose(float(mine), W1.grad, rel_tol=1e-9, abs_tol=1e-12):
            return wrong("5.2", f"at x1={x1:+.2f}, x2={x2:+.2f}, t={t:+.2f}, w1={w1:+.2f}, "
                                f"w2={w2:+.2f}, b={b:+.2f}: yours {float(mine):.6f}, the engine "
                                f"{W1.grad:.6f}")
    return right("5.2", "only do/dn changes: sigmoid' = o (1 - o) where tanh' was 1 - o^2; "
                        "dL/do and dn/dw1 stay the same.")


def check_5_3(silu_vjp):
    """A SiLU op built from the learner's VJP, checked by autograd.testing."""
    from autograd import tensor
    from autograd.ops import REAL, Op
    from autograd.testing import GradcheckError, assert_gradients_close

    def silu_forward(ctx, a):
        return a / (1 + np.exp(-a))

    silu = Op("silu", scalar=None, array=silu_forward, vjps=(silu_vjp,), domains=(REAL,),
              doc="a sigmoid(a)")
    x = tensor(np.linspace(-3, 3, 9), requires_grad=True, dtype=np.float64)
    try:
        assert_gradients_close(lambda a: silu(a).sum(), x)
    except GradcheckError as e:
        worst = e.result.failures[0]
        return wrong("5.3", f"{len(e.result.failures)} of 9 elements fail the gradient check; "
                            f"at a = {x.data[worst.index] if worst.index else 0:+.2f} the VJP "
                            f"gives {worst.analytical:.4f}, finite differences "
                            f"{worst.numerical:.4f}")
    except NotImplementedError as e:
        return unanswered("5.3", str(e))
    except Exception as e:          # the learner's VJP raised: report it
        return wrong("5.3", f"the VJP raised {type(e).__name__}: {e}")
    return right("5.3", "d(a s)/da = s + a s (1 - s): the gradient check passes on all 9 "
                        "points.")


# ---------------------------------------------------------------------------------------------
# 06 loss functions
def check_6_1(answer):
    """dBCE/dz at z = 0, y = 1, from the engine."""
    import nn.functional as F
    from autograd import tensor, grad

    if answer is None:
        return unanswered("6.1", "set answer_6_1 to a number")
    z = tensor(np.zeros(1), requires_grad=True, dtype=np.float64)
    (g,) = grad(F.binary_cross_entropy_with_logits(z, np.ones(1)), [z])
    truth = g[0].item()
    if isinstance(answer, (int, float)) and math.isclose(answer, truth, abs_tol=1e-12):
        return right("6.1", f"sigmoid(z) - y = 0.5 - 1 = {truth}: negative, so gradient descent "
                            f"raises z towards the right answer.")
    return wrong("6.1", f"{answer!r} is not the gradient; dBCE/dz = sigmoid(z) - y")


def check_6_2(loss_fn):
    """Fit a line to 20 points with one outlier using the learner's loss."""
    import optim
    from autograd import tensor

    r = np.random.default_rng(0)
    x = np.linspace(0, 1, 20)
    y = x + r.normal(0, 0.05, 20)
    y[-1] += 5.0
    params = tensor(np.zeros(2), requires_grad=True, dtype=np.float64)
    opt = optim.Adam([params], lr=0.05)
    try:
        for _ in range(1500):
            loss = loss_fn(tensor(x) * params[0] + params[1], tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
    except Exception as e:          # the learner's loss is what is being checked
        return wrong("6.2", f"training with that loss raised {type(e).__name__}: {e}")
    slope = params[0].item()
    if abs(slope - 1.0) < 0.1:
        return right("6.2", f"slope {slope:.3f}: the absolute error's gradient has size 1 "
                            f"whatever the residual, so one outlier cannot dominate.")
    return wrong("6.2", f"the fitted slope is {slope:.3f}, more than 0.1 away from 1")


def check_6_3(bce_with_logits):
    """A hand-written BCE from logits against the library's, at extreme logits, and gradcheck."""
    import nn.functional as F
    from autograd import tensor, gradcheck, grad
    from autograd.gradcheck import GradcheckError

    # not z = 0: there relu and abs take the gradient 0 by convention, and the two kinks that
    # cancel in the formula do not cancel in their conventional gradients (0 instead of 1/2)
    zs = np.array([-800.0, -30.0, -1.0, 0.5, 1.0, 30.0, 800.0])
    for target in (0.0, 1.0):
        y = np.full(zs.shape, target)
        z = tensor(zs, requires_grad=True, dtype=np.float64)
        with np.errstate(all="ignore"):
            mine, failed = _call("6.3", bce_with_logits, z, tensor(y))
            if failed:
                return failed
            (g_mine,) = grad(mine.sum(), [z])
        z_ref = tensor(zs, requires_grad=True, dtype=np.float64)
        ref = F.binary_cross_entropy_with_logits(z_ref, y, reduction="none")
        (g_ref,) = grad(ref.sum(), [z_ref])
        values, grads = mine.detach().numpy(), g_mine.detach().numpy()
        bad = ~(np.isclose(values, ref.detach().numpy(), rtol=1e-9, atol=1e-12)
                & np.isclose(grads, g_ref.detach().numpy(), rtol=1e-9, atol=1e-12))
        if bad.any():
            k = int(np.argmax(bad))
            return wrong("6.3", f"at z = {zs[k]:g}, y = {target:g}: loss {values[k]:.6g} and "
                                f"gradient {grads[k]:.6g}, the library's {ref[k].item():.6g}"
                                f" and {g_ref[k].item():.6g}")
    z = tensor(np.linspace(-3, 3, 7) + 0.1, requires_grad=True, dtype=np.float64)
    try:
        gradcheck(lambda t: bce_with_logits(t, tensor(np.ones(7) * 0.0)).sum(), [z])
    except GradcheckError as e:
        return wrong("6.3", f"the gradient check fails:\n{e}")
    return right("6.3", "max(z, 0) + log(1 + e^-|z|) is log(1 + e^z) without ever forming e^z "
                        "for large z: finite everywhere, and equal to the library's. (At z = 0 "
                        "exactly its gradient is 0, not 1/2: relu and abs take gradient 0 at "
                        "their kinks; the library's op has its own backward, sigmoid(z) - y.)")


# ---------------------------------------------------------------------------------------------
# 07 optimizers
def check_7_1(answer):
    """The step of SGD with momentum 0.9 under a constant gradient, in units of lr * g."""
    import optim
    from autograd import tensor

    p = tensor(np.zeros(1), requires_grad=True, dtype=np.float64)
    opt = optim.SGD([p], lr=0.01, momentum=0.9)
    steps = []
    for _ in range(300):
        before = p[0].item()
        loss = (p * 2.0).sum()                 # gradient 2, whatever p is
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps.append((before - p[0].item()) / (0.01 * 2.0))
    last, earlier = steps[-1], steps[-50]
    if abs(last - earlier) > 1e-6 * abs(last):
        truth = "d"
    else:
        truth = {1: "a", 9: "b", 10: "c"}.get(round(last), "d")
    return _choice("7.1", answer, truth, ["a", "b", "c", "d"],
                   "v = g (1 + β + β² + ...) approaches g / (1 - β) = 10 g: momentum multiplies "
                   "steps along a steady direction by up to 10.")


def _valley():
    r = np.random.default_rng(0)
    x = r.normal(4.0, 1.0, 200)
    y = 2 * x - 3 + r.normal(0, 0.5, 200)
    A = np.stack([x, np.ones(200)], 1)
    return A, y, np.linalg.lstsq(A, y, rcond=None)[0]


def check_7_2(momentum):
    """300 full-batch updates at lr 0.05 with the learner's momentum on the valley."""
    import optim
    from autograd import tensor

    if not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        return wrong("7.2", f"momentum is a number in [0, 1), got {momentum!r}")
    A, y, best = _valley()
    p = tensor(np.array([-1.0, 5.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.05, momentum=momentum)
    with np.errstate(all="ignore"):
        for _ in range(300):
            loss = ((tensor(A) @ p - tensor(y)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        final = float(np.mean((A @ p.detach().numpy() - y) ** 2))
    gap = final - float(np.mean((A @ best - y) ** 2))
    if np.isfinite(gap) and gap < 1e-6:
        return right("7.2", f"{gap:.1e} above the minimum: along the flat valley the velocity "
                            f"builds up to 1 / (1 - β) times the gradient.")
    return wrong("7.2", f"after 300 updates the loss is {gap:.2e} above its minimum")


def check_7_3(sgd_momentum):
    """The learner's momentum SGD against optim.SGD(momentum=beta) on a small quadratic."""
    import optim
    from autograd import tensor

    H = np.array([[3.0, 0.5], [0.5, 0.2]])

    def grad_fn(theta):
        return H @ theta

    start, lr, beta = np.array([1.0, -2.0]), 0.1, 0.8
    mine, failed = _call("7.3", sgd_momentum, grad_fn, start.copy(), lr, beta, 20)
    if failed:
        return failed
    p = tensor(start.copy(), requires_grad=True, dtype=np.float64)
    opt = optim.SGD([p], lr=lr, momentum=beta)
    reference = [start.copy()]
    for _ in range(20):
        loss = 0.5 * (p * (tensor(H) @ p)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        reference.append(p.detach().numpy().copy())
    mine = np.asarray(mine, dtype=float)
    if mine.shape == (21, 2) and np.allclose(mine, reference, rtol=1e-10, atol=1e-12):
        return right("7.3", "the step follows the velocity v, which remembers past gradients; "
                            "stepping along g is plain gradient descent with extra bookkeeping.")
    if mine.shape != (21, 2):
        return wrong("7.3", f"expected 21 points of 2 parameters, got shape {mine.shape}")
    k = int(np.argmax(np.any(~np.isclose(mine, reference, rtol=1e-10, atol=1e-12), axis=1)))
    return wrong("7.3", f"the paths part at step {k}: yours {mine[k].round(5)}, optim.SGD "
                        f"{np.round(reference[k], 5)}")


# ---------------------------------------------------------------------------------------------
# 08 exploding and vanishing gradients
def check_8_1(answer):
    """Growth of the activations' std through 20 ReLU layers at 1.5 x He init."""
    import nn
    from autograd import tensor

    r = np.random.default_rng(0)
    layers, n_in = [], 64
    for _ in range(20):
        lin = nn.Linear(n_in, 32, rng=r, dtype=np.float64)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu", rng=r)
        lin.weight.data *= 1.5
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
        n_in = 32
    h, stds = tensor(r.normal(size=(256, 64))), []
    for layer in layers:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            stds.append(h.std().item())
    growth = stds[-1] / stds[0]
    options = {"a": 1.5, "b": 30.0, "c": 2000.0, "d": 5e6}
    truth = min(options, key=lambda k: abs(math.log(options[k] / growth)))
    return _choice("8.1", answer, truth, list(options),
                   f"measured: {growth:,.0f}. Each layer multiplies the std by 1.5 (the second "
                   f"moment by 1.5^2 = 2.25 instead of He's 1), so 19 layers give 1.5^19 = 2217.")


def check_8_2(clip, train, deep_net, he):
    """The notebook's training at lr 0.1 with the learner's clipping threshold."""
    import nn

    if clip is None:
        return unanswered("8.2", "set clip_8_2 to a positive number")
    if not isinstance(clip, (int, float)) or not clip > 0:
        return wrong("8.2", f"a clipping threshold is a positive number, got {clip!r}")
    losses, norms, acc = train(deep_net(nn.ReLU, init=he), lr=0.1, clip=float(clip))
    if acc > 0.8:
        clipped = float(np.mean(np.asarray(norms) > clip))
        return right("8.2", f"test accuracy {acc:.3f}; {clipped:.0%} of the steps were clipped.")
    return wrong("8.2", f"test accuracy {acc:.3f}: the threshold does not tame the large steps")


def check_8_3(total_grad_norm):
    """The learner's global gradient norm against optim.clip_grad_norm_'s."""
    import nn
    import nn.functional as F
    import optim
    from autograd import tensor

    r = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(5, 4, rng=r, dtype=np.float64), nn.Tanh(),
                          nn.Linear(4, 3, rng=r, dtype=np.float64))
    F.cross_entropy(model(tensor(r.normal(size=(8, 5)))), r.integers(0, 3, 8)).backward()
    params = list(model.parameters())
    mine, failed = _call("8.3", total_grad_norm, params)
    if failed:
        return failed
    truth = float(optim.clip_grad_norm_(params, 1e12))        # returns the norm, clips nothing
    if math.isclose(float(mine), truth, rel_tol=1e-9):
        return right("8.3", "the square root of the sum of every squared gradient entry: "
                            "the length of all the gradients as one vector.")
    return wrong("8.3", f"yours {float(mine):.6f}, optim.clip_grad_norm_ {truth:.6f}")


# ---------------------------------------------------------------------------------------------
# 09 regularization and normalization
def check_9_1(answer):
    """The value of the surviving entries of nn.Dropout(0.2) on ones."""
    import nn
    from autograd import tensor

    out = nn.Dropout(0.2, rng=0)(tensor(np.ones((100, 100)))).numpy()
    survivors = np.unique(out[out != 0])
    options = {"a": 0.8, "b": 1.0, "c": 1.25, "d": 5.0}
    truth = [k for k, v in options.items() if np.allclose(survivors, v)]
    return _choice("9.1", answer, truth[0] if truth else "none", list(options),
                   "the survivors are scaled by 1 / (1 - p) = 1.25, so that every unit's "
                   "expected output is the same in training and in evaluation.")


def check_9_2(lam, train, mlp, digits_split):
    """L1 strength: >= 60% of weights below 1e-3 with test accuracy above 0.8."""
    import nn.functional as F
    from autograd import tensor, no_grad

    if not isinstance(lam, (int, float)) or lam < 0:
        return wrong("9.2", f"lambda is a number >= 0, got {lam!r}")
    x_tr, y_tr, x_te, y_te = digits_split(0)
    model = train(mlp(seed=0), x_tr, y_tr, lr=0.05, sgd=True, penalty=F.l1_penalty,
                  lam=float(lam), seed=1)
    weights = np.concatenate([p.detach().numpy().ravel() for n, p in model.named_parameters()
                              if n.endswith("weight")])
    zero = float(np.mean(np.abs(weights) < 1e-3))
    model.eval()
    with no_grad():
        acc = float((model(tensor(x_te)).detach().numpy().argmax(1) == y_te).mean())
    model.train()
    if zero >= 0.6 and acc > 0.8:
        return right("9.2", f"{zero:.0%} of the weights below 1e-3, test accuracy {acc:.3f}: "
                            f"L1 removes weights the task does not need.")
    return wrong("9.2", f"{zero:.0%} of the weights below 1e-3, test accuracy {acc:.3f}")


def check_9_3(my_dropout):
    """A hand-written inverted dropout: zero fraction, mean, evaluation mode."""
    x = np.ones((2000, 50))
    for p in (0.3, 0.7):
        out, failed = _call("9.3", my_dropout, x, p, np.random.default_rng(0), True)
        if failed:
            return failed
        out = np.asarray(out, dtype=float)
        zeros, mean = float(np.mean(out == 0)), float(out.mean())
        if abs(zeros - p) > 0.02:
            return wrong("9.3", f"with p = {p} it zeroes {zeros:.1%} of the entries")
        if abs(mean - 1.0) > 0.03:
            return wrong("9.3", f"with p = {p} the mean of the output is {mean:.3f}, not 1: the "
                                f"expected value changed")
    out, failed = _call("9.3", my_dropout, x, 0.3, np.random.default_rng(0), False)
    if failed:
        return failed
    if not np.array_equal(np.asarray(out), x):
        return wrong("9.3", "in evaluation (training=False) the output should be the input")
    return right("9.3", "scaling the survivors by 1 / (1 - p) keeps the expected value, so the "
                        "network sees the same scale in training and in evaluation.")


# ---------------------------------------------------------------------------------------------
# 10 network types
def check_10_1(answer):
    """The shape after Conv2d(1, 8, 3, padding=1) and MaxPool2d(2) on (5, 1, 8, 8)."""
    import nn
    from autograd import tensor

    if answer is None:
        return unanswered("10.1", "set answer_10_1 to a tuple")
    layers = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=0), nn.MaxPool2d(2))
    truth = tuple(layers(tensor(np.zeros((5, 1, 8, 8)))).shape)
    if isinstance(answer, (tuple, list)) and tuple(answer) == truth:
        return right("10.1", f"{truth}: one channel per filter, padding 1 keeps 8x8, the 2x2 "
                             f"pooling halves height and width.")
    return wrong("10.1", f"{answer!r} is not the shape; count the channels (filters), then "
                         f"what padding and pooling do to height and width")


def check_10_2(k):
    """Receptive field of the centre pixel of two stacked k x k convolutions, by gradients."""
    import nn
    from autograd import tensor, grad

    if not isinstance(k, int) or k < 1 or k % 2 == 0:
        return wrong("10.2", f"k should be an odd whole number, got {k!r}")
    r = np.random.default_rng(0)
    stack = nn.Sequential(nn.Conv2d(1, 1, k, padding=k // 2, rng=r, dtype=np.float64),
                          nn.Conv2d(1, 1, k, padding=k // 2, rng=r, dtype=np.float64))
    x = tensor(r.normal(size=(1, 1, 8, 8)), requires_grad=True, dtype=np.float64)
    out = stack(x)
    (g,) = grad(out[0, 0, 4, 4], [x])
    seen = int(np.sum(g.detach().numpy() != 0))
    if seen == 64:
        return right("10.2", f"with k = {k} the centre output depends on all 64 input pixels: "
                             f"two k x k layers see 2k - 1 pixels across.")
    return wrong("10.2", f"with k = {k} the centre output depends on {seen} of the 64 input "
                         f"pixels")


def check_10_3(max_pool_2x2):
    """A numpy 2x2 max pooling against F.max_pool2d."""
    import nn.functional as F
    from autograd import tensor

    maps = np.random.default_rng(1).normal(size=(2, 3, 6, 8))
    mine, failed = _call("10.3", max_pool_2x2, maps)
    if failed:
        return failed
    truth = np.asarray(F.max_pool2d(tensor(maps), 2).data)
    mine = np.asarray(mine)
    if mine.shape == truth.shape and np.allclose(mine, truth):
        return right("10.3", "row i of the map is 2 * (i // 2) + i % 2: reshaping h into "
                             "(h // 2, 2) puts each 2x2 block's rows on the last axis of the pair.")
    if mine.shape != truth.shape:
        return wrong("10.3", f"shape {mine.shape}, F.max_pool2d gives {truth.shape}")
    return wrong("10.3", f"{int(np.sum(~np.isclose(mine, truth)))} of {truth.size} values differ "
                         f"from F.max_pool2d")


# ---------------------------------------------------------------------------------------------
# 00 build your own engine: the learner's micrograd-sized Value, checked against tapegrad
def _topo_iterative(root):
    """Every node root depends on, children before parents, without recursion (the checker's
    own order, so that a check of one method does not depend on the learner's backward)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in reversed(node._prev):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def _run_backward(root):
    """Seed root.grad = 1 and call every _backward closure in reverse topological order."""
    for node in _topo_iterative(root):
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(_topo_iterative(root)):
        node._backward()


def _against_tapegrad(exercise, Value, build, names, what):
    """Build the same expression from the learner's Value and from tapegrad's, run the
    learner's closures (by the checker's order) and compare data and gradients."""
    from autograd import Value as TapeValue

    for point in ([0.5, -1.5], [2.0, 0.3], [-0.7, -0.2]):
        try:
            mine_in = [Value(v) for v in point]
            mine_out = build(*mine_in)
            _run_backward(mine_out)
        except NotImplementedError as e:
            return unanswered(exercise, str(e) or f"{what} is not written yet")
        except Exception as e:          # the learner's code is what is being checked
            return wrong(exercise, f"{what} raised {type(e).__name__}: {e}")
        ref_in = [TapeValue(v) for v in point]
        ref_out = build(*ref_in)
        ref_out.backward()
        if not math.isclose(mine_out.data, ref_out.data, rel_tol=1e-12, abs_tol=1e-12):
            return wrong(exercise, f"at {dict(zip(names, point))} the value is "
                                   f"{mine_out.data:.6g}, tapegrad's {ref_out.data:.6g}")
        for name, m, r in zip(names, mine_in, ref_in):
            if not math.isclose(m.grad, r.grad, rel_tol=1e-9, abs_tol=1e-12):
                return wrong(exercise, f"at {dict(zip(names, point))} d/d{name} = {m.grad:.6g}, "
                                       f"tapegrad's {r.grad:.6g}")
    return None


def check_0_1(Value):
    """__mul__: forward and local derivatives, against tapegrad (a * b, a * a, 3 * a * b)."""
    for build, names in ((lambda a, b: a * b, "ab"), (lambda a, b: a * a, "ab"),
                         (lambda a, b: 3.0 * a * b + b * 2.0, "ab")):
        failed = _against_tapegrad("0.1", Value, build, names, "__mul__")
        if failed:
            return failed
    return right("0.1", "d(a b)/da = b and d(a b)/db = a, each times out.grad, added with +=: "
                        "a * a gets 2a.")


def check_0_2(Value):
    """tanh: forward and local derivative, against tapegrad."""
    for build, names in ((lambda a, b: a.tanh(), "ab"), (lambda a, b: (a + b).tanh() + a, "ab")):
        failed = _against_tapegrad("0.2", Value, build, names, "tanh")
        if failed:
            return failed
    return right("0.2", "d tanh(x)/dx = 1 - tanh(x)^2, computed from the output t itself.")


def check_0_3(Value, build_topo):
    """build_topo and backward, with + only (given): order, accumulation, a second call."""
    try:
        a, b = Value(2.0), Value(-1.0)
        d = a + b
        e = d + d
        f = e + a
        order = build_topo(f)
        f.backward()
    except NotImplementedError as e:
        return unanswered("0.3", str(e) or "build_topo / backward are not written yet")
    except Exception as e:          # the learner's code is what is being checked
        return wrong("0.3", f"the code raised {type(e).__name__}: {e}")
    order = list(order)
    if len(order) != 5 or len({id(n) for n in order}) != 5:
        return wrong("0.3", f"f = (a + b) + (a + b) + a depends on 5 distinct Values (a, b, d, e, "
                            f"f); build_topo returned {len(order)} nodes")
    position = {id(n): k for k, n in enumerate(order)}
    for node in order:
        for child in node._prev:
            if position[id(child)] > position[id(node)]:
                return wrong("0.3", "build_topo puts a node before one of its children: "
                                    "children must come first")
    if (a.grad, b.grad) != (3.0, 2.0):
        return wrong("0.3", f"after f.backward(): a.grad = {a.grad}, b.grad = {b.grad}; "
                            f"f = 2 (a + b) + a gives 3 and 2")
    return right("0.3", "children before parents, then the closures in reverse order, with "
                        "f.grad = 1 to start: every node's grad is complete before it is passed "
                        "on.")


def check_0_4(Value):
    """exp: the accumulation bug (= instead of +=), caught with e^x + e^x."""
    from autograd import Value as TapeValue

    try:
        x = Value(0.3)
        y = x.exp() + x.exp()
        _run_backward(y)
    except NotImplementedError as e:
        return unanswered("0.4", str(e))
    except Exception as e:          # the learner's code is what is being checked
        return wrong("0.4", f"exp raised {type(e).__name__}: {e}")
    ref = TapeValue(0.3)
    (ref.exp() + ref.exp()).backward()
    if math.isclose(x.grad, ref.grad, rel_tol=1e-12):
        return right("0.4", "a node used twice gets the sum of both gradients: every _backward "
                            "must add (+=), never assign.")
    return wrong("0.4", f"for y = e^x + e^x at x = 0.3, dy/dx = {x.grad:.6f}; tapegrad says "
                        f"{ref.grad:.6f}")


def compare_gradients(Value):
    """A neuron and a small network built from the learner's Value and from tapegrad's, every
    gradient side by side. Prints what is missing instead when the Value is not finished."""
    from autograd import Value as TapeValue

    def neuron(V):
        x1, x2, w1, w2, b = V(2.0), V(0.0), V(-3.0), V(1.0), V(6.8813735870195432)
        o = (x1 * w1 + x2 * w2 + b).tanh()
        return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}

    def two_layer(V):
        x, w, v, c = V(0.5), V(-1.2), V(0.8), V(0.1)
        h = (x * w + c).tanh()
        o = (h * v + h * h).tanh() * x
        return o, {"x": x, "w": w, "v": v, "c": c}

    ok = True
    for name, build in (("neuron", neuron), ("two layers, h used three times", two_layer)):
        try:
            mine, mine_in = build(Value)
            mine.backward()
        except NotImplementedError as e:
            print(f"{name}: your Value is not finished yet ({e})")
            return False
        ref, ref_in = build(TapeValue)
        ref.backward()
        print(f"{name}:  {'input':>5} {'yours':>12} {'tapegrad':>12}")
        for key in mine_in:
            same = math.isclose(mine_in[key].grad, ref_in[key].grad, rel_tol=1e-9,
                                abs_tol=1e-12)
            ok = ok and same
            print(f"{'':>{len(name) + 2}} {key:>5} {mine_in[key].grad:12.6f} "
                  f"{ref_in[key].grad:12.6f}  {'same' if same else 'DIFFERENT'}")
    return ok


def side_by_side(Value, build_topo):
    """The learner's topological order next to tapegrad's tape for the same neuron."""
    from autograd import Tape
    from autograd import Value as TapeValue

    def neuron(V):
        x1, w1, x2, w2, b = V(2.0), V(-3.0), V(0.0), V(1.0), V(6.88)
        return (x1 * w1 + x2 * w2 + b).tanh()

    try:
        order = build_topo(neuron(Value))
    except NotImplementedError as e:
        print(f"your engine is not finished yet ({e})")
        return None
    with Tape() as tape:
        neuron(TapeValue)
    mine = [f"{k:>2}  {n._op or 'input':>5}  {n.data:+.4f}" for k, n in enumerate(order)]
    title, *theirs = str(tape).splitlines()
    width = max(len(s) for s in mine) + 6
    print(f"{'your build_topo order':<{width}}tapegrad's {title[len('Tape: '):]}")
    for k in range(max(len(mine), len(theirs))):
        left = mine[k] if k < len(mine) else ""
        right_ = theirs[k] if k < len(theirs) else ""
        print(f"{left:<{width}}{right_}")
    return order


def deep_chain(Value, depth=20_000):
    """x + 1 + 1 + ... (depth times): the learner's recursive backward against tapegrad's."""
    from autograd import Value as TapeValue

    try:
        y = Value(0.0)
        x = y
        for _ in range(depth):
            y = y + 1.0
        y.backward()
        print(f"your engine: backward through {depth} nodes worked, x.grad = {x.grad}")
        yours = "ok"
    except RecursionError:
        print(f"your engine: RecursionError after the recursion limit (a recursive "
              f"build_topo needs one Python frame per node of the chain)")
        yours = "RecursionError"
    except NotImplementedError as e:
        print(f"your engine is not finished yet ({e})")
        yours = "unfinished"
    t = TapeValue(0.0)
    z = t
    for _ in range(depth):
        z = z + 1.0
    z.backward()
    print(f"tapegrad:    backward through {depth} nodes, x.grad = {t.grad} (it walks its tape, "
          f"a flat list, in reverse: no recursion)")
    return yours
