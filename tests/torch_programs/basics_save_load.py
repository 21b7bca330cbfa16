# Learn the Basics: Save and Load the Model, and the recipes "What is a state_dict?" and
# "Saving and loading a general checkpoint" (pytorch.org/tutorials/recipes/recipes/)
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
print(net)

optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

# Print model's state_dict
print("Model's state_dict:")
for param_tensor in net.state_dict():
    print(param_tensor, "\t", net.state_dict()[param_tensor].size())

# Print optimizer's state_dict
print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

inputs = torch.randn(4, 3, 32, 32)
labels = torch.tensor([1, 0, 4, 9])
criterion = nn.CrossEntropyLoss()
for epoch in range(3):
    optimizer.zero_grad()
    loss = criterion(net(inputs), labels)
    loss.backward()
    optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.6f}")

print(optimizer.state_dict()["state"][0]["momentum_buffer"][0, 0, 0])

with tempfile.TemporaryDirectory() as tmp:
    # Saving & loading the weights
    path = os.path.join(tmp, "model_weights.pth")
    torch.save(net.state_dict(), path)
    model = Net()
    print(torch.equal(model.fc3.bias, net.fc3.bias))
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    print(torch.equal(model.fc3.bias, net.fc3.bias))
    with torch.no_grad():
        print(model(inputs[:2]))

    # Saving and loading a general checkpoint
    PATH = os.path.join(tmp, "model.pt")
    EPOCH = 5
    LOSS = 0.4
    torch.save({
        "epoch": EPOCH,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": LOSS,
    }, PATH)

    model = Net()
    optimizer2 = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    checkpoint = torch.load(PATH, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
    epoch = checkpoint["epoch"]
    loss = checkpoint["loss"]
    print(epoch, loss, sorted(checkpoint))
    model.train()

    # both optimizers continue from the same state
    for opt, m in ((optimizer, net), (optimizer2, model)):
        opt.zero_grad()
        loss = criterion(m(inputs), labels)
        loss.backward()
        opt.step()
        print(f"resumed: loss {loss.item():.6f}, fc3.bias {m.fc3.bias.data}")

    # Saving and loading a whole model
    whole = os.path.join(tmp, "model_whole.pth")
    torch.save(model, whole)
    model3 = torch.load(whole, weights_only=False)
    model3.eval()
    print(type(model3).__name__, torch.equal(model3.fc1.weight, model.fc1.weight))

    # a tensor and a dict of tensors
    t = torch.arange(6).reshape(2, 3)
    torch.save({"t": t, "x": torch.ones(2)}, os.path.join(tmp, "tensors.pt"))
    back = torch.load(os.path.join(tmp, "tensors.pt"))
    print(back["t"], back["x"], back["t"].dtype)

missing = model.load_state_dict({k: v for k, v in net.state_dict().items() if k != "fc3.bias"},
                                strict=False)
print(missing.missing_keys, missing.unexpected_keys)
