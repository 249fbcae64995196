"""fit's keyword arguments, checked and turned into a trainer Plan: the one place that says
what each argument may be."""

from __future__ import annotations

import functools

import numpy as np

from minibp.engines.progress import check_verbose
from minibp.engines.trainer import Plan
from minibp.errors import check_training_data, expect_choice, expect_int, expect_number, shown
from minibp.nn.losses import get_loss
from minibp.nn.metrics import get_metric
from minibp.optim import get_optimizer

DIVERGENCE_ACTIONS = ("raise", "stop")


def loss_from(value, who: str = "fit"):
    return get_loss(value, who)


def optimizer_from(value):
    """An optimizer by name or instance; any object with a step method passes too."""
    if not isinstance(value, (str, type)) and callable(getattr(value, "step", None)):
        return value
    return get_optimizer(value)


def make_plan(X, Y, *, epochs, batch_size, shuffle, seed, validation_data, validation_split,
              metrics, callbacks, verbose, sample_weight, clip_norm, on_divergence):
    """(X, Y, Plan) with X and Y the training rows (the validation split taken off the end,
    before any shuffling, as Keras does)."""
    X, Y = check_training_data(X, Y)
    weights = _sample_weight(sample_weight, len(X), "sample_weight")
    scalars = (epochs, batch_size, shuffle, clip_norm, on_divergence, verbose,
               validation_split)
    try:  # the same numbers as last time (a loop of fits): checked then, not again
        checked = _checked_scalars(*scalars)
    except TypeError:  # one of them unhashable (so wrong: the check says how), or refused
        checked = _checked_scalars.__wrapped__(*scalars)
    epochs, batch_size, shuffle, clip_norm, on_divergence, verbose, split = checked
    X, Y, weights, validation = _validation(X, Y, weights, validation_data, split)
    plan = Plan(epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed,
                sample_weight=weights, clip_norm=clip_norm, on_divergence=on_divergence,
                verbose=verbose, metrics=[] if _empty(metrics) else _metrics(metrics),
                callbacks=[] if _empty(callbacks) else _callbacks(callbacks),
                validation=validation)
    return X, Y, plan


@functools.lru_cache(maxsize=32, typed=True)  # typed: 1 is not True, 2.0 is not 2
def _checked_scalars(epochs, batch_size, shuffle, clip_norm, on_divergence, verbose,
                     validation_split) -> tuple:
    """fit's scalar arguments checked (a pure function of them, so remembered: in the
    chapter's loop of fit(epochs=1) these checks cost more than the training step)."""
    return (expect_int(epochs, "epochs", "fit", least=0),
            expect_int(batch_size, "batch_size", "fit", least=1),
            _bool(shuffle, "shuffle"),
            None if clip_norm is None else expect_number(clip_norm, "clip_norm", "fit",
                                                         above=0.0),
            expect_choice(on_divergence, "on_divergence", "fit", DIVERGENCE_ACTIONS),
            check_verbose(verbose),
            expect_number(validation_split, "validation_split", "fit", least=0.0,
                          below=1.0))


def _empty(values) -> bool:
    return type(values) in (tuple, list) and not values  # fit's default, (), or []


def _bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"fit: {name} must be True or False, got {shown(value)}")
    return bool(value)


def _sample_weight(weights, n: int, name: str):
    if weights is None:
        return None
    weights = np.asarray(weights)
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"fit: {name} must be numbers, got dtype {weights.dtype}")
    weights = weights.astype(np.float64)
    if weights.ndim == 2 and weights.shape[1] == 1:  # a column, as Y often is
        weights = weights[:, 0]
    if weights.shape != (n,):
        raise ValueError(f"fit: {name} must have shape ({n},), one per sample, got "
                         f"{weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.sum(weights) > 0:
        raise ValueError(f"fit: {name} must be finite, >= 0 and not all 0, got "
                         f"min {np.min(weights)}, sum {np.sum(weights)}")
    return weights


def _validation(X, Y, weights, validation_data, split: float):
    if validation_data is not None:
        if split:
            raise ValueError("fit: give validation_data or validation_split, not both")
        return X, Y, weights, _validation_tuple(validation_data)
    if not split:
        return X, Y, weights, None
    keep = int(round(len(X) * (1.0 - split)))
    if keep < 1 or keep == len(X):
        raise ValueError(f"fit: validation_split={split} of {len(X)} samples leaves "
                         f"{keep} for training and {len(X) - keep} for validation; both need "
                         "at least one")
    tail = None if weights is None else weights[keep:]
    head = None if weights is None else weights[:keep]
    return X[:keep], Y[:keep], head, (X[keep:], Y[keep:], tail)


def _validation_tuple(data):
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise TypeError(f"fit: validation_data must be (X_val, Y_val) or (X_val, Y_val, "
                        f"sample_weight_val), got {shown(data)}")
    Xv, Yv = check_training_data(data[0], data[1], "fit (validation_data)")
    wv = _sample_weight(data[2], len(Xv), "validation sample_weight") if len(data) == 3 \
        else None
    return Xv, Yv, wv


def _metrics(metrics) -> list:
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    found = [get_metric(m) for m in metrics]
    names = [name for name, _ in found]
    if len(set(names)) != len(names):
        raise ValueError(f"fit: metrics must have different names, got {names}")
    return found


def _callbacks(callbacks) -> list:
    callbacks = [callbacks] if hasattr(callbacks, "on_epoch_end") else list(callbacks)
    hooks = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end")
    for callback in callbacks:
        if isinstance(callback, type):
            raise TypeError(f"fit: callbacks must be instances, got the class "
                            f"{callback.__name__}; pass {callback.__name__}(...)")
        if not any(callable(getattr(callback, hook, None)) for hook in hooks):
            raise TypeError(f"fit: a callback must have one of {', '.join(hooks)}, got "
                            f"{shown(callback)}")
    return callbacks
