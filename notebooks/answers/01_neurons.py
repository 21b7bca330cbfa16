# Reference answers to the exercises of 01_neurons.ipynb. Each "# %% Exercise N.M" section
# replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the checker
# must reject (tests/test_notebooks.py runs both).

# %% Exercise 1.1
answer_1_1 = "b"           # w < 0: the neuron fires for x < -b/w = 1.5

# %% Exercise 1.1 wrong
answer_1_1 = "a"

# %% Exercise 1.2
w_nand = (-1.0, -1.0)      # AND with every sign flipped
theta_nand = -1.5

# %% Exercise 1.2 wrong
w_nand = (1.0, 1.0)
theta_nand = 0.5           # that is OR

# %% Exercise 1.3
def tanh_slope(x):
    """d tanh(x) / dx, by hand."""
    return 1 - math.tanh(x) ** 2
