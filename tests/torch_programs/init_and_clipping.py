# Weight initialization with torch.nn.init (model.apply(init_weights), xavier/kaiming/orthogonal
# /constant/zeros, calculate_gain, trunc_normal_) and gradient clipping (clip_grad_norm_ with its
# returned total norm, clip_grad_value_), in a deep tanh MLP trained on a synthetic spiral.
import math

import torch
import torch.nn as nn

torch.manual_seed(0)


def spiral(n_per_class, n_classes=3):
    xs, ys = [], []
    for c in range(n_classes):
        r = torch.linspace(0.0, 1.0, n_per_class)
        t = torch.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + torch.randn(n_per_class) * 0.2
        xs.append(torch.stack([r * torch.sin(t), r * torch.cos(t)], dim=1))
        ys.append(torch.full((n_per_class,), c, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


X, y = spiral(100)
print(X.shape, y.shape, y.bincount())


def make_mlp(depth=4, width=32):
    layers = [nn.Linear(2, width), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    layers.append(nn.Linear(width, 3))
    return nn.Sequential(*layers)


def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('tanh'))
        nn.init.zeros_(m.bias)


def init_kaiming(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
        nn.init.constant_(m.bias, 0.01)


def init_orthogonal(m):
    if type(m) == nn.Linear:
        nn.init.orthogonal_(m.weight)
        m.bias.data.fill_(0.0)


print(nn.init.calculate_gain('tanh'), nn.init.calculate_gain('relu'),
      nn.init.calculate_gain('leaky_relu', 0.2), nn.init.calculate_gain('sigmoid'))

for name, init in (("default", None), ("xavier", init_xavier), ("kaiming", init_kaiming),
                   ("orthogonal", init_orthogonal)):
    torch.manual_seed(1)
    model = make_mlp()
    if init is not None:
        model.apply(init)
    w = model[2].weight
    print(f"{name:10s} weight mean {w.mean().item():+.5f} std {w.std().item():.5f} "
          f"bias {model[2].bias[:3].tolist()}")
    with torch.no_grad():
        h = X
        stds = []
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Tanh):
                stds.append(round(h.std().item(), 4))
    print(f"{'':10s} tanh output stds {stds}")

w = torch.empty(3, 5)
nn.init.uniform_(w, a=-0.1, b=0.1)
print(w)
nn.init.normal_(w, mean=0.0, std=0.02)
print(w)
nn.init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
print(w.abs().max() <= 0.5)
nn.init.ones_(w)
print(w.sum())
q = torch.empty(4, 4)
nn.init.orthogonal_(q)
print(torch.allclose(q @ q.T, torch.eye(4), atol=1e-5))
nn.init.eye_(q)
print(q)
print(math.isclose(nn.init._calculate_fan_in_and_fan_out(torch.empty(8, 3, 2, 2))[0], 12))

# Training with gradient clipping
torch.manual_seed(2)
model = make_mlp(depth=6)
model.apply(init_xavier)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for step in range(40):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    if step % 10 == 0:
        print(f"step {step:2d}: loss {loss.item():.4f}, grad norm before clipping "
              f"{total_norm:.4f}")

grads = [p.grad.norm() for p in model.parameters()]
print(f"norm after clipping {torch.norm(torch.stack(grads)):.4f}")
with torch.no_grad():
    acc = (model(X).argmax(1) == y).float().mean()
print(f"accuracy {acc:.3f}")

optimizer.zero_grad()
criterion(model(X), y).backward()
torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print(max(p.grad.abs().max().item() for p in model.parameters()))
print(torch.nn.utils.parameters_to_vector(model.parameters()).shape)
