"""The loss protocol: ``forward(pred, target, sample_weight=None) -> float`` and
``backward() -> dPred``, with the checks and reductions every loss shares.

reduction:
- "mean" (default): the documented mean; backward is the gradient of that mean.
- "sum": the sum of the unreduced terms; backward is its gradient.
- "none": the unreduced terms, an array; backward is the gradient of their sum.

Per-sample weights w (batch,) turn every mean into a weighted mean over samples. With s_i the
sum of row i's terms and c what the unweighted mean divides by per row (1 for a mean over
samples, the number of outputs for a mean over elements):

    "mean" = sum_i w_i * s_i / (c * sum_i w_i)      "sum" = sum_i w_i * s_i

and "none" gives the terms of row i times w_i. Integer weights count a row that many times.

A target of shape (n,) against a prediction of shape (n, 1) is read as a column; any other
mismatch is an error.
"""

from __future__ import annotations

import numpy as np

from minibp.errors import check_finite, expect_choice, expect_shape

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """Shared checks and reduction; subclasses give the unreduced terms and their gradient."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = expect_choice(reduction, "reduction", type(self).__name__, REDUCTIONS)
        self._dPred = None

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight=None):
        """Loss of pred (batch, outputs) against target, optionally weighted per sample by
        sample_weight (batch,); keeps what backward needs.

        Underflow is not an error here: a term or gradient below the smallest float (the
        exp(-1000) of a confident logit) rounds to zero or a subnormal, which is the answer.
        """
        who = type(self).__name__
        pred = check_prediction(pred, who)
        target = self._check_target(pred, target)
        weight = None if sample_weight is None else check_sample_weight(sample_weight,
                                                                        pred.shape[0], who)
        with np.errstate(under="ignore"):
            terms, dTerms_dPred = self._terms(pred, target)
            if weight is None:
                return self._reduce(terms, dTerms_dPred)
            return self._reduce_weighted(terms, dTerms_dPred, weight)

    def backward(self) -> np.ndarray:
        """dLoss/dPred, shape (batch, outputs), for the last forward."""
        if self._dPred is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "nothing saved to differentiate.")
        return self._dPred

    def __call__(self, pred, target, sample_weight=None):
        return self.forward(pred, target, sample_weight)

    def __repr__(self) -> str:
        settings = self._settings()
        if self.reduction != "mean":
            settings.append(f"reduction={self.reduction!r}")
        return f"{type(self).__name__}({', '.join(settings)})"

    def target_rows(self, target, shape, dtype) -> np.ndarray:
        """target as the (batch, outputs) array forward compares against a prediction of this
        shape and dtype (labels become one-hot rows); checked as forward checks it."""
        return self._check_target(np.empty(shape, dtype), target)

    # -- for subclasses ---------------------------------------------------------------------
    def _terms(self, pred, target):
        """Return (unreduced terms, gradient of their sum with respect to pred)."""
        raise NotImplementedError

    def _mean_divisor(self, terms) -> int:
        """What "mean" divides the summed terms by: a whole number of terms per row."""
        return terms.size

    def _settings(self) -> list[str]:
        """The constructor arguments __repr__ shows besides reduction."""
        return []

    def _check_target(self, pred, target) -> np.ndarray:
        return same_shape_target(pred, target, type(self).__name__)

    # -- reductions ---------------------------------------------------------------------------
    def _reduce(self, terms, dTerms_dPred):
        """The unweighted reductions: terms (batch, ...), gradient (batch, outputs)."""
        divisor = self._mean_divisor(terms) if self.reduction == "mean" else 1
        self._dPred = dTerms_dPred / divisor
        if self.reduction == "none":
            return terms
        total = float(np.sum(terms, dtype=np.float64))
        return total / divisor if self.reduction == "mean" else total

    def _reduce_weighted(self, terms, dTerms_dPred, weight):
        """The weighted reductions; weight (batch,) float64, checked."""
        w = weight.astype(dTerms_dPred.dtype)
        weighted = terms * w.reshape((-1,) + (1,) * (terms.ndim - 1))
        divisor = 1.0
        if self.reduction == "mean":
            per_row = self._mean_divisor(terms) // terms.shape[0]  # c: 1, or the outputs
            divisor = float(np.sum(weight, dtype=np.float64)) * per_row
        self._dPred = dTerms_dPred * w[:, None] / divisor
        if self.reduction == "none":
            return weighted
        return float(np.sum(weighted, dtype=np.float64)) / divisor


# -- checks shared by the losses and the metrics ------------------------------------------------
def check_prediction(pred, who: str) -> np.ndarray:
    """pred as a 2-D float array (batch, outputs) with at least one row."""
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


def same_shape_target(pred, target, who: str) -> np.ndarray:
    """target in pred's dtype and shape; a vector (n,) against pred (n, 1) becomes a column."""
    target = np.asarray(target, dtype=pred.dtype)
    if target.ndim == 1 and pred.shape[1] == 1 and target.shape[0] == pred.shape[0]:
        target = target.reshape(-1, 1)
    if target.shape != pred.shape:
        raise ValueError(f"{who}: the target must have the prediction's shape {pred.shape}, "
                         f"got {target.shape}")
    return target


def check_sample_weight(sample_weight, rows: int, who: str) -> np.ndarray:
    """sample_weight as float64 (rows,): finite, >= 0, with a positive finite sum."""
    weight = np.asarray(sample_weight)
    if weight.dtype.kind not in "biuf":
        raise TypeError(f"{who}: sample_weight must be numbers, got dtype {weight.dtype}")
    expect_shape(weight, (rows,), "sample_weight", who, " (one weight per sample)")
    weight = weight.astype(np.float64)
    check_finite(weight, "sample_weight", who)
    negative = weight < 0
    if np.any(negative):
        first = int(np.argmax(negative))
        raise ValueError(f"{who}: sample_weight must be >= 0, got {weight[first]} at row {first}")
    with np.errstate(over="ignore"):  # an overflowing sum is refused just below
        total = float(np.sum(weight))
    if not (np.isfinite(total) and total > 0):
        raise ValueError(f"{who}: sample_weight must have a finite sum above 0, got {total}")
    return weight
