"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention
against torch in float64: values and the gradients of every parameter and input, over masks of
each kind (bool, float, key padding, causal), batch_first both ways, unbatched inputs, separate
key/value sizes, add_bias_kv and add_zero_attn; torch's initialization and dropout draws under
the same seed; float64 gradcheck; torch's errors and warnings."""
import warnings

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor
from autograd.gradcheck import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = dict(rtol=1e-9, atol=1e-11)


def _ours(a, grad=False):
    return None if a is None else Tensor(np.array(a), requires_grad=grad)


def _theirs(a, grad=False):
    if a is None:
        return None
    return torch.tensor(np.array(a), requires_grad=grad and np.asarray(a).dtype.kind == "f")


def _close(got, want, what):
    got = got.detach().numpy() if isinstance(got, Tensor) else got
    np.testing.assert_allclose(got, want.detach().numpy(), **TOL, equal_nan=True, err_msg=what)


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
def _sdpa_both(q, k, v, seed=0, **kwargs):
    """Ours and torch's on the same arrays (masks included): values and the gradients of q, k,
    v (and of a float mask) for a random projection of the output."""
    mask = kwargs.pop("attn_mask", None)
    float_mask = mask is not None and mask.dtype.kind == "f"
    ours = [_ours(a, True) for a in (q, k, v)] + [_ours(mask, float_mask)]
    theirs = [_theirs(a, True) for a in (q, k, v)] + [_theirs(mask, float_mask)]
    out = F.scaled_dot_product_attention(*ours[:3], attn_mask=ours[3], **kwargs)
    ref = TF.scaled_dot_product_attention(*theirs[:3], attn_mask=theirs[3], **kwargs)
    assert out.shape == tuple(ref.shape)
    _close(out, ref, "value")
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * Tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    for name, a, t in zip(("query", "key", "value", "attn_mask"), ours, theirs):
        if t is not None and t.requires_grad:
            _close(a.grad, t.grad, f"gradient of {name}")
    return out


def _qkv(rng, q_shape, k_shape, ev=None):
    v_shape = k_shape[:-1] + ((ev,) if ev else k_shape[-1:])
    return (rng.standard_normal(q_shape), rng.standard_normal(k_shape),
            rng.standard_normal(v_shape))


SHAPES = [((3, 4), (5, 4)),                   # unbatched
          ((2, 3, 4), (2, 5, 4)),
          ((2, 2, 3, 4), (2, 2, 5, 4)),       # batch and heads
          ((2, 1, 3, 4), (2, 5, 4)),          # leading dims broadcast
          ((2, 4, 4), (2, 4, 4))]


@pytest.mark.parametrize("q_shape, k_shape", SHAPES)
@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "scale", "value-dim"])
def test_sdpa_matches_torch(q_shape, k_shape, kind):
    rng = np.random.default_rng(len(q_shape) * 7 + len(kind))
    q, k, v = _qkv(rng, q_shape, k_shape, ev=6 if kind == "value-dim" else None)
    n_q, n_k = q_shape[-2], k_shape[-2]
    kwargs = {}
    if kind == "bool":
        kwargs["attn_mask"] = rng.random((n_q, n_k)) < 0.6
        kwargs["attn_mask"][:, 0] = True
    elif kind == "float":
        kwargs["attn_mask"] = rng.standard_normal((n_q, n_k))
        kwargs["attn_mask"][0, 1] = -np.inf
    elif kind == "causal":
        kwargs["is_causal"] = True
    elif kind == "scale":
        kwargs["scale"] = 0.3
    _sdpa_both(q, k, v, **kwargs)


def test_sdpa_masks_broadcast_over_batch_and_heads():
    rng = np.random.default_rng(1)
    q, k, v = _qkv(rng, (2, 3, 4, 4), (2, 3, 5, 4))
    mask = rng.random((2, 1, 4, 5)) < 0.7
    mask[..., 0] = True
    _sdpa_both(q, k, v, attn_mask=mask)
    _sdpa_both(q, k, v, attn_mask=rng.standard_normal((3, 1, 5)))


def test_sdpa_fully_masked_row_gives_zero_and_zero_gradient_as_torch():
    """torch 2.x's safe softmax: a query whose every key is masked (bool False or float -inf)
    gets 0, not nan, and no nan reaches the gradients of q, k and v."""
    rng = np.random.default_rng(2)
    q, k, v = _qkv(rng, (2, 3, 4), (2, 5, 4))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    out = _sdpa_both(q, k, v, attn_mask=mask)
    assert np.all(out.detach().numpy()[:, 1] == 0)
    float_mask = np.where(mask, 0.0, -np.inf)
    out = _sdpa_both(q, k, v, attn_mask=float_mask)
    assert np.all(out.detach().numpy()[:, 1] == 0)


def test_sdpa_float32_mask_suits_a_float64_query_as_in_torch():
    rng = np.random.default_rng(8)
    q, k, v = _qkv(rng, (2, 3, 4), (2, 5, 4))
    mask = rng.standard_normal((3, 5)).astype(np.float32)
    out = _sdpa_both(q, k, v, attn_mask=mask)
    assert out.dtype == np.float64


def test_sdpa_grouped_query_attention():
    rng = np.random.default_rng(3)
    q, k, v = _qkv(rng, (2, 4, 3, 4), (2, 2, 5, 4))
    _sdpa_both(q, k, v, enable_gqa=True)
    _sdpa_both(q, k, v, enable_gqa=True, is_causal=True)


def test_sdpa_dropout_draws_as_torch_from_the_same_seed():
    """Dropout on the attention weights: the default generators seeded alike give torch's
    mask; a seed or numpy Generator passed as rng reproduces itself."""
    rng = np.random.default_rng(4)
    q, k, v = _qkv(rng, (2, 2, 3, 4), (2, 2, 5, 4))
    torch.manual_seed(7)
    ref = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), dropout_p=0.4)
    autograd.manual_seed(7)
    out = F.scaled_dot_product_attention(*map(Tensor, (q, k, v)), dropout_p=0.4)
    _close(out, ref, "dropout")
    again = F.scaled_dot_product_attention(*map(Tensor, (q, k, v)), dropout_p=0.4)
    assert not np.allclose(again.detach().numpy(), out.detach().numpy())
    a, b = (F.scaled_dot_product_attention(*map(Tensor, (q, k, v)), dropout_p=0.4, rng=5)
            for _ in range(2))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    zero = F.scaled_dot_product_attention(*map(Tensor, (q, k, v)), dropout_p=1.0)
    assert np.all(zero.numpy() == 0)


@pytest.mark.parametrize("kind", ["bool", "float", "causal"])
def test_sdpa_compiles_and_reads_each_calls_mask(kind):
    """Under autograd.compile the masks are ops: each call's mask is applied (a mask frozen
    at trace time would give the first call's values), values and gradients as eager."""
    def attention(q, k, v, mask):
        if kind == "causal":
            return F.scaled_dot_product_attention(q, k, v, is_causal=True) * mask
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    step = autograd.compile(attention)
    rng = np.random.default_rng(9)
    for call in range(3):
        q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, (2, 3, 4), (2, 5, 4)))
        mask = {"bool": rng.random((3, 5)) < 0.5, "float": rng.standard_normal((3, 5)),
                "causal": rng.standard_normal((2, 3, 4))}[kind]
        got, want = step(q, k, v, Tensor(mask)), attention(q, k, v, Tensor(mask))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **TOL)
        w = Tensor(rng.standard_normal(want.shape))
        grads = [autograd.grad((out * w).sum(), [q, k, v]) for out in (got, want)]
        for g, e in zip(*grads):
            np.testing.assert_allclose(g.numpy(), e.numpy(), **TOL)
    assert len(step._programs) == 1


def test_sdpa_dropout_under_compile_draws_anew_at_each_call_as_eager():
    rng = np.random.default_rng(10)
    q, k, v = (Tensor(a) for a in _qkv(rng, (2, 3, 4), (2, 5, 4)))
    step = autograd.compile(lambda a, b, c: F.scaled_dot_product_attention(a, b, c,
                                                                            dropout_p=0.5))
    autograd.manual_seed(2)
    compiled = [step(q, k, v).numpy() for _ in range(2)]
    autograd.manual_seed(2)
    eager = [F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy() for _ in range(2)]
    np.testing.assert_allclose(compiled, eager, **TOL)
    assert not np.allclose(compiled[0], compiled[1])


def test_sdpa_gradcheck_float64():
    rng = np.random.default_rng(5)
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv(rng, (2, 3, 2), (2, 4, 2)))
    float_mask = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    bool_mask = Tensor(np.array([[True, False, True, True], [False, True, False, False],
                                 [True, True, True, False]]))
    gradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
              [q, k, v, float_mask])
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=bool_mask),
              [q, k, v])
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True,
                                                             scale=0.7), [q, k, v])


def _same_error(ours, theirs):
    """ours() raises torch's exception type with torch's message (where tapegrad's message
    adds a line of detail, torch's is its first line)."""
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(type(want.value)) as got:
        ours()
    assert str(got.value).split("\n")[0] == str(want.value)


def _sdpa_call(lib, q, k, v, **kwargs):
    cast = _theirs if lib is TF else _ours
    kwargs = {n: cast(a) if isinstance(a, np.ndarray) else a for n, a in kwargs.items()}
    return lib.scaled_dot_product_attention(cast(q), cast(k), cast(v), **kwargs)


@pytest.mark.parametrize("case", ["mask-and-causal", "1-d", "dtypes", "int-mask",
                                  "mask-dtype", "gqa-heads", "mask-shape", "p-above-1"])
def test_sdpa_errors_are_torchs(case):
    rng = np.random.default_rng(6)
    q, k, v = _qkv(rng, (2, 3, 4), (2, 5, 4))
    kwargs = {}
    if case == "mask-and-causal":
        kwargs = dict(attn_mask=np.ones((3, 5), bool), is_causal=True)
    elif case == "1-d":
        q, k, v = q[0, 0], k[0, 0], v[0, 0]
    elif case == "dtypes":
        v = v.astype(np.float32)
    elif case == "int-mask":
        kwargs = dict(attn_mask=np.ones((3, 5), np.int64))
    elif case == "mask-dtype":
        q, k, v = (a.astype(np.float32) for a in (q, k, v))
        kwargs = dict(attn_mask=np.zeros((3, 5), np.float16))
    elif case == "gqa-heads":
        q, k, v = _qkv(rng, (2, 4, 3, 4), (2, 3, 5, 4))
        kwargs = dict(enable_gqa=True)
    elif case == "mask-shape":
        kwargs = dict(attn_mask=np.zeros((3, 4)))
    elif case == "p-above-1":
        kwargs = dict(dropout_p=1.5)
    _same_error(lambda: _sdpa_call(F, q, k, v, **kwargs),
                lambda: _sdpa_call(TF, q, k, v, **kwargs))


# ---------------------------------------------------------------------------------------------
# MultiheadAttention
def _pair(embed_dim=8, num_heads=2, seed=0, **kwargs):
    """torch's module with random weights (biases too) and ours loaded with its state_dict
    through numpy, both float64."""
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0.0, 0.5)
    ours = nn.MultiheadAttention(embed_dim, num_heads, dtype=np.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({n: t.numpy() for n, t in theirs.state_dict().items()})
    return ours, theirs


def _mha_both(ours, theirs, inputs, masks=None, seed=0, **kwargs):
    """Both modules on the same inputs (arrays) and masks: outputs, weights, and the gradients
    of every parameter and input for a random projection of (output, weights)."""
    masks = masks or {}
    xs = [_ours(a, True) for a in inputs]
    ts = [_theirs(a, True) for a in inputs]
    if len(inputs) == 1:            # self-attention: the same tensor three times, as in torch
        xs, ts = xs * 3, ts * 3
    out = ours(*xs, **{n: _ours(m) for n, m in masks.items()}, **kwargs)
    ref = theirs(*ts, **{n: _theirs(m) for n, m in masks.items()}, **kwargs)
    rng = np.random.default_rng(seed)
    ours_loss, theirs_loss = 0.0, 0.0
    for name, o, r in zip(("output", "weights"), out, ref):
        assert (o is None) == (r is None), name
        if r is None:
            continue
        assert o.shape == tuple(r.shape), name
        _close(o, r, name)
        if np.isnan(r.detach().numpy()).any():
            continue
        w = rng.standard_normal(o.shape)
        ours_loss = ours_loss + (o * Tensor(w)).sum()
        theirs_loss = theirs_loss + (r * torch.from_numpy(w)).sum()
    if isinstance(theirs_loss, float):
        return out, ref
    ours_loss.backward()
    theirs_loss.backward()
    for (name, p), (name_t, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        _close(p.grad, t.grad, f"gradient of {name}")
    for i, (x, t) in enumerate(zip(xs[:len(inputs)], ts)):
        _close(x.grad, t.grad, f"gradient of input {i}")
    return out, ref


def _seq(rng, n_seq, batch, dim, batch_first=False):
    if batch is None:
        return rng.standard_normal((n_seq, dim))
    shape = (batch, n_seq, dim) if batch_first else (n_seq, batch, dim)
    return rng.standard_normal(shape)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False),
                                                   (False, True)])
def test_mha_self_attention_matches_torch(batch_first, need_weights, average):
    ours, theirs = _pair(batch_first=batch_first)
    x = _seq(np.random.default_rng(10), 4, 3, 8, batch_first)
    _mha_both(ours, theirs, [x], need_weights=need_weights, average_attn_weights=average)


def _masks(rng, kind, n_q, n_k, batch, heads=2):
    pad = rng.random((batch, n_k)) < 0.4
    pad[:, 0] = False
    allowed = rng.random((n_q, n_k)) < 0.7
    allowed[:, 0] = True
    causal = np.triu(np.full((n_q, n_k), -np.inf), 1)
    return {
        "bool-attn": dict(attn_mask=~allowed),
        "float-attn": dict(attn_mask=rng.standard_normal((n_q, n_k))),
        "3d-attn": dict(attn_mask=rng.standard_normal((batch * heads, n_q, n_k))),
        "bool-padding": dict(key_padding_mask=pad),
        "float-padding": dict(key_padding_mask=np.where(pad, -np.inf, 0.0)),
        "bool-both": dict(attn_mask=~allowed, key_padding_mask=pad),
        "float-both": dict(attn_mask=np.where(allowed, 0.0, -np.inf),
                           key_padding_mask=np.where(pad, -np.inf, 0.0)),
        "causal": dict(attn_mask=causal),
    }[kind]


MASKS = ["bool-attn", "float-attn", "3d-attn", "bool-padding", "float-padding", "bool-both",
         "float-both", "causal"]


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_match_torch(kind, need_weights):
    rng = np.random.default_rng(11)
    ours, theirs = _pair(batch_first=True)
    x = _seq(rng, 4, 3, 8, batch_first=True)
    _mha_both(ours, theirs, [x], _masks(rng, kind, 4, 4, 3), need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_mha_is_causal_hint_matches_torch(need_weights, with_padding):
    rng = np.random.default_rng(12)
    ours, theirs = _pair()
    masks = _masks(rng, "causal", 5, 5, 2)
    if with_padding:
        masks["key_padding_mask"] = _masks(rng, "float-padding", 5, 5, 2)["key_padding_mask"]
    _mha_both(ours, theirs, [_seq(rng, 5, 2, 8)], masks, is_causal=True,
              need_weights=need_weights)


@pytest.mark.parametrize("kind", [None, "bool-both", "3d-attn"])
def test_mha_unbatched_matches_torch(kind):
    rng = np.random.default_rng(13)
    ours, theirs = _pair(num_heads=4)
    masks = {}
    if kind == "bool-both":
        masks = _masks(rng, kind, 4, 4, 1)
        masks["key_padding_mask"] = masks["key_padding_mask"][0]
    elif kind == "3d-attn":
        masks = _masks(rng, kind, 4, 4, 1, heads=4)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        ours.zero_grad()
        theirs.zero_grad()
        out, _ = _mha_both(ours, theirs, [_seq(rng, 4, None, 8)], masks,
                           need_weights=need_weights, average_attn_weights=average)
        assert out[0].shape == (4, 8)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_cross_attention_with_kdim_vdim_matches_torch(batch_first):
    rng = np.random.default_rng(14)
    ours, theirs = _pair(kdim=5, vdim=3, batch_first=batch_first)
    assert ours.in_proj_weight is None and ours.q_proj_weight.shape == (8, 8)
    assert ours.k_proj_weight.shape == (8, 5) and ours.v_proj_weight.shape == (8, 3)
    q, k, v = (_seq(rng, n, 2, d, batch_first) for n, d in ((3, 8), (6, 5), (6, 3)))
    masks = _masks(rng, "bool-both", 3, 6, 2)
    _mha_both(ours, theirs, [q, k, v], masks)
    _mha_both(ours, theirs, [q, k, v], need_weights=False)


def test_mha_cross_attention_same_dims_and_no_bias_matches_torch():
    rng = np.random.default_rng(15)
    ours, theirs = _pair(bias=False)
    assert ours.in_proj_bias is None and ours.out_proj.bias is None
    q, k, v = _seq(rng, 3, 2, 8), _seq(rng, 5, 2, 8), _seq(rng, 5, 2, 8)
    _mha_both(ours, theirs, [q, k, v], _masks(rng, "float-padding", 3, 5, 2))


@pytest.mark.parametrize("add_bias_kv, add_zero_attn", [(True, False), (False, True),
                                                        (True, True)])
@pytest.mark.parametrize("kind", [None, "bool-both", "3d-attn"])
def test_mha_bias_kv_and_zero_attn_match_torch(add_bias_kv, add_zero_attn, kind):
    rng = np.random.default_rng(16)
    ours, theirs = _pair(add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn)
    masks = {} if kind is None else _masks(rng, kind, 4, 4, 2)
    for need_weights in (True, False):
        ours.zero_grad()
        theirs.zero_grad()
        _mha_both(ours, theirs, [_seq(rng, 4, 2, 8)], masks, need_weights=need_weights)


# the plain softmax of a row of -inf is 0 / 0, as in torch; numpy says so
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_mha_fully_masked_query_is_nan_with_weights_and_zero_without_as_torch():
    rng = np.random.default_rng(17)
    ours, theirs = _pair()
    mask = np.zeros((3, 3), dtype=bool)
    mask[1] = True
    x = _seq(rng, 3, 2, 8)
    (out, weights), _ = _mha_both(ours, theirs, [x], {"attn_mask": mask})
    assert np.isnan(out.detach().numpy()[1]).all()
    assert np.isnan(weights.detach().numpy()[:, 1]).all()
    (out, _), _ = _mha_both(ours, theirs, [x], {"attn_mask": mask}, need_weights=False)
    assert not np.isnan(out.detach().numpy()).any()


def test_mha_training_dropout_draws_as_torch():
    """In training, dropout on the weights draws torch's masks from the same seed (both the
    need_weights path and the scaled_dot_product_attention path); in eval, none."""
    rng = np.random.default_rng(18)
    ours, theirs = _pair(dropout=0.5)
    ours.dropout = theirs.dropout = 0.5
    x = _seq(rng, 4, 2, 8)
    for need_weights in (True, False):
        torch.manual_seed(3)
        ref = theirs(*[torch.tensor(x)] * 3, need_weights=need_weights)
        autograd.manual_seed(3)
        out = ours(*[Tensor(x)] * 3, need_weights=need_weights)
        _close(out[0], ref[0], f"output, need_weights={need_weights}")
        if need_weights:
            _close(out[1], ref[1], "weights after dropout")
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        ref = theirs(*[torch.tensor(x)] * 3)
    _close(ours(*[Tensor(x)] * 3)[0], ref[0], "eval")


@pytest.mark.parametrize("kwargs", [{}, dict(kdim=5, vdim=3), dict(add_bias_kv=True),
                                    dict(bias=False)])
def test_mha_initializes_as_torch_under_the_same_seed(kwargs):
    torch.manual_seed(21)
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs)
    autograd.manual_seed(21)
    ours = nn.MultiheadAttention(8, 2, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, a), t in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), t.numpy(), err_msg=name)
    assert type(ours.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(ours.out_proj, nn.Linear)
    seeded = [nn.MultiheadAttention(8, 2, rng=4, **kwargs).state_dict() for _ in range(2)]
    for a, b in zip(*(s.values() for s in seeded)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_mha_functional_form_matches_torch():
    rng = np.random.default_rng(19)
    ours, theirs = _pair()
    x = _seq(rng, 4, 2, 8)
    args = (8, 2)
    sd = {n: t.detach().numpy() for n, t in theirs.state_dict().items()}
    mask = _masks(rng, "bool-padding", 4, 4, 2)["key_padding_mask"]
    out = F.multi_head_attention_forward(
        Tensor(x), Tensor(x), Tensor(x), *args, Tensor(sd["in_proj_weight"]),
        Tensor(sd["in_proj_bias"]), None, None, False, 0.0, Tensor(sd["out_proj.weight"]),
        Tensor(sd["out_proj.bias"]), key_padding_mask=Tensor(mask))
    t = torch.tensor(x)
    ref = TF.multi_head_attention_forward(
        t, t, t, *args, theirs.in_proj_weight, theirs.in_proj_bias, None, None, False, 0.0,
        theirs.out_proj.weight, theirs.out_proj.bias, key_padding_mask=torch.tensor(mask))
    _close(out[0], ref[0], "output")
    _close(out[1], ref[1], "weights")


def _errors(lib, case):
    """(constructor, call) raising torch's error for `case` with lib = torch or tapegrad."""
    mod = torch.nn if lib is torch else nn
    cast = _theirs if lib is torch else _ours
    if case == "not-divisible":
        return lambda: mod.MultiheadAttention(6, 4)
    if case == "zero-heads":
        return lambda: mod.MultiheadAttention(6, 0)
    m = mod.MultiheadAttention(8, 2)
    x = cast(np.zeros((3, 2, 8), np.float32))
    x2 = cast(np.zeros((3, 8), np.float32))
    calls = {
        "4-d-query": lambda: m(cast(np.zeros((1, 3, 2, 8), np.float32)), x, x),
        "key-rank": lambda: m(x, x2, x2),
        "mask-2d-shape": lambda: m(x, x, x, attn_mask=cast(np.zeros((3, 4), np.float32))),
        "mask-3d-shape": lambda: m(x, x, x, attn_mask=cast(np.zeros((3, 3, 3), np.float32))),
        "mask-rank": lambda: m(x, x, x, attn_mask=cast(np.zeros(3, np.float32))),
        "padding-rank": lambda: m(x, x, x, key_padding_mask=cast(np.zeros(3, bool))),
        "padding-shape": lambda: m(x, x, x, key_padding_mask=cast(np.zeros((2, 4), bool))),
        "int-mask": lambda: m(x, x, x, attn_mask=cast(np.zeros((3, 3), np.int64))),
        "causal-without-mask": lambda: m(x, x, x, is_causal=True),
        "embed-dim": lambda: m(cast(np.zeros((3, 2, 6), np.float32)), x, x),
        "key-value-shapes": lambda: m(x, x, cast(np.zeros((4, 2, 8), np.float32))),
        "unbatched-3d-mask": lambda: m(x2, x2, x2, attn_mask=cast(np.zeros((3, 3, 3),
                                                                           np.float32))),
    }
    return calls[case]


@pytest.mark.parametrize("case", ["not-divisible", "zero-heads", "4-d-query", "key-rank",
                                  "mask-2d-shape", "mask-3d-shape", "mask-rank",
                                  "padding-rank", "padding-shape", "int-mask",
                                  "causal-without-mask", "embed-dim", "key-value-shapes",
                                  "unbatched-3d-mask"])
def test_mha_errors_are_torchs(case):
    _same_error(_errors(nn, case), _errors(torch, case))


def test_mha_mixed_mask_dtypes_warn_as_torch():
    m = nn.MultiheadAttention(8, 2)
    x = Tensor(np.zeros((3, 2, 8), np.float32))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and "
                                         "attn_mask is deprecated"):
        m(x, x, x, key_padding_mask=Tensor(np.zeros((2, 3), bool)),
          attn_mask=Tensor(np.zeros((3, 3), np.float32)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(x, x, x, key_padding_mask=Tensor(np.zeros((2, 3), bool)),
          attn_mask=Tensor(np.zeros((3, 3), bool)))
