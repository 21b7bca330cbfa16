"""MLP training steps: hand-written numpy, tapegrad eager, tapegrad compiled, torch (CPU).

One step = forward, softmax cross-entropy, backward, SGD update, of a ReLU MLP in float32:
- small: 64-128-64-10 on a batch of 64 (per-op overhead dominates),
- big: 1024-1024-1024-10 on a batch of 1024 (the matmuls dominate).
All start from the same weights and data; before timing, the loss and every gradient of each
tapegrad variant are checked against the numpy step. Run: `python -m bench.tensor_bench`.

The compiled step: `autograd.compile` of the loss function (model and cross-entropy), then
backward and the SGD update in eager code, as a user writes them. The update is optim.SGD
(zero_grad, step), the faster of the two a user would write: it works on the parameters'
arrays directly, about 2 us a parameter, where the loop `for p in params: p.data -= lr *
p.grad` builds Tensors and runs a checked in-place op, about 12 us a parameter (measured on
the small MLP, 1 thread: 13 us against 70 us for its 6 parameters, a third of the step).
"""
import math

import numpy as np

import nn
from autograd import Tensor

from . import harness

LR = 0.01
DT = np.float32


def _init(sizes, seed):
    """[(W, b)] with W of shape (in, out), He-initialised, float32."""
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(DT),
             np.zeros(fan_out, DT)) for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]


def _data(sizes, batch, seed):
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, sizes[0])).astype(DT)
    y = rng.integers(0, sizes[-1], size=batch)
    return x, y


# ---------------------------------------------------------------------------------------------
# hand-written numpy
def cross_entropy_in_place(z, rows, y):
    """Mean cross-entropy of the logits z by logsumexp; z becomes its gradient, in place."""
    n = len(y)
    z -= z.max(axis=1, keepdims=True)
    picked = z[rows, y]
    np.exp(z, out=z)
    s = z.sum(axis=1, keepdims=True)
    loss = float(np.log(s).sum() - picked.sum()) / n
    z /= s
    z[rows, y] -= 1
    z *= DT(1.0 / n)
    return loss


class NumpyMLP:
    """The step as a careful numpy programmer writes it: every activation, gradient and update
    in a buffer allocated once, ReLU in place (its output > 0 is the mask of its backward),
    cross-entropy by logsumexp, no gradient for the input."""

    def __init__(self, layers, x, y):
        self.layers = [(w.copy(), b.copy()) for w, b in layers]
        self.x, self.y = x, y
        n = len(x)
        self.rows = np.arange(n)
        self.acts = [np.empty((n, w.shape[1]), DT) for w, _ in layers]    # z, then relu(z)
        self.deltas = [np.empty((n, w.shape[1]), DT) for w, _ in layers]
        self.gw = [np.empty_like(w) for w, _ in layers]
        self.gb = [np.empty_like(b) for _, b in layers]

    def loss_and_grads(self):
        x, y, rows = self.x, self.y, self.rows
        last = len(self.layers) - 1
        zero = DT(0)
        h = x
        for i, (w, b) in enumerate(self.layers):
            z = self.acts[i]
            np.matmul(h, w, out=z)
            z += b
            if i != last:
                np.maximum(z, zero, out=z)
            h = z
        # cross-entropy by logsumexp; the logits buffer becomes softmax - onehot, over n
        dz = h
        loss = cross_entropy_in_place(dz, rows, y)
        for i in range(last, -1, -1):
            a = self.acts[i - 1] if i else x
            np.matmul(a.T, dz, out=self.gw[i])
            dz.sum(axis=0, out=self.gb[i])
            if i:
                d = self.deltas[i - 1]
                np.matmul(dz, self.layers[i][0].T, out=d)
                d *= a > zero
                dz = d
        return loss

    def step(self):
        loss = self.loss_and_grads()
        for (w, b), gw, gb in zip(self.layers, self.gw, self.gb):
            gw *= DT(LR)
            w -= gw
            gb *= DT(LR)
            b -= gb
        return loss

    def grads(self):
        """Gradients in tapegrad's layout: nn.Linear's weight is (out, in)."""
        out = []
        for gw, gb in zip(self.gw, self.gb):
            out += [gw.T, gb]
        return out


class NumpyMLPTorchLayout(NumpyMLP):
    """The same careful step under the two rules tapegrad's (and torch's) Linear and ReLU keep,
    which the step above is free to break: each weight is stored (out, in), as nn.Linear's, so
    the forward is x @ W.T (OpenBLAS's transposed-operand product, slower at these sizes) and
    dW = G^T x; ReLU's backward is a select, so an inf or nan in the incoming gradient is not
    multiplied into a nan (tapegrad checks that it is finite, then multiplies, as its compiled
    code does). No framework: no .grad tensors, no optimizer object, no call. Its time is the
    floor of any code that keeps those rules; the compiled step's goal is measured against the
    step above."""

    def __init__(self, layers, x, y):
        super().__init__([(w.T.copy(), b) for w, b in layers], x, y)
        n = len(x)
        self.acts = [np.empty((n, w.shape[1]), DT) for w, _ in layers]
        self.deltas = [np.empty((n, w.shape[1]), DT) for w, _ in layers]

    def loss_and_grads(self):
        x, y, rows = self.x, self.y, self.rows
        last = len(self.layers) - 1
        zero = DT(0)
        h = x
        for i, (w, b) in enumerate(self.layers):
            z = self.acts[i]
            np.matmul(h, w.T, out=z)
            z += b
            if i != last:
                np.maximum(z, zero, out=z)
            h = z
        dz = h
        loss = cross_entropy_in_place(dz, rows, y)
        for i in range(last, -1, -1):
            a = self.acts[i - 1] if i else x
            np.matmul(dz.T, a, out=self.gw[i])
            dz.sum(axis=0, out=self.gb[i])
            if i:
                d = self.deltas[i - 1]
                np.matmul(dz, self.layers[i][0], out=d)
                # a . a is finite exactly when every entry is (or the sum decides, if the
                # squares overflow): tapegrad's check, then the select where a product is wrong
                if not (math.isfinite(np.vdot(d, d)) or math.isfinite(d.sum())):
                    d[...] = np.where(a > zero, d, zero)
                else:
                    d *= a > zero
                dz = d
        return loss

    def grads(self):
        out = []
        for gw, gb in zip(self.gw, self.gb):
            out += [gw, gb]
        return out


# ---------------------------------------------------------------------------------------------
# tapegrad and torch
def _model(layers):
    mods = []
    for i, (w, b) in enumerate(layers):
        lin = nn.Linear(*w.shape)
        lin.weight.data[...] = w.T
        lin.bias.data[...] = b
        mods.append(lin)
        if i != len(layers) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def torch_step(torch, layers, x, y):
    params = []
    for w, b in layers:
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    f = torch.nn.functional
    opt = torch.optim.SGD(params, lr=LR)

    def step():
        h = xt
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i != len(params) - 2:
                h = torch.relu(h)
        loss = f.cross_entropy(h, yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def run(sizes, batch, rounds, number, target, today, seed=0):
    layers = _init(sizes, seed)
    x, y = _data(sizes, batch, seed)
    torch = harness.torch_or_none()
    name = "-".join(map(str, sizes))
    harness.run_workload(
        f"MLP {name}, batch {batch}, float32", f"MLP {name} step, batch {batch}",
        lambda: NumpyMLP(layers, x, y), lambda: _model(layers), Tensor(x), y, LR,
        rounds, number, target, today,
        torch_step(torch, layers, x, y) if torch is not None else None,
        floor=("numpy (out, in)", lambda: NumpyMLPTorchLayout(layers, x, y)))


def main():
    print("Tensor MLP training steps: numpy by hand, tapegrad eager and compiled, torch")
    run((64, 128, 64, 10), 64, rounds=21, number=50, target=1.0, today="1.42-1.49x")
    print()
    run((1024, 1024, 1024, 10), 1024, rounds=7, number=1, target=1.02, today="1.18x")


if __name__ == "__main__":
    main()
    harness.print_goals()
