"""nn.TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder
and Transformer against torch in float64: a torch model's state_dict (through numpy) loads into
ours (same keys) and gives torch's outputs and the gradients of every parameter and input, over
masks, causal masks, norm_first, batch_first and unbatched inputs; torch's initialization under
the same seed; torch's errors; and a compiled training step of a small classifier."""
import copy
import warnings

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
from autograd import Tensor

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-9, atol=1e-10)
D, H, FF = 8, 2, 12


def _load(ours, theirs, seed=0):
    """torch's module with random weights (biases and norms too), copied into ours."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0.0, 0.4)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({n: t.numpy() for n, t in theirs.state_dict().items()})
    return ours, theirs


def _torch(cls, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # torch's nested-tensor notice
        return cls(*args, **kwargs)


def _both(ours, theirs, inputs, masks=None, seed=1, **kwargs):
    """Both models on the same input arrays and masks: the output, and the gradients of every
    parameter and input for a random projection of it."""
    masks = masks or {}
    xs = [Tensor(a, requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = ours(*xs, **{n: Tensor(m) for n, m in masks.items()}, **kwargs)
    ref = theirs(*ts, **{n: torch.tensor(m) for n, m in masks.items()}, **kwargs)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * Tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), named[name].grad.numpy(), **TOL,
                                   err_msg=f"gradient of {name}")
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **TOL,
                                   err_msg=f"gradient of input {i}")
    return out


def _x(rng, n_seq, batch, batch_first):
    if batch is None:
        return rng.standard_normal((n_seq, D))
    return rng.standard_normal((batch, n_seq, D) if batch_first else (n_seq, batch, D))


def _masks(rng, kind, n_seq, batch, prefix="src_", mask_name="src_mask"):
    pad = rng.random((batch or 1, n_seq)) < 0.4
    pad[:, 0] = False
    if batch is None:
        pad = pad[0]
    causal = np.triu(np.full((n_seq, n_seq), -np.inf), 1)
    return {
        None: {},
        "bool": {mask_name: rng.random((n_seq, n_seq)) < 0.3 * np.triu(np.ones(n_seq), 1)},
        "float": {mask_name: rng.standard_normal((n_seq, n_seq))},
        "padding": {prefix + "key_padding_mask": pad},
        "causal": {mask_name: causal},
        "causal-padding": {mask_name: causal,
                           prefix + "key_padding_mask": np.where(pad, -np.inf, 0.0)},
    }[kind]


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", [None, "bool", "float", "padding", "causal-padding"])
def test_encoder_layer_matches_torch(norm_first, batch_first, kind):
    rng = np.random.default_rng(20)
    kwargs = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first,
                  batch_first=batch_first)
    ours, theirs = _load(nn.TransformerEncoderLayer(D, H, dtype=np.float64, **kwargs),
                         torch.nn.TransformerEncoderLayer(D, H, dtype=torch.float64, **kwargs))
    _both(ours.eval(), theirs.eval(), [_x(rng, 5, 3, batch_first)], _masks(rng, kind, 5, 3))


@pytest.mark.parametrize("activation", ["gelu", "silu-callable", "module"])
def test_encoder_layer_activations_match_torch(activation):
    rng = np.random.default_rng(21)
    ours_act, torch_act = {"gelu": ("gelu", "gelu"),
                           "silu-callable": (F.silu, torch.nn.functional.silu),
                           "module": (nn.Tanh(), torch.nn.Tanh())}[activation]
    kwargs = dict(dim_feedforward=FF, dropout=0.0, layer_norm_eps=1e-3)
    ours, theirs = _load(
        nn.TransformerEncoderLayer(D, H, activation=ours_act, dtype=np.float64, **kwargs),
        torch.nn.TransformerEncoderLayer(D, H, activation=torch_act, dtype=torch.float64,
                                         **kwargs))
    _both(ours, theirs, [_x(rng, 4, 2, False)])


def test_encoder_layer_unbatched_and_without_bias_matches_torch():
    rng = np.random.default_rng(22)
    kwargs = dict(dim_feedforward=FF, dropout=0.0, bias=False)
    ours, theirs = _load(nn.TransformerEncoderLayer(D, H, dtype=np.float64, **kwargs),
                         torch.nn.TransformerEncoderLayer(D, H, dtype=torch.float64, **kwargs))
    assert ours.norm1.bias is None and ours.linear1.bias is None
    _both(ours, theirs, [_x(rng, 4, None, False)], _masks(rng, "causal-padding", 4, None))


@pytest.mark.parametrize("kind", [None, "padding", "causal"])
@pytest.mark.parametrize("with_norm", [False, True])
def test_encoder_matches_torch(kind, with_norm):
    rng = np.random.default_rng(23)
    kwargs = dict(dim_feedforward=FF, dropout=0.0, batch_first=True)
    layer = nn.TransformerEncoderLayer(D, H, dtype=np.float64, **kwargs)
    ours = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D, dtype=np.float64)
                                 if with_norm else None)
    t_layer = torch.nn.TransformerEncoderLayer(D, H, dtype=torch.float64, **kwargs)
    theirs = _torch(torch.nn.TransformerEncoder, t_layer, 2, norm=torch.nn.LayerNorm(
        D, dtype=torch.float64) if with_norm else None)
    _load(ours, theirs)
    masks = _masks(rng, kind, 5, 2, mask_name="mask")
    is_causal = kind == "causal"
    _both(ours, theirs, [_x(rng, 5, 2, True)], masks, is_causal=is_causal or None)


def test_encoder_layers_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(D, H, FF, rng=np.random.default_rng(0))
    enc = nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.num_layers == 3
    weights = [m.linear1.weight for m in enc.layers] + [layer.linear1.weight]
    assert len({id(w) for w in weights}) == 4
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.detach().numpy(),
                                  enc.layers[2].linear1.weight.detach().numpy())
    enc.layers[0].linear1.weight.data[...] = 0.0
    assert np.any(enc.layers[1].linear1.weight.detach().numpy() != 0)
    # a numpy Generator is shared, not copied: the copies' dropout masks differ
    assert enc.layers[0].dropout.rng is enc.layers[1].dropout.rng is layer.dropout.rng
    assert list(enc.state_dict())[:2] == ["layers.0.self_attn.in_proj_weight",
                                          "layers.0.self_attn.in_proj_bias"]


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    rng = np.random.default_rng(24)
    kwargs = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first,
                  batch_first=batch_first)
    ours, theirs = _load(nn.TransformerDecoderLayer(D, H, dtype=np.float64, **kwargs),
                         torch.nn.TransformerDecoderLayer(D, H, dtype=torch.float64, **kwargs))
    masks = _masks(rng, "causal-padding", 4, 2, prefix="tgt_", mask_name="tgt_mask")
    pad = _masks(rng, "padding", 6, 2)["src_key_padding_mask"]
    masks["memory_key_padding_mask"] = np.where(pad, -np.inf, 0.0)
    masks["memory_mask"] = rng.standard_normal((4, 6))
    _both(ours, theirs, [_x(rng, 4, 2, batch_first), _x(rng, 6, 2, batch_first)], masks,
          tgt_is_causal=True)


def test_decoder_matches_torch_unbatched_and_batched():
    rng = np.random.default_rng(25)
    kwargs = dict(dim_feedforward=FF, dropout=0.0)
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, dtype=np.float64, **kwargs),
                                 2, norm=nn.LayerNorm(D, dtype=np.float64))
    theirs = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D, H, dtype=torch.float64, **kwargs), 2,
        norm=torch.nn.LayerNorm(D, dtype=torch.float64))
    _load(ours, theirs)
    causal = {"tgt_mask": np.triu(np.full((4, 4), -np.inf), 1)}
    _both(ours, theirs, [_x(rng, 4, 3, False), _x(rng, 5, 3, False)], causal)
    ours.zero_grad()
    theirs.zero_grad()
    _both(ours, theirs, [_x(rng, 4, None, False), _x(rng, 5, None, False)], causal)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    rng = np.random.default_rng(26)
    kwargs = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=1,
                  dim_feedforward=FF, dropout=0.0, batch_first=batch_first)
    ours = nn.Transformer(dtype=np.float64, **kwargs)
    theirs = _torch(torch.nn.Transformer, dtype=torch.float64, **kwargs)
    _load(ours, theirs)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    np.testing.assert_array_equal(
        tgt_mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(
            4, dtype=torch.float64).numpy())
    pad = _masks(rng, "padding", 5, 2)["src_key_padding_mask"]
    masks = {"tgt_mask": tgt_mask.numpy(), "src_key_padding_mask": np.where(pad, -np.inf, 0.0)}
    masks["memory_key_padding_mask"] = masks["src_key_padding_mask"]
    _both(ours, theirs, [_x(rng, 5, 2, batch_first), _x(rng, 4, 2, batch_first)], masks)


def test_generate_square_subsequent_mask_dtype():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    assert mask.dtype == autograd.get_default_dtype()
    np.testing.assert_array_equal(mask.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf],
                                                 [0, 0, 0]])


@pytest.mark.parametrize("make", [
    lambda mod: mod.TransformerEncoderLayer(D, H, 16),
    lambda mod: mod.TransformerDecoderLayer(D, H, 16, norm_first=True),
    lambda mod: mod.Transformer(D, H, 1, 2, 16),
])
def test_initialization_is_torchs_under_the_same_seed(make):
    torch.manual_seed(31)
    theirs = _torch(make, torch.nn)
    autograd.manual_seed(31)
    ours = make(nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, a), t in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), t.numpy(), err_msg=name)


def test_dropout_in_training_draws_as_torch():
    rng = np.random.default_rng(27)
    kwargs = dict(dim_feedforward=FF, dropout=0.3)
    ours, theirs = _load(nn.TransformerEncoderLayer(D, H, dtype=np.float64, **kwargs),
                         torch.nn.TransformerEncoderLayer(D, H, dtype=torch.float64, **kwargs))
    x = _x(rng, 4, 2, False)
    torch.manual_seed(9)
    ref = theirs(torch.tensor(x))
    autograd.manual_seed(9)
    out = ours(Tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL)
    again = ours(Tensor(x))
    assert not np.allclose(again.detach().numpy(), out.detach().numpy())


def _error(lib, case):
    mod = torch.nn if lib is torch else nn
    arr = (lambda *s: torch.zeros(s)) if lib is torch else (lambda *s: Tensor(np.zeros(s,
                                                                                np.float32)))
    if case == "activation":
        return lambda: mod.TransformerEncoderLayer(D, H, 16, activation="tanh")
    if case == "heads":
        return lambda: mod.TransformerEncoderLayer(D, 3, 16)
    model = _torch(mod.Transformer, D, H, 1, 1, 16)
    if case == "batch":
        return lambda: model(arr(5, 2, D), arr(4, 3, D))
    return lambda: model(arr(5, 2, D), arr(4, 2, 6))


@pytest.mark.parametrize("case", ["activation", "heads", "batch", "features"])
def test_errors_are_torchs(case):
    with pytest.raises(Exception) as want:
        _error(torch, case)()
    with pytest.raises(type(want.value)) as got:
        _error(nn, case)()
    assert str(got.value) == str(want.value)


def test_compiled_training_step_of_an_encoder_classifier_lowers_the_loss():
    """A small sequence classifier (embedding, 2-layer encoder with padding masks, a linear
    head on the first position) trained by a compiled step: one trace, the loss falls, and
    the trained model's loss in eager mode is the compiled one's."""
    rng = np.random.default_rng(28)
    autograd.manual_seed(28)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, D, rng=rng)
            layer = nn.TransformerEncoderLayer(D, H, 16, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2)
            self.head = nn.Linear(D, 2)

        def forward(self, tokens, padding):
            h = self.encoder(self.embed(tokens), src_key_padding_mask=padding)
            return self.head(h[:, 0])

    model = Classifier()
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(tokens, padding, target):
        opt.zero_grad()
        loss = F.cross_entropy(model(tokens, padding), target)
        loss.backward()
        opt.step()
        return loss

    compiled = autograd.compile(step)
    tokens = rng.integers(0, 10, (6, 5))
    lengths = np.array([5, 3, 4, 2, 5, 3])
    padding = np.arange(5)[None, :] >= lengths[:, None]
    # the class: whether token 0 appears among the unpadded tokens
    target = np.array([np.any(t[:n] == 0) for t, n in zip(tokens, lengths)], dtype=np.int64)
    args = (Tensor(tokens), Tensor(padding), Tensor(target))
    losses = [float(compiled(*args).item()) for _ in range(30)]
    assert len(compiled._programs) == 1
    assert losses[-1] < 0.5 * losses[0], losses
    eager = copy.deepcopy(model)
    with autograd.no_grad():
        want = F.cross_entropy(eager(*args[:2]), args[2])
    np.testing.assert_allclose(float(want.item()), float(compiled(*args).item()), rtol=1e-5)
