"""nn.LSTM as one lstm_layer row per layer (autograd/ops_nn.py): values and every gradient
against torch.nn.LSTM in float64 (layers, batch_first, given states, one step), gradcheck, the
fast VJPs (one backward through time per pass, shared by the four inputs) against the textbook
ones and against themselves recomputed, retain_graph with two different seeds, and double
backward. The op-table tests (test_op_table.py, test_fast_paths.py) cover the row's examples."""
import numpy as np
import pytest

import autograd
import nn
from autograd import OPS, Tensor
from autograd.backends import ARRAY
from autograd.fast import FAST_ARRAY
from test_nn_recurrent import _leaf, _pair as _module_pair

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

ROW = OPS["lstm_layer"]
TOL = 1e-6
TIGHT = dict(rtol=1e-12, atol=1e-14)


def _pair(*args, **kw):
    """nn.LSTM and torch.nn.LSTM with torch's weights, float64."""
    return _module_pair(nn.LSTM, torch.nn.LSTM, {}, *args, **kw)


def _close(ours, theirs, what):
    assert ours is not None, f"{what}: no gradient"
    ours = np.asarray(ours.data if isinstance(ours, Tensor) else ours)
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    err = np.abs(ours - theirs).max()
    assert err < TOL, f"{what}: max abs difference {err:.3g} from torch"


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("steps", [1, 7])
def test_lstm_matches_torch_values_and_every_gradient(layers, batch_first, with_state, steps):
    ours, theirs = _pair(3, 4, num_layers=layers, batch_first=batch_first)
    rng = np.random.default_rng(layers * 100 + steps)
    B = 2
    x, xt = _leaf(rng, (B, steps, 3) if batch_first else (steps, B, 3))
    leaves = [("x", x, xt)]
    args, argst = [x], [xt]
    if with_state:
        (h0, h0t), (c0, c0t) = _leaf(rng, (layers, B, 4)), _leaf(rng, (layers, B, 4))
        leaves += [("h_0", h0, h0t), ("c_0", c0, c0t)]
        args.append((h0, c0))
        argst.append((h0t, c0t))
    out, (h, c) = ours(*args)
    outt, (ht, ct) = theirs(*argst)
    loss, losst = 0.0, 0.0
    for name, o, t in (("output", out, outt), ("h_n", h, ht), ("c_n", c, ct)):
        _close(o, t, name)
        r = rng.standard_normal(t.shape)
        loss = (o * r).sum() + loss
        losst = (t * torch.tensor(r)).sum() + losst
    loss.backward()
    losst.backward()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, f"grad of {name}")
    for name, a, t in leaves:
        _close(a.grad, t.grad, f"grad of {name}")


def test_lstm_records_one_row_per_layer():
    """The point of the row: no per-step cells on the tape, one lstm_layer node per layer."""
    lstm = nn.LSTM(3, 4, num_layers=2, rng=0, dtype=np.float64)
    out, (h, c) = lstm(np.random.default_rng(0).standard_normal((9, 2, 3)))
    names = [n._op.name for n in autograd.engine.walk(out.sum() + h.sum() + c.sum())
             if n._op is not None]
    assert names.count("lstm_layer") == 2
    assert "lstm_c" not in names and "lstm_h" not in names


def test_lstm_gradcheck():
    """Central differences through two layers, every input and parameter (float64)."""
    lstm = nn.LSTM(2, 3, num_layers=2, rng=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    c0 = Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    r = [Tensor(rng.standard_normal(s)) for s in ((4, 2, 3), (2, 2, 3), (2, 2, 3))]

    def f(x, h0, c0, *params):
        out, (h, c) = lstm(x, (h0, c0))
        return (out * r[0]).sum() + (h * r[1]).sum() + (c * r[2]).sum()
    assert autograd.gradcheck(f, [x, h0, c0, *lstm.parameters()])


def _row_inputs(rng, T=5, B=3, H=4, dtype=np.float64):
    return [rng.standard_normal((T, B, 4 * H)).astype(dtype),
            rng.standard_normal((B, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype),
            (0.5 * rng.standard_normal((4 * H, H))).astype(dtype)]


def test_fast_vjps_equal_textbook_and_their_recomputation():
    """The fast VJPs share one backward through time: each input's share equals the textbook
    VJP's (to rounding: the forward's sigmoid is tanh(x / 2) / 2 + 1/2, the textbook's
    1 / (1 + e^-x)), and equals bit for bit what the fast VJPs give when ctx no longer holds
    the forward's activations (they rerun the same forward and the same loop)."""
    rng = np.random.default_rng(3)
    ins = _row_inputs(rng)
    ctx = {}
    out = ROW.array(ctx, *ins)
    g = rng.standard_normal(out.shape)
    fast = [ROW.fast_vjps[i](FAST_ARRAY, g, out, ctx, *ins) for i in range(4)]
    assert not ctx["grads"][2], "every share handed out once"
    recomputed = [ROW.fast_vjps[i](FAST_ARRAY, g, out, {}, *ins) for i in range(4)]
    for i, (f, r) in enumerate(zip(fast, recomputed)):
        assert f.shape == ins[i].shape
        np.testing.assert_array_equal(f, r, err_msg=f"input {i}: cached vs recomputed")
        np.testing.assert_allclose(f, ROW.vjps[i](ARRAY, g, out, ctx, *ins), **TIGHT,
                                   err_msg=f"input {i}: fast vs textbook")


def test_forward_equals_the_unrolled_cells_bit_for_bit():
    """lstm_layer's forward gives the numbers of LSTMCell (lstm_c, lstm_h) step by step: its
    one tanh for all four blocks of prescaled gates is exactly _sigmoid's tanh(x / 2) / 2 +
    1/2 (a scale by 1/2 is exact)."""
    for dtype in (np.float32, np.float64):
        seq = nn.LSTM(3, 5, rng=0, dtype=dtype)
        cell = nn.LSTMCell(3, 5, rng=0, dtype=dtype)
        cell.load_state_dict({k[:-3]: v for k, v in seq.state_dict().items()})
        x = np.random.default_rng(1).standard_normal((6, 4, 3)).astype(dtype)
        out, (h, c) = seq(x)
        hc = (Tensor(np.zeros((4, 5), dtype)), Tensor(np.zeros((4, 5), dtype)))
        hs = []
        for t in range(6):
            hc = cell(x[t], hc)
            hs.append(hc[0].data)
        np.testing.assert_array_equal(out.data, np.stack(hs))
        np.testing.assert_array_equal(c.data[0], hc[1].data)


@pytest.mark.parametrize("fast", [True, False])
def test_retain_graph_twice_with_different_seeds(fast):
    """A second backward of the same states with another g computes the shares again (the
    first pass's are not reused), and one with the same g adds the same gradients again."""
    rng = np.random.default_rng(4)
    arrays = _row_inputs(rng)
    g1, g2 = rng.standard_normal((2, 6, 3, 4)), rng.standard_normal((2, 6, 3, 4))

    def grads_of(*seeds):
        with autograd.fast_paths(fast):
            xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
            out = ROW(*xs, ctx={})
            result = []
            for k, g in enumerate(seeds):
                out.backward(g, retain_graph=k < len(seeds) - 1)
                result.append([x.grad.numpy().copy() for x in xs])
                for x in xs:
                    x.grad = None
        return result

    first, second = grads_of(g1, g2)
    alone1, = grads_of(g1)
    alone2, = grads_of(g2)
    again1, again2 = grads_of(g1, g1)
    for i in range(4):
        np.testing.assert_array_equal(first[i], alone1[i])
        np.testing.assert_array_equal(second[i], alone2[i])
        np.testing.assert_array_equal(again2[i], alone1[i])
        assert not np.allclose(first[i], second[i])


def test_lstm_double_backward_matches_torch():
    """create_graph through the row (its textbook VJPs on the graph backend): d/dparams of
    |d loss / d x|^2 + |d loss / d h_0|^2 through two layers, as torch."""
    ours, theirs = _pair(3, 4, num_layers=2)
    rng = np.random.default_rng(5)
    x, xt = _leaf(rng, (4, 2, 3))
    h0, h0t = _leaf(rng, (2, 2, 4))
    c0, c0t = _leaf(rng, (2, 2, 4))
    r1, r2 = rng.standard_normal((4, 2, 4)), rng.standard_normal((2, 2, 4))
    out, (h, c) = ours(x, (h0, c0))
    outt, (ht, ct) = theirs(xt, (h0t, c0t))
    gx, gh = autograd.grad((out * r1).sum() + (c * r2).sum(), [x, h0], create_graph=True)
    gxt, ght = torch.autograd.grad((outt * torch.tensor(r1)).sum() + (ct * torch.tensor(r2)).sum(),
                                   [xt, h0t], create_graph=True)
    _close(gx, gxt, "d loss / d x")
    _close(gh, ght, "d loss / d h_0")
    ((gx * gx).sum() + (gh * gh).sum()).backward()
    ((gxt * gxt).sum() + (ght * ght).sum()).backward()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, f"second-order grad of {name}")
    _close(c0.grad, c0t.grad, "second-order grad of c_0")
    _close(x.grad, xt.grad, "second-order grad of x")


def test_lstm_float32_stays_float32_and_compiles_to_eager_numbers():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True, rng=0)
    x = Tensor(np.random.default_rng(6).standard_normal((2, 5, 3)).astype(np.float32))

    def loss(x):
        out, (h, c) = lstm(x)
        return (out * out).sum() + h.sum() + c.sum()
    eager = loss(x)
    assert eager.dtype == np.float32
    eager.backward()
    want = [p.grad.numpy().copy() for p in lstm.parameters()]
    lstm.zero_grad()
    compiled = autograd.compile(loss)
    for _ in range(2):
        got = compiled(x)
        lstm.zero_grad()
        got.backward()
        np.testing.assert_allclose(got.item(), eager.item(), rtol=1e-6)
        for p, w in zip(lstm.parameters(), want):
            assert p.grad.dtype == np.float32
            np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-5, atol=1e-6)


def test_reused_activation_buffers_are_never_read_after_reuse():
    """The forward's activations go back to a pool once a backward has used them; another
    forward may then write over them. Interleaved graphs, a retained graph backpropagated
    again after that, all give the gradients of graphs run one at a time."""
    rng = np.random.default_rng(7)
    sets = [_row_inputs(rng) for _ in range(3)]
    g = rng.standard_normal((2, 6, 3, 4))

    def alone(arrays):
        xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        ROW(*xs, ctx={}).backward(g)
        return [x.grad.numpy().copy() for x in xs]
    want = [alone(a) for a in sets]
    xs = [[Tensor(a.copy(), requires_grad=True) for a in arrays] for arrays in sets]
    out0 = ROW(*xs[0], ctx={})
    out1 = ROW(*xs[1], ctx={})
    out0.backward(g, retain_graph=True)        # out0's activations to the pool
    first0 = [x.grad.numpy().copy() for x in xs[0]]
    for x in xs[0]:
        x.grad = None
    out2 = ROW(*xs[2], ctx={})                 # may write over them
    out1.backward(g)
    out0.backward(g)                           # retained: its forward runs again
    out2.backward(g)
    for k in range(3):
        for i in range(4):
            np.testing.assert_array_equal(xs[k][i].grad.numpy(), want[k][i])
    for i in range(4):
        np.testing.assert_array_equal(first0[i], want[0][i])


def test_mixed_dtypes_raise_torchs_error_as_the_unrolled_cells_did():
    """Regression: linear and the row promote mixed dtypes where the unrolled cells' matrix
    products raised torch's error; the module checks them as those products did (a float64
    input or h_0 of a float32 LSTM; a float64 c_0, which promoted h_1, from the second step)."""
    lstm = nn.LSTM(3, 4, rng=0)
    x = np.ones((3, 2, 3), dtype=np.float32)
    zeros32, zeros64 = np.zeros((1, 2, 4), np.float32), np.zeros((1, 2, 4))
    mixed = "expected m1 and m2 to have the same dtype, but got: double != float"
    with pytest.raises(RuntimeError, match=mixed):
        lstm(Tensor(x.astype(np.float64)))
    with pytest.raises(RuntimeError, match=mixed):
        lstm(x, (Tensor(zeros64), Tensor(zeros32)))
    with pytest.raises(RuntimeError, match=mixed):
        lstm(x, (Tensor(zeros32), Tensor(zeros64)))
    out, (h, c) = lstm(x[:1], (Tensor(zeros32), Tensor(zeros64)))    # one step: promoted
    assert out.dtype == h.dtype == c.dtype == np.float64
