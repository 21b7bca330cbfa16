# Custom losses as users write them: a focal loss as an nn.Module, a weighted/label-smoothed
# cross-entropy as a function, checked against the built-ins (F.binary_cross_entropy_with_logits
# with pos_weight, nn.CrossEntropyLoss(label_smoothing=...), nn.HuberLoss); a classifier on
# sklearn's make_moons trained with the focal loss.
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import make_moons

torch.manual_seed(0)

X_np, y_np = make_moons(n_samples=400, noise=0.2, random_state=0)
X = torch.from_numpy(X_np).float()
y = torch.from_numpy(y_np).float().unsqueeze(1)
print(X.dtype, y.dtype, X.shape, y.mean())


class FocalLoss(nn.Module):
    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, logits, targets):
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        p = torch.sigmoid(logits)
        p_t = p * targets + (1 - p) * (1 - targets)
        alpha_t = self.alpha * targets + (1 - self.alpha) * (1 - targets)
        loss = alpha_t * (1 - p_t) ** self.gamma * bce
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss


def weighted_bce(logits, targets, pos_weight):
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    return -(pos_weight * targets * log_p + (1 - targets) * log_not_p).mean()


def smoothed_cross_entropy(logits, target, smoothing=0.1):
    n_classes = logits.size(-1)
    log_probs = F.log_softmax(logits, dim=-1)
    with torch.no_grad():
        true_dist = torch.full_like(log_probs, smoothing / (n_classes - 1))
        true_dist.scatter_(1, target.unsqueeze(1), 1.0 - smoothing)
    return torch.mean(torch.sum(-true_dist * log_probs, dim=-1))


def huber(pred, target, delta=1.0):
    err = pred - target
    abs_err = err.abs()
    quadratic = torch.clamp(abs_err, max=delta)
    linear = abs_err - quadratic
    return (0.5 * quadratic ** 2 + delta * linear).mean()


logits = torch.randn(8, 1)
targets = torch.randint(0, 2, (8, 1)).float()
pw = torch.tensor([3.0])
print(weighted_bce(logits, targets, pw),
      F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pw))

logits3 = torch.randn(6, 4, requires_grad=True)
target3 = torch.tensor([0, 3, 1, 1, 2, 0])
mine = smoothed_cross_entropy(logits3, target3, smoothing=0.1)
# PyTorch spreads the smoothing over all classes, the hand-written one over the others
theirs = nn.CrossEntropyLoss(label_smoothing=0.1 * 4 / 3)(logits3, target3)
print(f"{mine.item():.4f} {theirs.item():.4f}", torch.isclose(mine, theirs))
mine.backward()
print(torch.allclose(logits3.grad.sum(dim=1), torch.zeros(6), atol=1e-6))

pred = torch.linspace(-3, 3, 7)
target = torch.zeros(7)
print(huber(pred, target), nn.HuberLoss()(pred, target), F.smooth_l1_loss(pred, target))

focal = FocalLoss()
print(focal(logits, targets), FocalLoss(reduction="none")(logits, targets).shape)

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                      nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
for epoch in range(150):
    optimizer.zero_grad()
    out = model(X)
    loss = focal(out, y)
    loss.backward()
    optimizer.step()
    if epoch % 30 == 0:
        with torch.no_grad():
            acc = ((out > 0).float() == y).float().mean()
        print(f"epoch {epoch:3d} focal loss {loss.item():.5f} acc {acc.item():.4f}")

with torch.no_grad():
    probs = torch.sigmoid(model(X))
    preds = (probs > 0.5).float()
    print(f"final accuracy {(preds == y).sum().item() / len(y):.4f}")
    print(f"bce {F.binary_cross_entropy(probs, y):.4f}, "
          f"bce with logits {F.binary_cross_entropy_with_logits(model(X), y):.4f}")
    grid = torch.tensor([[-1.0, 0.5], [0.0, 1.0], [1.0, -0.5], [2.0, 0.5]])
    print(torch.sigmoid(model(grid)).squeeze(1))
