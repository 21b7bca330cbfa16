# Learn the Basics: Automatic Differentiation with torch.autograd
# (pytorch.org/tutorials/beginner/basics/autogradqs_tutorial.html) and the autograd tutorial of
# "Deep Learning with PyTorch: A 60 Minute Blitz"
import torch

torch.manual_seed(0)

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

print(f"Gradient function for z = {type(z.grad_fn).__name__}")
print(f"Gradient function for loss = {loss.grad_fn.name()}")
print(loss)

# Computing gradients
loss.backward()
print(w.grad)
print(b.grad)
print(w.is_leaf, z.is_leaf, w.grad_fn, z.requires_grad)

# Disabling gradient tracking
z = torch.matmul(x, w) + b
print(z.requires_grad)

with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)

z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

# Tensor gradients and Jacobian products
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

# The 60 minute blitz: a = [2, 3], b = [6, 4], Q = 3a^3 - b^2
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a**3 - b**2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9 * a**2 == a.grad)
print(-2 * b == b.grad)
print(a.grad, b.grad)

# Vector-Jacobian product of y = x * 2 doubled until its norm passes 1000
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
print(x.grad)

# requires_grad_ and freezing
p = torch.zeros(2)
print(p.requires_grad, p.requires_grad_().requires_grad, p.requires_grad_(False).requires_grad)
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
s = (x * x).sum()
s.backward()
print(x.grad, s.item(), s.grad_fn is not None)
x.grad = None
(x ** 3).mean().backward()
print(x.grad)
h = x * 3
h.retain_grad()
(h ** 2).sum().backward()
print(h.grad, x.grad)
print(torch.is_grad_enabled())
with torch.no_grad():
    print(torch.is_grad_enabled(), (x * 2).requires_grad)
with torch.enable_grad():
    print((x * 2).requires_grad)


@torch.no_grad()
def doubled(t):
    return t * 2


print(doubled(x).requires_grad)
with torch.inference_mode():
    print((x + 1).requires_grad)
