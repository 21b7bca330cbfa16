# Learn the Basics: Tensors (pytorch.org/tutorials/beginner/basics/tensorqs_tutorial.html)
import numpy as np
import torch

torch.manual_seed(0)

# Initializing a tensor
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data)
print(x_data.dtype)

np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np)

x_ones = torch.ones_like(x_data)  # retains the properties of x_data
print(f"Ones Tensor: \n {x_ones} \n")

x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
print(f"Random Tensor: \n {x_rand} \n")

shape = (2, 3,)
rand_tensor = torch.rand(shape)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)

print(f"Random Tensor: \n {rand_tensor} \n")
print(f"Ones Tensor: \n {ones_tensor} \n")
print(f"Zeros Tensor: \n {zeros_tensor}")

# Attributes of a tensor
tensor = torch.rand(3, 4)

print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")

# Operations on tensors
if torch.cuda.is_available():
    tensor = tensor.to("cuda")

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
print(t1.shape)
t2 = torch.stack([tensor, tensor], dim=0)
print(t2.shape)

# Arithmetic operations
# This computes the matrix multiplication between two tensors. y1, y2, y3 will have the same value
# ``tensor.T`` returns the transpose of a tensor
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)

y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1)
print(torch.equal(y1, y2), torch.equal(y1, y3))

# This computes the element-wise product. z1, z2, z3 will have the same value
z1 = tensor * tensor
z2 = tensor.mul(tensor)

z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z3)

# Single-element tensors
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))

# In-place operations
print(f"{tensor} \n")
tensor.add_(5)
print(tensor)

tensor.t_()
tensor.mul_(2).sub_(1)
print(tensor)

# Bridge with NumPy
t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")

t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

n = np.ones(5)
t = torch.from_numpy(n)

np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")

# More creation functions and dtypes that courses use
print(torch.zeros(2, 3, dtype=torch.long))
print(torch.arange(5), torch.arange(1, 4), torch.arange(0, 1, 0.25))
print(torch.linspace(0, 1, steps=5))
print(torch.eye(3))
print(torch.full((2, 2), 7.0))
print(torch.empty(2, 3).shape)
print(torch.tensor(3.5), torch.tensor(True), torch.tensor([1.5, 2]).dtype)
print(torch.tensor([1, 2, 3], dtype=torch.float64))
print(torch.randn(2, 3))
print(torch.randint(0, 10, (2, 5)))
x = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
print(x.size(), x.size(0), x.size(1), x.dim(), x.numel(), x.nelement())
print(x.view(3, 2))
print(x.reshape(-1))
print(x.flatten())
print(x.unsqueeze(0).shape, x.unsqueeze(1).shape, x.unsqueeze(0).squeeze().shape)
print(x.permute(1, 0))
print(x.abs(), x.neg(), x.sign())
print(x.sum(dim=0), x.sum(1, keepdim=True), x.mean(), x.max(), x.min())
print(x.argmax(), x.argmax(dim=1), x.argmin(dim=0))
values, indices = x.max(dim=1)
print(values, indices)
print(x.max(1)[0], x.max(1).indices)
print(x.std(), x.var(dim=1), x.std(unbiased=False))
print(x.clamp(min=0), x.clamp(-1, 1), torch.clamp(x, max=2.0))
print(x.exp(), x.pow(2), x ** 0.5)
print(torch.sqrt(x.abs()), torch.log(x.abs()), torch.sin(x), torch.tanh(x))
print(x.int(), x.long().dtype, x.float().dtype, x.double().dtype, x.bool())
print(x.to(torch.float64).dtype, x.type(torch.int32))
print(x > 0, (x > 0).sum(), (x > 0).float().mean())
print(torch.where(x > 0, x, torch.zeros_like(x)))
print(x[x > 0])
print(x[:, [0, 2]], x[[0, 1], [1, 2]])
idx = torch.tensor([1, 0])
print(x[idx], x.index_select(1, torch.tensor([2, 0])))
print(x.tolist(), x[0, 1].item(), x.shape[0], len(x))
print(torch.zeros(3, dtype=torch.int64) + 1.5)
print(torch.tensor([1, 2]) * torch.tensor([0.5, 0.25]))
print(torch.tensor([1, 2]) / 2, torch.tensor([7, 8]) // 2, torch.tensor([7, 8]) % 3)
print(x.T.contiguous().is_contiguous(), x.clone().detach().requires_grad)
print(torch.allclose(x, x + 1e-9), torch.all(x > -10), torch.any(x > 4))
print(torch.chunk(torch.arange(6), 3), torch.split(torch.arange(5), 2))
sorted_values, sorted_indices = torch.sort(torch.tensor([3, 1, 2]))
print(sorted_values, sorted_indices)
top = torch.topk(torch.tensor([1.0, 5.0, 3.0]), 2)
print(top.values, top.indices)
print(torch.cumsum(torch.tensor([1, 2, 3]), dim=0), torch.prod(torch.tensor([1.0, 2.0, 3.0])))
print(torch.unique(torch.tensor([3, 1, 3, 2, 1])))
