"""train_test_split: hold out a seeded, by default stratified, part of the rows."""

from __future__ import annotations

import math

import numpy as np

from minibp.datasets.seeds import as_rng
from minibp.errors import expect_int, expect_number, shown

WHO = "train_test_split"


def train_test_split(X, y, *, test_size=0.25, seed=None, stratify: bool = True):
    """(X_train, X_test, y_train, y_test): the rows of X and y in two parts, each shuffled.

    Stratified, each class keeps its share in both parts: per-class test counts are the
    shares, rounded by largest remainder to the total, except that every class with 2 or
    more rows keeps at least one in each part (that rule wins if the two disagree, so the
    total can then differ from the one asked).

    Parameters
    ----------
    X : array_like (n, ...)
    y : array_like (n,) or (n, k)
    test_size : float or int, default 0.25
        A fraction in (0, 1), giving round(test_size * n) test rows, halves rounded up; or
        a count in [1, n - 1].
    seed : int, None or numpy.random.Generator
    stratify : bool, default True
        Stratify when y holds class labels: integers, or floats that are all whole numbers
        (as the cross-entropy losses accept). Other y (a regression target, one-hot rows)
        is split plainly at random, as with stratify=False; pass False for a regression
        target whose values happen to be whole numbers.
    """
    X, y = _checked(X, y)
    n = len(y)
    test = _test_count(test_size, n)
    rng = as_rng(seed, WHO)
    if not isinstance(stratify, bool):
        raise TypeError(f"{WHO}: stratify must be True or False, got {shown(stratify)}")
    labels = _labels(y) if stratify else None
    if labels is None:
        order = rng.permutation(n)
        test_rows, train_rows = order[:test], order[test:]
    else:
        test_rows, train_rows = _stratified(labels, test, rng)
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]


def stratified_counts(counts: np.ndarray, test: int) -> np.ndarray:
    """Test rows per class (k,) for class sizes counts (k,) and a total of ``test``.

    Each class gets its share test * count / n rounded down, then the rows still missing
    (or too many) go to the classes furthest below (above) their share, the lower class
    first on ties, never leaving a class of 2 or more rows without a row in either part.
    """
    share = counts * test / counts.sum()
    least = np.where(counts >= 2, 1, 0)
    most = np.where(counts >= 2, counts - 1, counts)
    take = np.clip(np.floor(share).astype(np.int64), least, most)
    while take.sum() < test and np.any(take < most):
        room = np.where(take < most, share - take, -np.inf)
        take[np.argmax(room)] += 1
    while take.sum() > test and np.any(take > least):
        excess = np.where(take > least, take - share, -np.inf)
        take[np.argmax(excess)] -= 1
    return take


def _stratified(labels: np.ndarray, test: int, rng: np.random.Generator):
    """(test rows, train rows), each class split by stratified_counts, then shuffled."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = stratified_counts(counts, test)
    test_rows, train_rows = [], []
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(inverse == c))
        test_rows.append(rows[: take[c]])
        train_rows.append(rows[take[c]:])
    return (rng.permutation(np.concatenate(test_rows)),
            rng.permutation(np.concatenate(train_rows)))


def _labels(y: np.ndarray) -> np.ndarray | None:
    """y as class labels (n,), or None when y does not hold labels."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        return None
    if y.dtype.kind in "biu":
        return y
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        return y
    return None


def _test_count(test_size, n: int) -> int:
    """How many test rows: a fraction of n rounded half up, or a count; in [1, n - 1]."""
    if isinstance(test_size, float) or isinstance(test_size, np.floating):
        fraction = expect_number(test_size, "test_size", WHO, above=0, below=1)
        test = math.floor(fraction * n + 0.5)
        if not 1 <= test <= n - 1:
            raise ValueError(f"{WHO}: test_size={fraction} of {n} rows gives {test} test rows; "
                             f"each part needs at least one row, so choose a test_size "
                             f"between {1 / n:.3g} and {1 - 1 / n:.3g}")
        return test
    test = expect_int(test_size, "test_size", WHO, least=1)
    if test > n - 1:
        raise ValueError(f"{WHO}: test_size must be a fraction in (0, 1) or a count in "
                         f"[1, {n - 1}] ({n} rows, at least one left to train on), got {test}")
    return test


def _checked(X, y) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{WHO}: X and y must be arrays with one row per sample, got "
                         f"shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{WHO}: y must have one row per row of X ({len(X)}), got "
                         f"{len(y)} rows")
    if len(y) < 2:
        raise ValueError(f"{WHO}: X must have at least 2 rows to split, got {len(y)}")
    return X, y

