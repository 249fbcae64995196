"""minibp.nn.losses: SquaredError, MSE, SoftmaxCrossEntropy and BinaryCrossEntropy, every
reduction, with and without per-sample weights; get_loss.

References: the definitions as plain loops over rows and outputs (log-sum-exp written out for
softmax cross-entropy, softplus(z) - t z for binary cross-entropy), the weighted reductions as
an explicit loop over samples, central differences in float64 of those loops (backward), and
hand-derived values for extreme logits. BinaryCrossEntropy against torch: test_cross_entropy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from finite_diff import numeric_gradient

import minibp
from minibp import MSE, BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, SquaredError
from minibp.nn.losses import get_loss

LOSSES = [
    pytest.param(SquaredError, id="SquaredError"),
    pytest.param(MSE, id="MSE"),
    pytest.param(SoftmaxCrossEntropy, id="SoftmaxCrossEntropy"),
    pytest.param(BinaryCrossEntropy, id="BinaryCrossEntropy"),
]
REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [
    pytest.param((1, 1), id="1x1"),
    pytest.param((1, 4), id="1xn"),
    pytest.param((5, 1), id="batchx1"),
    pytest.param((7, 13), id="7x13"),
]


# -- the reference: the definitions, loop by loop ----------------------------------------------
def softplus(z: float) -> float:
    """log(1 + e^z), written so that neither branch overflows."""
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def loop_terms(loss_class, P, T) -> list:
    """Unreduced terms: per element for the squared losses and binary cross-entropy (on
    logits: -(t log s + (1 - t) log(1 - s)) = softplus(z) - t z), per row for softmax
    cross-entropy. T is dense rows (one-hot or probabilities for cross-entropy)."""
    batch, width = P.shape
    if loss_class is SoftmaxCrossEntropy:
        terms = []
        for r in range(batch):
            top = max(float(P[r, j]) for j in range(width))
            lse = top + math.log(sum(math.exp(float(P[r, j]) - top) for j in range(width)))
            terms.append(sum(float(T[r, j]) * (lse - float(P[r, j])) for j in range(width)))
        return terms
    if loss_class is BinaryCrossEntropy:
        return [[softplus(float(P[r, j])) - float(T[r, j]) * float(P[r, j])
                 for j in range(width)] for r in range(batch)]
    scale = 0.5 if loss_class is SquaredError else 1.0
    return [[scale * (float(P[r, j]) - float(T[r, j])) ** 2 for j in range(width)]
            for r in range(batch)]


def per_row_divisor(loss_class, width: int) -> int:
    """c: what the unweighted mean divides by per row (every element, or every row)."""
    return width if loss_class in (MSE, BinaryCrossEntropy) else 1


def loop_value(loss_class, P, T, reduction: str, weights=None):
    """The loss as documented: mean, sum, or the terms themselves; with weights w, the
    weighted mean sum_i w_i s_i / (c sum_i w_i), the sum sum_i w_i s_i, or w_i * terms."""
    terms = loop_terms(loss_class, P, T)
    per_row = loss_class is SoftmaxCrossEntropy
    if weights is not None:
        w = [float(x) for x in weights]
        terms = ([w[r] * t for r, t in enumerate(terms)] if per_row
                 else [[w[r] * t for t in row] for r, row in enumerate(terms)])
    if reduction == "none":
        return terms
    flat = terms if per_row else [t for row in terms for t in row]
    total = math.fsum(flat)
    if reduction == "sum":
        return total
    rows = P.shape[0] if weights is None else math.fsum(float(x) for x in weights)
    return total / (rows * per_row_divisor(loss_class, P.shape[1]))


def loop_scalar(loss_class, P, T, reduction: str, weights=None) -> float:
    """What backward differentiates: the value, or for "none" the sum of the terms."""
    value = loop_value(loss_class, P, T, reduction, weights)
    if reduction != "none":
        return value
    return math.fsum(np.ravel(value).tolist())


def one_hot(labels, classes: int) -> np.ndarray:
    rows = np.zeros((len(labels), classes))
    for r, label in enumerate(labels):
        rows[r, int(label)] = 1.0
    return rows


def draw(loss_class, shape, seed: int = 0):
    """Prediction and a dense target: random values, one-hot rows for softmax cross-entropy,
    soft labels in [0, 1] (some exactly 0 or 1) for binary cross-entropy."""
    rng = np.random.default_rng(seed)
    P = rng.normal(size=shape) * 2.0
    if loss_class is SoftmaxCrossEntropy:
        return P, one_hot(rng.integers(0, shape[1], shape[0]), shape[1])
    if loss_class is BinaryCrossEntropy:
        return P, np.clip(rng.uniform(-0.2, 1.2, size=shape), 0.0, 1.0)
    return P, rng.normal(size=shape)


def draw_weights(rows: int, seed: int) -> np.ndarray:
    """Weights >= 0 with one exact zero when there are several rows."""
    w = np.random.default_rng(seed).uniform(0.0, 3.0, size=rows)
    if rows > 1:
        w[rows // 2] = 0.0
    return w


# -- values and gradients ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_value_matches_loop(loss_class, reduction, shape):
    P, T = draw(loss_class, shape)
    value = loss_class(reduction=reduction).forward(P, T)
    expected = loop_value(loss_class, P, T, reduction)
    assert_matches_loop(value, expected, loss_class, reduction, shape)


def assert_matches_loop(value, expected, loss_class, reduction, shape):
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


# -- per-sample weights --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_weighted_value_matches_loop(loss_class, reduction, shape):
    P, T = draw(loss_class, shape, seed=11)
    w = draw_weights(shape[0], seed=12)
    value = loss_class(reduction=reduction).forward(P, T, sample_weight=w)
    expected = loop_value(loss_class, P, T, reduction, w)
    assert_matches_loop(value, expected, loss_class, reduction, shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_weighted_backward_matches_central_differences(loss_class, reduction, shape):
    P, T = draw(loss_class, shape, seed=13)
    w = draw_weights(shape[0], seed=14)
    loss = loss_class(reduction=reduction)
    loss.forward(P, T, sample_weight=w)
    numeric = numeric_gradient(lambda: loop_scalar(loss_class, P, T, reduction, w), P)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-6, atol=1e-8)


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
    pytest.param(SoftmaxCrossEntropy, (4, 3), (3, 1), id="xent-label-column-too-short"),
    pytest.param(SoftmaxCrossEntropy, (4, 3), (4, 3, 1), id="xent-three-dimensions"),
    pytest.param(BinaryCrossEntropy, (4, 2), (4,), id="bce-vector-vs-two"),
    pytest.param(BinaryCrossEntropy, (4, 1), (4, 2), id="bce-two-vs-column"),
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
    assert repr(BinaryCrossEntropy()) == "BinaryCrossEntropy()"
    assert repr(BinaryCrossEntropy(from_logits=False, reduction="none")) == (
        "BinaryCrossEntropy(from_logits=False, reduction='none')")


@pytest.mark.parametrize("loss_class", LOSSES)
def test_float32_prediction_gives_float32_gradient(loss_class):
    P, T = draw(loss_class, (3, 2), seed=7)
    loss = loss_class()
    value = loss.forward(P.astype(np.float32), T)
    assert loss.backward().dtype == np.float32
    expected = loop_value(loss_class, P.astype(np.float32), T.astype(np.float32), "mean")
    assert value == pytest.approx(expected, rel=1e-6)


# -- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "loss_class"), [
    ("squared", SquaredError), ("mse", MSE), ("xent", SoftmaxCrossEntropy),
    ("bce", BinaryCrossEntropy),
])
def test_get_loss_makes_a_default_instance_from_a_name(name, loss_class):
    loss = get_loss(name)
    assert type(loss) is loss_class and loss.reduction == "mean"
    assert get_loss(name) is not loss  # a new one each time: losses keep state


def test_get_loss_passes_instances_and_duck_typed_losses_through():
    mine = MSE(reduction="sum")
    assert get_loss(mine) is mine

    class Hinge:  # not a Loss, but it has the protocol
        def forward(self, pred, target):
            return 0.0

        def backward(self):
            return np.zeros((1, 1))

    hinge = Hinge()
    assert get_loss(hinge) is hinge


def test_get_loss_unknown_name_lists_the_names():
    with pytest.raises(ValueError) as info:
        get_loss("x")
    assert str(info.value) == ("get_loss: loss must be one of 'squared', 'mse', 'xent', 'bce', "
                               "got 'x'")


def test_get_loss_names_the_caller():
    with pytest.raises(ValueError, match=r"^fit: loss must be one of"):
        get_loss("cross_entropy", "fit")


def test_get_loss_class_instead_of_instance_says_what_to_write():
    with pytest.raises(TypeError) as info:
        get_loss(minibp.MSE)
    assert str(info.value) == ("get_loss: loss must be a loss, got the class MSE; pass an "
                               "instance, e.g. MSE()")


@pytest.mark.parametrize(("value", "shown"), [
    (3, "3 (int)"), (None, "None"), (np.zeros(2), "array([0., 0.]) (ndarray)"),
])
def test_get_loss_other_kinds_are_type_error(value, shown):
    with pytest.raises(TypeError) as info:
        get_loss(value)
    assert str(info.value) == ("get_loss: loss must be a Loss (an object with forward and "
                               "backward) or one of 'squared', 'mse', 'xent', 'bce', got "
                               f"{shown}")


def test_loss_base_class_is_the_public_one():
    assert minibp.Loss is Loss and isinstance(get_loss("bce"), minibp.Loss)
