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
PARAMS = {"StepDecay": 3, "CosineDecay": 3, "ExponentialDecay": 2}  # each schedule's numbers


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


def check_type(entry, path) -> None:
    """The entry names an optimizer a file can hold (checked before its state arrays)."""
    expect(isinstance(entry, dict) and isinstance(entry.get("type"), str)
           and entry["type"] in OPTIMIZERS, path,
           f"the optimizer must be one of {list(OPTIMIZERS)}, got {entry!r}")


def state_problems(entry, shapes: dict[str, list[int]], arrays) -> tuple[set, dict]:
    """(the names the state of a checked entry's optimizer may take, {name: what is wrong})
    for the parameters' shapes ({"model[0].W": [4, 3], ...}): every stored state array must
    have its parameter's shape, and a parameter's state is all there or absent."""
    names, problems = set(), {}
    for p, shape in shapes.items():
        held = [f"optimizer.{p}.{state}" for state in _state_names(entry["type"])]
        names.update(held)
        present = [name for name in held if name in arrays]
        for name in present:
            if list(arrays[name].shape) != list(shape):
                problems[name] = (f"{name} must have the shape of {p}, {tuple(shape)}, got "
                                  f"{arrays[name].shape}")
        if present and len(present) < len(held):
            for name in set(held) - set(present):
                problems.setdefault(name, f"the optimizer's state of {p} is incomplete "
                                    f"({len(present)} of {len(held)} arrays)")
    return names, problems


def build_optimizer(entry, path, lr=None):
    """The optimizer the entry describes (settings, lr, lr_scale, steps), every field
    checked; its state is not restored yet (restore_state, once state_problems found the
    arrays sound). lr replaces a stored callable schedule."""
    check_type(entry, path)
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
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    lr = _lr(entry.get("lr"), lr, path)
    optimizer = _built(lambda: OPTIMIZERS[entry["type"]](lr, **kwargs, l2=entry["l2"]),
                       path, "the optimizer's settings are not valid")
    optimizer.lr_scale, optimizer.steps = float(entry["lr_scale"]), steps
    return optimizer


def restore_state(optimizer, arrays, parameters) -> None:
    """Write the stored state into the arrays the optimizer makes for parameters."""
    for p in parameters:
        for state, target in _stored_states(arrays, p, optimizer.state_names):
            optimizer.state(p)[state][...] = target


def saved_callable(entry) -> bool:
    """The entry's lr was a function of the user's: only a given lr can replace it."""
    lr = entry.get("lr")
    return isinstance(lr, dict) and lr.get("schedule") == CALLABLE


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
    expect(isinstance(kind, str) and kind in SCHEDULES and isinstance(params, list)
           and len(params) == PARAMS[kind]
           and all(_is_number(v) for v in params), path,
           f"the optimizer's lr schedule must be one of {list(SCHEDULES)} with its numbers, "
           f"got {entry!r}")
    if kind == "ExponentialDecay":
        return _built(lambda: ExponentialDecay(*params), path,
                      f"the optimizer's {kind} is not valid")
    lr, count, third = params
    expect(float(count).is_integer(), path, f"{kind}'s step count must be whole, got {count}")
    return _built(lambda: SCHEDULES[kind](lr, int(count), third), path,
                  f"the optimizer's {kind} is not valid")


def _built(make, path, what: str):
    """make(), or a CheckpointError saying which stored values its constructor refused."""
    try:
        return make()
    except (TypeError, ValueError, OverflowError) as error:
        raise CheckpointError(f"{path}: {what} ({error})") from None


def _stored_states(arrays, p, state_names):
    found = [(s, arrays.get(f"optimizer.{p.name}.{s}")) for s in state_names]
    return [(s, a) for s, a in found if a is not None]


def _state_names(kind: str) -> tuple[str, ...]:
    return ("momentum_buffer",) if kind == "SGD" else ("exp_avg", "exp_avg_sq")


def _is_number(value) -> bool:
    """A finite JSON number (an int too large for a float is not one)."""
    return (type(value) is float and math.isfinite(value)
            or type(value) is int and abs(value) < 2 ** 1023)

