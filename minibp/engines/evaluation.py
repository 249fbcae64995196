"""Prediction in bounded memory, and the loss and metrics of a model on some data.

The NumPy engine keeps every layer's X, Z and A for the rows it is given, so predicting a
million rows at once would hold several copies of them; predict goes PREDICT_ROWS rows at a
time (the compiled engines chunk inside as well).
"""

from __future__ import annotations

import inspect

import numpy as np

from minibp.engines.epochs import weighted_loss

PREDICT_ROWS = 4096


def predict(model, engine, X, batch_size: int | None = None, who: str = "predict") -> np.ndarray:
    """The model's output for X (n, in) -> (n, out), ``batch_size`` rows per engine call;
    ``who`` names the caller in errors."""
    rows = PREDICT_ROWS if batch_size is None else batch_size
    if len(X) <= rows:
        return engine.predict(model.layers, X, who=who)
    out = None
    for start in range(0, len(X), rows):
        part = engine.predict(model.layers, X[start:start + rows], who=who)
        if out is None:
            out = np.empty((len(X),) + part.shape[1:], part.dtype)
        out[start:start + len(part)] = part
    return out


def evaluate(model, engine, X, Y, loss, metrics, sample_weight=None, *, last_loss=None,
             batch_size: int | None = None, who: str = "evaluate") -> dict[str, float]:
    """{"loss": ..., metric: ...} of the model on X, Y: the loss (when given) as fit computes
    it, weighted by sample_weight, and each (name, function) metric; ``last_loss`` is the
    loss the model was fit with, which tells accuracy how to read the outputs."""
    pred = predict(model, engine, X, batch_size, who)
    logs = {}
    if loss is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            logs["loss"] = float(weighted_loss(loss, pred, Y, sample_weight))
    for name, function in metrics:
        logs[name] = metric_value(function, pred, Y, last_loss, sample_weight)
    return logs


def metric_value(function, pred, Y, loss, sample_weight) -> float:
    """Call a metric with the keywords it takes: ``loss`` (the loss the model was fit with)
    and ``sample_weight`` when there is one."""
    accepted = _keywords(function)
    kwargs = {}
    if "loss" in accepted:
        kwargs["loss"] = loss
    if sample_weight is not None:
        if "sample_weight" not in accepted:
            raise TypeError(f"the metric {getattr(function, '__name__', function)!r} takes no "
                            "sample_weight, but fit was given one")
        kwargs["sample_weight"] = sample_weight
    return float(function(pred, Y, **kwargs))


def _keywords(function) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()
