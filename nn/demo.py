"""`python -m nn.demo` (`make demo`): the first thing to run.

Trains a 64-64-10 MLP on scikit-learn's handwritten digits (8x8 images, no download) with Adam,
with a progress bar, prints the test accuracy, and writes three pictures whose paths it prints:
the loss curves, the confusion matrix on the test set, and the computation graph of one trained
neuron evaluated on one test image, built from scalar `Value`s and coloured by gradient size.
"""
import argparse
import os

import numpy as np

import autograd
import optim
from autograd import Tensor, Value

import nn
import nn.functional as F


def load_digits_split(test_fraction=0.25, seed=0):
    """Digits scaled to [0, 1], shuffled with `seed` and split into train and test."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def batches(x, y, batch_size, rng):
    """A callable epoch -> shuffled (Tensor, labels) batches, for optim.fit."""
    def epoch_batches(epoch):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            yield Tensor(x[idx]), y[idx]
    return epoch_batches


def accuracy(logits, labels):
    return float((logits._data.argmax(axis=1) == labels).mean())


def train_digits(epochs=30, hidden=64, lr=1e-2, seed=0, progress=True):
    """Train the MLP; returns (model, history, test accuracy, test predictions, test data)."""
    x_train, y_train, x_test, y_test = load_digits_split(seed=seed)
    model = nn.Sequential(nn.Linear(64, hidden, rng=seed), nn.ReLU(),
                          nn.Linear(hidden, 10, rng=seed + 1))
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history = optim.fit(model, F.cross_entropy, opt, batches(x_train, y_train, 64, rng),
                        epochs=epochs, val_data=[(Tensor(x_test), y_test)], metric=accuracy,
                        progress=progress)
    model.eval()
    with autograd.no_grad():
        logits = model(Tensor(x_test))
    pred = logits._data.argmax(axis=1)
    return model, history, float((pred == y_test).mean()), pred, (x_test, y_test)


def confusion_matrix(labels, pred, n_classes=10):
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (labels, pred), 1)
    return m


def neuron_graph(model, image, unit=None, inputs=8):
    """Hidden unit `unit` of the first layer on one image, rebuilt from Values and backpropagated:
    relu(sum_i w_i x_i + b). Only the `inputs` strongest terms w_i x_i are drawn, to keep the
    picture legible. By default the unit most excited by the image (a silent ReLU has zero
    gradients everywhere, which makes a dull picture)."""
    layer = model[0]
    if unit is None:
        unit = int(np.argmax(layer.weight._data @ image + layer.bias._data))
    w = layer.weight._data[unit]
    keep = np.argsort(-np.abs(w * image))[:inputs]
    act = Value(float(layer.bias._data[unit]), label="b")
    for i in sorted(keep):
        act = act + Value(float(w[i]), label=f"w{i}") * Value(float(image[i]), label=f"x{i}")
    out = act.relu()
    out.label = f"h{unit}"
    out.backward()
    return autograd.draw_graph(out, color_by_grad=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default="demo_output")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    print("Training a 64-64-10 MLP on the scikit-learn digits (1347 train / 449 test images)")
    model, history, acc, pred, (x_test, y_test) = train_digits(args.epochs, seed=args.seed)
    print(model)
    print(f"\nTest accuracy: {acc:.2%}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["loss"], label="train")
    ax.plot(history["val_loss"], label="test")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title="Digits MLP: loss")
    ax.legend()
    path = os.path.join(args.out_dir, "loss_curve.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)

    cm = confusion_matrix(y_test, pred)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), n in np.ndenumerate(cm):
        if n:
            ax.text(j, i, str(n), ha="center", va="center",
                    color="white" if n > cm.max() / 2 else "black", fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10),
           title=f"Confusion matrix (accuracy {acc:.1%})")
    path = os.path.join(args.out_dir, "confusion_matrix.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)

    graph = neuron_graph(model, x_test[0])
    from autograd.draw import dot_available
    if dot_available():
        path = os.path.join(args.out_dir, "neuron_graph")
        graph.render(path, format="svg", cleanup=True)
        path += ".svg"
    else:
        path = os.path.join(args.out_dir, "neuron_graph.dot")
        with open(path, "w") as f:
            f.write(graph.source)
    written.append(path)

    print("\nWrote:")
    for path in written:
        print(f"  {path}")
    return acc


if __name__ == "__main__":
    main()
