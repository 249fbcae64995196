"""minibp.nn.cross_entropy: BinaryCrossEntropy on logits and on probabilities, and the labels
SoftmaxCrossEntropy reads.

References: torch.nn.functional.binary_cross_entropy_with_logits and binary_cross_entropy in
float64 (values, and gradients by autograd; torch's `weight` for the weighted sum), the
definition -(t log s + (1 - t) log(1 - s)) with the math module at moderate logits, values
worked by hand at logits of +-1000, and a fit on separable data whose loss must fall.
Loops and central differences for every reduction and weight: test_losses.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibp
from minibp import BinaryCrossEntropy, SoftmaxCrossEntropy

REDUCTIONS = ["mean", "sum", "none"]
EXTREME_LOGITS = [1000.0, -1000.0, 745.0, -745.0, 720.0, -720.0, 100.0, -100.0, 40.0, -40.0,
                  1e-300, 0.0]


def torch_bce(P, T, reduction: str, *, from_logits: bool = True, weight=None):
    """torch's value and the gradient of its value ("none": of the sum) by autograd."""
    torch = pytest.importorskip("torch")
    pred = torch.tensor(P, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(np.asarray(T, dtype=np.float64))
    function = (torch.nn.functional.binary_cross_entropy_with_logits if from_logits
                else torch.nn.functional.binary_cross_entropy)
    weight = None if weight is None else torch.tensor(np.asarray(weight, dtype=np.float64))
    value = function(pred, target, weight=weight, reduction=reduction)
    value.sum().backward()
    return value.detach().numpy(), pred.grad.numpy()


def logit_cases():
    """(name, logits, targets): one output with bools, multi-label soft, and the extremes."""
    rng = np.random.default_rng(0)
    extremes = np.array(EXTREME_LOGITS).reshape(-1, 1) * np.ones((1, 4))
    return [
        ("one-output-bools", rng.normal(size=(6, 1)) * 3.0, rng.random(6) < 0.5),
        ("multi-label-soft", rng.normal(size=(7, 13)) * 3.0, rng.random((7, 13))),
        ("extremes", extremes * [1.0, 1.0, -1.0, 1.0],
         np.tile([0.0, 1.0, 0.0, 0.3], (len(EXTREME_LOGITS), 1))),
    ]


def probability_cases():
    rng = np.random.default_rng(1)
    P = np.array([[0.0, 1.0, 1e-30, 1.0 - 1e-16, 0.5], [1.0, 0.0, 0.25, 0.999, 1e-320]])
    return [
        ("random", rng.uniform(0.01, 0.99, size=(7, 3)), rng.random((7, 3))),
        ("clamped-ends", P, np.array([[1.0, 0.0, 0.5, 0.5, 0.0], [0.0, 1.0, 1.0, 0.2, 1.0]])),
    ]


# -- against torch --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "Z", "T"), logit_cases(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_logits_match_torch(name, Z, T, reduction):
    loss = BinaryCrossEntropy(reduction=reduction)
    value = loss.forward(Z, T)
    expected, dZ = torch_bce(Z, np.asarray(T, float).reshape(Z.shape), reduction)
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.backward(), dZ, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "P", "T"), probability_cases(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_probabilities_match_torch(name, P, T, reduction):
    loss = BinaryCrossEntropy(from_logits=False, reduction=reduction)
    value = loss.forward(P, T)
    expected, dP = torch_bce(P, T, reduction, from_logits=False)
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.backward(), dP, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("from_logits", [True, False])
def test_weighted_sum_matches_torch_row_weights(from_logits):
    # torch's weight multiplies each term; as a column it weights samples, which is our sum
    rng = np.random.default_rng(2)
    P = rng.normal(size=(5, 3)) if from_logits else rng.uniform(0.01, 0.99, size=(5, 3))
    T, w = rng.random((5, 3)), np.array([0.5, 0.0, 2.0, 1.0, 3.0])
    loss = BinaryCrossEntropy(from_logits=from_logits, reduction="sum")
    value = loss.forward(P, T, sample_weight=w)
    expected, dP = torch_bce(P, T, "sum", from_logits=from_logits, weight=w[:, None])
    assert value == pytest.approx(float(expected), rel=1e-13)
    np.testing.assert_allclose(loss.backward(), dP, rtol=1e-13, atol=1e-15)
    mean = BinaryCrossEntropy(from_logits=from_logits)  # the weighted mean divides by 3 sum(w)
    assert mean.forward(P, T, sample_weight=w) == pytest.approx(float(expected) / 19.5,
                                                                 rel=1e-13)


# -- by hand and by definition --------------------------------------------------------------------
def test_huge_logits_by_hand():
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    loss = BinaryCrossEntropy(reduction="none")
    # right and confident: 0; wrong by 1000: max(z, 0) - z t = 1000 (log1p(e^-1000) is 0)
    assert loss.forward(Z, [[1, 0], [1, 0]]).tolist() == [[0.0, 0.0], [1000.0, 1000.0]]
    # sigmoid(z) - t: sigmoid(1000) = 1 and sigmoid(-1000) = 0 exactly in float64
    assert loss.backward().tolist() == [[0.0, 0.0], [-1.0, 1.0]]


def test_matches_the_definition_at_moderate_logits():
    rng = np.random.default_rng(3)
    Z, T = rng.uniform(-4.0, 4.0, size=(6, 3)), rng.random((6, 3))
    terms = BinaryCrossEntropy(reduction="none").forward(Z, T)
    for (r, j), z in np.ndenumerate(Z):
        s, t = 1.0 / (1.0 + math.exp(-z)), float(T[r, j])
        assert terms[r, j] == pytest.approx(-(t * math.log(s) + (1 - t) * math.log(1 - s)),
                                            rel=1e-11)


def test_tiny_terms_keep_their_digits():
    # by definition log(1 + e^-40) = log1p(e^-40); torch 2.13 rounds this term to 0
    value = BinaryCrossEntropy(reduction="sum").forward([[-40.0]], [[0.0]])
    assert value == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-15)


def test_probabilities_by_hand():
    loss = BinaryCrossEntropy(from_logits=False, reduction="none")
    # log 0 is floored at -100, as torch.nn.BCELoss; -(0.2 log 0.3 + 0.8 log 0.7) by definition
    terms = loss.forward([[0.0], [1.0], [0.3]], [1.0, 0.0, 0.2])
    np.testing.assert_allclose(terms[:, 0], [100.0, 100.0,
                                             -(0.2 * math.log(0.3) + 0.8 * math.log(0.7))],
                               rtol=1e-15)
    # (p - t) / (p (1 - p)), the product floored at float32(1e-12) as torch does
    np.testing.assert_allclose(loss.backward()[:, 0], [-1 / 9.999999960041972e-13,
                                                       1 / 9.999999960041972e-13,
                                                       0.1 / 0.21], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_extremes_raise_no_floating_point_error(reduction, dtype):
    Z = np.array(EXTREME_LOGITS, dtype=dtype).reshape(-1, 1) * np.array([1.0, -1.0], dtype)
    T = np.tile([1.0, 0.0], (len(EXTREME_LOGITS), 1))
    P = np.array([[0.0, 1.0], [1e-30, 1.0 - 1e-7], [0.5, 1e-45]], dtype=dtype)
    with np.errstate(all="raise"):
        for weights in (None, np.linspace(0.0, 2.0, len(Z))):
            logits = BinaryCrossEntropy(reduction=reduction)
            value = logits.forward(Z, T, sample_weight=weights)
            assert np.all(np.isfinite(value)) and np.all(np.isfinite(logits.backward()))
        probabilities = BinaryCrossEntropy(from_logits=False, reduction=reduction)
        value = probabilities.forward(P, [[1, 0], [0, 1], [1, 1]])
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(probabilities.backward()))


# -- targets and predictions ---------------------------------------------------------------------
def test_bool_and_vector_targets_equal_float_columns():
    Z = np.random.default_rng(4).normal(size=(5, 1))
    T = np.array([True, False, False, True, True])
    as_bools, as_floats = BinaryCrossEntropy(), BinaryCrossEntropy()
    assert as_bools.forward(Z, T) == as_floats.forward(Z, T.astype(float).reshape(-1, 1))
    np.testing.assert_array_equal(as_bools.backward(), as_floats.backward())


@pytest.mark.parametrize(("target", "shown"), [
    ([[0.0], [2.0]], "2.0 at row 1, column 0"),
    ([[-0.5], [1.0]], "-0.5 at row 0, column 0"),
    ([[np.nan], [1.0]], "nan at row 0, column 0"),
])
def test_targets_outside_zero_one_are_refused(target, shown):
    with pytest.raises(ValueError) as info:
        BinaryCrossEntropy().forward(np.zeros((2, 1)), target)
    assert str(info.value) == f"BinaryCrossEntropy: the target must lie in [0, 1], got {shown}"


def test_text_targets_are_type_error():
    with pytest.raises(TypeError) as info:
        BinaryCrossEntropy().forward(np.zeros((2, 1)), ["yes", "no"])
    assert str(info.value) == ("BinaryCrossEntropy: the target must be numbers or bools in "
                               "[0, 1], got dtype <U3")


def test_probabilities_outside_zero_one_are_refused():
    with pytest.raises(ValueError) as info:
        BinaryCrossEntropy(from_logits=False).forward([[0.5, 1.5]], [[1.0, 0.0]])
    assert str(info.value) == (
        "BinaryCrossEntropy(from_logits=False): the prediction must be probabilities in [0, 1],"
        " got 1.5 at row 0, column 1; for logits use BinaryCrossEntropy() (from_logits=True)")


def test_nan_probability_reaches_the_value_for_the_divergence_guard():
    loss = BinaryCrossEntropy(from_logits=False)
    assert math.isnan(loss.forward([[np.nan]], [[1.0]]))


@pytest.mark.parametrize(("value", "shown"), [
    ("yes", "'yes'"), (1, "1 (int)"), ("sum", "'sum'; name the reduction: reduction='sum'")])
def test_from_logits_must_be_a_bool(value, shown):
    with pytest.raises(TypeError) as info:
        BinaryCrossEntropy(from_logits=value)
    assert str(info.value) == f"BinaryCrossEntropy: from_logits must be True or False, got {shown}"


# -- softmax labels ------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("labels", [
    pytest.param(np.array([[0], [3], [1], [2]]), id="int-column"),
    pytest.param(np.array([[0.0], [3.0], [1.0], [2.0]]), id="float-column"),
    pytest.param(np.array([0.0, 3.0, 1.0, 2.0]), id="float-vector"),
])
def test_label_forms_equal_integer_vector(labels, reduction):
    P = np.random.default_rng(5).normal(size=(4, 4))
    given = SoftmaxCrossEntropy(reduction=reduction)
    vector = SoftmaxCrossEntropy(reduction=reduction)
    np.testing.assert_array_equal(given.forward(P, labels),
                                  vector.forward(P, np.array([0, 3, 1, 2])))
    np.testing.assert_array_equal(given.backward(), vector.backward())


@pytest.mark.parametrize(("labels", "error", "message"), [
    pytest.param([[0.5], [1.0]], TypeError, "labels must be integers, got 0.5 at row 0",
                 id="fraction-column"),
    pytest.param([[1.0], [np.inf]], TypeError, "labels must be integers, got inf at row 1",
                 id="infinite"),
    pytest.param([[0], [3]], ValueError, "labels must lie in [0, 3), got 3 at row 1",
                 id="too-large-column"),
    pytest.param([[0], [-1]], ValueError, "labels must lie in [0, 3), got -1 at row 1",
                 id="negative-column"),
    pytest.param(["a", "b"], TypeError, "labels must be integers, got dtype <U1", id="text"),
])
def test_bad_labels_are_refused(labels, error, message):
    with pytest.raises(error) as info:
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array(labels))
    assert str(info.value) == f"SoftmaxCrossEntropy: {message}"


def test_single_class_column_is_read_as_rows():
    # one class: a (batch, 1) target means probability rows, as it always did; log softmax is 0
    loss = SoftmaxCrossEntropy(reduction="none")
    assert loss.forward(np.array([[3.0], [-2.0]]), np.array([[1.0], [0.0]])).tolist() == [
        0.0, 0.0]


# -- it trains -----------------------------------------------------------------------------------
def test_fit_with_binary_cross_entropy_on_auto_lowers_the_loss():
    # separable by x0 + x1 > 0; engine="auto" runs this loss where it can (NumPy for now)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(32, 2))
    Y = (X[:, :1] + X[:, 1:] > 0).astype(float)
    model = minibp.mlp([2, 4, 1], "tanh", seed=0)
    history = model.fit(X, Y, loss=BinaryCrossEntropy(), optimizer=minibp.SGD(0.5),
                        epochs=60, batch_size=8, seed=0, verbose=0, engine="auto")
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean((model.predict(X) > 0) == (Y > 0.5)) >= 0.9
