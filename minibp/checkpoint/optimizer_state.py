"""An optimizer as a header entry plus its state arrays, and back, bound to a model.

Stored: its class (SGD, Adam or AdamW), settings, lr (a number, one of the built-in
schedules by its numbers, or the mark of a callable, which the loader must be given again),
lr_scale, the step count, and per parameter of the model the state arrays it holds
("optimizer.model[0].W.exp_avg"). Restored state is written into the arrays the optimizer
makes for the model's own parameters, so training continues exactly where it stopped.
"""

from __future__ import annotations

import math

import numpy as np

from minibp.checkpoint.files import expect
from minibp.errors import CheckpointError
from minibp.optim import SGD, Adam, AdamW, CosineDecay, ExponentialDecay, StepDecay

OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW)}
SCHEDULES = {cls.__name__: cls for cls in (StepDecay, CosineDecay, ExponentialDecay)}
SETTINGS = {  # constructor keywords stored per class, besides lr and l2
    "SGD": ("momentum", "nesterov", "weight_decay"),
    "Adam": ("betas", "eps", "weight_decay"),
    "AdamW": ("betas", "eps", "weight_decay"),
}
CALLABLE = "callable"


def optimizer_entry(optimizer, parameters) -> tuple[dict, dict[str, np.ndarray]]:
    """(header entry, arrays) for optimizer and the named parameters of its model."""
    name = type(optimizer).__name__
    if OPTIMIZERS.get(name) is not type(optimizer):
        raise TypeError(f"save: optimizer must be one of {', '.join(OPTIMIZERS)}, got "
                        f"{name}: its state has no place in a minibp file")
    settings = {key: getattr(optimizer, key) for key in SETTINGS[name]}
    arrays = {f"optimizer.{p.name}.{state}": value
              for p in parameters if optimizer.has_state(p)
              for state, value in optimizer.state(p).items()}
    entry = {"type": name, "lr": _lr_entry(optimizer.lr), "l2": optimizer.l2,
             "lr_scale": optimizer.lr_scale, "steps": optimizer.steps,
             "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}
    return entry, arrays


def build_optimizer(entry, arrays, parameters, path, lr=None):
    """The optimizer the entry describes (settings, lr, lr_scale, steps), every field and
    the stored state's fit to parameters (the model's, named as in the file) checked; its
    state is not restored yet (restore_state). lr replaces a stored callable schedule."""
    expect(isinstance(entry, dict) and entry.get("type") in OPTIMIZERS, path,
           f"the optimizer must be one of {list(OPTIMIZERS)}, got {entry!r}")
    settings = entry.get("settings")
    expect(isinstance(settings, dict) and set(settings) == set(SETTINGS[entry["type"]]),
           path, f"the optimizer's settings must name {list(SETTINGS[entry['type']])}, got "
           f"{settings!r}")
    for key in ("lr_scale", "l2"):
        expect(_is_number(entry.get(key)), path, f"the optimizer's {key} must be a "
               f"number, got {entry.get(key)!r}")
    steps = entry.get("steps")
    expect(type(steps) is int and steps >= 0, path,
           f"the optimizer's steps must be an integer >= 0, got {steps!r}")
    _check_state(entry["type"], arrays, parameters, path)
    optimizer = _construct(entry, settings, _lr(entry.get("lr"), lr, path), path)
    optimizer.lr_scale, optimizer.steps = float(entry["lr_scale"]), steps
    return optimizer


def restore_state(optimizer, arrays, parameters) -> None:
    """Write the stored state into the arrays the optimizer makes for parameters."""
    for p in parameters:
        for state, target in _stored_states(arrays, p, optimizer.state_names):
            optimizer.state(p)[state][...] = target


def _lr_entry(lr):
    if type(lr) in SCHEDULES.values():
        return {"schedule": type(lr).__name__, "params": list(lr.params)}
    if callable(lr):
        return {"schedule": CALLABLE, "repr": repr(lr)}
    return lr


def _lr(entry, given, path):
    if given is not None:
        return given
    if _is_number(entry):
        return entry
    expect(isinstance(entry, dict), path, f"the optimizer's lr must be a number or a "
           f"schedule, got {entry!r}")
    kind = entry.get("schedule")
    expect(kind != CALLABLE, path, f"the optimizer's lr was a function ({entry.get('repr')}), "
           "which a file cannot hold: pass it again, load_optimizer(path, model, lr=...)")
    params = entry.get("params")
    expect(kind in SCHEDULES and isinstance(params, list) and len(params) in (2, 3)
           and all(_is_number(v) for v in params), path,
           f"the optimizer's lr schedule must be one of {list(SCHEDULES)} with its numbers, "
           f"got {entry!r}")
    if kind == "ExponentialDecay":
        return ExponentialDecay(*params)
    lr, count, third = params
    expect(float(count).is_integer(), path, f"{kind}'s step count must be whole, got {count}")
    return SCHEDULES[kind](lr, int(count), third)


def _construct(entry, settings, lr, path):
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    try:
        return OPTIMIZERS[entry["type"]](lr, **kwargs, l2=entry["l2"])
    except (TypeError, ValueError) as error:  # the optimizer refused a stored setting
        raise CheckpointError(f"{path}: the optimizer's settings are not valid ({error})") \
            from None


def _check_state(kind, arrays, parameters, path) -> None:
    """Every stored state array belongs to one of the parameters, with its shape."""
    names = {f"optimizer.{p.name}.{state}": p for p in parameters
             for state in _state_names(kind)}
    for name, array in arrays.items():
        if not name.startswith("optimizer."):
            continue
        p = names.get(name)
        expect(p is not None, path, f"{name} is not the state of any parameter of this model")
        expect(array.shape == p.value.shape, path,
               f"{name} has shape {array.shape}, but {p.name} is {p.value.shape}")
    for p in parameters:
        held = [f"optimizer.{p.name}.{s}" in arrays for s in _state_names(kind)]
        expect(all(held) or not any(held), path,
               f"the optimizer's state of {p.name} is incomplete ({sum(held)} of "
               f"{len(held)} arrays)")


def _stored_states(arrays, p, state_names):
    found = [(s, arrays.get(f"optimizer.{p.name}.{s}")) for s in state_names]
    return [(s, a) for s, a in found if a is not None]


def _state_names(kind: str) -> tuple[str, ...]:
    return ("momentum_buffer",) if kind == "SGD" else ("exp_avg", "exp_avg_sq")


def _is_number(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)

