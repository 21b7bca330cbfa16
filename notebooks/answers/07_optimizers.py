# Reference answers to the exercises of 07_optimizers.ipynb. Each "# %% Exercise N.M" section
# replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the checker
# must reject (tests/test_notebooks.py runs both).

# %% Exercise 7.1
answer_7_1 = "c"       # v = g (1 + beta + beta^2 + ...) -> g / (1 - beta) = 10 g

# %% Exercise 7.1 wrong
answer_7_1 = "d"

# %% Exercise 7.2
momentum_7_2 = 0.9

# %% Exercise 7.3
def sgd_momentum(grad_fn, theta, lr, beta, steps):
    """Returns the list of parameter vectors, the start included."""
    theta = np.array(theta, dtype=float)
    v = np.zeros_like(theta)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad_fn(theta)
        v = beta * v + g
        theta = theta - lr * v          # step along the velocity, not the raw gradient
        path.append(theta.copy())
    return path
