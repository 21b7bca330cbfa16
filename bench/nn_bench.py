"""Training steps of a CNN and an LSTM: hand-written numpy, tapegrad eager and compiled, torch.

- digits CNN: conv 3x3 1->8 channels (padding 1: 8x8 -> 8x8), relu, max-pool 2 (-> 8x4x4),
  linear 128->10, cross-entropy; a batch of 64 of scikit-learn's 8x8 digits;
- LSTM: input 16, hidden 64, over 50 steps, batch 32; a linear head 64->10 on the last hidden
  state, cross-entropy.

One step = forward, backward, SGD update, in float32, every implementation from the same
weights and data; before timing, the loss and gradients of tapegrad eager and compiled are
checked against the numpy step. The numpy steps are written as a careful numpy programmer
writes them: every array in a buffer allocated once, in-place updates, no gradient for the
input, and a memory layout of their own choosing (the check maps it back to tapegrad's).
Run: `python -m bench.nn_bench`.
"""
import numpy as np

import nn
from autograd import Tensor

from . import harness
from .tensor_bench import cross_entropy_in_place

DT = np.float32
LR = 0.05


# ---------------------------------------------------------------------------------------------
# digits CNN
class NumpyCNN:
    """Channels first, as (C, N, H, W): the conv is one (8, 9) @ (9, N*8*8) matmul of an im2col
    buffer (kernel offset first: each row is the padded input shifted by one offset), filled
    by one np.copyto from a sliding_window_view of a zero-padded input buffer, both allocated
    once; bias and its gradient run along contiguous rows. The 2x2 windows of the pool are
    axes 3 and 5 of a reshape, their maximum two np.maximum calls. The gradient of the pool
    goes to the first maximum of each window in row-major order (torch's rule: the background
    of a digit makes many exact ties), and only where that maximum is > 0, which is the
    relu's backward done on the pooled quarter of the array. Features are copied to (N, C*H*W)
    for the linear layer, the order of tapegrad's Flatten."""

    def __init__(self, weights, x, y):
        n = len(x)
        self.x, self.y, self.rows = x.reshape(n, 8, 8), y, np.arange(n)
        self.wc = weights["0.weight"].reshape(8, 9).copy()
        self.bc = weights["0.bias"].reshape(8, 1).copy()
        self.wl = weights["4.weight"].T.copy()                               # (128, 10)
        self.bl = weights["4.bias"].copy()
        self.xpad = np.zeros((n, 10, 10), DT)
        windows = np.lib.stride_tricks.sliding_window_view(self.xpad, (3, 3), axis=(1, 2))
        self.windows = windows.transpose(3, 4, 0, 1, 2)        # (3, 3, n, 8, 8), a view
        self.cols = np.empty((3, 3, n, 8, 8), DT)
        self.z = np.empty((8, n * 64), DT)                      # conv, then relu
        self.half = np.empty((8, n, 4, 4, 2), DT)               # max over window rows
        self.pooled = np.empty((8, n, 4, 4), DT)
        self.feat = np.empty((n, 8, 4, 4), DT)
        self.logits = np.empty((n, 10), DT)
        self.dfeat = np.empty((n, 8, 4, 4), DT)
        self.dpooled = np.empty((8, n, 4, 4), DT)
        self.dz = np.empty_like(self.z)
        self.free = np.empty((8, n, 4, 4), bool)
        self.hit = np.empty((8, n, 4, 4), bool)
        self.gwc, self.gbc = np.empty_like(self.wc), np.empty_like(self.bc)
        self.gwl, self.gbl = np.empty_like(self.wl), np.empty_like(self.bl)

    def loss_and_grads(self):
        n, zero = len(self.x), DT(0)
        np.copyto(self.xpad[:, 1:9, 1:9], self.x)
        np.copyto(self.cols, self.windows)
        cols = self.cols.reshape(9, n * 64)
        z = self.z
        np.matmul(self.wc, cols, out=z)
        z += self.bc
        np.maximum(z, zero, out=z)
        zw = z.reshape(8, n, 4, 2, 4, 2)
        np.maximum(zw[:, :, :, 0], zw[:, :, :, 1], out=self.half)
        np.maximum(self.half[..., 0], self.half[..., 1], out=self.pooled)
        np.copyto(self.feat, self.pooled.transpose(1, 0, 2, 3))
        feat = self.feat.reshape(n, 128)
        logits = self.logits
        np.matmul(feat, self.wl, out=logits)
        logits += self.bl
        loss = cross_entropy_in_place(logits, self.rows, self.y)
        # backward: logits now holds d loss / d logits
        np.matmul(feat.T, logits, out=self.gwl)
        logits.sum(axis=0, out=self.gbl)
        np.matmul(logits, self.wl.T, out=self.dfeat.reshape(n, 128))
        dpooled = self.dpooled
        np.copyto(dpooled, self.dfeat.transpose(1, 0, 2, 3))     # read 4 times below
        dzw = self.dz.reshape(8, n, 4, 2, 4, 2)
        free, hit = self.free, self.hit
        np.greater(self.pooled, zero, out=free)          # relu's gradient is 0 where max is 0
        for i in (0, 1):
            for j in (0, 1):                 # window entries in row-major order: first max wins
                np.equal(zw[:, :, :, i, :, j], self.pooled, out=hit)
                hit &= free
                np.multiply(dpooled, hit, out=dzw[:, :, :, i, :, j])
                free ^= hit
        dz = self.dz
        np.matmul(dz, cols.T, out=self.gwc)
        dz.sum(axis=1, keepdims=True, out=self.gbc)
        return loss

    def step(self):
        loss = self.loss_and_grads()
        for p, g in ((self.wc, self.gwc), (self.bc, self.gbc), (self.wl, self.gwl),
                     (self.bl, self.gbl)):
            g *= DT(LR)
            p -= g
        return loss

    def grads(self):
        """In the order and layout of the tapegrad model's parameters."""
        return [self.gwc.reshape(8, 1, 3, 3), self.gbc.ravel(), self.gwl.T, self.gbl]


def _cnn(weights=None):
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=np.random.default_rng(1)),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(128, 10, rng=np.random.default_rng(2)))
    if weights is not None:
        model.load_state_dict({k: Tensor(v) for k, v in weights.items()})
    return model


def _cnn_torch(torch, weights):
    t = torch.nn
    model = t.Sequential(t.Conv2d(1, 8, 3, padding=1), t.ReLU(), t.MaxPool2d(2), t.Flatten(),
                         t.Linear(128, 10))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return model


# ---------------------------------------------------------------------------------------------
# LSTM
class NumpyLSTM:
    """Gates in the order i, f, o, g (the three sigmoids side by side; the weights are permuted
    once from torch's i, f, g, o) and one bias (b_ih + b_hh). Every sigmoid and the tanh of
    a step are ONE np.tanh over the four blocks: sigmoid(x) = tanh(x / 2) / 2 + 1/2, so the
    pre-activations are scaled by m (1/2 on the sigmoid blocks, 1 on g's: folded into the
    input products of all steps at once and into a scaled copy of W_hh per call), and the
    activations are then tanh(.) m + b. The input product of all 50 steps is one matmul
    before the loop; the backward computes every step's activation derivatives (and what
    dh adds to dc) before its loop, so that a step is six small array operations and
    dgates W_hh^T; the weight gradients are one matmul each over all steps. Activated gates,
    cells, tanh(c) and hidden states of every step are kept in buffers allocated once."""

    def __init__(self, weights, x, y):
        T, B, I = x.shape
        H = weights["lstm.weight_hh_l0"].shape[1]
        self.T, self.B, self.I, self.H = T, B, I, H
        self.perm = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]       # torch's rows, ours i f o g
        self.x, self.y, self.rows = x, y, np.arange(B)
        self.wih = weights["lstm.weight_ih_l0"][self.perm].T.copy()          # (I, 4H)
        self.whh = weights["lstm.weight_hh_l0"][self.perm].T.copy()          # (H, 4H)
        self.b = (weights["lstm.bias_ih_l0"] + weights["lstm.bias_hh_l0"])[self.perm]
        self.wo = weights["head.weight"].T.copy()                            # (H, 10)
        self.bo = weights["head.bias"].copy()
        self.m = np.full(4 * H, 0.5, DT)
        self.m[3 * H:] = 1.0
        self.shift = np.full(4 * H, 0.5, DT)
        self.shift[3 * H:] = 0.0
        self.whh_m = np.empty_like(self.whh)
        self.gates = np.empty((T, B, 4 * H), DT)
        self.hs = np.zeros((T + 1, B, H), DT)                  # hs[0] = h_0 = 0
        self.cs = np.zeros((T + 1, B, H), DT)
        self.tcs = np.empty((T, B, H), DT)
        self.q = np.empty((T, B, H), DT)
        self.rec = np.empty((B, 4 * H), DT)
        self.logits = np.empty((B, 10), DT)
        self.dgates = np.empty((T, B, 4 * H), DT)
        self.dh, self.dc = np.empty((B, H), DT), np.empty((B, H), DT)
        self.tmp = np.empty((B, H), DT)
        self.gwih, self.gwhh = np.empty_like(self.wih), np.empty_like(self.whh)
        self.gb = np.empty_like(self.b)
        self.gwo, self.gbo = np.empty_like(self.wo), np.empty_like(self.bo)

    def loss_and_grads(self):
        T, B, I, H = self.T, self.B, self.I, self.H
        gates, hs, cs, tcs, tmp, m, shift = (self.gates, self.hs, self.cs, self.tcs, self.tmp,
                                             self.m, self.shift)
        np.matmul(self.x.reshape(T * B, I), self.wih, out=gates.reshape(T * B, 4 * H))
        gates += self.b
        gates *= m
        np.multiply(self.whh, m, out=self.whh_m)
        for t in range(T):
            g = gates[t]
            np.matmul(hs[t], self.whh_m, out=self.rec)
            g += self.rec
            np.tanh(g, out=g)                               # all four blocks: see the docstring
            g *= m
            g += shift
            i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            np.multiply(f, cs[t], out=cs[t + 1])
            np.multiply(i, gg, out=tmp)
            cs[t + 1] += tmp
            np.tanh(cs[t + 1], out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t + 1])
        logits = self.logits
        np.matmul(hs[T], self.wo, out=logits)
        logits += self.bo
        loss = cross_entropy_in_place(logits, self.rows, self.y)
        # backward through time; logits now holds d loss / d logits
        np.matmul(hs[T].T, logits, out=self.gwo)
        logits.sum(axis=0, out=self.gbo)
        dh, dc, q, dgates = self.dh, self.dc, self.q, self.dgates
        np.matmul(logits, self.wo.T, out=dh)
        dc.fill(0)
        # for all steps at once: each gate's derivative, s (1 - s) or 1 - g^2 = (1 - g)(1 + g),
        # times its partner (d c_t / d(i, f, g) = g, c_{t-1}, i; d h_t / d o = tanh c_t), and
        # q = o (1 - tanh^2 c_t), what dh adds to dc
        np.subtract(1, gates, out=dgates)
        dgates[..., :3 * H] *= gates[..., :3 * H]
        np.add(gates[..., 3 * H:], 1, out=q)
        dgates[..., 3 * H:] *= q
        dgates[..., :H] *= gates[..., 3 * H:]
        dgates[..., H:2 * H] *= cs[:T]
        dgates[..., 2 * H:3 * H] *= tcs
        dgates[..., 3 * H:] *= gates[..., :H]
        np.multiply(tcs, tcs, out=q)
        np.subtract(1, q, out=q)
        q *= gates[..., 2 * H:3 * H]
        for t in range(T - 1, -1, -1):
            dg = dgates[t]
            np.multiply(dh, q[t], out=tmp)
            dc += tmp
            dg.reshape(B, 4, H)[:, :2] *= dc[:, None]        # d i, d f
            dg[:, 3 * H:] *= dc                               # d g
            dg[:, 2 * H:3 * H] *= dh                          # d o
            dc *= gates[t, :, H:2 * H]
            if t:
                np.matmul(dg, self.whh.T, out=dh)
        dgates = dgates.reshape(T * B, 4 * H)
        np.matmul(self.x.reshape(T * B, I).T, dgates, out=self.gwih)
        np.matmul(hs[:T].reshape(T * B, H).T, dgates, out=self.gwhh)
        dgates.sum(axis=0, out=self.gb)
        return loss

    def step(self):
        loss = self.loss_and_grads()
        for p, g in ((self.wih, self.gwih), (self.whh, self.gwhh), (self.b, self.gb),
                     (self.wo, self.gwo), (self.bo, self.gbo)):
            g *= DT(LR)
            p -= g
        return loss

    def grads(self):
        """In the order and layout of the tapegrad model's parameters (both biases get the
        gradient of the one bias)."""
        def torch_rows(g):                # (in, 4H) with gates i f o g -> (4H, in), i f g o
            out = np.empty_like(g.T)
            out[self.perm] = g.T
            return out
        gb = np.empty_like(self.gb)
        gb[self.perm] = self.gb
        return [torch_rows(self.gwih), torch_rows(self.gwhh), gb, gb, self.gwo.T, self.gbo]


class _LSTMClassifier(nn.Module):
    def __init__(self, weights=None):
        super().__init__()
        self.lstm = nn.LSTM(16, 64, rng=np.random.default_rng(3))
        self.head = nn.Linear(64, 10, rng=np.random.default_rng(4))
        if weights is not None:
            self.load_state_dict({k: Tensor(v) for k, v in weights.items()})

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[0])


def _lstm_torch(torch, weights):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(16, 64)
            self.head = torch.nn.Linear(64, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[0])
    model = Net()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return model


# ---------------------------------------------------------------------------------------------
def _torch_step(torch, model, x, y):
    """torch's idiomatic step: torch.optim.SGD, zero_grad, backward, step."""
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _run(title, short, numpy_cls, make_model, torch_model, x, y, rounds, number, target,
         today):
    weights = {k: v.numpy().copy() for k, v in make_model().state_dict().items()}
    torch = harness.torch_or_none()
    tstep = None
    if torch is not None:
        tstep = _torch_step(torch, torch_model(torch, weights), x, y)
    return harness.run_workload(title, short, lambda: numpy_cls(weights, x, y),
                                lambda: make_model(weights), Tensor(x), y, LR, rounds, number,
                                target, today, tstep)


def cnn(rounds=21, number=10):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data[:64] / 16.0).astype(DT).reshape(64, 1, 8, 8)
    y = d.target[:64].astype(np.int64)
    return _run("digits CNN (conv 3x3 1->8, relu, maxpool 2, linear 128->10), batch 64",
                "digits CNN step, batch 64", NumpyCNN, _cnn, _cnn_torch, x, y, rounds, number,
                target=1.1, today="1.97-2.09x")


def lstm(rounds=15, number=1):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 32, 16)).astype(DT)
    y = rng.integers(0, 10, 32)
    return _run("LSTM 16->64 over 50 steps, batch 32, linear head, cross-entropy",
                "LSTM 16->64, 50 steps, batch 32", NumpyLSTM, _LSTMClassifier, _lstm_torch,
                x, y, rounds, number, target=1.1, today="1.50-1.66x")


def main():
    print("Tensor networks: numpy by hand, tapegrad eager and compiled, torch (float32)")
    cnn()
    print()
    lstm()


if __name__ == "__main__":
    main()
    harness.print_goals()
