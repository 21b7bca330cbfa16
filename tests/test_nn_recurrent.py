"""RNN/LSTM/GRU cells and sequence modules against torch: same weights (loaded from torch's
state_dict as numpy arrays), same input -> same outputs and gradients, in float64, to 1e-6."""
import math

import numpy as np
import pytest

import nn
from autograd import Tensor

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

TOL = 1e-6
CELLS = {"rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
         "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
         "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
         "gru": (nn.GRUCell, torch.nn.GRUCell, {})}
SEQS = {"rnn_tanh": (nn.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
        "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
        "lstm": (nn.LSTM, torch.nn.LSTM, {}),
        "gru": (nn.GRU, torch.nn.GRU, {})}


def _numpy_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _pair(ours_cls, torch_cls, kw, *args, **more):
    torch.manual_seed(0)
    theirs = torch_cls(*args, **kw, **more).double()
    ours = ours_cls(*args, **kw, **more, rng=0, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(_numpy_state(theirs))
    return ours, theirs


def _leaf(rng, shape):
    a = rng.standard_normal(shape)
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(a, b, what):
    a = np.asarray(a.data) if isinstance(a, Tensor) else a
    b = b.detach().numpy()
    if a is None:       # unused here (W_hh at a zero initial state): torch has zeros there
        a = np.zeros_like(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    err = np.max(np.abs(a - b)) if a.size else 0.0
    assert err < TOL, f"{what}: max abs difference {err:.3g} from torch"


def _backward(outs_ours, outs_torch, rng):
    """Backpropagate sum_k <out_k, R_k> with random R_k through both."""
    loss_o, loss_t = 0.0, 0.0
    for o, t in zip(outs_ours, outs_torch):
        r = rng.standard_normal(t.shape)
        loss_o = (o * r).sum() + loss_o
        loss_t = (t * torch.tensor(r)).sum() + loss_t
    loss_o.backward()
    loss_t.backward()


def _compare_params(ours, theirs):
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, f"grad of {name}")


# ------------------------------------------------------------------------------ cells
@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(kind, bias, with_state):
    ours_cls, torch_cls, kw = CELLS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 5, 7, bias=bias)
    rng = np.random.default_rng(1)
    x, xt = _leaf(rng, (4, 5))
    leaves = [(x, xt)]
    if with_state:
        states = [_leaf(rng, (4, 7)) for _ in range(2 if kind == "lstm" else 1)]
        leaves += states
        hx = tuple(s[0] for s in states) if kind == "lstm" else states[0][0]
        hxt = tuple(s[1] for s in states) if kind == "lstm" else states[0][1]
        out, outt = ours(x, hx), theirs(xt, hxt)
    else:
        out, outt = ours(x), theirs(xt)
    outs = out if kind == "lstm" else (out,)
    outst = outt if kind == "lstm" else (outt,)
    for k, (o, t) in enumerate(zip(outs, outst)):
        _close(o, t, f"output {k}")
    _backward(outs, outst, rng)
    _compare_params(ours, theirs)
    for k, (a, b) in enumerate(leaves):
        _close(a.grad, b.grad, f"grad of input {k}")


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_unbatched_matches_torch(kind):
    ours_cls, torch_cls, kw = CELLS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 3, 4)
    rng = np.random.default_rng(2)
    x, xt = _leaf(rng, (3,))
    h, ht = _leaf(rng, (4,))
    if kind == "lstm":
        c, ct = _leaf(rng, (4,))
        outs, outst = ours(x, (h, c)), theirs(xt, (ht, ct))
    else:
        outs, outst = (ours(x, h),), (theirs(xt, ht),)
    for o, t in zip(outs, outst):
        _close(o, t, "output")
    _backward(outs, outst, rng)
    _compare_params(ours, theirs)
    _close(x.grad, xt.grad, "grad of x")
    _close(h.grad, ht.grad, "grad of h")


def test_cell_default_init_is_pytorchs_uniform_and_seeded():
    cell = nn.LSTMCell(3, 16, rng=7)
    bound = 1 / math.sqrt(16)
    for name, p in cell.named_parameters():
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound, name     # spread over the whole interval
    assert cell.weight_ih.shape == (64, 3) and cell.weight_hh.shape == (64, 16)
    assert cell.bias_ih.shape == (64,) and cell.bias_hh.shape == (64,)
    again = nn.LSTMCell(3, 16, rng=7)
    for a, b in zip(cell.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert nn.GRUCell(3, 16, rng=7).weight_ih.shape == (48, 3)


def test_cell_errors_name_layer_and_shapes():
    cell = nn.GRUCell(5, 7)
    with pytest.raises(ValueError, match=r"GRUCell\(5, 7\).*\(batch, 5\).*\(4, 6\)"):
        cell(np.zeros((4, 6)))
    with pytest.raises(ValueError, match=r"GRUCell\(5, 7\).*hx.*\(4, 7\).*\(4, 8\)"):
        cell(np.zeros((4, 5)), np.zeros((4, 8)))
    with pytest.raises(TypeError, match=r"LSTMCell\(5, 7\).*tuple"):
        nn.LSTMCell(5, 7)(np.zeros((4, 5)), np.zeros((4, 7)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'.*'sigmoid'"):
        nn.RNNCell(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="input_size and hidden_size must be positive"):
        nn.LSTMCell(0, 3)


# ------------------------------------------------------------------------------ sequences
@pytest.mark.parametrize("kind", sorted(SEQS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_sequence_matches_torch(kind, batch_first, with_state):
    ours_cls, torch_cls, kw = SEQS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 3, 5, batch_first=batch_first)
    rng = np.random.default_rng(3)
    T, B = 6, 4
    x, xt = _leaf(rng, (B, T, 3) if batch_first else (T, B, 3))
    leaves = [(x, xt)]
    args, argst = (x,), (xt,)
    if with_state:
        states = [_leaf(rng, (1, B, 5)) for _ in range(2 if kind == "lstm" else 1)]
        leaves += states
        if kind == "lstm":
            args += ((states[0][0], states[1][0]),)
            argst += ((states[0][1], states[1][1]),)
        else:
            args += (states[0][0],)
            argst += (states[0][1],)
    out, hn = ours(*args)
    outt, hnt = theirs(*argst)
    outs = (out,) + (hn if kind == "lstm" else (hn,))
    outst = (outt,) + (hnt if kind == "lstm" else (hnt,))
    for name, o, t in zip(("output", "h_n", "c_n"), outs, outst):
        _close(o, t, name)
    _backward(outs, outst, rng)
    _compare_params(ours, theirs)
    for k, (a, b) in enumerate(leaves):
        _close(a.grad, b.grad, f"grad of input {k}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_two_layer_and_unbatched_sequence_match_torch(kind):
    ours_cls, torch_cls, kw = SEQS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 3, 4, num_layers=2, bias=False)
    assert "weight_hh_l1" in ours.state_dict()
    rng = np.random.default_rng(4)
    x, xt = _leaf(rng, (5, 3))                       # unbatched: (seq, input)
    out, hn = ours(x)
    outt, hnt = theirs(xt)
    outs = (out,) + (hn if kind == "lstm" else (hn,))
    outst = (outt,) + (hnt if kind == "lstm" else (hnt,))
    for o, t in zip(outs, outst):
        _close(o, t, "output")
    _backward(outs, outst, rng)
    _compare_params(ours, theirs)
    _close(x.grad, xt.grad, "grad of x")


def test_bptt_200_steps_matches_torch():
    """200 steps of an LSTM: a tape of thousands of nodes, replayed without recursion."""
    ours, theirs = _pair(nn.LSTM, torch.nn.LSTM, {}, 2, 8, batch_first=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 200, 2))
    out, (h, c) = ours(x)
    outt, (ht, ct) = theirs(torch.tensor(x))
    _close(out, outt, "output")
    (h.sum() + c.sum()).backward()
    (ht.sum() + ct.sum()).backward()
    _compare_params(ours, theirs)
    # the first step still receives gradient through 200 steps of recurrence
    assert np.abs(ours.weight_ih_l0.grad).max() > 0


def test_sequence_errors_name_layer_and_shapes():
    lstm = nn.LSTM(3, 5, batch_first=True)
    with pytest.raises(ValueError, match=r"LSTM\(3, 5, batch_first=True\).*\(batch, seq, 3\)"
                                         r".*\(2, 4, 6\)"):
        lstm(np.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match=r"h_0 of shape \(1, 2, 5\).*\(2, 5\)"):
        lstm(np.zeros((2, 4, 3)), (np.zeros((2, 5)), np.zeros((1, 2, 5))))
    with pytest.raises(ValueError, match="bidirectional=True is not supported"):
        nn.GRU(3, 5, bidirectional=True)
    with pytest.raises(ValueError, match="dropout between layers is not supported"):
        nn.GRU(3, 5, num_layers=2, dropout=0.5)
    with pytest.raises(ValueError, match="sequence is empty"):
        nn.RNN(3, 5)(np.zeros((0, 2, 3)))


def test_sequence_state_dict_roundtrip_and_repr():
    gru = nn.GRU(3, 5, num_layers=2, rng=1)
    keys = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert list(gru.state_dict()) == keys
    assert gru.state_dict()["weight_ih_l1"].shape == (15, 5)
    other = nn.GRU(3, 5, num_layers=2, rng=2)
    other.load_state_dict(gru.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(gru(x)[0].data, other(x)[0].data)
    assert "GRU(3, 5, num_layers=2)" in repr(gru)


# ------------------------------------------------------------------------------ fused LSTM ops
def test_fused_lstm_cell_ops_gradcheck():
    """lstm_c and lstm_h (the LSTM cell's fused ops) against central differences."""
    from autograd import gradcheck
    rng = np.random.default_rng(6)
    cell = nn.LSTMCell(3, 4, rng=0, dtype=np.float64)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    c = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    # one output (gradcheck backpropagates each output of a list separately, and h and c share
    # their graph): h' * c' mixes both
    gradcheck(lambda x, h, c, w: cell(x, (h, c))[0] * cell(x, (h, c))[1],
              [x, h, c, cell.weight_hh])


def test_lstm_cell_double_backward_matches_torch():
    """create_graph through the fused ops: d/dparams of |d loss / d x|^2, as torch."""
    from autograd import grad
    ours, theirs = _pair(nn.LSTMCell, torch.nn.LSTMCell, {}, 3, 4)
    rng = np.random.default_rng(7)
    x, xt = _leaf(rng, (2, 3))
    h, ht = _leaf(rng, (2, 4))
    c, ct = _leaf(rng, (2, 4))
    r1, r2 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h1, c1 = ours(x, (h, c))
    h1t, c1t = theirs(xt, (ht, ct))
    gx, gc = grad((h1 * r1).sum() + (c1 * r2).sum(), [x, c], create_graph=True)
    gxt, gct = torch.autograd.grad((h1t * torch.tensor(r1)).sum() + (c1t * torch.tensor(r2)).sum(),
                                   [xt, ct], create_graph=True)
    _close(gx, gxt, "d loss / d x")
    _close(gc, gct, "d loss / d c")
    ((gx * gx).sum() + (gc * gc).sum()).backward()
    ((gxt * gxt).sum() + (gct * gct).sum()).backward()
    _compare_params(ours, theirs)
    _close(h.grad, ht.grad, "second-order grad of h")


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_without_hx_gives_weight_hh_a_zero_gradient_as_torch(kind, bias):
    """Regression: a cell called without hx left weight_hh.grad None (torch: zeros), so
    weight decay skipped it; every parameter now gets a gradient equal to torch's."""
    ours_cls, torch_cls, kw = CELLS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 3, 4, bias=bias)
    x, xt = _leaf(np.random.default_rng(2), (2, 3))
    out, outt = ours(x), theirs(xt)
    outs = out if kind == "lstm" else (out,)
    outst = outt if kind == "lstm" else (outt,)
    _backward(outs, outst, np.random.default_rng(3))
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name}.grad is None"
        np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(ours.weight_hh.grad, 0.0)


@pytest.mark.parametrize("kind", sorted(SEQS))
def test_one_step_sequence_without_hx_gives_weight_hh_a_zero_gradient(kind):
    """Regression: with T = 1 and no h_0, W_hh was never used and its grad stayed None."""
    ours_cls, torch_cls, kw = SEQS[kind]
    ours, theirs = _pair(ours_cls, torch_cls, kw, 3, 4)
    x, xt = _leaf(np.random.default_rng(4), (1, 2, 3))
    _backward((ours(x)[0],), (theirs(xt)[0],), np.random.default_rng(5))
    assert ours.weight_hh_l0.grad is not None
    np.testing.assert_array_equal(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad.numpy())
    _compare_params(ours, theirs)
