"""Small datasets to learn on: the chapter's sample, XOR, and three 2-D classification sets.

Every generator returns (X, y): X float64 (n_samples, features), y int64 labels (n_samples,),
and draws only from ``numpy.random.default_rng(seed)``, so a seed gives the same data on every
machine and NumPy version that keeps the Generator's streams.
"""

from __future__ import annotations

import numpy as np

from minibp.datasets.seeds import as_rng
from minibp.errors import expect_int, expect_number, expect_shape, shown


def chapter() -> tuple[np.ndarray, np.ndarray]:
    """The chapter's one sample: inputs (i1, i2) X (1, 2) and targets (o1, o2) Y (1, 2)."""
    from minibp.examples import chapter_data  # on use: importing datasets loads no model

    return chapter_data()


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR rows: X (4, 2) and targets Y (4, 1), as floats."""
    from minibp.examples import xor_data

    return xor_data()


def make_moons(n_samples: int = 200, *, noise: float = 0.1,
               seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as scikit-learn's make_moons.

    Class 0 lies on the upper unit half circle x^2 + y^2 = 1, y >= 0; class 1 on the lower
    half circle (x - 1)^2 + (y - 0.5)^2 = 1, y <= 0.5. Each takes evenly spaced angles over
    [0, pi]: n_samples // 2 points for class 0, the rest for class 1. The rows are shuffled,
    so labels are not sorted, and then gaussian noise of std ``noise`` moves every
    coordinate; the shuffle comes first, so one seed gives one order whatever the noise.

    Shapes: X (n_samples, 2) float64, y (n_samples,) int64 in {0, 1}.
    """
    who = "make_moons"
    n = expect_int(n_samples, "n_samples", who, least=1)
    noise = expect_number(noise, "noise", who, least=0)
    rng = as_rng(seed, who)
    n_out = n // 2
    outer = np.linspace(0.0, np.pi, n_out)
    inner = np.linspace(0.0, np.pi, n - n_out)
    X = np.concatenate([np.column_stack([np.cos(outer), np.sin(outer)]),
                        np.column_stack([1.0 - np.cos(inner), 0.5 - np.sin(inner)])])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_out, n - n_out])
    X, y = _shuffled(X, y, rng)
    return X + rng.normal(0.0, noise, X.shape), y


def make_spirals(n_samples: int = 300, *, classes: int = 3, noise: float = 0.2,
                 seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Spiral arms, one per class: CS231n's data for a first nonlinear classifier.

    Arm j has radius r evenly spaced over [0, 1] and angle t evenly spaced over [4j, 4j + 4]
    radians plus gaussian noise of std ``noise``; its points are (r sin t, r cos t). Rows come
    in CS231n's order, arm by arm and each from the centre outwards, so the labels are
    sorted: shuffle them, or use train_test_split, before fit's validation_split.

    Parameters
    ----------
    n_samples : int, default 300
        Shared by the arms as evenly as they allow (the first n_samples % classes take one
        more); at least one per arm.
    classes : int, default 3
    noise : float, default 0.2
        Std of the noise on the angle t; the radius has none.
    seed : int, None or numpy.random.Generator

    Returns X (n_samples, 2) float64 and y (n_samples,) int64 in [0, classes).
    """
    who = "make_spirals"
    classes = expect_int(classes, "classes", who, least=1)
    n = _at_least(n_samples, classes, "one point per arm", who)
    noise = expect_number(noise, "noise", who, least=0)
    rng = as_rng(seed, who)
    sizes = _shares(n, classes)
    r = np.concatenate([np.linspace(0.0, 1.0, size) for size in sizes])
    t = np.concatenate([np.linspace(4.0 * j, 4.0 * (j + 1), size)
                        for j, size in enumerate(sizes)])
    t = t + rng.normal(0.0, noise, n)
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    return np.column_stack([r * np.sin(t), r * np.cos(t)]), y


def make_blobs(n_samples: int = 300, *, centers=3, features: int = 2, std: float = 1.0,
               seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: class k's points are drawn from N(centers[k], std^2 I), then shuffled.

    Parameters
    ----------
    n_samples : int, default 300
        Shared by the blobs as evenly as they allow (the first n_samples % k take one more);
        at least one per blob.
    centers : int or array_like (k, features), default 3
        A count k, the centres then drawn uniformly from [-10, 10]^features with the seed;
        or the centres themselves, whose width must equal ``features``.
    features : int, default 2
    std : float, default 1.0
        Std of every coordinate around its centre; 0 puts every point on its centre.
    seed : int, None or numpy.random.Generator

    Returns X (n_samples, features) float64 and y (n_samples,) int64 in [0, k).
    """
    who = "make_blobs"
    features = expect_int(features, "features", who, least=1)
    std = expect_number(std, "std", who, least=0)
    rng = as_rng(seed, who)
    centers = _centers(centers, features, rng, who)
    k = len(centers)
    n = _at_least(n_samples, k, "one point per blob", who)
    y = np.repeat(np.arange(k, dtype=np.int64), _shares(n, k))
    X = centers[y] + rng.normal(0.0, std, (n, features))
    return _shuffled(X, y, rng)


def _centers(centers, features: int, rng: np.random.Generator, who: str) -> np.ndarray:
    """The blob centres (k, features): drawn for a count, checked for an array."""
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = expect_int(centers, "centers", who, least=1)
        return rng.uniform(-10.0, 10.0, (k, features))
    if isinstance(centers, (bool, str)) or np.ndim(centers) == 0:
        raise TypeError(f"{who}: centers must be an int or an array (k, features), "
                        f"got {shown(centers)}")
    array = np.asarray(centers, dtype=np.float64)
    hint = f"; pass features={array.shape[-1]} with them" if array.ndim == 2 else ""
    expect_shape(array, ("k", features), "centers", who, hint)
    if len(array) == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{who}: centers must hold at least one row of finite numbers, "
                         f"got {array.tolist()}")
    return array


def _at_least(n_samples, parts: int, why: str, who: str) -> int:
    """n_samples as an int, at least ``parts`` (so every class has a point)."""
    n = expect_int(n_samples, "n_samples", who, least=1)
    if n < parts:
        raise ValueError(f"{who}: n_samples must be at least {parts} ({why}), got {n}")
    return n


def _shares(n: int, parts: int) -> np.ndarray:
    """n split into ``parts`` counts as evenly as possible, the larger ones first."""
    sizes = np.full(parts, n // parts)
    sizes[: n % parts] += 1
    return sizes


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return X[order], y[order]
