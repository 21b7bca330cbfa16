# Reference answers to the exercises of 00_build_your_own_engine.ipynb. Each "# %% Exercise N.M"
# section replaces that exercise's answer cell; "# %% Exercise N.M wrong" is a wrong answer the
# checker must reject (tests/test_notebooks.py runs both).

# %% Exercise 0.1
def __mul__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad    # d(a b)/da = b
        other.grad += self.data * out.grad    # d(a b)/db = a
    out._backward = _backward
    return out


Value.__mul__ = __mul__

# %% Exercise 0.1 wrong
def __mul__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += self.data * out.grad     # the two local derivatives swapped
        other.grad += other.data * out.grad
    out._backward = _backward
    return out


Value.__mul__ = __mul__

# %% Exercise 0.2
def tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out


Value.tanh = tanh

# %% Exercise 0.2 wrong
def tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t) * out.grad       # the square forgotten
    out._backward = _backward
    return out


Value.tanh = tanh

# %% Exercise 0.3
def build_topo(root):
    """Every Value root depends on (root included), each after all of its children."""
    topo, visited = [], set()

    def visit(v):
        if id(v) not in visited:
            visited.add(id(v))
            for child in v._prev:
                visit(child)
            topo.append(v)
    visit(root)
    return topo


def backward(self):
    topo = build_topo(self)
    self.grad = 1.0
    for v in reversed(topo):
        v._backward()


Value.backward = backward

# %% Exercise 0.3 wrong
def build_topo(root):
    """Every Value root depends on (root included), each after all of its children."""
    topo, visited = [], set()

    def visit(v):
        if id(v) not in visited:
            visited.add(id(v))
            topo.append(v)                    # the node before its children: parents first
            for child in v._prev:
                visit(child)
    visit(root)
    return topo


def backward(self):
    topo = build_topo(self)
    self.grad = 1.0
    for v in reversed(topo):
        v._backward()


Value.backward = backward

# %% Exercise 0.4
def exp(self):
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad      # add: x may be used elsewhere too
    out._backward = _backward
    return out


Value.exp = exp
