# Reference answers to the exercises of 04_forward_propagation.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 4.1
answer_4_1 = 3 + 4 * (2 + 3 * 3) + 1 * (2 + 3 * 4)    # 61: inputs, then 2 + 3 n_in per neuron

# %% Exercise 4.1 wrong
answer_4_1 = 3 + 4 + 1                               # the neurons only

# %% Exercise 4.2
W_4_2 = np.array([[0.5, 0.0],                        # neuron 1's weight on x2
                  [0.3, 0.8]])

# %% Exercise 4.2 wrong
W_4_2 = np.array([[0.5, -1.2],
                  [0.0, 0.8]])                       # neuron 2's weight on x1: the wrong one

# %% Exercise 4.3
def linear_batch(X, W, b):
    """Z = X W^T + b: X is (n, n_in), W is (n_out, n_in) as in PyTorch, b is (n_out,)."""
    return X @ W.T + b
