"""nn.SOM: learning measured by quantization and topographic error, queries against brute
force, and the errors for bad input."""
import numpy as np
import pytest

from nn.som import SOM


@pytest.fixture(scope="module")
def colours():
    return np.random.default_rng(0).random((500, 3))


@pytest.fixture(scope="module")
def square():
    return np.random.default_rng(1).random((400, 2))


@pytest.mark.parametrize("decay", ["exponential", "linear"])
def test_online_som_orders_colours(colours, decay):
    # Measured (seed 1, 10x10, 10 epochs): topographic error 0.90 at the random start, 0.02-0.05
    # after; quantization error over the epochs 0.31 -> 0.13 (exp.), 0.34 -> 0.13 (linear).
    som = SOM(10, 10, 3, rng=1, decay=decay)
    te0 = som.topographic_error(colours)
    som.fit(colours, epochs=10)
    qe, te = som.history["quantization_error"], som.history["topographic_error"]
    assert len(qe) == len(te) == 10
    assert te0 > 0.8
    assert te[-1] < 0.1
    assert qe[-1] < 0.5 * qe[0]
    assert qe[-1] < 0.16
    assert qe[-1] == pytest.approx(som.quantization_error(colours))
    assert te[-1] == pytest.approx(som.topographic_error(colours))
    # the schedules reach their final values
    assert som.history["sigma"][-1] == pytest.approx(0.5)
    assert som.history["lr"][-1] == pytest.approx(0.01)
    assert np.all(np.diff(som.history["sigma"]) < 0)


def test_batch_som_on_points_in_a_square(square):
    # Measured (seed 3, 8x8, 10 epochs): topographic error 0.90 at the start, 0.01-0.035 over
    # the epochs (seeds 0 and 1 reach 0); quantization error 0.36 -> 0.047.
    som = SOM(8, 8, 2, rng=3)
    te0 = som.topographic_error(square)
    som.fit(square, epochs=10, mode="batch")
    qe, te = som.history["quantization_error"], som.history["topographic_error"]
    assert te0 > 0.8
    assert te[-1] < 0.06
    assert qe[-1] < 0.2 * qe[0]
    assert qe[-1] < 0.06
    # the trained map spans the square: its prototypes sit inside it and reach near each corner
    W = som.weights.reshape(-1, 2)
    assert W.min() > -0.01 and W.max() < 1.01
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    # (measured 0.16 for the farthest corner; a map collapsed to the centre would give 0.7)
    assert np.sqrt(((corners[:, None] - W[None]) ** 2).sum(-1)).min(1).max() < 0.25


def test_online_som_on_points_is_topology_preserving(square):
    som = SOM(8, 8, 2, rng=3).fit(square, epochs=10)
    assert som.topographic_error(square) <= 0.01
    assert som.quantization_error(square) < 0.07


def test_winner_matches_brute_force(colours):
    som = SOM(6, 7, 3, rng=2).fit(colours[:100], epochs=2)
    X = np.random.default_rng(5).random((50, 3))
    d = np.linalg.norm(X[:, None, None, :] - som.weights[None], axis=-1)   # (n, rows, cols)
    flat = d.reshape(50, -1).argmin(1)
    expected = np.stack([flat // 7, flat % 7], axis=1)
    np.testing.assert_array_equal(som.winner(X), expected)
    np.testing.assert_array_equal(som.map(X), expected)
    for x, (i, j) in zip(X[:5], expected[:5]):
        assert som.winner(x) == (i, j)
    np.testing.assert_allclose(som.transform(X), d, atol=1e-12)
    np.testing.assert_allclose(som.quantize(X), som.weights[expected[:, 0], expected[:, 1]])
    assert som.quantization_error(X) == pytest.approx(d.reshape(50, -1).min(1).mean())
    hits = som.hits(X)
    assert hits.shape == (6, 7) and hits.sum() == 50
    assert hits[tuple(expected[0])] >= 1


def test_topographic_error_brute_force(colours):
    som = SOM(5, 5, 3, rng=4)                     # untrained: many non-adjacent pairs
    X = colours[:200]
    d = np.linalg.norm(X[:, None, :] - som.weights.reshape(-1, 3)[None], axis=-1)
    order = np.argsort(d, axis=1)
    (r1, c1), (r2, c2) = np.divmod(order[:, 0], 5), np.divmod(order[:, 1], 5)
    cheb = np.maximum(abs(r1 - r2), abs(c1 - c2))
    manh = abs(r1 - r2) + abs(c1 - c2)
    assert som.topographic_error(X) == pytest.approx(np.mean(cheb != 1))
    som4 = SOM(5, 5, 3, rng=4, connectivity=4)
    assert som4.topographic_error(X) == pytest.approx(np.mean(manh != 1))
    assert SOM(1, 1, 3).topographic_error(X) == 0.0


def test_u_matrix():
    som = SOM(3, 4, 2, rng=0)
    # prototypes on a regular lattice with spacing 1 along rows and 2 along columns
    r, c = np.meshgrid(np.arange(3.0), 2.0 * np.arange(4.0), indexing="ij")
    som.weights = np.stack([r, c], axis=-1)
    u4 = SOM(3, 4, 2, connectivity=4)
    u4.weights = som.weights
    U4 = u4.u_matrix()
    assert U4.shape == (3, 4)
    # corner (0, 0): neighbours at distance 1 (row) and 2 (column)
    assert U4[0, 0] == pytest.approx(1.5)
    # inner unit (1, 1): two row neighbours at 1, two column neighbours at 2
    assert U4[1, 1] == pytest.approx(1.5)
    # edge unit (0, 1): one row neighbour at 1, two column neighbours at 2
    assert U4[0, 1] == pytest.approx(5 / 3)
    U8 = som.u_matrix()
    assert U8[0, 0] == pytest.approx((1 + 2 + np.sqrt(5)) / 3)
    assert U8[1, 1] == pytest.approx((2 * 1 + 2 * 2 + 4 * np.sqrt(5)) / 8)
    # a trained map on two far-apart clusters: the border between them is the ridge
    X = np.concatenate([np.random.default_rng(0).normal(0, 0.05, (100, 2)),
                        np.random.default_rng(1).normal(5, 0.05, (100, 2))])
    som = SOM(1, 6, 2, rng=0, sigma=1.5).fit(X, epochs=10, mode="batch")
    U = som.u_matrix()[0]
    assert np.all(U >= 0)
    assert U.max() > 5 * np.median(U)
    assert SOM(1, 1, 2).u_matrix().tolist() == [[0.0]]


def test_neighbourhood_is_gaussian_on_the_grid():
    som = SOM(4, 5, 2)
    h = som.neighbourhood((1, 2), sigma=1.5)
    assert h.shape == (4, 5) and h[1, 2] == 1.0
    assert h[3, 4] == pytest.approx(np.exp(-(2 ** 2 + 2 ** 2) / (2 * 1.5 ** 2)))
    np.testing.assert_allclose(som.neighbourhood(1 * 5 + 2, 1.5), h)


def test_deterministic_with_seed(colours):
    a = SOM(5, 5, 3, rng=7).fit(colours[:100], epochs=3)
    b = SOM(5, 5, 3, rng=np.random.default_rng(7)).fit(colours[:100], epochs=3)
    c = SOM(5, 5, 3, rng=8).fit(colours[:100], epochs=3)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.history == b.history
    assert not np.allclose(a.weights, c.weights)


def test_init_from_data(square):
    som = SOM(4, 4, 2, rng=0).init_from_data(square, "sample")
    rows = som.weights.reshape(-1, 2)
    assert all(np.any(np.all(square == w, axis=1)) for w in rows)
    pca = SOM(6, 6, 2, rng=0).init_from_data(square, "pca")
    # a linear start already preserves topology
    assert pca.topographic_error(square) == 0.0


def test_state_dict_round_trip(colours):
    a = SOM(4, 4, 3, rng=0).fit(colours[:50], epochs=1)
    b = SOM(4, 4, 3, rng=1)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.winner(colours), b.winner(colours))
    with pytest.raises(ValueError, match=r"'weights' has shape \(3, 3, 3\).*\(4, 4, 3\)"):
        b.load_state_dict({"weights": np.zeros((3, 3, 3))})
    with pytest.raises(KeyError, match="unexpected keys \\['bias'\\]"):
        b.load_state_dict({"weights": np.zeros((4, 4, 3)), "bias": 0})
    with pytest.raises(KeyError, match="missing"):
        b.load_state_dict({})


def test_bad_input_errors():
    som = SOM(3, 3, 4)
    with pytest.raises(ValueError, match=r"SOM.winner: expected input of shape \(n, 4\).*"
                                         r"got shape \(5, 3\)"):
        som.winner(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"SOM.fit: expected.*got shape \(2, 2, 4\)"):
        som.fit(np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="SOM.quantization_error: input contains nan"):
        som.quantization_error(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="SOM.transform: input must be numeric"):
        som.transform(np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="SOM: rows must be a positive int, got 0"):
        SOM(0, 3, 2)
    with pytest.raises(ValueError, match="SOM: sigma must be a positive finite number"):
        SOM(3, 3, 2, sigma=-1.0)
    with pytest.raises(ValueError, match="SOM: decay must be one of"):
        SOM(3, 3, 2, decay="cosine")
    with pytest.raises(ValueError, match="SOM: connectivity must be 4 or 8"):
        SOM(3, 3, 2, connectivity=6)
    with pytest.raises(TypeError, match="SOM: rng must be an int seed"):
        SOM(3, 3, 2, rng="seed")
    with pytest.raises(ValueError, match="SOM.fit: mode must be 'online' or 'batch'"):
        som.fit(np.zeros((2, 4)), mode="minibatch")
    with pytest.raises(ValueError, match="SOM: epochs must be a positive int"):
        som.fit(np.zeros((2, 4)), epochs=0)
    with pytest.raises(ValueError, match="SOM.init_from_data: method must be"):
        som.init_from_data(np.zeros((2, 4)), method="kmeans")
