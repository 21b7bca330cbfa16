"""Conversions and devices as torch's: to(dtype / device / other), type(), float()...,
device objects, cpu(), cuda() and GPU requests (a clear error), the namespaces a program asks
(cuda, backends.mps, backends.cudnn, accelerator), save / load."""
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
import nn  # noqa: E402
from autograd import DeviceError, Tensor  # noqa: E402
from torch_surface import raises_like_torch, same  # noqa: E402


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "short", "bool",
                                    "byte", "char"])
def test_dtype_conversion_methods(method):
    same(lambda m: getattr(m.tensor([1.7, -2.2, 0.0]), method)())
    same(lambda m: getattr(m.tensor([3, 0, -1]), method)())


def test_to_and_type():
    same(lambda m: m.tensor([1.5, 2.5]).to(m.float64))
    same(lambda m: m.tensor([1.5, 2.5]).to("cpu"))
    same(lambda m: m.tensor([1.5, 2.5]).to("cpu", m.int64))
    same(lambda m: m.tensor([1.5, 2.5]).to(m.device("cpu"), dtype=m.float16))
    same(lambda m: m.tensor([1.5, 2.5]).to(m.tensor([1], dtype=m.int32)))
    same(lambda m: m.tensor([1.5, 2.5]).type())
    same(lambda m: m.tensor([1, 2]).type())
    same(lambda m: m.tensor([1.5, 2.5]).type(m.float64))
    same(lambda m: m.tensor([1.5, 2.5]).type("torch.DoubleTensor"))
    same(lambda m: m.tensor([1.5, 2.5]).type_as(m.tensor([1])))
    x = autograd.tensor([1.0, 2.0])
    assert x.to(autograd.float32) is x and x.to("cpu") is x and x.cpu() is x
    assert x.to(autograd.float32, copy=True) is not x


def test_to_is_differentiable_between_float_dtypes():
    def run(m):
        x = m.tensor([1.5, 2.5], requires_grad=True)
        y = x.to(m.float64) * 2
        y.sum().backward()
        return y, x.grad, y.grad_fn.next_functions[0][0].name()
    same(run)


def test_devices():
    same(lambda m: m.device("cpu"))
    same(lambda m: m.device("cuda:1"))
    same(lambda m: m.device("cuda", 0))
    same(lambda m: m.ones(2).device)
    same(lambda m: str(m.ones(2).device))
    same(lambda m: m.ones(2).is_cuda)
    same(lambda m: m.ones(2).get_device())
    same(lambda m: m.device("cpu") == m.device("cpu"))
    raises_like_torch(lambda m: m.device("gpu"))
    assert pickle.loads(pickle.dumps(autograd.device("cpu"))) == autograd.device("cpu")


def test_the_gpu_namespaces_say_no():
    assert autograd.cuda.is_available() is False and autograd.cuda.device_count() == 0
    assert autograd.backends.mps.is_available() is False
    assert autograd.backends.mps.is_built() is False
    assert autograd.accelerator.is_available() is False
    assert autograd.accelerator.current_accelerator() is None
    autograd.cuda.manual_seed_all(0)          # a program seeds CUDA unconditionally
    autograd.backends.cudnn.deterministic = True
    autograd.backends.cudnn.benchmark = False
    # the VJP backends are still there under their own names
    assert autograd.backends.ARRAY.name == "array"


@pytest.mark.parametrize("call", [
    lambda: autograd.ones(2, device="cuda"),
    lambda: autograd.zeros(2, device=autograd.device("cuda", 0)),
    lambda: autograd.tensor([1.0], device="cuda:0"),
    lambda: autograd.ones(2).to("cuda"),
    lambda: autograd.ones(2).cuda(),
    lambda: autograd.ones(2).to("mps"),
    lambda: nn.Linear(2, 2).to("cuda"),
    lambda: autograd.set_default_device("cuda"),
])
def test_asking_for_a_gpu_is_a_clear_error(call):
    with pytest.raises(DeviceError, match="cuda|mps"):
        call()
    with pytest.raises(RuntimeError):          # DeviceError is a RuntimeError
        call()


def test_device_of_modules_and_tensors_follows_the_tutorial_idiom():
    device = (autograd.accelerator.current_accelerator().type
              if autograd.accelerator.is_available() else "cpu")
    model = nn.Linear(3, 2).to(device)
    x = autograd.ones(4, 3).to(device)
    assert model(x).device == autograd.device("cpu")


def test_element_facts():
    same(lambda m: m.ones(2, dtype=m.float64).element_size())
    same(lambda m: m.ones(2, 3).is_contiguous())
    same(lambda m: m.ones(2, 3).t().is_contiguous())
    same(lambda m: m.ones(2, 3).t().contiguous().is_contiguous())
    same(lambda m: m.ones(2, 3).stride())
    same(lambda m: m.ones(2, 3).is_floating_point())
    same(lambda m: m.ones(2, 3, dtype=m.long).is_floating_point())
    same(lambda m: m.is_tensor(m.ones(1)))
    same(lambda m: m.numel(m.ones(2, 3)))


def test_save_and_load(tmp_path):
    path = tmp_path / "t.pt"
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    autograd.save(net.state_dict(), path)
    back = autograd.load(path, weights_only=True)
    assert list(back) == ["0.weight", "0.bias"]
    assert isinstance(back["0.weight"], Tensor) and not back["0.weight"].requires_grad
    fresh = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    fresh.load_state_dict(back)
    assert fresh[0].weight.equal(net[0].weight)
    autograd.save({"x": autograd.ones(2, requires_grad=True), "n": 3, "dt": autograd.float64},
                  path)
    back = autograd.load(path)
    assert back["x"].requires_grad and back["x"].is_leaf and back["n"] == 3
    assert back["dt"] is autograd.float64
    autograd.save(net, path)                           # a whole model needs weights_only=False
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        autograd.load(path)
    whole = autograd.load(path, weights_only=False)
    assert whole[0].weight.equal(net[0].weight)


def test_state_dict_holds_tensors_as_torch():
    sd = nn.Linear(3, 2).state_dict()
    tsd = torch.nn.Linear(3, 2).state_dict()
    assert [(k, repr(v.size())) for k, v in sd.items()] == \
        [(k, repr(v.size())) for k, v in tsd.items()]
    assert all(not v.requires_grad for v in sd.values())
    assert isinstance(sd["weight"], Tensor) and np.asarray(sd["weight"]).shape == (2, 3)
