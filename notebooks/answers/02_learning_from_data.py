# Reference answers to the exercises of 02_learning_from_data.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 2.1
answer_2_1 = "c"     # the factor 1 - lr * lambda_max = -0.9: shrinks, but flips sign every step

# %% Exercise 2.1 wrong
answer_2_1 = "a"

# %% Exercise 2.2
lr_2_2 = 0.5         # near 2 / (lambda_min + lambda_max), where both factors are smallest

# %% Exercise 2.2 wrong
lr_2_2 = 0.05        # far too slow: 20 steps cover only a third of the way

# %% Exercise 2.3
def train_2_3(X, y, lr=0.1, steps=50):
    """Gradient descent on the MSE of x . w + b from w = 0, b = 0; returns the loss per step."""
    w = tensor(np.zeros(X.shape[1]), requires_grad=True)
    b = tensor(np.zeros(()), requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((tensor(X) @ w + b - tensor(y)) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        w.data -= lr * w.grad
        b.data -= lr * b.grad
        w.grad = b.grad = None      # backward() adds to .grad: clear it before the next step
    return losses
