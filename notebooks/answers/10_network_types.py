# Reference answers to the exercises of 10_network_types.ipynb. Each "# %% Exercise N.M" section
# replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the checker
# must reject (tests/test_notebooks.py runs both).

# %% Exercise 10.1
answer_10_1 = (5, 8, 4, 4)     # 8 filters, padding keeps 8x8, pooling halves it

# %% Exercise 10.1 wrong
answer_10_1 = (5, 1, 4, 4)     # the channels come from the filters, not the input

# %% Exercise 10.2
k_10_2 = 5                     # two k x k layers see 2k - 1 = 9 pixels across: all 8

# %% Exercise 10.3
def max_pool_2x2(maps):
    """maps: (n, c, h, w) with even h, w; returns (n, c, h/2, w/2), the max of each 2x2 block."""
    n, c, h, w = maps.shape
    # row index = 2 * block_row + offset: the block index comes first, the offset second
    return maps.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
