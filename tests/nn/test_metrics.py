"""minibp.nn.metrics: accuracy, mse, mae and get_metric.

References: every expected value is worked by hand in a comment (which rows are right, which
thresholds apply), sample weights against repeated rows, and hand-written messages.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from minibp import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy
from minibp.nn.metrics import accuracy, get_metric, mae, mse

THREE_CLASSES = np.array([[0.1, 0.7, 0.2],    # argmax 1
                          [2.0, -1.0, 0.5],   # argmax 0
                          [0.3, 0.3, 0.4],    # argmax 2
                          [0.5, 0.5, 0.0]])   # tie: argmax 0, the first


# -- accuracy: several outputs, argmax -------------------------------------------------------------
@pytest.mark.parametrize("target", [
    pytest.param(np.array([1, 0, 0, 0]), id="labels"),
    pytest.param(np.array([[1], [0], [0], [0]]), id="label-column"),
    pytest.param(np.array([1.0, 0.0, 0.0, 0.0]), id="integral-floats"),
    pytest.param(np.eye(3)[[1, 0, 0, 0]], id="one-hot"),
    pytest.param(np.array([[0.2, 0.5, 0.3], [0.6, 0.4, 0.0], [0.9, 0.05, 0.05],
                           [0.4, 0.3, 0.3]]), id="probability-rows"),
])
def test_accuracy_argmax_against_every_target_form(target):
    # by hand: predicted 1, 0, 2, 0 against true 1, 0, 0, 0 -> rows 0, 1 and 3 right
    assert accuracy(THREE_CLASSES, target) == 0.75
    assert accuracy(THREE_CLASSES, target, loss=SoftmaxCrossEntropy()) == 0.75


def test_accuracy_is_a_python_float():
    assert type(accuracy(THREE_CLASSES, [1, 0, 2, 0])) is float


def test_accuracy_labels_out_of_range_are_refused():
    with pytest.raises(ValueError) as info:
        accuracy(THREE_CLASSES, [1, 3, 0, 0])
    assert str(info.value) == "accuracy: labels must lie in [0, 3), got 3 at row 1"


# -- accuracy: one output, or multi-label, by threshold -------------------------------------------
def test_accuracy_one_output_thresholds_probabilities_at_one_half():
    P = np.array([[0.2], [0.5], [0.7], [0.9]])
    # by hand: pred > 0.5 is F, F, T, T; target >= 0.5 is F, T, T, F -> rows 0 and 2 right
    target = [0.0, 1.0, 1.0, 0.0]
    assert accuracy(P, target) == 0.5
    assert accuracy(P, target, loss=MSE()) == 0.5
    assert accuracy(P, target, loss=BinaryCrossEntropy(from_logits=False)) == 0.5


@pytest.mark.parametrize("loss", [BinaryCrossEntropy(), "bce"], ids=["instance", "name"])
def test_accuracy_one_output_thresholds_logits_at_zero(loss):
    Z = np.array([[-1.0], [0.0], [0.3], [2.0], [0.2]])
    # by hand: z > 0 is F, F, T, T, T; target >= 0.5 is F, F, T, F, T (0.5 counts as yes)
    target = [0, 0, 1, 0, 0.5]
    assert accuracy(Z, target, loss=loss) == 0.8
    # the same numbers read as probabilities (threshold 0.5): only z = 2 says yes -> 2 of 5
    assert accuracy(Z, target) == 0.4


def test_accuracy_multi_label_averages_every_output():
    Z = np.array([[1.0, -2.0, 0.5], [-0.1, 3.0, -4.0]])
    T = np.array([[1, 0, 0], [1, 1, 0]], dtype=bool)
    # by hand: yes/no is [T, F, T], [F, T, F] against [T, F, F], [T, T, F] -> 4 of 6 right
    assert accuracy(Z, T, loss=BinaryCrossEntropy()) == pytest.approx(4 / 6, rel=1e-15)
    # without a BinaryCrossEntropy the rows are classes: argmax 0, 1 against 0, 0 -> 1 of 2
    assert accuracy(Z, T.astype(float)) == 0.5


def test_accuracy_weighted():
    P = np.array([[0.9], [0.1], [0.8], [0.3]])
    target = [1, 1, 0, 0]  # rows 0 and 3 right
    # by hand: (1 * 1 + 2 * 0 + 0 * 0 + 3 * 1) / (1 + 2 + 0 + 3)
    assert accuracy(P, target, sample_weight=[1, 2, 0, 3]) == pytest.approx(4 / 6, rel=1e-15)
    # rows 0 and 1 right of argmax predictions 1, 0, 2, 0 against 1, 0, 1, 1
    assert accuracy(THREE_CLASSES, [1, 0, 1, 1], sample_weight=[0.5, 0.5, 1.0, 2.0]) == 0.25


def test_accuracy_weighted_multi_label_divides_by_outputs():
    Z = np.array([[1.0, -1.0], [1.0, 1.0]])
    T = np.array([[1, 0], [0, 0]])  # row 0: 2 of 2 right, row 1: 0 of 2
    # by hand: (3 * 2 + 1 * 0) / (2 * (3 + 1))
    assert accuracy(Z, T, loss="bce", sample_weight=[3, 1]) == 0.75


# -- mse and mae -----------------------------------------------------------------------------------
def test_mse_and_mae_over_every_element():
    P, T = [[1.0, 2.0], [0.0, 1.0]], [[0.0, 4.0], [3.0, 1.0]]
    assert mse(P, T) == 3.5  # by hand: (1 + 4 + 9 + 0) / 4
    assert mae(P, T) == 1.5  # by hand: (1 + 2 + 3 + 0) / 4
    assert type(mse(P, T)) is float and type(mae(P, T)) is float


def test_mse_and_mae_read_a_vector_as_a_column():
    assert mse([[1.0], [3.0]], [0.0, 1.0]) == 2.5  # (1 + 4) / 2
    assert mae([[1.0], [3.0]], [0.0, 1.0]) == 1.5  # (1 + 2) / 2


def test_mse_and_mae_weighted():
    P, T = [[1.0, 2.0], [0.0, 1.0]], [[0.0, 4.0], [3.0, 1.0]]
    # by hand: rows sum to 5 and 9 (squares), 3 and 3 (absolute); (1 * 5 + 3 * 9) / (2 * 4)
    assert mse(P, T, sample_weight=[1, 3]) == 4.0
    assert mae(P, T, sample_weight=[1, 3]) == 1.5  # (1 * 3 + 3 * 3) / (2 * 4)


@pytest.mark.parametrize("metric", [mse, mae, accuracy])
def test_integer_weights_equal_repeating_rows(metric):
    rng = np.random.default_rng(0)
    P, T = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    T = T if metric is accuracy else rng.normal(size=(5, 3))
    w = np.array([2, 0, 1, 3, 1])
    rows = np.repeat(np.arange(5), w)
    assert metric(P, T, sample_weight=w) == pytest.approx(metric(P[rows], T[rows]), rel=1e-14)


def test_shape_mismatch_names_the_metric():
    with pytest.raises(ValueError) as info:
        mse(np.zeros((2, 2)), np.zeros((2, 3)))
    assert str(info.value) == ("mse: the target must have the prediction's shape (2, 2), "
                               "got (2, 3)")


def test_bad_weights_name_the_metric():
    with pytest.raises(ValueError) as info:
        mae(np.zeros((2, 1)), np.zeros(2), sample_weight=[0, 0])
    assert str(info.value) == "mae: sample_weight must have a finite sum above 0, got 0.0"


# -- get_metric ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "function"), [
    ("accuracy", accuracy), ("mse", mse), ("mae", mae)])
def test_get_metric_by_name(name, function):
    assert get_metric(name) == (name, function)


def test_get_metric_takes_a_function_with_its_name():
    def worst_error(pred, target):
        return float(np.max(np.abs(np.asarray(pred) - target)))

    assert get_metric(worst_error) == ("worst_error", worst_error)
    partial = functools.partial(mse)
    assert get_metric(partial) == ("partial", partial)


def test_get_metric_unknown_name_lists_the_names():
    with pytest.raises(ValueError) as info:
        get_metric("acc")
    assert str(info.value) == ("get_metric: metric must be one of 'accuracy', 'mse', 'mae', "
                               "got 'acc'")


@pytest.mark.parametrize(("value", "shown"), [(3, "3 (int)"), (None, "None")])
def test_get_metric_other_kinds_are_type_error(value, shown):
    with pytest.raises(TypeError) as info:
        get_metric(value)
    assert str(info.value) == ("get_metric: metric must be one of 'accuracy', 'mse', 'mae' or "
                               f"a function f(pred, target) -> float, got {shown}")
