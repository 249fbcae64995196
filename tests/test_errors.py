"""minibp.errors: the one validation step and its one message form.

Every message reads "Who: name must be <expected>, got <what came>"; these tests write the
expected messages out in full, so a change to any of them is a decision, not an accident.
They also hold the messages to being at least as informative as those of 0.1.0: each names
who refused, the argument, what was expected and what came (for wrong kinds, its type too).
"""

import numpy as np
import pytest

import minibp
from minibp.errors import (
    check_finite,
    check_training_data,
    expect_choice,
    expect_float_dtype,
    expect_int,
    expect_number,
    expect_shape,
    is_finite,
)


def message(call) -> str:
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return str(info.value)


# -- the helpers, one message each ------------------------------------------------------------
@pytest.mark.parametrize(("call", "error", "expected"), [
    (lambda: expect_int(2.0, "epochs", "fit"), TypeError,
     "fit: epochs must be an int, got 2.0 (float)"),
    (lambda: expect_int(True, "epochs", "fit"), TypeError,
     "fit: epochs must be an int, got True (bool)"),
    (lambda: expect_int("3", "epochs", "fit"), TypeError, "fit: epochs must be an int, got '3'"),
    (lambda: expect_int(0, "batch_size", "fit", least=1), ValueError,
     "fit: batch_size must be at least 1, got 0"),
    (lambda: expect_number("fast", "lr", "SGD"), TypeError, "SGD: lr must be a number, got 'fast'"),
    (lambda: expect_number(None, "lr", "SGD"), TypeError, "SGD: lr must be a number, got None"),
    (lambda: expect_number(-0.1, "lr", "SGD", least=0.0), ValueError,
     "SGD: lr must be a finite number >= 0, got -0.1"),
    (lambda: expect_number(float("nan"), "lr", "SGD", least=0.0), ValueError,
     "SGD: lr must be a finite number >= 0, got nan"),
    (lambda: expect_number(1.0, "momentum", "SGD", least=0.0, below=1.0), ValueError,
     "SGD: momentum must be a finite number >= 0 and < 1, got 1.0"),
    (lambda: expect_number(0.0, "eps", "gradcheck", above=0.0), ValueError,
     "gradcheck: eps must be a finite number > 0, got 0.0"),
    (lambda: expect_choice("avg", "reduction", "MSE", ("mean", "sum")), ValueError,
     "MSE: reduction must be one of 'mean', 'sum', got 'avg'"),
    (lambda: expect_choice(3, "init", "Dense", ("he",)), ValueError,
     "Dense: init must be one of 'he', got 3 (int)"),
    (lambda: expect_float_dtype(np.int64, "Dense"), TypeError,
     "Dense: dtype must be float32 or float64, got int64"),
    (lambda: expect_float_dtype("complex", "Dense"), TypeError,
     "Dense: dtype must be float32 or float64, got complex128"),
    (lambda: expect_float_dtype("no such type", "Dense"), TypeError,
     "Dense: dtype must be float32 or float64, got 'no such type'"),
    (lambda: expect_shape(np.zeros((4, 5)), ("batch", 3), "X", "Dense(3 -> 2)"), ValueError,
     "Dense(3 -> 2): X must have shape (batch, 3), got (4, 5)"),
    (lambda: expect_shape(np.zeros(3), (2,), "b", "Dense(3 -> 2)"), ValueError,
     "Dense(3 -> 2): b must have shape (2,), got (3,)"),
])
def test_each_helper_says_who_what_was_expected_and_what_came(call, error, expected):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == expected


@pytest.mark.parametrize("value", [3, np.int64(3)])
def test_expect_int_returns_a_python_int(value):
    assert type(expect_int(value, "n", "who")) is int


def test_a_long_value_is_quoted_short():
    text = message(lambda: expect_choice("x" * 200, "name", "who", ("a",)))
    assert text.endswith("...") and len(text) < 120


# -- data --------------------------------------------------------------------------------------
def test_training_data_messages_in_full():
    assert message(lambda: check_training_data(np.zeros(3), np.zeros(3))) == (
        "fit: X must have shape (samples, features), got (3,) "
        "(for one sample use X.reshape(1, -1))")
    assert message(lambda: check_training_data(np.zeros((0, 2)), np.zeros(0), "train_step")) == (
        "train_step: X must have at least one sample, got shape (0, 2)")
    assert message(lambda: check_training_data(np.zeros((4, 2)), np.zeros((3, 1)))) == (
        "fit: Y must have one row per sample of X (4), got shape (3, 1)")


def test_non_finite_data_is_counted_and_located():
    X = np.zeros((10, 3))
    X[7, 1] = X[8, 0] = np.nan
    X[9, 2] = np.inf
    assert message(lambda: check_finite(X, "X", "fit")) == (
        "fit: X must be finite, got 2 NaN values and 1 infinite value (the first at row 7); "
        "clean or impute them first")


def test_a_sum_that_only_overflows_is_not_an_error():
    check_finite(np.full((4, 2), 3e38, np.float32), "X", "fit")


# -- what users see, end to end ------------------------------------------------------------------
@pytest.mark.parametrize(("call", "expected"), [
    (lambda: minibp.Dense(3, 2).forward(np.zeros((4, 5))),
     "Dense(3 -> 2): X must have shape (batch, 3), got (4, 5)"),
    (lambda: minibp.mlp([3, 2]).predict(np.zeros((4, 5)), engine="numba"),
     "Dense(3 -> 2) at model[0]: X must have shape (batch, 3), got (4, 5)"),
    (lambda: minibp.Dense("3", 2), "Dense: in_features must be an int, got '3'"),
    (lambda: minibp.Dense(3, 2, dtype=np.int32),
     "Dense: dtype must be float32 or float64, got int32"),
    (lambda: minibp.SGD(momentum=1.5),
     "SGD: momentum must be a finite number >= 0 and < 1, got 1.5"),
    (lambda: minibp.mlp([2, 2]).predict(np.zeros((1, 2)), engine="gpu"),
     "predict: engine must be one of 'auto', 'numpy', 'numba', 'blas', got 'gpu'"),
    (lambda: minibp.MSE(reduction="avg"),
     "MSE: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: minibp.gradcheck(minibp.Dense(2, 2), np.zeros((1, 2)), k=0),
     "gradcheck: k must be at least 1, got 0"),
])
def test_messages_users_see(call, expected):
    assert message(call) == expected


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble,
                                   np.complex128])
@pytest.mark.parametrize("size", [1, 2, 23, 24, 25, 100, 5000])
def test_is_finite_agrees_with_numpy_at_every_size_and_dtype(dtype, size):
    """is_finite takes a different road by size (Python floats for a handful, one ufunc
    look, one sum): each must say what np.isfinite says, wherever the bad value sits."""
    rng = np.random.default_rng(size)
    values = rng.standard_normal(size).astype(dtype)
    assert is_finite(values) and is_finite(values.reshape(1, -1))
    for bad in (np.nan, np.inf, -np.inf):
        for where in {0, size // 2, size - 1}:
            spoiled = values.copy()
            spoiled[where] = bad
            assert not is_finite(spoiled) and not is_finite(spoiled.reshape(1, -1))
    if np.finfo(dtype).max > np.finfo(np.float64).max:  # finite, beyond a Python float
        huge = values.copy()
        huge[0] = np.finfo(dtype).max
        assert is_finite(huge) == bool(np.isfinite(huge).all())


@pytest.mark.filterwarnings("error")  # the threads' sums run under their own errstate
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9_001,), (2_251, 4), (3, 3_001)])  # > SMALL
def test_is_finite_on_threads_agrees_with_numpy(monkeypatch, dtype, shape):
    """A large array is summed in blocks of rows on several threads (errors._total): NaN
    or infinity in any block, infinities of both signs in different blocks, and finite
    values whose sum overflows must each get np.isfinite's answer. Sizes made small here
    (PARALLEL_VALUES), and four threads whatever this machine has."""
    monkeypatch.setattr(minibp.errors, "PARALLEL_VALUES", 2_000)
    monkeypatch.setattr(minibp.errors, "_cpus", lambda: 4)
    values = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    assert is_finite(values)
    rows = len(values)
    for bad in (np.nan, np.inf, -np.inf):
        for row in {0, rows // 4, rows // 2, rows - 1}:
            spoiled = values.copy()
            spoiled[row] = bad
            assert not is_finite(spoiled)
    opposite = values.copy()
    opposite[0], opposite[-1] = np.inf, -np.inf  # NaN only once the blocks are added
    assert not is_finite(opposite)
    overflowing = np.full(shape, np.finfo(dtype).max, dtype)
    assert is_finite(overflowing)
    check_finite(overflowing, "X", "fit")  # and no error either
