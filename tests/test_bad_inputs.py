"""The bad-input catalogue: wrong calls across the API, each with its error type and message.

One table, one parametrized test. Each row is (id, wrong call, exception type, regex the
message must match). The message must name what was wrong (both shapes, the dtype, the layer)
so that a user can fix the call without reading the source.
Rows marked xfail are real bugs in files owned by others, reported to the lead.

Figures for RELIABILITY.md: `pytest tests/test_bad_inputs.py -s -q | grep reliability`.
"""
import re
import warnings

import numpy as np
import pytest

import autograd
import nn
import optim
from autograd import Tensor, Value


def T(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def _backward_twice():
    y = T(2).exp().sum()
    y.backward()
    y.backward()


def _anomaly_forward():
    with autograd.detect_anomaly(strict=True):
        Tensor([-1.0], requires_grad=True).log()


def _anomaly_nan_input():
    with autograd.detect_anomaly(strict=True):
        Tensor([np.nan, 1.0], requires_grad=True) * 2.0


def _anomaly_backward():
    with autograd.detect_anomaly(strict=True):
        Tensor([0.0], requires_grad=True).sqrt().sum().backward()


def _anomaly_value():
    with autograd.detect_anomaly(strict=True):
        Value(0.0).log()


def _grad_nonscalar():
    x = T(3)
    return autograd.grad(x * 2.0, [x])


def _step_after_bad_group():
    opt = optim.SGD([T(2)], lr=0.1)
    opt.add_param_group({"params": [T(2)], "lr": -1.0})


S = re.escape

# (id, call, exception type, message regex)
CATALOGUE = [
    # ---- shapes
    ("matmul-inner", lambda: T(2, 3) @ T(2, 3), ValueError, r"matmul: .*\(2, 3\) and \(2, 3\)"),
    ("add-broadcast", lambda: T(2, 3) + T(4), ValueError, r"add: .*\(2, 3\) and \(4,\)"),
    ("mul-broadcast", lambda: T(3) * T(2), ValueError, r"mul: .*\(3,\) and \(2,\)"),
    ("maximum-broadcast", lambda: T(3).maximum(T(4)), ValueError, r"maximum: .*\(3,\) and"),
    ("reshape-size", lambda: T(2, 3).reshape(4), ValueError,
     S("shape '[4]' is invalid for input of size 6")),
    ("permute-not-perm", lambda: T(2, 3).permute(0, 0), RuntimeError,
     S("permute(): duplicate dims are not allowed.")),
    ("expand-incompatible", lambda: T(2, 3).expand(4, 3), ValueError,
     S("The expanded size of the tensor (4) must match the existing size (2) at non-singleton "
       "dimension 0.  Target sizes: [4, 3].  Tensor sizes: [2, 3]")),
    ("sum-axis-range", lambda: T(2, 3).sum(axis=2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("max-axis-range", lambda: T(2, 3).max(axis=-3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"),
    ("getitem-bounds", lambda: T(2, 3)[5], IndexError,
     S("index into a tensor of shape (2, 3): index 5 is out of bounds")),
    ("where-mask-shape", lambda: autograd.where(np.ones(4, bool), T(2, 3), T(2, 3)), ValueError,
     r"where: .*\(4,\)"),
    ("cat-shapes", lambda: autograd.cat([T(2, 3), T(3, 2)], 0), ValueError,
     S("shapes (2, 3), (3, 2) must agree except along axis 0")),
    ("stack-shapes", lambda: autograd.stack([T(2, 3), T(3, 2)]), ValueError,
     S("stack: all tensors must have the same shape, got (2, 3), (3, 2)")),
    ("pad-negative", lambda: autograd.pad(T(2, 3), ((-1, 0), (0, 0))), ValueError,
     "pad: negative widths are not supported"),
    ("item-not-one", lambda: T(2, 3).item(), ValueError,
     S("a Tensor with 6 elements cannot be converted to Scalar")),
    ("len-0d", lambda: len(Tensor(1.0)), TypeError, "len\\(\\) of a 0-d tensor"),
    ("log_softmax-axes", lambda: T(2, 3).log_softmax(axis=(0, 1)), TypeError,
     S("log_softmax: axis must be one int, got (0, 1)")),
    ("clip-no-bounds", lambda: T(2).clip(), ValueError, "at least one of min and max"),
    # ---- backward and grad
    ("backward-nonscalar", lambda: (T(2, 3) * 2).backward(), RuntimeError,
     S("grad can be implicitly created only for scalar outputs\n(this output has shape (2, 3))")),
    ("backward-grad-shape", lambda: (T(2, 3) * 2).backward(np.ones(3)), RuntimeError,
     S("grad has shape (3,) but the output has shape (2, 3)")),
    ("backward-no-grad", lambda: (Tensor([1.0]) * 2).sum().backward(), RuntimeError,
     "does not require grad"),
    ("backward-twice", _backward_twice, RuntimeError,
     "(?s)backward through the graph a second time .*retain_graph=True"),
    ("grad-nonscalar", _grad_nonscalar, RuntimeError, "only for scalar outputs"),
    ("grad-unused", lambda: autograd.grad(T(2).sum(), [T(2)]), RuntimeError,
     "input 0 was not used in the graph.*allow_unused=True"),
    ("grad-input-no-grad", lambda: autograd.grad(T(2).sum(), [Tensor([1.0])]), RuntimeError,
     "grad: input 0 does not require grad"),
    ("grad-input-array", lambda: autograd.grad(T(2).sum(), [np.ones(2)]), TypeError,
     "grad: input 0 is a ndarray, not a Value or Tensor"),
    ("requires_grad_-nonleaf", lambda: (T(2) * 2).requires_grad_(False), RuntimeError,
     "you can only change requires_grad flags of leaf variables"),
    # ---- dtypes and types
    ("int-array-requires-grad", lambda: Tensor(np.array([1, 2]), requires_grad=True),
     RuntimeError, "Only Tensors of floating point and complex dtype can require gradients"),
    ("int-requires_grad_", lambda: Tensor(np.array([1, 2])).requires_grad_(), RuntimeError,
     "only Tensors of floating point dtype can require gradients"),
    ("default-dtype-int", lambda: autograd.set_default_dtype(np.int32), TypeError,
     "only floating-point types are supported as the default type"),
    ("string-operand", lambda: T(2) + np.array(["a"]), TypeError,
     "'add': cannot use an array of dtype <U1 as an operand"),
    ("value-from-string", lambda: Value("x"), TypeError, "needs a real number, got str 'x'"),
    ("value-from-tensor", lambda: Value(T(1)), TypeError, "needs a number, got a Tensor"),
    ("value-plus-tensor", lambda: Value(1.0) + T(2), TypeError,
     "'add' between a Value and a Tensor"),
    ("tensor-plus-value", lambda: T(2) + Value(1.0), TypeError,
     "'add' between a Tensor and a Value"),
    ("tensor-times-value", lambda: T(2) * Value(1.0), TypeError,
     "'mul' between a Tensor and a Value"),
    ("tensor-div-value", lambda: T(2) / Value(2.0), TypeError, "between a Tensor and a Value"),
    ("tensor-of-strings", lambda: Tensor(["a"]), TypeError, "dtype <U1"),
    ("gradcheck-float32",
     lambda: autograd.gradcheck(lambda x: x.sum(),
                                [Tensor(np.ones(2, np.float32), requires_grad=True)]),
     TypeError, "input 0 is a float32 Tensor of shape \\(2,\\); finite differences need float64"),
    # ---- empty inputs
    ("max-empty", lambda: T(0).max(), ValueError, r"amax: invalid input shapes \(0,\)"),
    ("cat-empty-list", lambda: autograd.cat([], 0), ValueError, "expected a non-empty sequence"),
    ("optimizer-no-params", lambda: optim.SGD([], lr=0.1), ValueError,
     "optimizer got an empty parameter list"),
    # ---- NaN under detect_anomaly
    ("anomaly-log-negative", _anomaly_forward, FloatingPointError,
     "op 'log' produced a non-finite value .* forward pass; the node was created at .*"
     "test_bad_inputs.py"),
    ("anomaly-nan-input", _anomaly_nan_input, FloatingPointError,
     "op 'mul' produced a non-finite value .* forward pass"),
    ("anomaly-sqrt-backward", _anomaly_backward, FloatingPointError,
     "op 'sqrt' produced a non-finite value .* backward pass"),
    ("anomaly-value-log0", _anomaly_value, FloatingPointError, "op 'log' produced a non-finite"),
    # ---- layers
    ("linear-width", lambda: nn.Linear(3, 2)(Tensor(np.ones((4, 5)))), ValueError,
     S("Linear(in_features=3, out_features=2, bias=True): expected input with last dimension "
       "3, got shape (4, 5)")),
    ("linear-negative-size", lambda: nn.Linear(-1, 2), ValueError,
     "sizes must be non-negative, got in_features=-1"),
    ("conv2d-channels", lambda: nn.Conv2d(3, 4, 3)(Tensor(np.ones((1, 2, 5, 5)))), ValueError,
     S("expected input with 3 channels, shape (N, 3, H, W), got input of shape (1, 2, 5, 5)")),
    ("conv2d-kernel-too-big", lambda: nn.Conv2d(1, 1, 5)(Tensor(np.ones((1, 1, 3, 3)))),
     ValueError, "kernel 5x5 is larger than the padded input 3x3"),
    ("maxpool-kernel-too-big", lambda: nn.MaxPool2d(5)(Tensor(np.ones((1, 1, 3, 3)))),
     ValueError, "MaxPool2d.*kernel 5x5 is larger than the padded input 3x3"),
    ("batchnorm-channels", lambda: nn.BatchNorm1d(3)(Tensor(np.ones((4, 5)))), ValueError,
     S("BatchNorm1d(3): expected 2-D or 3-D input with 3 channels in dim 1, got shape (4, 5)")),
    ("layernorm-shape", lambda: nn.LayerNorm(3)(Tensor(np.ones((4, 5)))), ValueError,
     S("expected input whose last dims are (3,), got shape (4, 5)")),
    ("rnn-input-size", lambda: nn.RNN(3, 4)(Tensor(np.ones((5, 2, 7)))), ValueError,
     S("RNN(3, 4): expected input of shape (seq, batch, 3) or (seq, 3), got (5, 2, 7)")),
    ("lstm-input-size", lambda: nn.LSTM(3, 4)(Tensor(np.ones((5, 2, 7)))), ValueError,
     "LSTM\\(3, 4\\): expected input of shape"),
    ("embedding-index", lambda: nn.Embedding(3, 2)(np.array([5])), IndexError,
     S("Embedding(3, 2): index 5 is out of range [0, 3)")),
    ("embedding-float-index", lambda: nn.Embedding(3, 2)(np.array([0.5])), TypeError,
     "indices must be integers, got dtype float64"),
    ("dropout-p", lambda: nn.Dropout(1.5), ValueError,
     "probability has to be between 0 and 1, but got 1.5"),
    ("param-not-wrapped", lambda: setattr(nn.Linear(2, 2), "weight", np.ones((2, 2))),
     TypeError, "cannot assign a ndarray as parameter 'weight' of Linear"),
    ("scalar-mlp-inputs", lambda: nn.MLP(2, [3, 1])([1.0, 2.0, 3.0]), ValueError,
     S("Neuron(nin=2): expected 2 inputs, got 3")),
    # ---- losses
    ("mse-shapes", lambda: nn.MSELoss()(T(2, 3), T(3, 2)), ValueError,
     S("The size of tensor a (3) must match the size of tensor b (2) at non-singleton "
       "dimension 1")),
    ("mse-reduction", lambda: nn.MSELoss(reduction="foo"), ValueError,
     "reduction must be one of .*got 'foo'"),
    ("ce-target-range", lambda: nn.CrossEntropyLoss()(T(2, 3), np.array([0, 5])), IndexError,
     "target 5 is out of bounds for 3 classes"),
    ("ce-target-shape", lambda: nn.CrossEntropyLoss()(T(2, 3), np.array([0, 1, 2])), ValueError,
     S("input of shape (2, 3) needs class targets of shape (2,), got shape (3,)")),
    # ---- state dicts
    ("state_dict-missing", lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((2, 2))}),
     nn.StateDictError, "missing key\\(s\\) in state_dict: 'bias'"),
    ("state_dict-unexpected",
     lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((2, 2)), "bias": np.ones(2),
                                              "foo": np.ones(1)}),
     nn.StateDictError, "unexpected key\\(s\\) in state_dict: 'foo'"),
    ("state_dict-shape",
     lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((3, 2)), "bias": np.ones(2)}),
     nn.StateDictError, S("size mismatch for 'weight': the checkpoint has shape (3, 2)")),
    ("state_dict-nested-missing",
     lambda: nn.Sequential(nn.Linear(2, 2)).load_state_dict({"0.weight": np.ones((2, 2))}),
     nn.StateDictError, "missing key\\(s\\) in state_dict: '0.bias'"),
    ("state_dict-not-mapping", lambda: nn.Linear(2, 2).load_state_dict([1, 2]), TypeError,
     "expected a mapping of name -> array, got list"),
    ("optim-state_dict-groups",
     lambda: optim.SGD([T(2)], lr=0.1).load_state_dict({"state": {}, "param_groups": []}),
     ValueError, "different number of parameter groups \\(0\\) than this optimizer \\(1\\)"),
    ("optim-state_dict-group-size",
     lambda: optim.SGD([T(2)], lr=0.1).load_state_dict(
         {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}),
     ValueError, "group 0 has 2 parameters in the state dict and 1 here"),
    ("nn-load-missing-file", lambda: nn.load(nn.Linear(2, 2), "/nonexistent/x.npz"),
     FileNotFoundError, "no checkpoint file at '/nonexistent/x.npz'"),
    # ---- optimizers
    ("sgd-negative-lr", lambda: optim.SGD([T(2)], lr=-0.1), ValueError,
     "Invalid learning rate: -0.1"),
    ("sgd-nan-lr", lambda: optim.SGD([T(2)], lr=float("nan")), ValueError,
     "Invalid learning rate: nan"),
    ("adam-negative-lr", lambda: optim.Adam([T(2)], lr=-0.1), ValueError,
     "Invalid learning rate: -0.1"),
    ("adagrad-negative-lr", lambda: optim.Adagrad([T(2)], lr=-1), ValueError,
     "Invalid learning rate: -1"),
    ("adam-beta", lambda: optim.Adam([T(2)], betas=(1.5, 0.9)), ValueError,
     "Invalid beta parameter at index 0: 1.5"),
    ("adam-eps", lambda: optim.Adam([T(2)], eps=-1), ValueError, "Invalid epsilon value: -1"),
    ("sgd-momentum", lambda: optim.SGD([T(2)], lr=0.1, momentum=-1), ValueError,
     "Invalid momentum value: -1"),
    ("sgd-nesterov", lambda: optim.SGD([T(2)], lr=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    ("sgd-weight-decay", lambda: optim.SGD([T(2)], lr=0.1, weight_decay=-1), ValueError,
     "Invalid weight_decay value: -1"),
    ("rmsprop-alpha", lambda: optim.RMSprop([T(2)], lr=0.1, alpha=-1), ValueError,
     "Invalid alpha value: -1"),
    ("sgd-lr-not-a-number", lambda: optim.SGD([T(2)], lr="0.1"), TypeError,
     "Invalid learning rate: expected a real number, got str '0.1'"),
    ("optimizer-single-tensor", lambda: optim.SGD(T(2), lr=0.1), TypeError,
     "got a single Tensor; wrap it in a list"),
    ("optimizer-duplicate", lambda: (lambda p: optim.SGD([p, p], lr=0.1))(T(2)), ValueError,
     "duplicate parameters"),
    ("optimizer-nonleaf", lambda: optim.SGD([T(2) * 2], lr=0.1), ValueError,
     "can't optimize a non-leaf Tensor"),
    ("steplr-step-size", lambda: optim.StepLR(optim.SGD([T(2)], lr=0.1), step_size=0),
     ValueError, "step_size must be a positive int, got 0"),
]

TRIED = []


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    n = len(CATALOGUE)
    print(f"\n[reliability] bad inputs tried: {n}; caught with the expected type and message: "
          f"{sum(TRIED)}; known bugs (xfail): {n - sum(TRIED)}")


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 40


def _id(row):
    return row.values[0] if hasattr(row, "marks") else row[0]


@pytest.mark.parametrize("name, call, exc, match", CATALOGUE, ids=[_id(c) for c in CATALOGUE])
def test_bad_input(name, call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # numpy's own nan/inf warnings
        # torch's broadcast warning, which mse_loss gives before failing to broadcast
        warnings.filterwarnings("ignore", message="Using a target size")
        with pytest.raises(exc, match=match):
            call()
    TRIED.append(1)
