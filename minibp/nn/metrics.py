"""Metrics: pure functions of a prediction (n, k) and a target, each returning a Python float.

- accuracy: the fraction of right answers. Several outputs: the argmax of each row against
  an integer label (n,) or (n, 1), or against the argmax of a one-hot or probability row
  (ties go to the first). One output, or a BinaryCrossEntropy (multi-label): each output
  is a yes/no, pred > threshold against target >= 0.5, averaged over all elements, as
  Keras' binary_accuracy; the threshold is 0 on logits (a BinaryCrossEntropy with
  from_logits=True), else 0.5.
- mse: mean over all elements of (pred - target)**2.  mae: mean of |pred - target|.

With sample_weight w (n,) each becomes a weighted mean over samples, with r_i the sum of
row i's per-element values and c the elements per row:

    sum_i w_i * r_i / (c * sum_i w_i)

``get_metric`` turns a name (or a function f(pred, target) -> float) into (name, function).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minibp.errors import expect_choice, shown
from minibp.nn.cross_entropy import BinaryCrossEntropy, class_labels
from minibp.nn.loss import check_prediction, check_sample_weight, same_shape_target
from minibp.nn.losses import get_loss


def accuracy(pred, target, *, loss=None, sample_weight=None) -> float:
    """Fraction right: argmax against labels, or thresholded yes/no per output (see module).

    pred (n, k); target labels (n,) or (n, 1), or rows (n, k); loss the loss the model
    trains with (an instance or a name, or None); sample_weight (n,) or None.
    """
    pred = check_prediction(pred, "accuracy")
    loss = get_loss(loss, "accuracy") if isinstance(loss, str) else loss
    if pred.shape[1] == 1 or isinstance(loss, BinaryCrossEntropy):
        logits = isinstance(loss, BinaryCrossEntropy) and loss.from_logits
        target = same_shape_target(pred, target, "accuracy")
        right = (pred > (0.0 if logits else 0.5)) == (target >= 0.5)
    else:
        right = (np.argmax(pred, axis=1) == _labels(pred, target))[:, None]
    return _weighted_mean(right, sample_weight, "accuracy")


def mse(pred, target, *, sample_weight=None) -> float:
    """Mean over all elements of (pred - target)**2; pred, target (n, k), or target (n,)
    against pred (n, 1)."""
    pred = check_prediction(pred, "mse")
    diff = pred - same_shape_target(pred, target, "mse")
    return _weighted_mean(diff * diff, sample_weight, "mse")


def mae(pred, target, *, sample_weight=None) -> float:
    """Mean over all elements of |pred - target|; shapes as mse."""
    pred = check_prediction(pred, "mae")
    diff = pred - same_shape_target(pred, target, "mae")
    return _weighted_mean(np.abs(diff), sample_weight, "mae")


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae}


def get_metric(metric) -> tuple[str, Callable]:
    """(name, function) for a name in METRICS, or for a function f(pred, target) -> float,
    named by its __name__."""
    if isinstance(metric, str):
        name = expect_choice(metric, "metric", "get_metric", tuple(METRICS))
        return name, METRICS[name]
    if callable(metric) and not isinstance(metric, type):
        return getattr(metric, "__name__", type(metric).__name__), metric
    listed = ", ".join(repr(name) for name in METRICS)
    raise TypeError(f"get_metric: metric must be one of {listed} or a function "
                    f"f(pred, target) -> float, got {shown(metric)}")


def _labels(pred, target) -> np.ndarray:
    """The true class per row (n,): labels (n,) or (n, 1), or the argmax of rows (n, k)."""
    batch, classes = pred.shape
    target = np.asarray(target)
    if target.shape in ((batch,), (batch, 1)):
        return class_labels(target.reshape(-1), classes, "accuracy")
    return np.argmax(same_shape_target(pred, target, "accuracy"), axis=1)


def _weighted_mean(values, sample_weight, who: str) -> float:
    """Mean of values (n, c) over all elements, weighted per row when sample_weight is given."""
    if sample_weight is None:
        return float(np.mean(values, dtype=np.float64))
    weight = check_sample_weight(sample_weight, values.shape[0], who)
    rows = np.sum(values, axis=1, dtype=np.float64)
    return float(np.sum(weight * rows) / (values.shape[1] * np.sum(weight)))
