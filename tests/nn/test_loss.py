"""minibp.nn.loss: the protocol every loss shares: per-sample weights, the reductions left
unchanged without them, target_rows, and underflow.

References: repeating rows (an integer weight w counts a row w times, so the weighted loss
and its gradient are the unweighted ones over the repeated batch), the unweighted reduction
written out in NumPy in the order the library used before weights existed (bit for bit), and
hand-written messages. Values against loops and central differences: test_losses.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from minibp import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy, SquaredError

LOSSES = [
    pytest.param(SquaredError, id="SquaredError"),
    pytest.param(MSE, id="MSE"),
    pytest.param(SoftmaxCrossEntropy, id="SoftmaxCrossEntropy"),
    pytest.param(BinaryCrossEntropy, id="BinaryCrossEntropy"),
]
REDUCTIONS = ["mean", "sum", "none"]


def draw(loss_class, shape, seed: int):
    """Logits or predictions, and a target the loss accepts (labels for softmax)."""
    rng = np.random.default_rng(seed)
    P = rng.normal(size=shape) * 2.0
    if loss_class is SoftmaxCrossEntropy:
        return P, rng.integers(0, shape[1], shape[0])
    if loss_class is BinaryCrossEntropy:
        return P, rng.uniform(0.0, 1.0, size=shape)
    return P, rng.normal(size=shape)


# -- integer weights repeat rows -----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_class", LOSSES)
def test_integer_weights_equal_repeating_rows(loss_class, reduction):
    P, T = draw(loss_class, (5, 3), seed=1)
    w = np.array([2, 0, 1, 3, 1])
    repeated = np.repeat(np.arange(5), w)  # row i appears w_i times, in order
    weighted, plain = loss_class(reduction=reduction), loss_class(reduction=reduction)
    value = weighted.forward(P, T, sample_weight=w)
    expected = plain.forward(P[repeated], T[repeated])
    if reduction == "none":  # the weighted term of row i is the sum of its copies' terms
        expected = np.array([np.sum(expected[repeated == i], axis=0) for i in range(5)])
    np.testing.assert_allclose(value, expected, rtol=1e-14, atol=1e-15)
    dP_copies = plain.backward()
    dP_summed = np.array([np.sum(dP_copies[repeated == i], axis=0) for i in range(5)])
    np.testing.assert_allclose(weighted.backward(), dP_summed, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("loss_class", LOSSES)
def test_scaling_every_weight_leaves_the_mean_unchanged(loss_class):
    P, T = draw(loss_class, (4, 2), seed=2)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    small, large = loss_class(), loss_class()
    assert small.forward(P, T, sample_weight=w) == pytest.approx(
        large.forward(P, T, sample_weight=w * 8.0), rel=1e-15)  # 8: exact in binary
    np.testing.assert_allclose(small.backward(), large.backward(), rtol=1e-15)


# -- without weights: as before, bit for bit ------------------------------------------------------
def todays_reduction(terms, dTerms, reduction: str, divisor: int):
    """The reduction as minibp computed it before per-sample weights, step by step."""
    divisor = divisor if reduction == "mean" else 1
    dPred = dTerms / divisor
    if reduction == "none":
        return terms, dPred
    total = float(np.sum(terms, dtype=np.float64))
    return (total / divisor if reduction == "mean" else total), dPred


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_no_weights_reduce_exactly_as_before(reduction, dtype):
    P, T = (a.astype(dtype) for a in draw(MSE, (7, 13), seed=3))
    diff = P - T
    cases = [(SquaredError, 0.5 * diff * diff, diff, 7), (MSE, diff * diff, 2.0 * diff, 91)]
    for loss_class, terms, dTerms, divisor in cases:
        for keyword in ({}, {"sample_weight": None}):
            loss = loss_class(reduction)
            value = loss.forward(P, T, **keyword)
            expected, dPred = todays_reduction(terms, dTerms, reduction, divisor)
            assert np.asarray(value).tobytes() == np.asarray(expected).tobytes()
            assert loss.backward().dtype == dtype
            assert loss.backward().tobytes() == dPred.tobytes()


@pytest.mark.parametrize("loss_class", LOSSES)
def test_weights_of_one_agree_with_no_weights(loss_class):
    P, T = draw(loss_class, (6, 4), seed=4)
    weighted, plain = loss_class(), loss_class()
    assert weighted.forward(P, T, sample_weight=np.ones(6)) == pytest.approx(
        plain.forward(P, T), rel=1e-15)
    np.testing.assert_allclose(weighted.backward(), plain.backward(), rtol=1e-15)


@pytest.mark.parametrize("loss_class", LOSSES)
def test_weighted_float32_stays_float32(loss_class):
    P, T = draw(loss_class, (3, 2), seed=5)
    loss = loss_class(reduction="none")
    terms = loss.forward(P.astype(np.float32), T, sample_weight=[1.0, 2.0, 0.5])
    assert terms.dtype == np.float32 and loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss_class", LOSSES)
def test_call_passes_the_weights(loss_class):
    P, T = draw(loss_class, (3, 2), seed=6)
    w = [1.0, 0.0, 2.0]
    assert loss_class()(P, T, w) == loss_class().forward(P, T, sample_weight=w)


# -- refused weights -----------------------------------------------------------------------------
@pytest.mark.parametrize(("weights", "error", "message"), [
    pytest.param([1.0, 2.0, 3.0], ValueError,
                 "MSE: sample_weight must have shape (4,), got (3,) (one weight per sample)",
                 id="too-few"),
    pytest.param(np.ones((4, 1)), ValueError,
                 "MSE: sample_weight must have shape (4,), got (4, 1) (one weight per sample)",
                 id="column"),
    pytest.param([1.0, np.nan, 1.0, 1.0], ValueError,
                 "MSE: sample_weight must be finite, got 1 NaN value (the first at row 1); "
                 "clean or impute them first", id="nan"),
    pytest.param([1.0, 1.0, -1.0, 1.0], ValueError,
                 "MSE: sample_weight must be >= 0, got -1.0 at row 2", id="negative"),
    pytest.param([0, 0, 0, 0], ValueError,
                 "MSE: sample_weight must have a finite sum above 0, got 0.0", id="all-zero"),
    pytest.param([1e308, 1e308, 0.0, 0.0], ValueError,
                 "MSE: sample_weight must have a finite sum above 0, got inf", id="sum-overflows"),
    pytest.param(["a", "b", "c", "d"], TypeError,
                 "MSE: sample_weight must be numbers, got dtype <U1", id="strings"),
])
def test_bad_weights_say_what_came(weights, error, message):
    with pytest.raises(error) as info:
        MSE().forward(np.zeros((4, 2)), np.zeros((4, 2)), sample_weight=weights)
    assert str(info.value) == message


def test_bool_weights_are_a_mask():
    P, T = draw(MSE, (4, 2), seed=7)
    mask = np.array([True, False, True, False])
    assert MSE().forward(P, T, sample_weight=mask) == pytest.approx(
        MSE().forward(P[mask], T[mask]), rel=1e-15)


# -- target_rows, and underflow ------------------------------------------------------------------
def test_target_rows_for_every_loss():
    labels = np.array([[2], [0]])
    np.testing.assert_array_equal(SoftmaxCrossEntropy().target_rows(labels, (2, 3), np.float32),
                                  [[0, 0, 1], [1, 0, 0]])
    rows = BinaryCrossEntropy().target_rows(np.array([True, False]), (2, 1), np.float32)
    assert rows.dtype == np.float32 and rows.tolist() == [[1.0], [0.0]]
    assert MSE().target_rows([1.5, 2.5], (2, 1), np.float64).tolist() == [[1.5], [2.5]]
    with pytest.raises(ValueError, match=r"the target must lie in \[0, 1\]"):
        BinaryCrossEntropy().target_rows([0.0, 2.0], (2, 1), np.float64)


@pytest.mark.parametrize("loss_class", [SquaredError, MSE], ids=["SquaredError", "MSE"])
def test_underflow_is_not_an_error(loss_class):
    # by hand: (1e-200)**2 = 1e-400 is below the smallest float64, so 0 is the answer
    loss = loss_class(reduction="sum")
    with np.errstate(all="raise"):
        assert loss.forward([[1e-200]], [[0.0]], sample_weight=[0.5]) == 0.0
