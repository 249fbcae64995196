"""minibp.nn.losses: SquaredError, MSE and SoftmaxCrossEntropy, every reduction.

References: the definitions as plain loops over rows and outputs (log-sum-exp written out for
cross-entropy), central differences in float64 of those loops (backward), and hand-derived
values for extreme logits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from finite_diff import numeric_gradient

from minibp import MSE, SoftmaxCrossEntropy, SquaredError

LOSSES = [
    pytest.param(SquaredError, id="SquaredError"),
    pytest.param(MSE, id="MSE"),
    pytest.param(SoftmaxCrossEntropy, id="SoftmaxCrossEntropy"),
]
REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [
    pytest.param((1, 1), id="1x1"),
    pytest.param((1, 4), id="1xn"),
    pytest.param((5, 1), id="batchx1"),
    pytest.param((7, 13), id="7x13"),
]


# -- the reference: the definitions, loop by loop ----------------------------------------------
def loop_terms(loss_class, P, T) -> list:
    """Unreduced terms: per element for the squared losses, per row for cross-entropy.

    T is dense rows (one-hot or probabilities for cross-entropy)."""
    batch, width = P.shape
    if loss_class is SoftmaxCrossEntropy:
        terms = []
        for r in range(batch):
            top = max(float(P[r, j]) for j in range(width))
            lse = top + math.log(sum(math.exp(float(P[r, j]) - top) for j in range(width)))
            terms.append(sum(float(T[r, j]) * (lse - float(P[r, j])) for j in range(width)))
        return terms
    scale = 0.5 if loss_class is SquaredError else 1.0
    return [[scale * (float(P[r, j]) - float(T[r, j])) ** 2 for j in range(width)]
            for r in range(batch)]


def loop_value(loss_class, P, T, reduction: str):
    """The loss as documented: mean, sum, or the terms themselves."""
    terms = loop_terms(loss_class, P, T)
    if reduction == "none":
        return terms
    flat = terms if loss_class is SoftmaxCrossEntropy else [t for row in terms for t in row]
    total = math.fsum(flat)
    if reduction == "sum":
        return total
    divisor = P.size if loss_class is MSE else P.shape[0]  # MSE: every element; else rows
    return total / divisor


def loop_scalar(loss_class, P, T, reduction: str) -> float:
    """What backward differentiates: the value, or for "none" the sum of the terms."""
    value = loop_value(loss_class, P, T, reduction)
    if reduction != "none":
        return value
    return math.fsum(np.ravel(value).tolist())


def one_hot(labels, classes: int) -> np.ndarray:
    rows = np.zeros((len(labels), classes))
    for r, label in enumerate(labels):
        rows[r, int(label)] = 1.0
    return rows


def draw(loss_class, shape, seed: int = 0):
    """Prediction and a dense target: random values, or one-hot rows for cross-entropy."""
    rng = np.random.default_rng(seed)
    P = rng.normal(size=shape) * 2.0
    if loss_class is SoftmaxCrossEntropy:
        return P, one_hot(rng.integers(0, shape[1], shape[0]), shape[1])
    return P, rng.normal(size=shape)


# -- values and gradients ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_value_matches_loop(loss_class, reduction, shape):
    P, T = draw(loss_class, shape)
    value = loss_class(reduction=reduction).forward(P, T)
    expected = loop_value(loss_class, P, T, reduction)
    if reduction == "none":
        terms_shape = shape[:1] if loss_class is SoftmaxCrossEntropy else shape
        assert isinstance(value, np.ndarray) and value.shape == np.shape(expected) == terms_shape
        np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    else:
        assert isinstance(value, float)
        assert value == pytest.approx(expected, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_backward_matches_central_differences(loss_class, reduction, shape):
    P, T = draw(loss_class, shape, seed=1)
    loss = loss_class(reduction=reduction)
    loss.forward(P, T)
    dP = loss.backward()
    assert dP.shape == shape
    numeric = numeric_gradient(lambda: loop_scalar(loss_class, P, T, reduction), P)
    np.testing.assert_allclose(dP, numeric, rtol=1e-6, atol=1e-8)


def test_squared_error_mean_is_half_the_summed_squares_per_sample():
    # by hand: rows (1-0)^2 + (2-4)^2 = 5 and (0-3)^2 + (1-1)^2 = 9 -> 1/2 * (5 + 9) / 2
    assert SquaredError().forward([[1.0, 2.0], [0.0, 1.0]], [[0.0, 4.0], [3.0, 1.0]]) == 3.5


def test_mse_mean_is_over_every_element():
    # by hand: (1 + 4 + 9 + 0) / 4
    assert MSE().forward([[1.0, 2.0], [0.0, 1.0]], [[0.0, 4.0], [3.0, 1.0]]) == 3.5


def test_cross_entropy_soft_targets_value_and_gradient():
    rng = np.random.default_rng(2)
    P = rng.normal(size=(4, 3))
    T = rng.dirichlet(np.ones(3), size=4)  # rows of class probabilities
    loss = SoftmaxCrossEntropy()
    assert loss.forward(P, T) == pytest.approx(loop_value(SoftmaxCrossEntropy, P, T, "mean"),
                                               rel=1e-13)
    numeric = numeric_gradient(lambda: loop_value(SoftmaxCrossEntropy, P, T, "mean"), P)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_labels_and_one_hot_rows_agree(reduction):
    rng = np.random.default_rng(3)
    P = rng.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 3])
    by_labels, by_rows = SoftmaxCrossEntropy(reduction), SoftmaxCrossEntropy(reduction)
    value_labels = by_labels.forward(P, labels)
    value_rows = by_rows.forward(P, one_hot(labels, 4))
    np.testing.assert_array_equal(value_labels, value_rows)
    np.testing.assert_array_equal(by_labels.backward(), by_rows.backward())
    np.testing.assert_allclose(value_labels, loop_value(SoftmaxCrossEntropy, P, one_hot(labels, 4),
                                                        reduction), rtol=1e-13)


def test_cross_entropy_integer_valued_float_labels_are_accepted():
    P = np.random.default_rng(4).normal(size=(3, 3))
    assert SoftmaxCrossEntropy().forward(P, np.array([2.0, 0.0, 1.0])) == (
        SoftmaxCrossEntropy().forward(P, np.array([2, 0, 1]))
    )


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    loss = SoftmaxCrossEntropy(reduction="none")
    # by hand: logsumexp is 1000 in both rows (the other terms are below 1e-400)
    assert loss.forward(logits, np.array([0, 1])).tolist() == [0.0, 2000.0]
    # gradient of the sum: softmax - one_hot = [1, 0, 0] - [1, 0, 0], [0, 0, 1] - [0, 1, 0]
    assert loss.backward().tolist() == [[0.0, 0.0, 0.0], [0.0, -1.0, 1.0]]
    mean = SoftmaxCrossEntropy()
    assert mean.forward(logits, np.array([0, 1])) == 1000.0
    assert np.all(np.isfinite(mean.backward()))


def test_cross_entropy_equal_huge_logits_give_log_of_class_count():
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.full((2, 3), 1000.0), [0, 2]) == pytest.approx(math.log(3), rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[-1 / 3, 1 / 6, 1 / 6], [1 / 6, 1 / 6, -1 / 3]],
                               rtol=1e-15)


# -- shapes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss_class", [SquaredError, MSE], ids=["SquaredError", "MSE"])
def test_target_vector_against_column_prediction_is_read_as_a_column(loss_class):
    P, T = draw(loss_class, (5, 1), seed=5)
    as_vector, as_column = loss_class(), loss_class()
    value = as_vector.forward(P, T[:, 0])
    assert value == as_column.forward(P, T)
    assert value == pytest.approx(loop_value(loss_class, P, T, "mean"), rel=1e-13)
    np.testing.assert_array_equal(as_vector.backward(), as_column.backward())


@pytest.mark.parametrize(("loss_class", "pred_shape", "target_shape"), [
    pytest.param(SquaredError, (4, 2), (4, 1), id="SquaredError-column-vs-two"),
    pytest.param(SquaredError, (4, 2), (4,), id="SquaredError-vector-vs-two"),
    pytest.param(MSE, (4, 1), (3,), id="MSE-short-vector"),
    pytest.param(MSE, (1, 4), (4,), id="MSE-row-as-vector"),
    pytest.param(MSE, (4, 2), (2, 4), id="MSE-transposed"),
    pytest.param(SoftmaxCrossEntropy, (4, 3), (4, 2), id="xent-rows-too-narrow"),
    pytest.param(SoftmaxCrossEntropy, (4, 3), (4, 1), id="xent-label-column"),
])
def test_other_shape_mismatches_name_both_shapes(loss_class, pred_shape, target_shape):
    with pytest.raises(ValueError) as info:
        loss_class().forward(np.zeros(pred_shape), np.zeros(target_shape))
    assert str(info.value) == (f"{loss_class.__name__}: the target must have the prediction's "
                               f"shape {pred_shape}, got {target_shape}")


@pytest.mark.parametrize("loss_class", LOSSES)
def test_1d_prediction_is_value_error(loss_class):
    with pytest.raises(ValueError, match=r"the prediction must have shape \(batch, outputs\), got"
                                   r" \(3,\)"):
        loss_class().forward(np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("loss_class", LOSSES)
def test_empty_batch_is_value_error(loss_class):
    with pytest.raises(ValueError, match="empty"):
        loss_class().forward(np.zeros((0, 2)), np.zeros((0, 2)))


# -- labels --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("labels", "bad", "row"), [
    pytest.param([0, 3, 1], 3, 1, id="too-large"),
    pytest.param([0, 1, -1], -1, 2, id="negative"),
])
def test_labels_out_of_range_are_value_error(labels, bad, row):
    with pytest.raises(ValueError) as info:
        SoftmaxCrossEntropy().forward(np.zeros((3, 3)), np.array(labels))
    assert str(info.value) == (
        f"SoftmaxCrossEntropy: labels must lie in [0, 3), got {bad} at row {row}"
    )


@pytest.mark.parametrize("labels", [[0.5, 1.0], [0.0, np.nan]], ids=["fraction", "nan"])
def test_non_integer_float_labels_are_type_error(labels):
    with pytest.raises(TypeError, match="must be integers"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array(labels))


# -- call order and arguments --------------------------------------------------------------------
@pytest.mark.parametrize("loss_class", LOSSES)
def test_backward_before_forward_is_runtime_error(loss_class):
    with pytest.raises(RuntimeError) as info:
        loss_class().backward()
    assert str(info.value) == (f"{loss_class.__name__}.backward called before forward: "
                               "nothing saved to differentiate.")


@pytest.mark.parametrize("loss_class", LOSSES)
def test_unknown_reduction_is_value_error(loss_class):
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got"
                                   " 'avg'"):
        loss_class(reduction="avg")


@pytest.mark.parametrize("loss_class", LOSSES)
def test_call_is_forward(loss_class):
    P, T = draw(loss_class, (3, 2), seed=6)
    assert loss_class()(P, T) == loss_class().forward(P, T)


def test_repr():
    assert repr(SquaredError()) == "SquaredError()"
    assert repr(MSE(reduction="sum")) == "MSE(reduction='sum')"


@pytest.mark.parametrize("loss_class", LOSSES)
def test_float32_prediction_gives_float32_gradient(loss_class):
    P, T = draw(loss_class, (3, 2), seed=7)
    loss = loss_class()
    value = loss.forward(P.astype(np.float32), T)
    assert loss.backward().dtype == np.float32
    expected = loop_value(loss_class, P.astype(np.float32), T.astype(np.float32), "mean")
    assert value == pytest.approx(expected, rel=1e-6)
