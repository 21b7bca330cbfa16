# Time-series forecasting as courses teach it: windows of a noisy sine wave, a GRU
# (batch_first) whose last hidden state predicts the next value, Adam, MSE; then the same with
# an nn.GRUCell unrolled by hand, and an autoregressive forecast.
import math

import torch
import torch.nn as nn

torch.manual_seed(42)

t = torch.arange(0, 400, dtype=torch.float32) * 0.1
series = torch.sin(t) + 0.05 * torch.randn(t.shape)


def make_windows(series, window):
    xs, ys = [], []
    for i in range(len(series) - window):
        xs.append(series[i:i + window])
        ys.append(series[i + window])
    return torch.stack(xs).unsqueeze(-1), torch.stack(ys).unsqueeze(-1)


X, y = make_windows(series, 20)
print(X.shape, y.shape)
split = int(0.8 * len(X))
X_train, y_train, X_test, y_test = X[:split], y[:split], X[split:], y[split:]


class GRUModel(nn.Module):
    def __init__(self, input_size=1, hidden_size=16, num_layers=1):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h0 = torch.zeros(self.gru.num_layers, x.size(0), self.gru.hidden_size)
        out, _ = self.gru(x, h0)
        return self.fc(out[:, -1, :])


model = GRUModel()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

batch_size = 32
for epoch in range(6):
    model.train()
    permutation = torch.randperm(X_train.size(0))
    epoch_loss = 0.0
    for i in range(0, X_train.size(0), batch_size):
        indices = permutation[i:i + batch_size]
        batch_x, batch_y = X_train[indices], y_train[indices]
        optimizer.zero_grad()
        loss = criterion(model(batch_x), batch_y)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item() * batch_x.size(0)
    model.eval()
    with torch.no_grad():
        test_loss = criterion(model(X_test), y_test)
    print(f"Epoch [{epoch + 1}/6], Loss: {epoch_loss / X_train.size(0):.6f}, "
          f"Test: {test_loss.item():.6f}")

with torch.no_grad():
    preds = model(X_test[:5])
print(torch.cat([preds, y_test[:5]], dim=1))


# The same recurrence written with a cell
class CellModel(nn.Module):
    def __init__(self, hidden_size=8):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.GRUCell(1, hidden_size)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h = torch.zeros(x.size(0), self.hidden_size)
        for step in range(x.size(1)):
            h = self.cell(x[:, step, :], h)
        return self.fc(h)


cell_model = CellModel()
optimizer = torch.optim.Adam(cell_model.parameters(), lr=0.02)
for step in range(40):
    idx = torch.randint(0, X_train.size(0), (32,))
    optimizer.zero_grad()
    loss = criterion(cell_model(X_train[idx]), y_train[idx])
    loss.backward()
    optimizer.step()
    if step % 10 == 9:
        print(f"cell step {step + 1}: {loss.item():.6f}")

# An autoregressive forecast: feed each prediction back in
window = X_test[0:1].clone()
forecast = []
with torch.no_grad():
    for _ in range(10):
        nxt = model(window)
        forecast.append(nxt.item())
        window = torch.cat([window[:, 1:, :], nxt.unsqueeze(1)], dim=1)
print([round(v, 4) for v in forecast])
print(f"rmse {math.sqrt(test_loss.item()):.5f}")
