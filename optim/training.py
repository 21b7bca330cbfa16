"""`fit`: the usual training loop, thin, with a tqdm bar and a history for plotting."""
import math

from autograd.engine import no_grad

from .clip import clip_grad_norm_


def _batches(data, epoch):
    return data(epoch) if callable(data) else data


def _number(x):
    return float(x.item() if hasattr(x, "item") else x)


def _run(model, loss_fn, batches, metric, optimizer=None, clip_norm=None):
    """Mean loss and mean metric over the batches; trains when an optimizer is given."""
    total_loss = total_metric = 0.0
    n = 0
    for x, y in batches:
        out = model(x)
        loss = loss_fn(out, y)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            if clip_norm is not None:
                clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                clip_norm)
            optimizer.step()
        total_loss += _number(loss)
        if metric is not None:
            total_metric += _number(metric(out, y))
        n += 1
    if n == 0:
        raise ValueError("fit: the data gave no batches (expected an iterable of (x, y) pairs)")
    return total_loss / n, (total_metric / n if metric is not None else math.nan)


def fit(model, loss_fn, optimizer, data, epochs=1, *, val_data=None, metric=None,
        scheduler=None, early_stopping=None, clip_norm=None, progress=True):
    """Train `model` for `epochs` passes over `data` and return the history.

    Each batch: out = model(x); loss = loss_fn(out, y); zero_grad; backward; (clip the joint
    gradient norm to clip_norm); optimizer.step(). After each epoch: evaluate val_data under
    no_grad, step the scheduler, and ask early_stopping (watching the validation loss if there
    is val_data, else the training loss; the model itself is snapshotted when it has
    state_dict(), else the optimizer's parameters).

    data, val_data: an iterable of (x, y) batches that can be iterated once per epoch, or a
        callable epoch -> such an iterable (to shuffle with an explicit rng per epoch).
    metric: optional callable (out, y) -> number, averaged over batches like the loss.
    progress: show a tqdm bar over epochs with the latest loss and metric (needs tqdm).
    Returns {"loss", "metric", "val_loss", "val_metric", "lr"}: one list entry per epoch
    (metric entries are nan without a metric, val entries nan without val_data).
    """
    history = {"loss": [], "metric": [], "val_loss": [], "val_metric": [], "lr": []}
    epochs_iter = range(epochs)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = bar = tqdm(epochs_iter, desc="fit", unit="epoch")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    watched = model if hasattr(model, "state_dict") else params
    for epoch in epochs_iter:
        history["lr"].append(optimizer.param_groups[0]["lr"])
        loss, score = _run(model, loss_fn, _batches(data, epoch), metric, optimizer, clip_norm)
        history["loss"].append(loss)
        history["metric"].append(score)
        val_loss = val_score = math.nan
        if val_data is not None:
            with no_grad():
                val_loss, val_score = _run(model, loss_fn, _batches(val_data, epoch), metric)
        history["val_loss"].append(val_loss)
        history["val_metric"].append(val_score)
        if bar is not None:
            shown = {"loss": f"{loss:.4g}"}
            if metric is not None:
                shown["metric"] = f"{score:.4g}"
            if val_data is not None:
                shown["val_loss"] = f"{val_loss:.4g}"
            bar.set_postfix(shown)
        if scheduler is not None:
            scheduler.step()
        if early_stopping is not None:
            watch = val_loss if val_data is not None else loss
            if early_stopping.step(watch, watched):
                break
    if bar is not None:
        bar.close()
    return history
