"""Cross-entropy losses: SoftmaxCrossEntropy (one class per sample) and BinaryCrossEntropy
(a yes/no per output), the class labels they and the metrics read, and ``softmax``, the
probabilities SoftmaxCrossEntropy's logits stand for.

Both work from logits through log-sum-exp forms, so logits of +-1000 give exact, finite
terms and gradients without an overflow or underflow warning.
"""

from __future__ import annotations

import numpy as np

from minibp.errors import shown
from minibp.nn.activations import stable_sigmoid
from minibp.nn.loss import REDUCTIONS, Loss, same_shape_target

LOG_FLOOR = -100.0  # log p and log(1 - p) are floored here, as torch.nn.BCELoss does
# torch's floor under p * (1 - p) in BCELoss's gradient: EPSILON = 1e-12 as a C float, which
# is 9.99999996e-13 (measured: torch 2.13's summed gradient at p = 0, t = 1 is -1.0000000040e12)
PROBABILITY_GRADIENT_FLOOR = float(np.float32(1e-12))


class SoftmaxCrossEntropy(Loss):
    """E = mean over the batch of logsumexp(z) - z[label], on logits z.

    Shapes: logits (batch, classes); target integer labels (batch,) or (batch, 1), or rows
    (batch, classes) of class probabilities (one-hot for hard labels). Integral floats are
    labels too. With a single class a (batch, 1) target is read as rows. Computed through
    log-sum-exp, so large logits neither overflow nor lose the answer.
    """

    def _terms(self, logits, target):
        shifted, exp, sum_exp = _shifted_exp(logits)
        log_probs = shifted - np.log(sum_exp)
        terms = -np.sum(target * log_probs, axis=1)
        dLogits = exp / sum_exp * target.sum(axis=1, keepdims=True) - target
        return terms, dLogits

    def _mean_divisor(self, terms) -> int:
        return terms.shape[0]

    def _check_target(self, logits, target) -> np.ndarray:
        target = np.asarray(target)
        batch, classes = logits.shape
        is_vector = target.shape == (batch,)
        if is_vector or (target.shape == (batch, 1) and classes != 1):
            labels = class_labels(target.reshape(-1), classes, "SoftmaxCrossEntropy")
            return _one_hot(labels, classes, logits.dtype)
        target = same_shape_target(logits, target, "SoftmaxCrossEntropy")
        _check_distributions(target)
        return target


class BinaryCrossEntropy(Loss):
    """E = mean over all elements of -(t log p + (1 - t) log(1 - p)), p = sigmoid(z).

    from_logits=True (default) takes logits z, as torch.nn.BCEWithLogitsLoss:

        terms = max(z, 0) - z * t + log1p(exp(-|z|)),  dterms/dz = sigmoid(z) - t

    the log-sigmoid form, which only exponentiates -|z| <= 0: exact and finite for any
    logit. from_logits=False takes probabilities p in [0, 1], as torch.nn.BCELoss: each log
    is floored at -100, and the gradient (p - t) / max(p (1 - p), 1e-12) stays finite
    (torch's floor, to the bit).

    Shapes: pred (batch, outputs), one output for a yes/no, several for multi-label; target
    the same shape, or (batch,) against one output: 0/1, bools, or soft labels in [0, 1].
    "none" gives one term per element.
    """

    def __init__(self, from_logits: bool = True, reduction: str = "mean"):
        super().__init__(reduction)
        if not isinstance(from_logits, (bool, np.bool_)):
            hint = (f"; name the reduction: reduction={from_logits!r}"
                    if from_logits in REDUCTIONS else "")
            raise TypeError("BinaryCrossEntropy: from_logits must be True or False, "
                            f"got {shown(from_logits)}{hint}")
        self.from_logits = bool(from_logits)

    def _terms(self, pred, target):
        if self.from_logits:
            return _logit_terms(pred, target)
        _check_probabilities(pred)
        return _probability_terms(pred, target)

    def _settings(self) -> list[str]:
        return [] if self.from_logits else ["from_logits=False"]

    def _check_target(self, pred, target) -> np.ndarray:
        target = np.asarray(target)
        if target.dtype.kind not in "biuf":
            raise TypeError("BinaryCrossEntropy: the target must be numbers or bools in "
                            f"[0, 1], got dtype {target.dtype}")
        target = same_shape_target(pred, target, "BinaryCrossEntropy")
        _refuse_outside_unit_interval(~((target >= 0) & (target <= 1)), target,
                                      "BinaryCrossEntropy: the target must lie in [0, 1]", "")
        return target


def probability_link(loss) -> str | None:
    """How a model fit with ``loss`` turns its outputs into probabilities (predict_proba, an
    exported head): "softmax" after SoftmaxCrossEntropy, "sigmoid" after BinaryCrossEntropy
    on logits, None otherwise (the outputs are read as they are)."""
    if isinstance(loss, SoftmaxCrossEntropy):
        return "softmax"
    if isinstance(loss, BinaryCrossEntropy) and loss.from_logits:
        return "sigmoid"
    return None


def softmax(Z: np.ndarray) -> np.ndarray:
    """Each row of the logits Z (batch, classes) as class probabilities (batch, classes)
    summing to 1: exp(z - max z) / sum(exp(z - max z)), the probabilities
    SoftmaxCrossEntropy's gradient uses. Only numbers <= 0 are exponentiated, so nothing
    overflows; a class far below its row's top gets 0 (or a subnormal), the exact limit,
    without an underflow error even under np.errstate(all="raise")."""
    _, exp, sum_exp = _shifted_exp(np.asarray(Z))
    with np.errstate(under="ignore"):  # a subnormal exp over its row's sum (>= 1)
        return exp / sum_exp


def _shifted_exp(Z):
    """Z (batch, classes) -> (Z - its row maxima, exp of that, the exp's row sums (batch, 1))."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):  # exp(-1000) reaching 0 is the exact limit
        exp = np.exp(shifted)
    return shifted, exp, exp.sum(axis=1, keepdims=True)


def _logit_terms(Z, T):
    """Z, T (batch, outputs) -> terms and dterms/dZ, both (batch, outputs)."""
    E = np.exp(-np.abs(Z))  # in [0, 1]: never overflows; reaching 0 is the exact limit
    terms = np.maximum(Z, 0) - Z * T + np.log1p(E)
    return terms, stable_sigmoid(Z) - T


def _probability_terms(P, T):
    """P, T (batch, outputs) -> terms and dterms/dP, both (batch, outputs)."""
    with np.errstate(divide="ignore"):  # log(0) = -inf, floored on the same line
        log_p = np.maximum(np.log(P), LOG_FLOOR)
        log_q = np.maximum(np.log1p(-P), LOG_FLOOR)
    terms = -(T * log_p + (1 - T) * log_q)
    dP = (P - T) / np.maximum(P * (1 - P), PROBABILITY_GRADIENT_FLOOR)
    return terms, dP


def _check_probabilities(P) -> None:
    """Refuse a finite value outside [0, 1]; NaN passes, for the divergence guard to report."""
    _refuse_outside_unit_interval((P < 0) | (P > 1), P,
                                  "BinaryCrossEntropy(from_logits=False): the prediction must "
                                  "be probabilities in [0, 1]",
                                  "; for logits use BinaryCrossEntropy() (from_logits=True)")


def _check_distributions(T) -> None:
    """Target rows of class probabilities: every entry in [0, 1] (torch, too, reads any row
    as weights of the classes' log-probabilities, so rows need not sum to 1)."""
    _refuse_outside_unit_interval(~((T >= 0) & (T <= 1)), T,
                                  "SoftmaxCrossEntropy: target probabilities must lie in "
                                  "[0, 1]", " (labels? pass them as integers of shape (n,))")


def _refuse_outside_unit_interval(bad, values, wanted: str, hint: str) -> None:
    if np.any(bad):
        row, column = np.argwhere(bad)[0]
        raise ValueError(f"{wanted}, got {float(values[row, column])} at row {row}, "
                         f"column {column}{hint}")


def class_labels(labels, classes: int, who: str) -> np.ndarray:
    """Labels (n,) as int64 in [0, classes); integral floats accepted, anything else refused."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating):
            raise TypeError(f"{who}: labels must be integers, got dtype {labels.dtype}")
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not np.all(whole):
            first = int(np.argmin(whole))
            raise TypeError(f"{who}: labels must be integers, got {labels[first]} at row "
                            f"{first}")
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= classes)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise ValueError(f"{who}: labels must lie in [0, {classes}), "
                         f"got {labels[first]} at row {first}")
    return labels


def _one_hot(labels, classes: int, dtype) -> np.ndarray:
    """Checked labels (n,) -> one-hot rows (n, classes)."""
    rows = np.zeros((labels.shape[0], classes), dtype=dtype)
    rows[np.arange(labels.shape[0]), labels] = 1.0
    return rows
