# What goes wrong, and how PyTorch tells you: anomaly detection naming the backward function
# that produced NaN (torch.autograd.detect_anomaly, set_detect_anomaly), and the errors users
# meet in tutorials and forums -- backward through a freed graph, an in-place op on a leaf that
# requires grad, a saved tensor modified in place, backward on a non-scalar, a float assigned
# to .grad, a GPU asked for -- each caught, with its type and the start of its message printed.
import torch
import torch.nn as nn


def report(what, fn, message=True):
    try:
        fn()
        print(f"{what}: no error")
    except Exception as e:  # noqa: BLE001  (printing which error, as users do)
        print(f"{what}: {type(e).__name__}: {str(e).splitlines()[0][:70]}" if message else
              f"{what}: an error")


# NaN in the backward pass: sqrt's derivative at 0 is inf, times 0 gives NaN
x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
y = (x.sqrt() * 0).sum()
y.backward()
print(x.grad, torch.isnan(x.grad).any().item())


def with_anomaly():
    x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        y = (x.sqrt() * 0).sum()
        y.backward()


report("detect_anomaly", with_anomaly)

torch.autograd.set_detect_anomaly(True)
print(torch.is_anomaly_enabled())


def log_of_zero():
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    z = torch.zeros(2)
    (x * torch.log(z + x)).sum().backward()
    print(x.grad)


report("anomaly on log(0)", log_of_zero)
torch.autograd.set_detect_anomaly(False)
print(torch.is_anomaly_enabled())

# NaN-safe alternatives
x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
y = torch.where(x > 0, x, torch.ones_like(x)).sqrt()
y.sum().backward()
print(x.grad)
print(torch.nan_to_num(torch.tensor([float('nan'), float('inf'), -float('inf'), 1.0])))
print(torch.isfinite(torch.tensor([1.0, float('inf'), float('nan')])))


def backward_twice():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = (a.exp() * 2).sum()
    b.backward()
    b.backward()


report("backward twice", backward_twice)


def inplace_on_leaf():
    w = torch.ones(3, requires_grad=True)
    w += 1


report("in-place on a leaf", inplace_on_leaf)


def inplace_on_leaf_method():
    w = torch.ones(3, requires_grad=True)
    w.mul_(2)


report("mul_ on a leaf", inplace_on_leaf_method)


def modified_saved_tensor():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a.exp()
    c = b.sum()
    b.add_(1)
    c.backward()


report("modified saved tensor", modified_saved_tensor)


def modified_but_not_saved():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 2
    c = b + 1
    b.add_(1)
    c.sum().backward()
    print(a.grad)


report("modified tensor that backward does not need", modified_but_not_saved)


def non_scalar_backward():
    a = torch.ones(2, 2, requires_grad=True)
    (a * 3).backward()


report("backward on a non-scalar", non_scalar_backward)


def no_grad_fn():
    a = torch.ones(2)
    a.sum().backward()


report("backward without requires_grad", no_grad_fn)


def float_to_grad():
    p = torch.ones(2, requires_grad=True)
    p.grad = 0.5


report("float assigned to .grad", float_to_grad)


def wrong_shape_grad():
    p = torch.ones(2, requires_grad=True)
    p.grad = torch.ones(3)


report("wrong-shape .grad", wrong_shape_grad)


def cuda_tensor():
    torch.ones(2, device="cuda")


print(torch.cuda.is_available(), torch.device("cpu"), torch.ones(1).device.type)
# (only that it fails: torch's message is about how torch was built)
report("a GPU asked for", cuda_tensor, message=False)


def numpy_of_requires_grad():
    torch.ones(2, requires_grad=True).numpy()


report("numpy() of a tensor that requires grad", numpy_of_requires_grad)


def item_of_many():
    torch.ones(3).item()


report("item() of 3 elements", item_of_many)


def shape_mismatch():
    torch.ones(2, 3) @ torch.ones(2, 3)


report("matmul shapes", shape_mismatch)


def linear_in_features():
    nn.Linear(4, 2)(torch.ones(3, 5))


report("Linear with the wrong in_features", linear_in_features)


def cross_entropy_float_target():
    nn.CrossEntropyLoss()(torch.randn(3, 4), torch.tensor([1.0, 0.0, 2.0]))


report("cross_entropy with float class targets", cross_entropy_float_target)


def view_non_contiguous():
    torch.arange(6).reshape(2, 3).t().view(6)


report("view of a transpose", view_non_contiguous)

# detach() shares storage; an in-place op on it is seen by the original
a = torch.tensor([1.0, 2.0], requires_grad=True)
d = a.detach()
d.zero_()
print(a)
