# Reference answers to the exercises of 05_backpropagation.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 5.1
answer_5_1 = 7.0       # d(a*a + a)/da = 2a + 1: a*a contributes a twice (3 + 3), + a adds 1

# %% Exercise 5.1 wrong
answer_5_1 = 4.0       # 3 + 1: one path of a * a forgotten

# %% Exercise 5.2
def hand_dL_dw1(x1, x2, t, w1, w2, b):
    """dL/dw1 for L = (act(w1 x1 + w2 x2 + b) - t)^2, by the chain rule."""
    n = w1 * x1 + w2 * x2 + b
    o = 1 / (1 + math.exp(-n))
    return 2 * (o - t) * o * (1 - o) * x1          # sigmoid' = o (1 - o)

# %% Exercise 5.2 wrong
def hand_dL_dw1(x1, x2, t, w1, w2, b):
    """dL/dw1 for L = (act(w1 x1 + w2 x2 + b) - t)^2, by the chain rule."""
    n = w1 * x1 + w2 * x2 + b
    o = 1 / (1 + math.exp(-n))
    return 2 * (o - t) * (1 - o ** 2) * x1         # sigmoid's value, tanh's derivative

# %% Exercise 5.3
def silu_vjp(xp, g, out, ctx, a):
    """g * d silu(a)/da, with out = silu(a); xp is the array module (numpy)."""
    s = 1 / (1 + xp.exp(-a))
    return g * (s + a * s * (1 - s))                # product rule: a' s + a s'
