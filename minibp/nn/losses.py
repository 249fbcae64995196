"""Losses: ``forward(pred, target) -> float`` and ``backward() -> dPred``.

reduction:
- "mean" (default): the documented mean; backward is the gradient of that mean.
- "sum": the sum of the unreduced terms; backward is its gradient.
- "none": the unreduced terms, an array; backward is the gradient of their sum.
  SquaredError and MSE give one term per element, shape (batch, outputs), so the chapter's
  E_o1 and E_o2 are ``E[0, 0]`` and ``E[0, 1]``; SoftmaxCrossEntropy gives one per sample.

A target of shape (n,) against a prediction of shape (n, 1) is read as a column; any other
mismatch is an error.
"""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_choice

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """Shared checks and reduction; subclasses give the unreduced terms and their gradient."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = expect_choice(reduction, "reduction", type(self).__name__, REDUCTIONS)
        self._dPred = None

    def forward(self, pred: np.ndarray, target: np.ndarray):
        """Loss of pred (batch, outputs) against target; keeps what backward needs."""
        pred = _check_prediction(pred, type(self).__name__)
        target = self._check_target(pred, target)
        terms, dTerms_dPred = self._terms(pred, target)
        self._dPred = dTerms_dPred / self._divisor(terms)
        if self.reduction == "none":
            return terms
        total = float(np.sum(terms, dtype=np.float64))
        return total / self._divisor(terms) if self.reduction == "mean" else total

    def backward(self) -> np.ndarray:
        """dLoss/dPred, shape (batch, outputs), for the last forward."""
        if self._dPred is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "nothing saved to differentiate.")
        return self._dPred

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def __repr__(self) -> str:
        extra = "" if self.reduction == "mean" else f"reduction={self.reduction!r}"
        return f"{type(self).__name__}({extra})"

    def target_rows(self, target, shape, dtype) -> np.ndarray:
        """target as the (batch, outputs) array forward compares against a prediction of this
        shape and dtype (labels become one-hot rows); checked as forward checks it."""
        return self._check_target(np.empty(shape, dtype), target)

    # -- for subclasses ---------------------------------------------------------------------
    def _terms(self, pred, target):
        """Return (unreduced terms, gradient of their sum with respect to pred)."""
        raise NotImplementedError

    def _mean_divisor(self, terms) -> int:
        """What "mean" divides the summed terms by."""
        return terms.size

    def _divisor(self, terms) -> int:
        return self._mean_divisor(terms) if self.reduction == "mean" else 1

    def _check_target(self, pred, target) -> np.ndarray:
        return _same_shape_target(pred, target, type(self).__name__)


class SquaredError(Loss):
    """E = mean over the batch of 1/2 * sum over outputs of (pred - target)**2.

    For one sample this is the chapter's E_total. Shapes: pred, target (batch, outputs).
    """

    def _terms(self, pred, target):
        diff = pred - target
        return 0.5 * diff * diff, diff

    def _mean_divisor(self, terms) -> int:
        return terms.shape[0]


class MSE(Loss):
    """E = mean over all elements of (pred - target)**2, as PyTorch's MSELoss.

    Shapes: pred, target (batch, outputs).
    """

    def _terms(self, pred, target):
        diff = pred - target
        return diff * diff, 2.0 * diff


class SoftmaxCrossEntropy(Loss):
    """E = mean over the batch of logsumexp(z) - z[label], on logits z.

    Shapes: logits (batch, classes); target integer labels (batch,) or rows (batch, classes)
    of class probabilities (one-hot for hard labels). Computed through log-sum-exp, so large
    logits neither overflow nor lose the answer.
    """

    def _terms(self, logits, target):
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        log_probs = shifted - np.log(sum_exp)
        terms = -np.sum(target * log_probs, axis=1)
        dLogits = exp / sum_exp * target.sum(axis=1, keepdims=True) - target
        return terms, dLogits

    def _mean_divisor(self, terms) -> int:
        return terms.shape[0]

    def _check_target(self, logits, target) -> np.ndarray:
        target = np.asarray(target)
        if target.ndim == 1 and target.shape[0] == logits.shape[0]:
            return _one_hot(target, logits.shape[1], logits.dtype)
        return _same_shape_target(logits, target, "SoftmaxCrossEntropy")


def _check_prediction(pred, who: str) -> np.ndarray:
    pred = np.asarray(pred)
    if pred.dtype.kind != "f":
        pred = pred.astype(np.float64)
    if pred.ndim != 2:
        raise ValueError(f"{who}: the prediction must have shape (batch, outputs), "
                         f"got {pred.shape}")
    if pred.shape[0] == 0:
        raise ValueError(f"{who}: the batch must hold at least one row, got an empty one "
                         f"(prediction shape {pred.shape})")
    return pred


def _same_shape_target(pred, target, who: str) -> np.ndarray:
    target = np.asarray(target, dtype=pred.dtype)
    if target.ndim == 1 and pred.shape[1] == 1 and target.shape[0] == pred.shape[0]:
        target = target.reshape(-1, 1)
    if target.shape != pred.shape:
        raise ValueError(f"{who}: the target must have the prediction's shape {pred.shape}, "
                         f"got {target.shape}")
    return target


def _one_hot(labels, classes: int, dtype) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, classes), refusing non-integers and out-of-range."""
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or np.any(labels != np.round(labels)):
            raise TypeError("SoftmaxCrossEntropy: labels of shape (batch,) must be integers, "
                            f"got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= classes)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise ValueError(f"SoftmaxCrossEntropy: labels must lie in [0, {classes}), "
                         f"got {labels[first]} at row {first}")
    rows = np.zeros((labels.shape[0], classes), dtype=dtype)
    rows[np.arange(labels.shape[0]), labels] = 1.0
    return rows
