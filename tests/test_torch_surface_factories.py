"""Factories with torch's signatures and dtype inference: tensor, as_tensor, from_numpy, zeros,
ones, full, empty, eye, arange, linspace, logspace, the *_like and Tensor.new_* families.
Values, dtypes, shapes and errors against torch."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import autograd  # noqa: E402
from autograd import Tensor  # noqa: E402
from torch_surface import raises_like_torch, same  # noqa: E402


@pytest.mark.parametrize("data", [
    3, 2.5, True, [1, 2], [1, 2.0], [True, 1], [[1, 2], [3, 4]], [], [[], []], (1.5, 2),
    [np.float64(1.0), 2], [np.int32(1), 2], np.arange(3, dtype=np.int32),
    np.array([1.5, 2.5]), np.float32(2.0), range(4)])
def test_tensor_infers_dtypes_as_torch(data):
    same(lambda m: m.tensor(data))


@pytest.mark.parametrize("data,dtype", [([1, 2], "float32"), ([1.7, -2.7], "int64"),
                                        ([0, 2], "bool"), ([1, 2], "float64"),
                                        ([1.5], "float16"), ([300], "uint8")])
def test_tensor_with_dtype(data, dtype):
    same(lambda m: m.tensor(data, dtype=getattr(m, dtype)))


@pytest.mark.parametrize("data", [[[1, 2], [3]], "abc", [1, "a"], [[1], 2]])
def test_tensor_refuses_what_torch_refuses(data):
    raises_like_torch(lambda m: m.tensor(data))


def test_tensor_of_tensors_and_requires_grad():
    same(lambda m: m.tensor([m.tensor(1.5), m.tensor(2.0)]))
    same(lambda m: m.tensor([1.0, 2.0], requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same(lambda m: m.tensor(m.ones(2, requires_grad=True)))
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        autograd.tensor(autograd.ones(2))
    raises_like_torch(lambda m: m.tensor([m.tensor([1, 2]), m.tensor([3, 4])]))


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([2, 3],), (0,), (), ((),)])
def test_filled_factories_take_sizes_as_torch(fn, size):
    def run(m):
        out = getattr(m, fn)(*size)
        return out if fn != "empty" else (out.shape, out.dtype)
    if size == ():
        raises_like_torch(lambda m: getattr(m, fn)())
    else:
        same(run)


def test_filled_factories_keywords():
    same(lambda m: m.zeros(2, 3, dtype=m.long))
    same(lambda m: m.ones(size=(2,), dtype=m.float64, requires_grad=True))
    same(lambda m: m.zeros(m.Size([2, 1])))
    same(lambda m: m.ones(2, device="cpu"))
    same(lambda m: m.ones(2, device=m.device("cpu")))
    raises_like_torch(lambda m: m.zeros(2.5))
    raises_like_torch(lambda m: m.zeros(-1))
    raises_like_torch(lambda m: m.zeros(2, dtype=m.long, requires_grad=True))


@pytest.mark.parametrize("fill", [3, 2.5, True, -1])
def test_full_infers_its_dtype(fill):
    same(lambda m: m.full((2, 2), fill))
    same(lambda m: m.full((3,), fill, dtype=m.float64))


def test_full_like_and_friends():
    same(lambda m: m.full_like(m.arange(3), 2.7))
    same(lambda m: m.zeros_like(m.ones(2, dtype=m.int32)))
    same(lambda m: m.ones_like(m.ones(2, 3), dtype=m.float64))
    same(lambda m: m.empty_like(m.ones(2, 3)).shape)
    same(lambda m: m.zeros_like(m.ones(2, requires_grad=True)))


@pytest.mark.parametrize("args", [(5,), (1, 4), (1, 4, 0.5), (0, 1, 0.1), (5.0,), (0, -3, -1),
                                  (-1.5, 2.5, 0.7), (10, 0, -3), (0, 10, 3), (2, 2)])
def test_arange_values_and_dtypes_as_torch(args):
    same(lambda m: m.arange(*args), rtol=0, atol=0)


def test_arange_errors_and_dtype():
    same(lambda m: m.arange(5, dtype=m.float32))
    same(lambda m: m.arange(0, 1, 0.25, dtype=m.float64))
    raises_like_torch(lambda m: m.arange(0, 3, 0))
    raises_like_torch(lambda m: m.arange(0, 3, -1))


@pytest.mark.parametrize("args", [(0, 1, 5), (-1, 1, 3), (0, 10, 7), (2.5, -3.25, 11), (0, 1, 1),
                                  (0, 1, 0), (1, 100, 100), (-5, 5, 33)])
def test_linspace_bit_for_bit(args):
    same(lambda m: m.linspace(*args), rtol=0, atol=0)
    same(lambda m: m.linspace(*args, dtype=m.float64), rtol=0, atol=0)


def test_linspace_integer_dtype_and_errors():
    same(lambda m: m.linspace(0, 10, 4, dtype=m.int64))
    raises_like_torch(lambda m: m.linspace(0, 1, -1))
    same(lambda m: m.linspace(0, 1, steps=3, requires_grad=True))


@pytest.mark.parametrize("args", [(0, 2, 3), (-1, 1, 5), (0, 3, 4, 2)])
def test_logspace(args):
    same(lambda m: m.logspace(*args), rtol=1e-6)


def test_eye():
    same(lambda m: m.eye(3))
    same(lambda m: m.eye(2, 4))
    same(lambda m: m.eye(3, dtype=m.int64))
    raises_like_torch(lambda m: m.eye(-1))


def test_from_numpy_shares_memory():
    a = np.arange(3.0)
    t = autograd.from_numpy(a)
    a[0] = 9.0
    assert t[0].item() == 9.0 and t.dtype is autograd.float64
    t.add_(1)
    assert a[1] == 2.0
    raises_like_torch(lambda m: m.from_numpy([1, 2]))


def test_as_tensor_shares_what_it_can():
    a = np.arange(3.0)
    assert autograd.as_tensor(a).numpy() is a
    x = autograd.ones(2)
    assert autograd.as_tensor(x) is x
    same(lambda m: m.as_tensor([1, 2]))
    same(lambda m: m.as_tensor(np.arange(3.0), dtype=m.float32))


def test_new_methods_take_the_dtype_of_their_tensor():
    def base(m):
        return m.ones(2, dtype=m.float64)
    same(lambda m: base(m).new_tensor([1, 2]))
    same(lambda m: base(m).new_zeros(3))
    same(lambda m: base(m).new_zeros((3, 2)))
    same(lambda m: base(m).new_ones(2, dtype=m.int64))
    same(lambda m: base(m).new_full((2,), 7))
    same(lambda m: base(m).new_empty(2).shape)
    same(lambda m: m.arange(3).new_ones(2, requires_grad=False))


def test_tensor_constructor_keeps_tapegrads_numpy_rules():
    assert Tensor([1, 2]).dtype is autograd.float32          # torch.Tensor([1, 2]) too
    assert Tensor(np.arange(3)).dtype is autograd.int64
    assert Tensor(np.ones(2, np.float64)).dtype is autograd.float64
