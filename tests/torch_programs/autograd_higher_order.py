# Higher-order gradients with torch.autograd.grad: derivatives of derivatives (create_graph=True),
# the n-th derivatives of tanh, a Hessian-vector product by double backward (Pearlmutter's
# trick) checked against the full Hessian from torch.autograd.functional.hessian, a Jacobian,
# vjp/hvp helpers, and Newton's method on a small convex function.
import torch
from torch.autograd.functional import hessian, hvp, jacobian, vjp

torch.manual_seed(0)

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3
dy_dx, = torch.autograd.grad(y, x, create_graph=True)
d2y_dx2, = torch.autograd.grad(dy_dx, x, create_graph=True)
d3y_dx3, = torch.autograd.grad(d2y_dx2, x)
print(dy_dx.item(), d2y_dx2.item(), d3y_dx3, dy_dx.requires_grad, d3y_dx3.requires_grad)

# the first derivatives of tanh at a few points
t = torch.linspace(-2, 2, 5, requires_grad=True)
f = torch.tanh(t)
derivs = []
for order in range(4):
    (f,) = torch.autograd.grad(f.sum(), t, create_graph=True)
    derivs.append(f.detach())
print(torch.stack(derivs))

# grad with respect to several inputs, grad_outputs for a non-scalar output
a = torch.randn(3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
out = a * b + a.exp()
ga, gb = torch.autograd.grad(out, (a, b), grad_outputs=torch.ones_like(out))
print(ga, gb)
print(torch.allclose(ga, b + a.exp()), torch.allclose(gb, a))
print(a.grad, b.grad)

# allow_unused and retain_graph
c = torch.randn(2, requires_grad=True)
z = (a ** 2).sum()
g1 = torch.autograd.grad(z, [a, c], retain_graph=True, allow_unused=True)
print(g1[1] is None, g1[0])
g2 = torch.autograd.grad(z, a)
print(torch.equal(g1[0], g2[0]))

# A loss of a small network, its gradient and a Hessian-vector product
W = torch.randn(4, 3, requires_grad=True)
inputs = torch.randn(10, 4)
targets = torch.randn(10, 3)


def loss_fn(W):
    return ((torch.tanh(inputs @ W) - targets) ** 2).mean()


loss = loss_fn(W)
grad_W, = torch.autograd.grad(loss, W, create_graph=True)
v = torch.randn_like(W)
hv, = torch.autograd.grad(grad_W, W, grad_outputs=v)
print(loss, grad_W.shape)
print(hv)

H = hessian(loss_fn, W.detach())
print(H.shape)
hv_full = (H.reshape(12, 12) @ v.reshape(12)).reshape(4, 3)
print(torch.allclose(hv, hv_full, atol=1e-5))
_, hv_func = hvp(loss_fn, W.detach(), v)
print(torch.allclose(hv, hv_func, atol=1e-5))

# backward(create_graph=True) then differentiate the gradient's norm (a gradient penalty)
W.grad = None
loss = loss_fn(W)
loss.backward(create_graph=True)
penalty = W.grad.pow(2).sum()
W_grad_first = W.grad.detach().clone()
W.grad = None
penalty.backward()
print(W_grad_first.norm(), W.grad.norm())


# Jacobian of a vector function
def fn(x):
    return torch.stack([x[0] * x[1], torch.sin(x[1]), x[0] ** 2 + x[2]])


point = torch.tensor([1.0, 2.0, 3.0])
J = jacobian(fn, point)
print(J)
out, vjp_value = vjp(fn, point, torch.tensor([1.0, 0.0, 1.0]))
print(out, vjp_value)

# Newton's method with the exact Hessian on a convex quadratic-plus-quartic function
A = torch.tensor([[3.0, 0.5], [0.5, 1.0]])


def f_convex(w):
    return 0.5 * w @ A @ w + 0.25 * (w ** 4).sum() - w.sum()


w = torch.zeros(2)
for it in range(5):
    w_req = w.clone().requires_grad_(True)
    value = f_convex(w_req)
    g, = torch.autograd.grad(value, w_req)
    Hm = hessian(f_convex, w)
    w = w - torch.linalg.solve(Hm, g)
    print(f"newton {it}: f={value.item():.6f} |g|={g.norm().item():.3e}")
print(w)
