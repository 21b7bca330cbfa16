# Dive into Deep Learning, 4.6 "Dropout" (PyTorch edition): dropout_layer from scratch with a
# torch.rand mask, a hand-written MLP with dropout between its layers, then the concise
# version with nn.Dropout, on the 8x8 digits; model.train() / model.eval() switch dropout.
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils import data

torch.manual_seed(0)


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    # In this case, all elements are dropped out
    if dropout == 1:
        return torch.zeros_like(X)
    # In this case, all elements are kept
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
print(X)
print(dropout_layer(X, 0.))
print(dropout_layer(X, 0.5))
print(dropout_layer(X, 1.))

digits = load_digits()
features = torch.tensor(digits.data, dtype=torch.float32) / 16.0
labels = torch.tensor(digits.target, dtype=torch.long)
train_iter = data.DataLoader(data.TensorDataset(features[:1400], labels[:1400]), 64,
                             shuffle=True)
test_X, test_y = features[1400:], labels[1400:]

num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 64, 10, 128, 64
dropout1, dropout2 = 0.2, 0.5


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                 is_training=True):
        super(Net, self).__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        # Use dropout only when training the model
        if self.training == True:
            # Add a dropout layer after the first fully connected layer
            H1 = dropout_layer(H1, dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.training == True:
            # Add a dropout layer after the second fully connected layer
            H2 = dropout_layer(H2, dropout2)
        out = self.lin3(H2)
        return out


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits = net(test_X)
        acc = (logits.argmax(dim=1) == test_y).float().mean().item()
    net.train()
    return acc


def train(net, num_epochs, lr):
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    for epoch in range(num_epochs):
        total, n = 0.0, 0
        for X, y in train_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            total += l.sum().item()
            n += y.numel()
        print(f"epoch {epoch + 1}: train loss {total / n:.4f}, test acc {evaluate(net):.4f}")


net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
train(net, num_epochs=4, lr=0.5)

# Concise implementation
net = nn.Sequential(nn.Flatten(),
                    nn.Linear(64, 128),
                    nn.ReLU(),
                    # Add a dropout layer after the first fully connected layer
                    nn.Dropout(dropout1),
                    nn.Linear(128, 64),
                    nn.ReLU(),
                    # Add a dropout layer after the second fully connected layer
                    nn.Dropout(dropout2),
                    nn.Linear(64, 10))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)
print(net)
train(net, num_epochs=6, lr=1.0)

drop = nn.Dropout(p=0.5)
x = torch.ones(2, 6)
print(drop(x))
drop.eval()
print(drop(x))
print(torch.nn.functional.dropout(x, p=0.25, training=True))
print(torch.nn.functional.dropout(x, p=0.25, training=False))
