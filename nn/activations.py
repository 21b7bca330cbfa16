"""Activation functions as modules (each wraps the function of the same name in functional)."""
from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0); gradient 0 at 0."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class Tanh(Module):
    """tanh x."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x):
        return F.sigmoid(x)


class Softmax(Module):
    """e^x_i / sum_j e^x_j along dim."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"

    def forward(self, x):
        return F.softmax(x, self.dim)


class LogSoftmax(Softmax):
    """x_i - log sum_j e^x_j along dim."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Step(Module):
    """Heaviside step: 1 where x >= 0 else 0; gradient 0 (the perceptron's activation)."""

    def forward(self, x):
        return F.step(x)
