"""Networks made of scalar `Value`s, small enough to draw weight by weight (as micrograd).

    model = nn.MLP(2, [4, 1], rng=0)          # 2 inputs, a hidden layer of 4, one output
    out = model([1.0, -2.0])                   # a Value; out.backward() fills every w.grad

Also `Perceptron`, Rosenblatt's classifier: a step activation trained by the perceptron rule
w += lr (y - y_hat) x. It is not trained by gradients (the step has none); it converges on
linearly separable data (AND, OR) and can never fit XOR.
"""
import numpy as np

from autograd import Value

from .init import as_rng

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class _ScalarModule:
    """parameters() and zero_grad() for the scalar classes (which are not Tensor Modules)."""

    def parameters(self):
        raise NotImplementedError

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def num_parameters(self):
        return len(self.parameters())


class Neuron(_ScalarModule):
    """act(sum_i w_i x_i + b) with w_i ~ U(-1, 1) and b = 0; act is tanh, relu, sigmoid or
    linear (the identity)."""

    def __init__(self, nin, activation="tanh", rng=None):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"Neuron: activation must be one of {_ACTIVATIONS}, got "
                             f"{activation!r}")
        if int(nin) < 1:
            raise ValueError(f"Neuron: nin must be at least 1, got {nin}")
        rng = as_rng(rng)
        self.nin = int(nin)
        self.activation = activation
        self.w = [Value(float(rng.uniform(-1, 1)), label=f"w{i}") for i in range(self.nin)]
        self.b = Value(0.0, label="b")

    def __call__(self, x):
        if len(x) != self.nin:
            raise ValueError(f"Neuron(nin={self.nin}): expected {self.nin} inputs, got "
                             f"{len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        if self.activation == "tanh":
            return act.tanh()
        if self.activation == "relu":
            return act.relu()
        if self.activation == "sigmoid":
            return act.sigmoid()
        return act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"Neuron(nin={self.nin}, activation={self.activation!r})"


class Layer(_ScalarModule):
    """nout neurons reading the same inputs; returns a list of Values (one Value if nout == 1)."""

    def __init__(self, nin, nout, activation="tanh", rng=None):
        rng = as_rng(rng)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(int(nout))]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        n = self.neurons[0]
        return (f"Layer(nin={n.nin}, nout={len(self.neurons)}, "
                f"activation={n.activation!r})")


class MLP(_ScalarModule):
    """Layers of sizes nouts after nin inputs: `activation` on hidden layers, `output_activation`
    (linear by default) on the last one."""

    def __init__(self, nin, nouts, activation="tanh", output_activation="linear", rng=None):
        rng = as_rng(rng)
        nouts = list(nouts)
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer size")
        sizes = [int(nin)] + nouts
        self.layers = [
            Layer(sizes[i], sizes[i + 1],
                  activation if i < len(nouts) - 1 else output_activation, rng)
            for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return "MLP(\n" + "\n".join(f"  {layer!r}" for layer in self.layers) + \
            f"\n)  # {self.num_parameters()} parameters"


class Perceptron:
    """Rosenblatt's perceptron: y_hat = step(w . x + b), step(z) = 1 if z >= 0 else 0.

    fit applies the perceptron rule sample by sample: w += lr (y - y_hat) x, b += lr (y - y_hat).
    Labels are 0/1. If the data are linearly separable the rule reaches zero errors in finitely
    many epochs (Novikoff); otherwise (XOR) some sample is misclassified in every epoch.
    `errors_` records the number of misclassified samples in each epoch.
    """

    def __init__(self, nin, lr=1.0, rng=None):
        self.nin = int(nin)
        self.lr = float(lr)
        self.rng = as_rng(rng)
        self.w = np.zeros(self.nin)
        self.b = 0.0
        self.errors_ = []

    def _check(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.nin:
            raise ValueError(f"Perceptron(nin={self.nin}): expected inputs of shape (n, "
                             f"{self.nin}), got shape {X.shape}")
        return X

    def decision_function(self, X):
        """w . x + b for each row of X."""
        return self._check(X) @ self.w + self.b

    def predict(self, X):
        """step(w . x + b) in {0, 1}."""
        return (self.decision_function(X) >= 0).astype(np.int64)

    def fit(self, X, y, epochs=100, shuffle=False):
        """Run the perceptron rule for up to `epochs` passes, stopping after an epoch without
        errors. Returns self; the errors of each epoch are in `errors_`."""
        X = self._check(X)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"Perceptron.fit: y must have shape ({len(X)},), got {y.shape}")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("Perceptron.fit: labels must be 0 or 1")
        self.errors_ = []
        for _ in range(int(epochs)):
            order = self.rng.permutation(len(X)) if shuffle else range(len(X))
            errors = 0
            for i in order:            # the rule is sequential: each update sees the last
                y_hat = 1 if X[i] @ self.w + self.b >= 0 else 0
                delta = self.lr * (y[i] - y_hat)
                if delta:
                    self.w = self.w + delta * X[i]
                    self.b += delta
                    errors += 1
            self.errors_.append(errors)
            if errors == 0:
                break
        return self

    def __repr__(self):
        return f"Perceptron(nin={self.nin}, lr={self.lr})"
