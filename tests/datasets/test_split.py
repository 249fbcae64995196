"""minibp.datasets.split: train_test_split and stratified_counts.

References: rows tagged by their index so the test can count where each went; per-class
test counts worked by hand in comments; every message written out in full.
"""

from __future__ import annotations

import numpy as np
import pytest

from minibp.datasets import train_test_split
from minibp.datasets.split import stratified_counts


def tagged(labels: list[int]):
    """X whose row i is [i, 10 * i], so a split row says where it came from; y the labels."""
    n = len(labels)
    return np.column_stack([np.arange(n), 10 * np.arange(n)]), np.array(labels)


def check_partition(X, X_train, X_test, y, y_train, y_test):
    """Every row lands in exactly one part, with its own label."""
    rows = np.concatenate([X_train[:, 0], X_test[:, 0]])
    assert sorted(rows.tolist()) == list(range(len(X)))
    assert y_train.tolist() == y[X_train[:, 0]].tolist()
    assert y_test.tolist() == y[X_test[:, 0]].tolist()


def test_stratified_keeps_each_class_share():
    X, y = tagged([0] * 40 + [1] * 40 + [2] * 20)
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
    check_partition(X, X_train, X_test, y, y_train, y_test)
    # 25 test rows: a quarter of each class, 10, 10 and 5
    assert np.bincount(y_test).tolist() == [10, 10, 5]
    assert np.bincount(y_train).tolist() == [30, 30, 15]
    assert y_test.tolist() != sorted(y_test.tolist())       # the parts come shuffled


def test_a_rare_class_gets_a_row_in_each_part():
    X, y = tagged([0] * 50 + [1] * 3)
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.1, seed=1)
    # 53 * 0.1 = 5.3 -> 5 test rows; shares 4.72 and 0.28, floors 4 and 0; class 1 needs one
    assert np.bincount(y_test).tolist() == [4, 1] and np.bincount(y_train).tolist() == [46, 2]


@pytest.mark.parametrize("counts, test, expected", [
    ([7, 5, 3], 3, [1, 1, 1]),        # shares 1.4 1.0 0.6: floors 1 1 0, class 2 raised to 1
    ([9, 1], 2, [2, 0]),              # shares 1.8 0.2: the missing row goes to 0.8 > 0.2
    ([10, 10, 10], 8, [3, 3, 2]),     # shares 2.67 each: ties go to the lower class
    ([2] * 5, 1, [1] * 5),            # every pair needs one in each part: 5, not 1
    ([2] * 5, 8, [1] * 5),            # ... and one left to train on: 5, not 8
    ([1, 1, 4], 5, [1, 1, 3]),        # singletons may all go to test; class 2 keeps one
])
def test_stratified_counts_worked_by_hand(counts, test, expected):
    assert stratified_counts(np.array(counts), test).tolist() == expected


def test_stratified_counts_hit_the_total_whenever_the_bounds_allow():
    rng = np.random.default_rng(0)
    for _ in range(300):
        counts = rng.integers(1, 30, rng.integers(1, 8))       # singletons included
        if counts.sum() < 2:
            continue
        test = int(rng.integers(1, counts.sum()))
        least, most = (counts >= 2).sum(), np.where(counts >= 2, counts - 1, counts).sum()
        take = stratified_counts(counts, test)
        assert np.all(take <= np.where(counts >= 2, counts - 1, counts))
        assert np.all(take >= (counts >= 2))
        assert take.sum() == min(max(test, least), most)


def test_plain_split_takes_the_rounded_fraction_at_random():
    X, y = tagged([0] * 10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=3,
                                                        stratify=False)
    check_partition(X, X_train, X_test, y, y_train, y_test)
    assert len(X_test) == 3 and len(X_train) == 7            # 2.5 rounds half up to 3


def test_a_count_and_a_seed():
    X, y = tagged(list(range(4)) * 5)
    first = train_test_split(X, y, test_size=8, seed=2)
    again = train_test_split(X, y, test_size=8, seed=2)
    other = train_test_split(X, y, test_size=8, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])
    assert np.bincount(first[3]).tolist() == [2, 2, 2, 2]


def test_whole_floats_and_label_columns_are_stratified_like_integers():
    X, y = tagged([0] * 12 + [1] * 4)
    as_ints = train_test_split(X, y, seed=5)
    as_floats = train_test_split(X, y.astype(float), seed=5)
    as_column = train_test_split(X, y[:, None], seed=5)
    assert np.array_equal(as_ints[1], as_floats[1]) and np.array_equal(as_ints[1], as_column[1])
    assert as_column[3].shape == (4, 1)


def test_a_regression_target_or_one_hot_rows_split_plainly():
    X, _ = tagged([0] * 8)
    y = np.linspace(0.0, 1.0, 8)
    one_hot = np.eye(2)[[0, 1] * 4]
    plain = train_test_split(X, y, seed=6, stratify=False)
    assert all(np.array_equal(a, b) for a, b in zip(plain, train_test_split(X, y, seed=6)))
    _, X_test, _, Y_test = train_test_split(X, one_hot, seed=6)
    assert Y_test.shape == (2, 2) and np.array_equal(Y_test, one_hot[X_test[:, 0]])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"test_size": 1.0}, ValueError,
     "train_test_split: test_size must be a finite number > 0 and < 1, got 1.0"),
    ({"test_size": 0}, ValueError, "train_test_split: test_size must be at least 1, got 0"),
    ({"test_size": 10}, ValueError, "train_test_split: test_size must be a fraction in (0, 1) "
     "or a count in [1, 9] (10 rows, at least one left to train on), got 10"),
    ({"test_size": 0.01}, ValueError, "train_test_split: test_size=0.01 of 10 rows gives 0 "
     "test rows; each part needs at least one row, so choose a test_size between 0.1 and 0.9"),
    ({"test_size": "20%"}, TypeError, "train_test_split: test_size must be an int, got '20%'"),
    ({"stratify": "y"}, TypeError, "train_test_split: stratify must be True or False, "
     "got 'y'"),
    ({"seed": 1.5}, TypeError, "train_test_split: seed must be an int, None or a "
     "numpy.random.Generator, got 1.5 (float)"),
])
def test_bad_arguments_are_refused(kwargs, error, message):
    X, y = tagged([0, 1] * 5)
    with pytest.raises(error) as caught:
        train_test_split(X, y, **kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((4, 2)), np.zeros(3), "train_test_split: y must have one row per row of X (4), "
     "got 3 rows"),
    (np.zeros((1, 2)), np.zeros(1), "train_test_split: X must have at least 2 rows to split, "
     "got 1"),
    (np.float64(1.0), np.zeros(1), "train_test_split: X and y must be arrays with one row per "
     "sample, got shapes () and (1,)"),
])
def test_bad_data_is_refused(X, y, message):
    with pytest.raises(ValueError) as caught:
        train_test_split(X, y)
    assert str(caught.value) == message
