# Reference answers to the exercises of 09_regularization_normalization.ipynb. Each
# "# %% Exercise N.M" section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a
# wrong answer the checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 9.1
answer_9_1 = "c"       # survivors are scaled by 1 / (1 - p) = 1.25 so the mean stays 1

# %% Exercise 9.1 wrong
answer_9_1 = "b"

# %% Exercise 9.2
lam_9_2 = 1e-3

# %% Exercise 9.2 wrong
lam_9_2 = 1e-1         # so strong that every weight dies, and the accuracy with them

# %% Exercise 9.3
def my_dropout(x, p, rng, training=True):
    """Inverted dropout of the array x with drop probability p."""
    if not training:
        return x
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)          # scale the survivors: the expected value stays x
