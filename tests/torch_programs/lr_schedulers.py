# Learning-rate schedulers as tutorials use them: StepLR, MultiStepLR, ExponentialLR,
# CosineAnnealingLR, a LambdaLR warmup, OneCycleLR stepped per batch, ReduceLROnPlateau fed the
# validation loss, SequentialLR; scheduler.get_last_lr(), optimizer.param_groups[0]["lr"] and
# the scheduler's state_dict.
import torch
import torch.nn as nn
from torch.optim import lr_scheduler

torch.manual_seed(0)

X = torch.randn(200, 5)
true_w = torch.tensor([[1.5], [-2.0], [0.5], [0.0], [3.0]])
y = X @ true_w + 0.1 * torch.randn(200, 1)
X_val, y_val = X[150:], y[150:]
X, y = X[:150], y[:150]


def make():
    torch.manual_seed(1)
    model = nn.Linear(5, 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def train_epoch(model, optimizer, batch_scheduler=None):
    total = 0.0
    for i in range(0, 150, 50):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X[i:i + 50]), y[i:i + 50])
        loss.backward()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.item()
    return total / 3


def validate(model):
    with torch.no_grad():
        return nn.functional.mse_loss(model(X_val), y_val).item()


schedules = {
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.1),
    "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.8),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=8,
                                                                    eta_min=0.001),
    "LambdaLR warmup": lambda opt: lr_scheduler.LambdaLR(
        opt, lr_lambda=lambda epoch: min(1.0, (epoch + 1) / 4)),
}

for name, make_scheduler in schedules.items():
    model, optimizer = make()
    scheduler = make_scheduler(optimizer)
    print(name)
    for epoch in range(8):
        train_loss = train_epoch(model, optimizer)
        scheduler.step()
        print(f"  epoch {epoch}: loss {train_loss:.5f}, lr {scheduler.get_last_lr()[0]:.6f}")
    print(f"  val {validate(model):.6f}, param_groups lr {optimizer.param_groups[0]['lr']:.6f}")

# OneCycleLR is stepped after every batch
model, optimizer = make()
scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, steps_per_epoch=3, epochs=4)
lrs = []
for epoch in range(4):
    train_loss = train_epoch(model, optimizer, batch_scheduler=scheduler)
    lrs.append(round(optimizer.param_groups[0]["lr"], 6))
    print(f"OneCycleLR epoch {epoch}: loss {train_loss:.5f}, "
          f"momentum {optimizer.param_groups[0]['momentum']:.4f}")
print(lrs)

# ReduceLROnPlateau watches the validation loss
model, optimizer = make()
scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
for epoch in range(10):
    train_epoch(model, optimizer)
    val_loss = validate(model)
    scheduler.step(val_loss)
    print(f"Plateau epoch {epoch}: val {val_loss:.6f}, lr {optimizer.param_groups[0]['lr']}")

# Warmup then cosine decay, chained with SequentialLR
model, optimizer = make()
warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
scheduler = lr_scheduler.SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[3])
for epoch in range(8):
    train_epoch(model, optimizer)
    scheduler.step()
    print(f"Sequential epoch {epoch}: lr {scheduler.get_last_lr()[0]:.6f}")
print(model.weight.data, model.bias.data)

state = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5).state_dict()
print(state["step_size"], state["gamma"], state["last_epoch"], state["base_lrs"])
