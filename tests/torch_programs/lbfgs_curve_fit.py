# Fitting a curve with L-BFGS, as optimization lessons and the style-transfer tutorial drive it:
# opt.step(closure) with the strong-Wolfe line search; then a text classifier in the style of
# PyTorch's AG_NEWS tutorial (EmbeddingBag with offsets, mean mode) trained with SGD and
# gradient clipping, with a full backward hook reporting the gradient that reaches the bag.
# The curve is fitted in float64: in float32, L-BFGS's tens of iterations amplify the rounding
# of its dot products, which numpy's BLAS and torch's kernels sum in different orders, and the
# two trajectories part in the fourth printed digit after about 20 iterations.
import torch
import torch.nn as nn

torch.manual_seed(3)
x = torch.linspace(-2, 2, 50, dtype=torch.float64).unsqueeze(1)
y = torch.sin(2 * x) + 0.5 * x + 0.05 * torch.randn(50, 1, dtype=torch.float64)
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).double()
opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=10,
                        line_search_fn="strong_wolfe")
mse = nn.MSELoss()


def closure():
    opt.zero_grad()
    loss = mse(model(x), y)
    loss.backward()
    return loss


for i in range(5):
    loss = opt.step(closure)
    print(f"lbfgs step {i}: loss {loss.item():.6f}")
state = opt.state[opt._params[0]]
print("function evaluations:", state["func_evals"], "iterations:", state["n_iter"])


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


vocab, classes = 30, 3
text_model = TextClassificationModel(vocab, 8, classes)
seen = []
text_model.fc.register_full_backward_hook(
    lambda m, grad_input, grad_output: seen.append(grad_input[0].abs().sum().item()))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(text_model.parameters(), lr=5)
for step in range(40):
    labels = torch.randint(0, classes, (8,))
    lengths = torch.randint(2, 6, (8,))
    text = torch.cat([torch.randint(0, 10, (int(k),)) + 10 * int(c)
                      for k, c in zip(lengths, labels)])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    predicted = text_model(text, offsets)
    loss = criterion(predicted, labels)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(text_model.parameters(), 0.1)
    optimizer.step()
    if step % 10 == 9:
        acc = (predicted.argmax(1) == labels).sum().item() / len(labels)
        print(f"text step {step + 1}: loss {loss.item():.4f}, accuracy {acc:.3f}, "
              f"|grad into fc| {seen[-1]:.4f}")
