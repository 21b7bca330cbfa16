# Reference answers to the exercises of 03_perceptron_and_mlp.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 3.1
answer_3_1 = "b"   # from w = 0 every update is lr times the lr = 1 update: the same predictions

# %% Exercise 3.1 wrong
answer_3_1 = "a"

# %% Exercise 3.2
activation_3_2 = "tanh"

# %% Exercise 3.3
def add_feature(X):
    """X: (n, 2) points; returns (n, 3) features for the bias-free network."""
    return np.c_[X, np.ones(len(X))]      # a constant input: its weights act as biases
    # the other good answer: the squared radius, np.c_[X, (X ** 2).sum(1)]

# %% Exercise 3.3 wrong
def add_feature(X):
    """X: (n, 2) points; returns (n, 3) features for the bias-free network."""
    return np.c_[X, X[:, 0] + X[:, 1]]    # linear in x: still homogeneous, still helpless
