# Reference answers to the exercises of 06_loss_functions.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 6.1
answer_6_1 = -0.5          # sigmoid(0) - y = 1/2 - 1

# %% Exercise 6.1 wrong
answer_6_1 = 0.5           # the sign: the loss falls as z grows towards the right answer

# %% Exercise 6.2
loss_6_2 = F.l1_loss       # every residual pulls with size 1: the outlier is one vote of 20

# %% Exercise 6.3
def bce_with_logits(z, y):
    """Elementwise BCE of logits z (a Tensor) against targets y (0 or 1), no reduction."""
    # -log sigmoid(z) = log(1 + e^-z) = max(z, 0) - z + log(1 + e^-|z|); adding (1 - y) z to
    # turn -log sigmoid into -log(1 - sigmoid) for y = 0 gives max(z, 0) - y z + log(1 + e^-|z|)
    return z.relu() - y * z + (1 + (-abs(z)).exp()).log()
