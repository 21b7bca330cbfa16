"""nn.utils.rnn (pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
unpack_sequence, unpad_sequence, PackedSequence) and nn.RNN/LSTM/GRU on packed input, against
torch.nn.utils.rnn and torch.nn in float64: values, batch sizes and indices, gradients back to
the padded input (and every weight and initial state of the layers), dtypes, errors and their
messages, and autograd.compile of a model that packs."""
import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from autograd.compile import CompileError
from nn.utils import rnn
from test_nn_recurrent import _leaf, _pair

torch = pytest.importorskip("torch")
TR = torch.nn.utils.rnn
TOL = 1e-9


def _close(ours, theirs, what):
    assert ours is not None, f"{what}: no value or gradient"
    a = np.asarray(ours.detach().numpy() if isinstance(ours, Tensor) else ours)
    b = theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} vs torch {b.dtype}"
    if a.dtype.kind in "fc":
        err = np.max(np.abs(a - b)) if a.size else 0.0
        assert err < TOL, f"{what}: max abs difference {err:.3g} from torch"
    else:
        assert np.array_equal(a, b), f"{what}: {a.tolist()} vs torch {b.tolist()}"


def _same_ints(ours, theirs, what):
    if theirs is None:
        assert ours is None, f"{what}: {ours} where torch has None"
        return
    _close(ours, theirs, what)


def _backward(pairs, rng):
    """Backpropagate sum_k <out_k, R_k> with the same random R_k through both."""
    loss, losst = 0.0, 0.0
    for o, t in pairs:
        r = rng.standard_normal(tuple(t.shape))
        loss = (o * Tensor(r)).sum() + loss
        losst = (t * torch.tensor(r)).sum() + losst
    loss.backward()
    losst.backward()


def _raises_as_torch(ours, theirs):
    """Both calls raise: the same exception type and message."""
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(Exception) as got:
        ours()
    assert type(got.value) is type(want.value), (got.value, want.value)
    assert str(got.value) == str(want.value)


# ---------------------------------------------------------------------------------------------
# pad_sequence
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 3)])
def test_pad_sequence_values_and_gradients_as_torch(batch_first, side, trailing):
    rng = np.random.default_rng(len(trailing) * 10 + batch_first)
    leaves = [_leaf(rng, (n,) + trailing) for n in (2, 5, 1, 5)]
    out = rnn.pad_sequence([a for a, _ in leaves], batch_first=batch_first, padding_value=-0.5,
                           padding_side=side)
    outt = TR.pad_sequence([t for _, t in leaves], batch_first=batch_first, padding_value=-0.5,
                           padding_side=side)
    _close(out, outt, "padded")
    _backward([(out, outt)], rng)
    for k, (a, t) in enumerate(leaves):
        _close(a.grad, t.grad, f"gradient of sequence {k}")


def test_pad_sequence_dtypes_and_padding_value_cast_as_torch():
    cases = [([[1, 2], [3]], 2.5), ([[True], [True, False]], 2.5), ([[1, 2], [3]], True),
             ([[1.0, 2.0], [3.0]], float("nan"))]
    for seqs, value in cases:
        for side in ("right", "left"):
            out = rnn.pad_sequence([autograd.tensor(s) for s in seqs], padding_value=value,
                                   padding_side=side)
            outt = TR.pad_sequence([torch.tensor(s) for s in seqs], padding_value=value,
                                   padding_side=side)
            a, b = out.numpy(), outt.numpy()
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), \
                (seqs, value, side, a, b)
    # every sequence takes the first one's dtype
    for first, second in ((np.float32, np.float64), (np.float64, np.float32)):
        a = rnn.pad_sequence([autograd.zeros(2, dtype=first), autograd.zeros(3, dtype=second)])
        b = TR.pad_sequence([torch.zeros(2, dtype=getattr(torch, np.dtype(first).name)),
                             torch.zeros(3, dtype=getattr(torch, np.dtype(second).name))])
        assert str(a.dtype) == str(b.dtype)


def test_pad_sequence_broadcasts_a_sequence_into_the_first_ones_trailing_shape():
    rng = np.random.default_rng(3)
    leaves = [_leaf(rng, (2, 3)), _leaf(rng, (3, 1)), _leaf(rng, (1, 3))]
    out = rnn.pad_sequence([a for a, _ in leaves])
    outt = TR.pad_sequence([t for _, t in leaves])
    _close(out, outt, "padded")
    _backward([(out, outt)], rng)
    for k, (a, t) in enumerate(leaves):
        _close(a.grad, t.grad, f"gradient of sequence {k}")


def test_pad_sequence_takes_a_tensor_as_its_rows_and_empty_sequences():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 2, 2))
    _close(rnn.pad_sequence(Tensor(a)), TR.pad_sequence(torch.tensor(a)), "rows of a tensor")
    _close(rnn.pad_sequence([autograd.zeros(0, 2), autograd.zeros(0, 2)]),
           TR.pad_sequence([torch.zeros(0, 2), torch.zeros(0, 2)]), "empty sequences")


PAD_ERRORS = [
    ("not iterable", lambda m, t: m.pad_sequence(5)),
    ("empty list", lambda m, t: m.pad_sequence([])),
    ("not a tensor", lambda m, t: m.pad_sequence([t([1.0, 2.0]), [3.0]])),
    ("padding side", lambda m, t: m.pad_sequence([t([1.0, 2.0])], padding_side="middle")),
    ("0-d sequence", lambda m, t: m.pad_sequence([t(1.0), t(2.0)])),
    ("trailing sizes", lambda m, t: m.pad_sequence([t(np.zeros((2, 3))), t(np.zeros((3, 2)))])),
    ("padding value None", lambda m, t: m.pad_sequence([t([1.0])], padding_value=None)),
    ("padding value str", lambda m, t: m.pad_sequence([t([1.0])], padding_value="a")),
]


@pytest.mark.parametrize("case", PAD_ERRORS, ids=[c[0] for c in PAD_ERRORS])
def test_pad_sequence_errors_as_torch(case):
    _, call = case
    _raises_as_torch(lambda: call(rnn, autograd.tensor), lambda: call(TR, torch.tensor))


# ---------------------------------------------------------------------------------------------
# pack_padded_sequence and pad_packed_sequence
PACK_CASES = [
    ([4, 3, 3, 1], False, True, "list"),
    ([4, 3, 3, 1], True, True, "tensor"),
    ([2, 4, 1, 4, 3], False, False, "list"),
    ([2, 4, 1, 4, 3], True, False, "int32 tensor"),
    ([1, 1, 1], True, False, "float list"),
    ([3, 2], False, True, "tuple"),
]


def _lengths(lens, kind):
    if kind == "tensor":
        return autograd.tensor(lens), torch.tensor(lens)
    if kind == "int32 tensor":
        return (autograd.tensor(lens, dtype=autograd.int32),
                torch.tensor(lens, dtype=torch.int32))
    if kind == "float list":
        return [float(n) + 0.5 for n in lens], [float(n) + 0.5 for n in lens]
    if kind == "tuple":
        return tuple(lens), tuple(lens)
    return list(lens), list(lens)


@pytest.mark.parametrize("lens,batch_first,enforce_sorted,kind", PACK_CASES)
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
def test_pack_then_pad_values_indices_and_gradients_as_torch(lens, batch_first,
                                                             enforce_sorted, kind, trailing):
    rng = np.random.default_rng(sum(lens) + len(trailing))
    B, T = len(lens), max(lens) + 1           # a padded step past the longest sequence too
    x, xt = _leaf(rng, ((B, T) if batch_first else (T, B)) + trailing)
    lengths, lengthst = _lengths(lens, kind)
    p = rnn.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                 enforce_sorted=enforce_sorted)
    pt = TR.pack_padded_sequence(xt, lengthst, batch_first=batch_first,
                                 enforce_sorted=enforce_sorted)
    assert type(p) is rnn.PackedSequence and isinstance(p, tuple) and len(p) == 4
    _close(p.data, pt.data, "data")
    _close(p.batch_sizes, pt.batch_sizes, "batch_sizes")
    _same_ints(p.sorted_indices, pt.sorted_indices, "sorted_indices")
    _same_ints(p.unsorted_indices, pt.unsorted_indices, "unsorted_indices")
    for total in (None, T + 2):
        out, got = rnn.pad_packed_sequence(p, batch_first=batch_first, padding_value=-2.0,
                                           total_length=total)
        outt, gott = TR.pad_packed_sequence(pt, batch_first=batch_first, padding_value=-2.0,
                                            total_length=total)
        _close(out, outt, f"padded (total_length={total})")
        _close(got, gott, "lengths")
    _backward([(p.data, pt.data), (out, outt)], rng)
    _close(x.grad, xt.grad, "gradient of the padded input")


def test_pack_sorts_ties_stably_and_pads_back_as_torch_for_many_sequences():
    # torch's CPU sort orders ties its own way from 17 entries on: sorted_indices may differ,
    # what the batch's order sees may not
    rng = np.random.default_rng(7)
    lens = [int(n) for n in rng.integers(1, 4, 23)]
    x, xt = _leaf(rng, (23, 4, 2))
    p = rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
    pt = TR.pack_padded_sequence(xt, lens, batch_first=True, enforce_sorted=False)
    order = p.sorted_indices.tolist()
    assert order == sorted(range(23), key=lambda b: -lens[b])        # stable
    _close(p.batch_sizes, pt.batch_sizes, "batch_sizes")
    out, got = rnn.pad_packed_sequence(p, batch_first=True)
    outt, gott = TR.pad_packed_sequence(pt, batch_first=True)
    _close(out, outt, "padded")
    _close(got, gott, "lengths")
    _backward([(out, outt)], rng)
    _close(x.grad, xt.grad, "gradient of the padded input")


def _x(shape=(4, 3, 2)):
    return np.arange(float(np.prod(shape))).reshape(shape)


PACK_ERRORS = [
    ("unsorted", dict(lengths=[2, 3, 1])),
    ("a zero length", dict(lengths=[3, 2, 0])),
    ("a zero length unsorted", dict(lengths=[0, 3, 2], enforce_sorted=False)),
    ("a zero length, unsorted, enforce_sorted", dict(lengths=[0, 3, 1])),
    ("a negative length", dict(lengths=[-1, 2, 1], enforce_sorted=False)),
    ("too few lengths", dict(lengths=[3, 2])),
    ("too many lengths", dict(lengths=[3, 2, 1, 1])),
    ("batch_first: lengths per row", dict(lengths=[3, 2, 1], batch_first=True)),
    ("2-d lengths", dict(lengths=[[3, 2, 1]])),
    ("2-d lengths tensor", dict(lengths=[[3, 2, 1]], tensor=True)),
    ("unsorted tensor", dict(lengths=[1, 3, 2], tensor=True)),
    ("1-d input", dict(lengths=[3], shape=(4,))),
    ("empty input", dict(lengths=[1, 1, 1], shape=(0, 3, 2))),
    ("a list as input", dict(lengths=[2, 1], input=[[1.0, 2.0], [3.0, 4.0]])),
    ("an array as input", dict(lengths=[2, 1], input=np.zeros((3, 2)))),
]


@pytest.mark.parametrize("case", PACK_ERRORS, ids=[c[0] for c in PACK_ERRORS])
def test_pack_padded_sequence_errors_as_torch(case):
    _, kw = case
    kw = dict(kw)
    shape = kw.pop("shape", (4, 3, 2))
    lengths = kw.pop("lengths")
    tensor = kw.pop("tensor", False)
    raw = kw.pop("input", None)
    x, xt = (raw, raw) if raw is not None else (Tensor(_x(shape)), torch.tensor(_x(shape)))
    _raises_as_torch(
        lambda: rnn.pack_padded_sequence(
            x, autograd.tensor(lengths) if tensor else lengths, **kw),
        lambda: TR.pack_padded_sequence(
            xt, torch.tensor(lengths) if tensor else lengths, **kw))


@pytest.mark.parametrize("batch_first", [False, True])
def test_lengths_past_the_input_are_torchs_backward_indexerror_at_pack_time(batch_first):
    # torch's forward reads past the end of the input (a PackedSequence whose data and
    # batch_sizes disagree); its backward raises this IndexError. tapegrad raises it at once.
    lens = [5, 2, 1]
    shape = (3, 4, 2) if batch_first else (4, 3, 2)
    xt = torch.tensor(_x(shape), requires_grad=True)
    pt = TR.pack_padded_sequence(xt, lens, batch_first=batch_first)
    assert int(pt.batch_sizes.sum()) != pt.data.shape[0]          # torch's is inconsistent
    with pytest.raises(IndexError) as want:
        pt.data.sum().backward()
    with pytest.raises(IndexError) as got:
        rnn.pack_padded_sequence(Tensor(_x(shape), requires_grad=True), lens,
                                 batch_first=batch_first)
    assert str(got.value) == str(want.value)


def test_pad_packed_sequence_total_length_shorter_than_longest_as_torch():
    p = rnn.pack_padded_sequence(Tensor(_x()), [3, 2, 1])
    pt = TR.pack_padded_sequence(torch.tensor(_x()), [3, 2, 1])
    _raises_as_torch(lambda: rnn.pad_packed_sequence(p, total_length=2),
                     lambda: TR.pad_packed_sequence(pt, total_length=2))


# ---------------------------------------------------------------------------------------------
# pack_sequence, unpack_sequence, unpad_sequence, PackedSequence
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_sequence_as_torch(enforce_sorted):
    rng = np.random.default_rng(11)
    sizes = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    leaves = [_leaf(rng, (n, 2)) for n in sizes]
    p = rnn.pack_sequence([a for a, _ in leaves], enforce_sorted=enforce_sorted)
    pt = TR.pack_sequence([t for _, t in leaves], enforce_sorted=enforce_sorted)
    _close(p.data, pt.data, "data")
    _close(p.batch_sizes, pt.batch_sizes, "batch_sizes")
    _same_ints(p.sorted_indices, pt.sorted_indices, "sorted_indices")
    seqs, seqst = rnn.unpack_sequence(p), TR.unpack_sequence(pt)
    assert len(seqs) == len(seqst) == len(sizes)
    for k, (s, st) in enumerate(zip(seqs, seqst)):
        _close(s, st, f"sequence {k}")
    _backward(list(zip(seqs, seqst)), rng)
    for k, (a, t) in enumerate(leaves):
        _close(a.grad, t.grad, f"gradient of sequence {k}")


def test_pack_sequence_errors_as_torch():
    _raises_as_torch(lambda: rnn.pack_sequence([autograd.zeros(2), autograd.zeros(3)]),
                     lambda: TR.pack_sequence([torch.zeros(2), torch.zeros(3)]))
    _raises_as_torch(lambda: rnn.pack_sequence([autograd.zeros(2), autograd.zeros(0)]),
                     lambda: TR.pack_sequence([torch.zeros(2), torch.zeros(0)]))
    _raises_as_torch(lambda: rnn.pack_sequence([]), lambda: TR.pack_sequence([]))


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_as_torch_including_its_in_place_transpose(batch_first):
    rng = np.random.default_rng(12)
    lens = [3, 1, 4]
    a = rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))
    # a non-leaf, as torch's in-place transpose needs
    x = Tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    y, yt = x * 1.0, xt * 1.0
    seqs = rnn.unpad_sequence(y, autograd.tensor(lens), batch_first=batch_first)
    seqst = TR.unpad_sequence(yt, torch.tensor(lens), batch_first=batch_first)
    assert tuple(y.shape) == tuple(yt.shape)             # (B, T, *) afterwards without batch_first
    for k, (s, st) in enumerate(zip(seqs, seqst)):
        _close(s, st, f"sequence {k}")
    _backward(list(zip(seqs, seqst)), rng)
    _close(x.grad, xt.grad, "gradient of the padded input")


def test_unpad_sequence_errors_as_torch():
    _raises_as_torch(lambda: rnn.unpad_sequence(Tensor(_x()), [3, 2, 1], batch_first=True),
                     lambda: TR.unpad_sequence(torch.tensor(_x()), [3, 2, 1], batch_first=True))
    _raises_as_torch(
        lambda: rnn.unpad_sequence(Tensor(_x()), autograd.tensor([3, 2]), batch_first=True),
        lambda: TR.unpad_sequence(torch.tensor(_x()), torch.tensor([3, 2]), batch_first=True))
    # a leaf that requires grad cannot be transposed in place: torch's error (tapegrad's text
    # of it goes on to name the op and the way out)
    with pytest.raises(RuntimeError) as want:
        TR.unpad_sequence(torch.tensor(_x(), requires_grad=True), torch.tensor([3, 2, 1]))
    with pytest.raises(RuntimeError) as got:
        rnn.unpad_sequence(Tensor(_x(), requires_grad=True), autograd.tensor([3, 2, 1]))
    assert str(got.value).startswith(str(want.value).rstrip("."))


def test_packed_sequence_is_torchs_named_tuple():
    data = autograd.tensor([1.0, 2.0, 3.0])
    sizes = autograd.tensor([2, 1])
    p = rnn.PackedSequence(data, sizes, autograd.tensor([1, 0]))
    assert p._fields == TR.PackedSequence._fields
    assert p.unsorted_indices.tolist() == [1, 0]            # computed, as torch's
    q = rnn.PackedSequence((data, sizes))
    assert q.batch_sizes is sizes and q.sorted_indices is None and q.unsorted_indices is None
    assert p.float() is p and p.to(autograd.float32) is p   # unchanged: the same object
    d = p.double()
    assert str(d.data.dtype) == "torch.float64" and d.batch_sizes is sizes
    assert d.sorted_indices is p.sorted_indices and not d.is_cuda
    with pytest.raises(AssertionError, match="list or tuple of length 2"):
        rnn.PackedSequence(data)
    perm = [3, 0, 4, 1, 2]
    _close(rnn.invert_permutation(autograd.tensor(perm)),
           TR.invert_permutation(torch.tensor(perm)), "invert_permutation")
    assert rnn.invert_permutation(None) is None
    import nn.utils.rnn as by_path
    assert nn.utils.rnn is by_path is rnn


# ---------------------------------------------------------------------------------------------
# nn.RNN, nn.LSTM, nn.GRU on packed input
MODULES = {"RNN": (nn.RNN, "RNN"), "LSTM": (nn.LSTM, "LSTM"), "GRU": (nn.GRU, "GRU"),
           "RNN relu": (nn.RNN, "RNN")}
LAYOUTS = [([5, 3, 3, 1], False, True), ([2, 5, 1, 5, 3], True, False),
           ([2, 2, 2], False, False), ([1, 1], True, True)]


@pytest.mark.parametrize("mode", list(MODULES))
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("lens,batch_first,enforce_sorted", LAYOUTS)
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layers_on_packed_input_match_torch(mode, layers, lens, batch_first,
                                                      enforce_sorted, with_state):
    cls, name = MODULES[mode]
    kw = {"nonlinearity": "relu"} if mode == "RNN relu" else {}
    ours, theirs = _pair(cls, getattr(torch.nn, name), kw, 3, 4, num_layers=layers,
                         batch_first=batch_first)
    rng = np.random.default_rng(layers * 100 + len(lens) * 10 + with_state)
    B, T = len(lens), max(lens) + 1
    x, xt = _leaf(rng, (B, T, 3) if batch_first else (T, B, 3))
    leaves = [("x", x, xt)]
    args, argst = [], []
    if with_state:
        (h0, h0t), (c0, c0t) = _leaf(rng, (layers, B, 4)), _leaf(rng, (layers, B, 4))
        leaves.append(("h_0", h0, h0t))
        if name == "LSTM":
            leaves.append(("c_0", c0, c0t))
            args, argst = [(h0, c0)], [(h0t, c0t)]
        else:
            args, argst = [h0], [h0t]
    p = rnn.pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = TR.pack_padded_sequence(xt, lens, batch_first=batch_first,
                                 enforce_sorted=enforce_sorted)
    out, state = ours(p, *args)
    outt, statet = theirs(pt, *argst)
    assert type(out) is rnn.PackedSequence
    assert out.batch_sizes is p.batch_sizes and out.sorted_indices is p.sorted_indices
    _close(out.data, outt.data, "output data")
    pairs = [(out.data, outt.data)]
    if name == "LSTM":
        (h, c), (ht, ct) = state, statet
        _close(c, ct, "c_n")
        pairs.append((c, ct))
    else:
        h, ht = state, statet
    _close(h, ht, "h_n")
    pairs.append((h, ht))
    padded, _ = rnn.pad_packed_sequence(out, batch_first=batch_first)
    paddedt, _ = TR.pad_packed_sequence(outt, batch_first=batch_first)
    _close(padded, paddedt, "padded output")
    pairs.append((padded, paddedt))
    _backward(pairs, rng)
    for what, a, t in leaves:
        _close(a.grad, t.grad, f"gradient of {what}")
    for (pname, w), wt in zip(ours.named_parameters(), theirs.parameters()):
        _close(w.grad, wt.grad, f"gradient of {pname}")


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_packed_final_state_is_each_sequence_run_alone(cls):
    # the meaning of packing, without torch: h_n of sequence b is the plain layer's last h
    # over its first lengths[b] steps, and the packed output its outputs
    m = cls(2, 3, num_layers=2, batch_first=True, rng=5, dtype=np.float64)
    rng = np.random.default_rng(13)
    lens = [2, 4, 1]
    x = Tensor(rng.standard_normal((3, 4, 2)))
    out, state = m(rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False))
    h_n = state[0] if cls is nn.LSTM else state
    seqs = rnn.unpack_sequence(out)
    for b, n in enumerate(lens):
        alone, state_b = m(x[b:b + 1, :n])
        h_b = state_b[0] if cls is nn.LSTM else state_b
        np.testing.assert_allclose(seqs[b].detach().numpy(), alone[0].detach().numpy(),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h_n[:, b].detach().numpy(), h_b[:, 0].detach().numpy(),
                                   rtol=1e-12, atol=1e-14)


def test_recurrent_layers_refuse_packed_data_of_the_wrong_size():
    m = nn.LSTM(3, 4)
    p = rnn.pack_padded_sequence(autograd.zeros(4, 2, 5), [4, 2])
    with pytest.raises(ValueError, match=r"packed data of shape \(sum of lengths, 3\)"):
        m(p)
    p = rnn.pack_padded_sequence(autograd.zeros(4, 2, 3), [4, 2])
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 4\)"):
        m(p, (autograd.zeros(1, 3, 4), autograd.zeros(1, 3, 4)))


# ---------------------------------------------------------------------------------------------
# autograd.compile
def test_compiled_model_that_packs_retraces_for_new_lengths_and_equals_eager():
    m = nn.LSTM(3, 4, batch_first=True, rng=1, dtype=np.float64)

    def f(x, lengths):
        p = rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        o, (h, c) = m(p)
        out, _ = rnn.pad_packed_sequence(o, batch_first=True, total_length=x.shape[1])
        return (out * out).sum() + (h * c).sum()

    step = autograd.compile(f)
    rng = np.random.default_rng(14)
    x = Tensor(rng.standard_normal((3, 5, 3)))
    for lens in [(5, 2, 3), (5, 2, 3), (1, 5, 4), (5, 2, 3)]:
        loss = step(x, lens)
        m.zero_grad()
        loss.backward()
        grads = [p.grad.numpy().copy() for p in m.parameters()]
        m.zero_grad()
        eager = f(x, lens)
        eager.backward()
        assert np.allclose(loss.detach().numpy(), eager.detach().numpy(), rtol=1e-12), lens
        for g, p in zip(grads, m.parameters()):
            np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_compile_refuses_lengths_and_packed_sequences_that_are_values_of_the_program():
    m = nn.GRU(3, 4, batch_first=True, rng=1, dtype=np.float64)
    x = Tensor(np.random.default_rng(15).standard_normal((3, 5, 3)))

    def f(x, lengths):
        return m(rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                          enforce_sorted=False))[1]

    with pytest.raises(CompileError, match="pack_padded_sequence's lengths is a tensor"):
        autograd.compile(f)(x, autograd.tensor([5, 2, 3]))

    def g(packed):
        return m(packed)[1]

    packed = rnn.pack_padded_sequence(x, [5, 2, 3], batch_first=True, enforce_sorted=False)
    with pytest.raises(CompileError, match="a PackedSequence's batch_sizes is a tensor"):
        autograd.compile(g)(packed)


# ---------------------------------------------------------------------------------------------
# the NLP tutorials' pattern, trained
class _Classifier:
    """Embedding -> pad_sequence -> pack (unsorted) -> LSTM -> h_n[-1] -> Linear, written once
    for both libraries (`lib` is nn or torch.nn, `R` its utils.rnn)."""

    def __init__(self, lib, R, **kw):
        self.R = R
        self.emb = lib.Embedding(10, 3, padding_idx=0, **kw)
        self.lstm = lib.LSTM(3, 4, num_layers=2, batch_first=True, **kw)
        self.head = lib.Linear(4, 2, **kw)
        self.modules = [self.emb, self.lstm, self.head]

    def parameters(self):
        return [p for m in self.modules for p in m.parameters()]

    def __call__(self, sentences, lengths):
        padded = self.R.pad_sequence([self.emb(s) for s in sentences], batch_first=True)
        packed = self.R.pack_padded_sequence(padded, lengths, batch_first=True,
                                             enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(h[-1])


def test_tutorial_classifier_on_packed_sentences_trains_as_torch():
    import optim
    ours = _Classifier(nn, rnn, dtype=np.float64)
    theirs = _Classifier(torch.nn, TR, dtype=torch.float64)
    for p, pt in zip(ours.parameters(), theirs.parameters()):
        pt.data = torch.tensor(p.detach().numpy().copy())
    opt = optim.SGD(ours.parameters(), lr=0.5)
    optt = torch.optim.SGD(theirs.parameters(), lr=0.5)
    rng = np.random.default_rng(16)
    for step in range(4):
        lens = [int(n) for n in rng.integers(1, 6, 5)]
        words = [rng.integers(1, 10, n) for n in lens]
        labels = rng.integers(0, 2, 5)
        loss = nn.functional.cross_entropy(
            ours([autograd.tensor(w) for w in words], lens), autograd.tensor(labels))
        losst = torch.nn.functional.cross_entropy(
            theirs([torch.tensor(w) for w in words], lens), torch.tensor(labels))
        _close(loss, losst, f"loss at step {step}")
        opt.zero_grad()
        optt.zero_grad()
        loss.backward()
        losst.backward()
        opt.step()
        optt.step()
    for k, (p, pt) in enumerate(zip(ours.parameters(), theirs.parameters())):
        _close(p, pt, f"parameter {k} after 4 steps")
