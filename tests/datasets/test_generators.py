"""minibp.datasets.generators: chapter, xor, make_moons, make_spirals, make_blobs.

References: the chapter's printed numbers, XOR's truth table, the circles' equations,
scikit-learn's make_moons (when installed), CS231n's spiral loop typed in below, and sample
statistics against the centres and spread that were asked for.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minibp.datasets import chapter, make_blobs, make_moons, make_spirals, xor


def test_chapter_is_the_chapters_one_sample():
    X, Y = chapter()
    assert X.tolist() == [[0.05, 0.10]] and Y.tolist() == [[0.01, 0.99]]


def test_xor_is_the_truth_table():
    X, Y = xor()
    assert X.shape == (4, 2) and Y.shape == (4, 1)
    assert [int(a) ^ int(b) for a, b in X] == Y.ravel().astype(int).tolist()


# -- moons ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_noiseless_moons_lie_on_their_half_circles(n):
    X, y = make_moons(n, noise=0.0, seed=0)
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.shape == (n, 2)
    assert np.sum(y == 0) == n // 2 and np.sum(y == 1) == n - n // 2
    x0, y0 = X[y == 0].T
    np.testing.assert_allclose(x0**2 + y0**2, 1.0, rtol=0, atol=1e-12)
    assert np.all(y0 >= -1e-15)
    x1, y1 = X[y == 1].T
    np.testing.assert_allclose((x1 - 1.0) ** 2 + (y1 - 0.5) ** 2, 1.0, rtol=0, atol=1e-12)
    assert np.all(y1 <= 0.5 + 1e-15)


def test_moons_angles_are_evenly_spaced_over_a_half_turn():
    X, y = make_moons(9, noise=0.0, seed=3)
    upper = np.sort(np.arctan2(X[y == 0, 1], X[y == 0, 0]))             # 4 points
    lower = np.sort(np.arctan2(0.5 - X[y == 1, 1], 1.0 - X[y == 1, 0]))  # 5 points
    np.testing.assert_allclose(upper, [0, math.pi / 3, 2 * math.pi / 3, math.pi], atol=1e-12)
    np.testing.assert_allclose(lower, np.arange(5) * math.pi / 4, atol=1e-12)


def test_moons_match_scikit_learns_points():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = make_moons(31, noise=0.0, seed=0)
    X_ref, y_ref = datasets.make_moons(31, noise=None, shuffle=False)
    order, order_ref = np.lexsort((X[:, 1], X[:, 0])), np.lexsort((X_ref[:, 1], X_ref[:, 0]))
    np.testing.assert_allclose(X[order], X_ref[order_ref], rtol=0, atol=1e-15)
    assert y[order].tolist() == y_ref[order_ref].tolist()


def test_moons_are_shuffled_and_their_noise_has_the_asked_spread():
    X, y = make_moons(2000, noise=0.1, seed=5)
    X0, y0 = make_moons(2000, noise=0.0, seed=5)     # one seed, one order, whatever the noise
    assert y.tolist() == y0.tolist() and y.tolist() != sorted(y.tolist())
    noise = X - X0
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.1) < 0.005   # 4000 draws


def test_a_seed_gives_the_same_data_and_a_generator_is_used_as_it_is():
    a, b = make_moons(50, seed=1), make_moons(50, seed=1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], make_moons(50, seed=2)[0])
    rng = np.random.default_rng(1)
    first, second = make_moons(50, seed=rng), make_moons(50, seed=rng)
    assert np.array_equal(first[0], a[0]) and not np.array_equal(second[0], a[0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: make_moons(0), ValueError, "make_moons: n_samples must be at least 1, got 0"),
    (lambda: make_moons(10.0), TypeError, "make_moons: n_samples must be an int, got 10.0 "
     "(float)"),
    (lambda: make_moons(noise=-0.1), ValueError,
     "make_moons: noise must be a finite number >= 0, got -0.1"),
    (lambda: make_moons(seed="3"), TypeError,
     "make_moons: seed must be an int, None or a numpy.random.Generator, got '3'"),
    (lambda: make_moons(seed=-1), ValueError, "make_moons: seed must be at least 0, got -1"),
    (lambda: make_spirals(2, classes=3), ValueError,
     "make_spirals: n_samples must be at least 3 (one point per arm), got 2"),
    (lambda: make_spirals(classes=0), ValueError,
     "make_spirals: classes must be at least 1, got 0"),
    (lambda: make_blobs(centers=0), ValueError, "make_blobs: centers must be at least 1, got 0"),
    (lambda: make_blobs(centers=True), TypeError,
     "make_blobs: centers must be an int or an array (k, features), got True (bool)"),
    (lambda: make_blobs(centers=[[0.0, 0.0]], features=3), ValueError,
     "make_blobs: centers must have shape (k, 3), got (1, 2); pass features=2 with them"),
    (lambda: make_blobs(centers=[[0.0, np.nan]]), ValueError,
     "make_blobs: centers must hold at least one row of finite numbers, got [[0.0, nan]]"),
    (lambda: make_blobs(2, centers=3), ValueError,
     "make_blobs: n_samples must be at least 3 (one point per blob), got 2"),
    (lambda: make_blobs(std=-1), ValueError, "make_blobs: std must be a finite number >= 0, "
     "got -1.0"),
])
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


# -- spirals ----------------------------------------------------------------------------------
def cs231n_spirals(points_per_class: int, classes: int) -> np.ndarray:
    """CS231n's loop (cs231n.github.io/neural-networks-case-study), without the noise."""
    X = np.zeros((points_per_class * classes, 2))
    for j in range(classes):
        ix = range(points_per_class * j, points_per_class * (j + 1))
        r = np.linspace(0.0, 1, points_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, points_per_class)
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X


def test_noiseless_spirals_are_cs231ns():
    X, y = make_spirals(300, classes=3, noise=0.0, seed=0)
    np.testing.assert_allclose(X, cs231n_spirals(100, 3), rtol=0, atol=1e-15)
    assert y.dtype == np.int64 and y.tolist() == [0] * 100 + [1] * 100 + [2] * 100


def test_spiral_radius_grows_along_each_arm_and_noise_moves_only_the_angle():
    X, y = make_spirals(10, classes=3, noise=0.2, seed=4)        # arms of 4, 3 and 3 points
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[:4], [0, 1 / 3, 2 / 3, 1], atol=1e-15)
    np.testing.assert_allclose(radius[4:7], [0, 0.5, 1], atol=1e-15)
    assert np.all(np.diff(radius[7:]) > 0)
    angle = np.arctan2(X[3, 0], X[3, 1])          # the outer end of arm 0: t = 4 + noise
    assert 0 < abs(np.angle(np.exp(1j * (angle - 4.0)))) < 1.0


def test_spirals_with_five_classes_hold_every_label():
    X, y = make_spirals(50, classes=5, seed=0)
    assert X.shape == (50, 2) and np.bincount(y).tolist() == [10] * 5


# -- blobs ------------------------------------------------------------------------------------
def test_blob_sample_means_sit_on_the_given_centres():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, -5.0, 1.0]])
    X, y = make_blobs(4000, centers=centers, features=3, std=0.5, seed=0)
    assert X.shape == (4000, 3) and np.bincount(y).tolist() == [2000, 2000]
    assert y.tolist() != sorted(y.tolist())
    for k in range(2):
        # each coordinate's mean has std 0.5 / sqrt(2000) = 0.011: allow 5 of those
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=0.056)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.05)


def test_drawn_centres_lie_in_the_box_and_std_zero_puts_every_point_on_one():
    X, y = make_blobs(10, centers=3, features=4, std=0.0, seed=7)
    assert np.bincount(y).tolist() == [4, 3, 3]
    centres = [np.unique(X[y == k], axis=0) for k in range(3)]
    assert all(c.shape == (1, 4) for c in centres)
    stacked = np.concatenate(centres)
    assert np.all(np.abs(stacked) <= 10.0) and len(np.unique(stacked, axis=0)) == 3
