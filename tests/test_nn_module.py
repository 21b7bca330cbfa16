"""Module bookkeeping: registration, traversal, modes, state_dict, printing."""
import numpy as np
import pytest

import nn
from autograd import Tensor


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Linear(8, 3, rng=1))
        self.head = nn.Linear(3, 2, rng=2)
        self.blocks = nn.ModuleList([nn.Linear(2, 2, rng=3), nn.Linear(2, 2, rng=4)])
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))
        self.register_buffer("count", np.zeros(1, dtype=np.float32))

    def forward(self, x):
        x = self.head(self.encoder(x))
        for b in self.blocks:
            x = b(x)
        return x * self.scale


def test_registration_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.1.weight",
                     "encoder.1.bias", "head.weight", "head.bias", "blocks.0.weight",
                     "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert len(list(net.parameters())) == 11
    assert [n for n, _ in net.named_buffers()] == ["count"]
    assert [type(c).__name__ for c in net.children()] == ["Sequential", "Linear", "ModuleList"]
    assert len(list(net.modules())) == 1 + 3 + 1 + 2 + 1
    assert net.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3 + 3 * 2 + 2 + 2 * (4 + 2) + 2


def test_state_dict_order_matches_torch_rule():
    # own params, own buffers, then children in order
    keys = list(Net().state_dict())
    assert keys[:2] == ["scale", "count"]
    assert keys[2] == "encoder.0.weight"


def test_tied_parameter_listed_once():
    a = nn.Linear(3, 3, rng=0)
    m = nn.Sequential(a, a)
    assert len(list(m.parameters())) == 2


def test_unknown_attribute_is_an_error():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght


def test_assigning_plain_tensor_over_parameter_is_an_error():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight' of Linear"):
        lin.weight = Tensor(np.zeros((2, 2)))


def test_parameter_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_train_eval_propagates():
    net = Net()
    assert net.training and net.encoder[0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_forward_backward():
    net = Net().double()
    x = Tensor(np.random.default_rng(0).normal(size=(5, 4)))
    net(x).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    before = list(net.parameters())
    assert all(p.dtype == np.float32 for p in before)
    net.double()
    assert all(a is b for a, b in zip(before, net.parameters()))
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.count.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="only float dtypes"):
        net.to_dtype(np.int32)


def test_load_state_dict_round_trip():
    a, b = Net(), Net()
    for p in b.parameters():
        p.data = p.data + 1.0
    b.load_state_dict(a.state_dict())
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=n)


def test_load_state_dict_errors_name_the_key_and_change_nothing():
    net = Net()
    before = net.state_dict()
    sd = net.state_dict()
    sd["head.weight"] = np.zeros((3, 3))
    with pytest.raises(RuntimeError, match=r"'head.weight'.*\(3, 3\).*\(2, 3\)"):
        net.load_state_dict(sd)
    sd = net.state_dict()
    del sd["head.bias"]
    sd["encoder.0.weight"] = sd["encoder.0.weight"] + 5
    with pytest.raises(RuntimeError, match="missing key.*'head.bias'"):
        net.load_state_dict(sd)
    sd = net.state_dict()
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError, match="unexpected key.*'extra.weight'"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():      # nothing was assigned by the failed loads
        np.testing.assert_array_equal(v, before[k])
    res = net.load_state_dict(sd, strict=False)
    assert res.unexpected_keys == ["extra.weight"] and res.missing_keys == []


def test_load_state_dict_casts_to_parameter_dtype():
    lin = nn.Linear(2, 3)
    lin.load_state_dict({"weight": np.ones((3, 2), dtype=np.float64), "bias": np.zeros(3)})
    assert lin.weight.dtype == np.float32 and lin.weight.data.sum() == 6


def test_repr_tree_and_html():
    text = repr(Net())
    assert "(encoder): Sequential(" in text
    assert "(0): Linear(in_features=4, out_features=8, bias=True)" in text
    assert "params" not in text                     # torch's text; the counts are in summary()
    summary = Net().summary()
    assert "weight (8, 4), bias (8,); 40 params" in summary
    assert summary.splitlines()[0].startswith("Net(") and summary.endswith(")")
    assert text.splitlines()[0].startswith("Net(") and text.endswith(")")
    page = Net()._repr_html_()
    assert page.startswith("<table>") and "Linear(in_features=4" in page and "total" in page


def test_module_list_ops():
    ml = nn.ModuleList([nn.Identity()])
    ml.append(nn.Linear(1, 1))
    ml.insert(0, nn.Flatten())
    assert [type(m).__name__ for m in ml] == ["Flatten", "Identity", "Linear"]
    assert list(ml.state_dict()) == ["2.weight", "2.bias"]
    del ml[0]
    assert list(ml.state_dict()) == ["1.weight", "1.bias"]
    assert len(ml[0:1]) == 1
    with pytest.raises(TypeError, match="holds Modules only"):
        ml.append(3)
    with pytest.raises(IndexError, match="out of range"):
        ml[5]


def test_grad_norms_per_parameter_and_per_layer():
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1)).double()
    net(Tensor(np.random.default_rng(0).normal(size=(5, 3)))).sum().backward()
    per_param = nn.utils.grad_norms(net)
    assert list(per_param) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_allclose(per_param["0.weight"], np.linalg.norm(net[0].weight.grad))
    per_layer = nn.utils.grad_norms(net, per_layer=True)
    assert list(per_layer) == ["0", "2"]
    np.testing.assert_allclose(per_layer["2"], np.hypot(per_param["2.weight"],
                                                        per_param["2.bias"]))
    net.zero_grad()
    assert all(v == 0.0 for v in nn.utils.grad_norms(net).values())


def test_grad_norms_show_vanishing_gradients_with_sigmoid():
    layers = []
    for i in range(8):
        layers += [nn.Linear(16, 16, rng=i), nn.Sigmoid()]
    net = nn.Sequential(*layers).double()
    net(Tensor(np.random.default_rng(0).normal(size=(32, 16)))).sum().backward()
    norms = list(nn.utils.grad_norms(net, per_layer=True).values())
    assert norms[0] < norms[-1] * 1e-2          # the first layer learns far more slowly


def test_grad_norms_scalar_mlp():
    mlp = nn.MLP(2, [3, 1], rng=0)
    mlp([0.5, -1.0]).backward()
    per_layer = nn.utils.grad_norms(mlp, per_layer=True)
    assert list(per_layer) == ["layers.0", "layers.1"]
    np.testing.assert_allclose(per_layer["layers.1"],
                               np.linalg.norm([p.grad for p in mlp.layers[1].parameters()]))
    assert len(nn.utils.grad_norms(mlp)) == mlp.num_parameters()
    with pytest.raises(TypeError, match="grad_norms: expected an nn.Module"):
        nn.utils.grad_norms([1, 2])


def test_clip_reexports():
    lin = nn.Linear(3, 3, rng=0).double()
    lin(Tensor(np.full((2, 3), 10.0))).sum().backward()
    total = nn.utils.clip_grad_norm_(lin.parameters(), 1.0)
    assert total > 1.0
    after = np.sqrt(sum(v ** 2 for v in nn.utils.grad_norms(lin).values()))
    assert after == pytest.approx(1.0, rel=1e-5)
    nn.utils.clip_grad_value_(lin.parameters(), 0.01)
    assert max(np.abs(p.grad).max() for p in lin.parameters()) <= 0.01
