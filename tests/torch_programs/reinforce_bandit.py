# REINFORCE as PyTorch's examples/reinforcement_learning/reinforce.py writes it, on a task that
# needs no gym: a policy network picks one of 4 arms from a context vector; the reward is 1 for
# the arm the context points to. Categorical(probs), sample, log_prob, discounted returns
# normalized by their std, and a hook printing the size of the gradient reaching the logits.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.manual_seed(543)


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(4, 32)
        self.dropout = nn.Dropout(p=0.2)
        self.affine2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


policy = Policy()
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = 1e-6
gamma = 0.9
grad_sizes = []


def select_action(state):
    probs = policy(state.unsqueeze(0))
    m = Categorical(probs)
    action = m.sample()
    return action.item(), m.log_prob(action), m.entropy()


for episode in range(200):
    log_probs, rewards, entropies = [], [], []
    for t in range(8):
        target = torch.randint(0, 4, (1,)).item()
        state = F.one_hot(torch.tensor(target), 4).float() + 0.1 * torch.randn(4)
        action, log_prob, entropy = select_action(state)
        log_probs.append(log_prob)
        entropies.append(entropy)
        rewards.append(1.0 if action == target else 0.0)
    R, returns = 0.0, []
    for r in rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    policy_loss = torch.cat([-lp * R for lp, R in zip(log_probs, returns)]).sum()
    policy_loss = policy_loss - 0.01 * torch.stack(entropies).sum()
    optimizer.zero_grad()
    handle = policy.affine2.weight.register_hook(lambda g: grad_sizes.append(g.norm().item()))
    policy_loss.backward()
    handle.remove()
    optimizer.step()
    if episode % 40 == 39:
        print(f"episode {episode + 1}: reward {sum(rewards):.0f}/8, loss {policy_loss.item():.4f}, "
              f"|grad W2| {grad_sizes[-1]:.4f}")

policy.eval()
with torch.no_grad():
    probs = policy(torch.eye(4))
print("greedy arms:", probs.argmax(dim=1).tolist())
print("probabilities:", [[round(p, 3) for p in row] for row in probs.tolist()])
print("hooks called:", len(grad_sizes))
