"""The Module API of issue 15 against torch.nn: containers (Sequential, ModuleDict,
ParameterList, ParameterDict), traversal, forward hooks, repr, devices and dtypes, and
nn.utils' vector helpers."""
from collections import OrderedDict

import numpy as np
import pytest

import nn
import optim
from autograd import Tensor

torch = pytest.importorskip("torch")


def _pair(build):
    """The same architecture in tapegrad and torch: build(namespace) with nn or torch.nn."""
    return build(nn), build(torch.nn)


def _net(m):
    return m.Sequential(OrderedDict([
        ("features", m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.ReLU(inplace=True),
                                  m.MaxPool2d(2), m.Dropout2d(0.25))),
        ("pool", m.AdaptiveAvgPool2d((1, 1))),
        ("flat", m.Flatten()),
        ("heads", m.ModuleDict({"cls": m.Linear(4, 3), "reg": m.Sequential(m.Linear(4, 1))})),
        ("blocks", m.ModuleList([m.Linear(4, 4) for _ in range(3)] + [m.GELU()])),
    ]))


def test_repr_matches_torch_on_a_nested_model():
    ours, theirs = _pair(_net)
    assert repr(ours) == repr(theirs)
    ours, theirs = _pair(lambda m: m.Sequential(m.Linear(2, 3), m.BatchNorm1d(3), m.Tanh(),
                                                m.LayerNorm(3), m.Embedding(5, 3)))
    assert repr(ours) == repr(theirs)


def test_repr_of_none_children_and_custom_modules_matches_torch():
    def build(m):
        class Net(m.Module):
            def __init__(self):
                super().__init__()
                self.a = m.Linear(2, 2)
                self.register_module("c", None)
        return Net()
    ours, theirs = _pair(build)
    assert repr(ours) == repr(theirs)


def test_traversal_names_and_order_match_torch():
    ours, theirs = _pair(_net)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(m).__name__ for m in ours.modules()] == \
        [type(m).__name__ for m in theirs.modules()]
    assert ours.get_submodule("heads.reg.0") is ours.heads["reg"][0]
    assert ours.get_parameter("heads.cls.bias") is ours.heads["cls"].bias
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        ours.get_submodule("heads.nope")


def test_named_modules_remove_duplicate_as_torch():
    def build(m):
        shared = m.Linear(2, 2)
        return m.Sequential(shared, m.ReLU(), shared)
    ours, theirs = _pair(build)
    for kwargs in ({}, {"remove_duplicate": False}, {"prefix": "net"}):
        assert [n for n, _ in ours.named_modules(**kwargs)] == \
            [n for n, _ in theirs.named_modules(**kwargs)]
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2


def test_apply_visits_children_first_like_torch():
    ours, theirs = _pair(_net)
    seen_ours, seen_theirs = [], []
    ours.apply(lambda m: seen_ours.append(type(m).__name__))
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours == seen_theirs


def test_sequential_editing_matches_torch():
    def build(m):
        return m.Sequential(m.Linear(1, 2), m.ReLU(), m.Linear(2, 3), m.Tanh())
    ours, theirs = _pair(build)
    for fn in (lambda s, m: s.insert(1, m.Sigmoid()), lambda s, m: s.__delitem__(0),
               lambda s, m: s.append(m.Identity()), lambda s, m: s.pop(-1),
               lambda s, m: s.extend(m.Sequential(m.ELU())),
               lambda s, m: s.__setitem__(-1, m.SELU()), lambda s, m: s.__delitem__(slice(0, 2))):
        fn(ours, nn)
        fn(theirs, torch.nn)
        assert repr(ours) == repr(theirs)
    both = ours + nn.Sequential(nn.ReLU())
    assert len(both) == len(ours) + 1 and isinstance(ours[0:1], nn.Sequential)
    with pytest.raises(IndexError, match="out of range"):
        ours[10]


def test_sequential_with_ordered_dict_keeps_names():
    ours, theirs = _pair(lambda m: m.Sequential(OrderedDict([("fc", m.Linear(2, 2)),
                                                             ("act", m.ReLU())])))
    assert repr(ours) == repr(theirs)
    assert ours.fc is ours[0] and list(ours.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_dict_behaves_like_torchs():
    ours, theirs = _pair(lambda m: m.ModuleDict([("a", m.Linear(1, 1)), ("b", m.ReLU())]))
    for d, m in ((ours, nn), (theirs, torch.nn)):
        d["c"] = m.Tanh()
        d.update({"d": m.Sigmoid()})
        del d["a"]
        assert d.pop("b") is not None
    assert list(ours.keys()) == list(theirs.keys()) == ["c", "d"]
    assert "c" in ours and len(ours) == 2 and list(ours) == ["c", "d"]
    assert repr(ours) == repr(theirs)
    with pytest.raises(NotImplementedError, match="container"):
        ours(1)


def test_parameter_list_and_dict_register_their_parameters():
    pl = nn.ParameterList([nn.Parameter(np.zeros(3)), np.ones((2, 2))])
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(3)), torch.ones(2, 2)])
    pl.append(Tensor(np.ones(1)))
    tl.append(torch.ones(1))
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == [n for n, _ in tl.named_parameters()]
    assert len(pl) == 3 and pl[-1].shape == (1,) and len(pl[0:2]) == 2

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterDict({"w": nn.Parameter(np.zeros(2))})
            self.ws["v"] = np.ones(3)
            self.ps = pl

    h = Holder()
    assert list(h.state_dict()) == ["ws.w", "ws.v", "ps.0", "ps.1", "ps.2"]
    assert h.ws["v"].requires_grad and "w" in h.ws and list(h.ws.keys()) == ["w", "v"]
    opt = optim.SGD(h.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 5
    assert "(1): Parameter containing: [torch.float64 of size 2x2]" in repr(pl)


def test_forward_hooks_follow_torchs_protocol():
    def build(m):
        return m.Sequential(m.Linear(3, 2), m.ReLU())
    ours, theirs = _pair(build)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    records = {"ours": [], "theirs": []}

    def attach(model, key):
        def pre(module, args):
            records[key].append(("pre", type(module).__name__, len(args)))
            return (args[0] * 2,)

        def post(module, args, output):
            records[key].append(("post", type(module).__name__))
            return output + 1

        return model[0].register_forward_pre_hook(pre), model[0].register_forward_hook(post)

    h_ours, h_theirs = attach(ours, "ours"), attach(theirs, "theirs")
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert records["ours"] == records["theirs"] == [("pre", "Linear", 1), ("post", "Linear")]
    for h in h_ours + h_theirs:
        h.remove()
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert len(records["ours"]) == 2


def test_forward_hook_collects_activations_and_sees_kwargs():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    stats = {}
    handles = [m.register_forward_hook(
        lambda mod, args, out, name=name: stats.__setitem__(name, out.data.mean()))
        for name, m in model.named_children()]
    model(Tensor(np.ones((2, 3))))
    assert sorted(stats) == ["0", "1", "2"]
    for h in handles:
        h.remove()
    seen = []
    with model.register_forward_hook(lambda m, a, k, o: seen.append(sorted(k)),
                                     with_kwargs=True):
        model(Tensor(np.ones((2, 3))))
    model(Tensor(np.ones((2, 3))))
    assert seen == [[]]


def test_forward_hooks_prepend_and_always_call():
    lin = nn.Linear(2, 2)
    order = []
    lin.register_forward_hook(lambda m, a, o: order.append("second"))
    lin.register_forward_hook(lambda m, a, o: order.append("first"), prepend=True)
    lin(Tensor(np.ones((1, 2))))
    assert order == ["first", "second"]
    calls = []
    lin.register_forward_hook(lambda m, a, o: calls.append(o), always_call=True)
    with pytest.raises(ValueError):
        lin(Tensor(np.ones((1, 5))))
    assert calls == [None]


def test_to_cpu_and_dtypes():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.to("cpu") is model and model.cpu() is model
    model.to(np.float64)
    assert model[0].weight.dtype == np.float64 and model[1].running_mean.dtype == np.float64
    model.to("cpu", np.float32)
    assert model[0].weight.dtype == np.float32
    model.to(dtype=np.float64, device="cpu", non_blocking=True)
    assert model[0].bias.dtype == np.float64
    model.to(Tensor(np.zeros(1, dtype=np.float32)))
    assert model[0].bias.dtype == np.float32
    model.to(torch.device("cpu"))
    weight = model[0].weight
    model.double()
    assert model[0].weight is weight and weight.dtype == np.float64     # same Parameter object
    for device in ("cuda", "cuda:0", "mps", torch.device("meta")):
        with pytest.raises(RuntimeError, match="is not available: tapegrad computes on the CPU"):
            model.to(device)
    with pytest.raises(RuntimeError, match="is not available"):
        model.cuda()
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        model.to(np.int64)


def test_zero_grad_and_requires_grad_():
    model = nn.Linear(2, 1)
    model(Tensor(np.ones((3, 2)))).sum().backward()
    model.zero_grad(set_to_none=False)
    assert np.all(model.weight.grad == 0)
    model.zero_grad()
    assert model.weight.grad is None
    assert model.requires_grad_(False) is model and not model.weight.requires_grad


def test_unflatten_matches_torch():
    ours, theirs = nn.Unflatten(1, (2, 5)), torch.nn.Unflatten(1, (2, 5))
    assert repr(ours) == repr(theirs)
    x = np.arange(30.0).reshape(3, 10)
    np.testing.assert_array_equal(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(nn.Unflatten(-1, (-1, 2))(Tensor(x)).data,
                                  torch.nn.Unflatten(-1, (-1, 2))(torch.from_numpy(x)).numpy())
    with pytest.raises(RuntimeError, match="don't multiply up to the size of dim 1"):
        nn.Unflatten(1, (3, 3))(Tensor(x))


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _pair(lambda m: m.Sequential(m.Linear(3, 2), m.Linear(2, 1)))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    vec = nn.utils.parameters_to_vector(ours.parameters())
    ref = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec.data, ref.detach().numpy())
    (vec * vec).sum().backward()                # differentiable, as torch's
    np.testing.assert_allclose(ours[0].weight.grad, 2 * ours[0].weight.data)
    nn.utils.vector_to_parameters(Tensor(np.arange(vec.numel(), dtype=np.float32)),
                                  ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(ref.numel(), dtype=torch.float32),
                                        theirs.parameters())
    for a, b in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(a.data, b.detach().numpy())
    with pytest.raises(RuntimeError, match="does not hold the 11 values"):
        nn.utils.vector_to_parameters(Tensor(np.zeros(3)), ours.parameters())


def test_clip_grad_norm_returns_a_tensor_like_torch():
    p = nn.Parameter(np.zeros(2, dtype=np.float32))
    p.grad = Tensor(np.array([3.0, 4.0], dtype=np.float32))
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert isinstance(total, Tensor) and total.dtype == np.float32 and total.shape == ()
    assert total.item() == pytest.approx(5.0) and float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(p, 1.0, foreach=True).item() == pytest.approx(1.0, rel=1e-5)


def test_non_persistent_buffers_stay_out_of_state_dict_as_in_torch():
    """register_buffer(name, value, persistent=False): a buffer (buffers(), moved by
    .double()) that state_dict and load_state_dict leave out, as torch's; registering the
    name again as persistent puts it back. (persistent= was a TypeError.)"""
    import autograd

    def build(m, lib):
        m.register_buffer("mean", lib.zeros(3))
        m.register_buffer("mask", lib.ones(2, 2), persistent=False)
        return m

    ours, theirs = build(nn.Linear(2, 3), autograd), build(torch.nn.Linear(2, 3), torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias", "mean"]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert ours.double().mask.dtype == np.float64
    theirs.register_buffer("mask", torch.ones(2, 2))
    ours.register_buffer("mask", Tensor(np.ones((2, 2))))
    assert list(ours.state_dict()) == list(theirs.state_dict())
