"""`SOM`: Kohonen's self-organizing map, trained by competition, not by gradients.

A map is a grid of `rows x cols` units, each holding a prototype vector `w_ij` in input space
(`weights`, shape (rows, cols, dim)). For an input x the best matching unit (BMU) is

    c(x) = argmin_ij ||x - w_ij||

and learning pulls the BMU and its grid neighbours towards x (online rule, one sample at a time):

    w_ij <- w_ij + lr(t) * h_ij(t) * (x - w_ij),
    h_ij(t) = exp(-||r_ij - r_c||^2 / (2 sigma(t)^2))

with r_ij the unit's position on the grid. The batch rule replaces each prototype by the
neighbourhood-weighted mean of all samples at once:

    w_ij <- sum_n h_ij,c(x_n) x_n / sum_n h_ij,c(x_n)

Both the learning rate and the radius sigma shrink over training (`decay`): early on, wide
neighbourhoods order the map globally; later, narrow ones fine-tune each unit. Nothing here is
differentiated: there is no loss to descend (the SOM has no energy function in general), which is
why it lives on plain numpy arrays and not on Tensors.

Quality measures: the quantization error (mean distance from a sample to its BMU's prototype)
measures fit; the topographic error (fraction of samples whose best and second best units are
not grid neighbours) measures how well the map preserves topology.
"""
import numbers

import numpy as np

_DECAYS = ("exponential", "linear")


def _as_rng(rng):
    """A numpy Generator from a seed, a Generator or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise TypeError(f"SOM: rng must be an int seed, a numpy.random.Generator or None, "
                    f"got {type(rng).__name__}")


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"SOM: {name} must be a positive int, got {v!r}")
    return int(v)


def _positive(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v <= 0:
        raise ValueError(f"SOM: {name} must be a positive finite number, got {v!r}")
    return float(v)


def _schedule(decay, start, end, frac):
    """Value of a parameter that goes from `start` (frac = 0) to `end` (frac = 1).

    exponential: start * (end / start) ** frac   (geometric: the same ratio per step)
    linear:      start + (end - start) * frac
    `frac` may be an array (the whole schedule of an epoch at once).
    """
    if decay == "exponential":
        return start * (end / start) ** frac
    return start + (end - start) * frac


class SOM:
    """Kohonen self-organizing map on a rectangular `rows x cols` grid of `dim`-vectors.

    sigma      initial neighbourhood radius in grid units; default max(rows, cols) / 2
    sigma_end  final radius (default 0.5: at the end a unit's direct neighbours still get
               exp(-2) = 0.14 of its update, which keeps the map smooth)
    lr         initial learning rate of the online rule (unused by the batch rule)
    lr_end     final learning rate (default 0.01)
    decay      "exponential" or "linear" schedule from the initial to the final value
    connectivity  8 (units touching by side or corner are neighbours) or 4 (by side only); used
               by `topographic_error` and `u_matrix`
    rng        int seed or numpy.random.Generator: the initial prototypes and the sample order
               come from it, so equal seeds give equal maps

    Prototypes start uniform in [0, 1)^dim; `init_from_data(X)` starts them from the data
    instead (random samples, or the plane of the first two principal components).
    """

    def __init__(self, rows, cols, dim, sigma=None, lr=0.5, decay="exponential", rng=None,
                 sigma_end=0.5, lr_end=0.01, connectivity=8):
        self.rows = _positive_int("rows", rows)
        self.cols = _positive_int("cols", cols)
        self.dim = _positive_int("dim", dim)
        self.sigma = _positive("sigma", max(rows, cols) / 2.0 if sigma is None else sigma)
        self.sigma_end = _positive("sigma_end", sigma_end)
        self.lr = _positive("lr", lr)
        self.lr_end = _positive("lr_end", lr_end)
        if decay not in _DECAYS:
            raise ValueError(f"SOM: decay must be one of {_DECAYS}, got {decay!r}")
        self.decay = decay
        if connectivity not in (4, 8):
            raise ValueError(f"SOM: connectivity must be 4 or 8, got {connectivity!r}")
        self.connectivity = connectivity
        self.rng = _as_rng(rng)
        self.weights = self.rng.random((self.rows, self.cols, self.dim))
        # grid position of every unit, in flat (row-major) unit order: shape (units, 2)
        r, c = np.meshgrid(np.arange(self.rows), np.arange(self.cols), indexing="ij")
        self._coords = np.stack([r.ravel(), c.ravel()], axis=1).astype(np.float64)
        # squared grid distance between every pair of units: (units, units)
        diff = self._coords[:, None, :] - self._coords[None, :, :]
        self._grid_d2 = (diff ** 2).sum(-1)
        self.history = {"quantization_error": [], "topographic_error": [], "lr": [],
                        "sigma": []}

    # ------------------------------------------------------------------ helpers
    @property
    def units(self):
        return self.rows * self.cols

    def __repr__(self):
        return (f"SOM(rows={self.rows}, cols={self.cols}, dim={self.dim}, sigma={self.sigma}, "
                f"lr={self.lr}, decay={self.decay!r})")

    def _check(self, X, what):
        """X as a float64 (n, dim) array; a single vector becomes (1, dim)."""
        X = np.asarray(X)
        shape = X.shape
        if X.dtype.kind not in "fiub":
            raise TypeError(f"SOM.{what}: input must be numeric, got dtype {X.dtype}")
        X = X.astype(np.float64, copy=False)
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"SOM.{what}: expected input of shape (n, {self.dim}) or "
                             f"({self.dim},) for a map of dim {self.dim}, got shape {shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"SOM.{what}: input contains nan or inf")
        return X, single

    def _flat(self):
        return self.weights.reshape(self.units, self.dim)

    def _sq_dists(self, X):
        """||x_n - w_u||^2 for every sample and unit: (n, units), by ||x||^2 - 2 x.w + ||w||^2
        (one matmul instead of an (n, units, dim) difference array); clipped at 0 because the
        expansion can round to tiny negatives."""
        W = self._flat()
        d2 = (X * X).sum(1)[:, None] - 2.0 * X @ W.T + (W * W).sum(1)[None, :]
        return np.maximum(d2, 0.0)

    def _bmu(self, X):
        """Flat index of each sample's best matching unit: (n,)."""
        return self._sq_dists(X).argmin(1)

    def _adjacent(self, a, b):
        """Whether flat units a and b are grid neighbours (arrays of equal shape)."""
        ra, ca = np.divmod(a, self.cols)
        rb, cb = np.divmod(b, self.cols)
        dr, dc = np.abs(ra - rb), np.abs(ca - cb)
        if self.connectivity == 8:
            return np.maximum(dr, dc) == 1
        return dr + dc == 1

    # ------------------------------------------------------------------ queries
    def winner(self, x):
        """Best matching unit argmin_ij ||x - w_ij|| as grid coordinates.

        x of shape (dim,) gives a tuple (i, j); a batch (n, dim) gives an int array (n, 2).
        Ties go to the first unit in row-major order (numpy argmin).
        """
        X, single = self._check(x, "winner")
        rc = np.stack(np.divmod(self._bmu(X), self.cols), axis=1)
        if single:
            return int(rc[0, 0]), int(rc[0, 1])
        return rc

    def map(self, X):
        """Grid coordinates (n, 2) of each sample's best matching unit (winner for a batch)."""
        X, _ = self._check(X, "map")
        return np.stack(np.divmod(self._bmu(X), self.cols), axis=1)

    def transform(self, X):
        """Euclidean distance from each sample to every prototype: (n, rows, cols)."""
        X, _ = self._check(X, "transform")
        return np.sqrt(self._sq_dists(X)).reshape(len(X), self.rows, self.cols)

    def quantize(self, X):
        """Each sample replaced by its best matching unit's prototype: (n, dim)."""
        X, _ = self._check(X, "quantize")
        return self._flat()[self._bmu(X)]

    def hits(self, X):
        """How many samples each unit wins: (rows, cols) counts (the map's activation)."""
        X, _ = self._check(X, "hits")
        return np.bincount(self._bmu(X), minlength=self.units).reshape(self.rows, self.cols)

    def quantization_error(self, X):
        """mean_n ||x_n - w_c(x_n)||: average distance from a sample to its BMU's prototype."""
        X, _ = self._check(X, "quantization_error")
        return float(np.sqrt(self._sq_dists(X).min(1)).mean())

    def topographic_error(self, X):
        """Fraction of samples whose best and second best units are not grid neighbours
        (neighbours per `connectivity`). 0 for a map with a single unit."""
        X, _ = self._check(X, "topographic_error")
        return self._topographic_error(self._sq_dists(X))

    def _topographic_error(self, d2):
        if self.units < 2:
            return 0.0
        two = np.argpartition(d2, 1, axis=1)[:, :2]
        # argpartition leaves the two smallest unordered; order them by distance
        first = np.where(np.take_along_axis(d2, two, 1)[:, 0] <= np.take_along_axis(
            d2, two, 1)[:, 1], two[:, 0], two[:, 1])
        second = np.where(first == two[:, 0], two[:, 1], two[:, 0])
        return float(np.mean(~self._adjacent(first, second)))

    def u_matrix(self):
        """Unified distance matrix: for each unit, the mean Euclidean distance from its prototype
        to its grid neighbours' prototypes, shape (rows, cols). High values mark borders between
        clusters; low values, the inside of a cluster. A 1x1 map gives [[0]]."""
        offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
        if self.connectivity == 8:
            offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
        # pad with nan so that shifted copies line each unit up with a neighbour or with nan
        P = np.full((self.rows + 2, self.cols + 2, self.dim), np.nan)
        P[1:-1, 1:-1] = self.weights
        total = np.zeros((self.rows, self.cols))
        count = np.zeros((self.rows, self.cols))
        for dr, dc in offsets:   # 4 or 8 shifts of the whole grid, not a loop over units
            nb = P[1 + dr:1 + dr + self.rows, 1 + dc:1 + dc + self.cols]
            d = np.sqrt(((self.weights - nb) ** 2).sum(-1))
            ok = ~np.isnan(d)
            total += np.where(ok, d, 0.0)
            count += ok
        return np.divide(total, count, out=np.zeros_like(total), where=count > 0)

    # ------------------------------------------------------------------ training
    def neighbourhood(self, winner, sigma):
        """h_ij = exp(-||r_ij - r_c||^2 / (2 sigma^2)) around unit `winner` ((i, j) or flat
        index): (rows, cols)."""
        if isinstance(winner, tuple):
            winner = winner[0] * self.cols + winner[1]
        return np.exp(-self._grid_d2[winner] / (2.0 * sigma * sigma)).reshape(self.rows,
                                                                               self.cols)

    def init_from_data(self, X, method="sample"):
        """Start the prototypes from the data.

        "sample": each unit takes a random sample (drawn with `rng`, without replacement when
            there are enough samples).
        "pca": the units span the plane of the two leading principal components, +-2 standard
            deviations around the mean (Kohonen's linear initialisation; deterministic).
        """
        X, _ = self._check(X, "init_from_data")
        if method == "sample":
            idx = self.rng.choice(len(X), self.units, replace=len(X) < self.units)
            self.weights = X[idx].reshape(self.rows, self.cols, self.dim).copy()
        elif method == "pca":
            mean = X.mean(0)
            _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
            std = s / np.sqrt(max(len(X) - 1, 1))
            k = min(2, len(std))
            comps = vt[:k] * std[:k, None]
            a = np.linspace(-2.0, 2.0, self.rows) if self.rows > 1 else np.zeros(1)
            b = np.linspace(-2.0, 2.0, self.cols) if self.cols > 1 else np.zeros(1)
            W = mean + a[:, None, None] * comps[0]
            if k > 1:
                W = W + b[None, :, None] * comps[1]
            else:
                W = np.broadcast_to(W, (self.rows, self.cols, self.dim))
            self.weights = np.array(W, dtype=np.float64)
        else:
            raise ValueError(f"SOM.init_from_data: method must be 'sample' or 'pca', "
                             f"got {method!r}")
        return self

    def fit(self, X, epochs=10, mode="online", shuffle=True, verbose=False):
        """Train on X (n, dim) for `epochs` passes; returns self.

        mode "online": Kohonen's rule one sample at a time, in a fresh random order each epoch
            (the update of one sample touches all units in one vectorized step); lr and sigma
            decay every sample, over epochs * n steps.
        mode "batch": every epoch sets each prototype to the neighbourhood-weighted mean of the
            data (no learning rate; converges in fewer epochs; order-free); sigma decays per
            epoch.
        After each epoch the quantization and topographic errors on X, and the lr and sigma
        reached, are appended to `history`. Calling fit again starts a new schedule from
        the initial lr and sigma.
        """
        X, _ = self._check(X, "fit")
        epochs = _positive_int("epochs", epochs)
        if mode not in ("online", "batch"):
            raise ValueError(f"SOM.fit: mode must be 'online' or 'batch', got {mode!r}")
        n = len(X)
        W = self._flat().copy()
        coords = self._coords
        for epoch in range(epochs):
            if mode == "online":
                order = self.rng.permutation(n) if shuffle else np.arange(n)
                frac = (epoch * n + np.arange(n)) / max(epochs * n - 1, 1)
                lrs = _schedule(self.decay, self.lr, self.lr_end, frac)
                sigmas = _schedule(self.decay, self.sigma, self.sigma_end, frac)
                inv2s2 = 1.0 / (2.0 * sigmas * sigmas)
                w2 = (W * W).sum(1)
                for k, i in enumerate(order):    # the online rule is sequential by definition
                    x = X[i]
                    c = int(np.argmin(w2 - 2.0 * (W @ x)))
                    h = np.exp(-((coords - coords[c]) ** 2).sum(1) * inv2s2[k])
                    W += (lrs[k] * h)[:, None] * (x - W)
                    w2 = (W * W).sum(1)
                lr_now, sigma_now = lrs[-1], sigmas[-1]
            else:
                frac = epoch / max(epochs - 1, 1)
                sigma_now = _schedule(self.decay, self.sigma, self.sigma_end, frac)
                lr_now = float("nan")
                self.weights = W.reshape(self.rows, self.cols, self.dim)
                bmu = self._bmu(X)
                H = np.exp(-self._grid_d2[bmu] / (2.0 * sigma_now * sigma_now))  # (n, units)
                num = H.T @ X
                den = H.sum(0)
                # a unit too far from every BMU for exp() to register keeps its prototype
                keep = den <= 1e-300
                W = np.where(keep[:, None], W, num / np.where(keep, 1.0, den)[:, None])
            self.weights = W.reshape(self.rows, self.cols, self.dim).copy()
            d2 = self._sq_dists(X)
            qe = float(np.sqrt(d2.min(1)).mean())
            te = self._topographic_error(d2)
            self.history["quantization_error"].append(qe)
            self.history["topographic_error"].append(te)
            self.history["lr"].append(float(lr_now))
            self.history["sigma"].append(float(sigma_now))
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: quantization error {qe:.4f}, "
                      f"topographic error {te:.4f}, sigma {sigma_now:.3f}")
        return self

    # ------------------------------------------------------------------ persistence
    def state_dict(self):
        """{"weights": (rows, cols, dim) array} (a copy)."""
        return {"weights": self.weights.copy()}

    def load_state_dict(self, state):
        if set(state) != {"weights"}:
            extra = sorted(set(state) - {"weights"})
            raise KeyError("SOM.load_state_dict: expected the single key 'weights'"
                           + (f", got unexpected keys {extra}" if extra else ", it is missing"))
        w = np.asarray(state["weights"], dtype=np.float64)
        if w.shape != self.weights.shape:
            raise ValueError(f"SOM.load_state_dict: 'weights' has shape {w.shape}, the map "
                             f"needs {self.weights.shape}")
        self.weights = w.copy()
