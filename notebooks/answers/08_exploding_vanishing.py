# Reference answers to the exercises of 08_exploding_vanishing.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 8.1
answer_8_1 = "c"       # 1.5 per layer for 19 layers: 1.5 ** 19 = 2217

# %% Exercise 8.1 wrong
answer_8_1 = "a"

# %% Exercise 8.2
clip_8_2 = 1.0

# %% Exercise 8.2 wrong
clip_8_2 = 1e6         # never reached: no clipping at all

# %% Exercise 8.3
def total_grad_norm(parameters):
    """The norm of all the parameters' gradients as one vector."""
    return sum(p.grad.pow(2).sum() for p in parameters).sqrt().item()
