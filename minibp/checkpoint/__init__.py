"""Saving and loading models, safely: minibp's own file format.

A file is an .npz of the parameters (and optionally an optimizer's state and a
standardizer's numbers) plus a JSON header saying what they are: the layers from an
allow-list, dtypes, frozen flags, the loss of the last fit, the format and minibp versions.
It is read with ``allow_pickle=False`` only, checked whole before anything is built, and
written atomically (``atomic``). The user-facing calls are ``Sequential.save``,
``Sequential.load_weights``, ``minibp.load``, ``minibp.load_optimizer`` and
``ModelCheckpoint``; docs/saving.md describes the format.

- ``files``: the container (npz + header), checked; ``atomic``: the safe write.
- ``spec``: layers and losses as header entries; ``optimizer_state``: optimizers.
- ``callback``: ModelCheckpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minibp.checkpoint import files, optimizer_state, spec
from minibp.checkpoint.callback import ModelCheckpoint
from minibp.checkpoint.files import FORMAT_VERSION
from minibp.errors import CheckpointError
from minibp.nn.layer import named_parameters
from minibp.version import __version__

STANDARDIZER = "standardizer."


def save(path, layers, *, loss=None, optimizer=None, standardizer=None) -> Path:
    """Write layers (and the optimizer's state, a standardizer's numbers) to exactly path."""
    header = {"minibp_version": __version__,
              "layers": [spec.layer_spec(layer, i) for i, layer in enumerate(layers)],
              "loss": spec.loss_spec(loss), "optimizer": None, "standardizer": None}
    arrays = {}
    for i, layer in enumerate(layers):
        arrays.update(spec.layer_arrays(layer, i))
    if optimizer is not None:
        header["optimizer"], state = optimizer_state.optimizer_entry(
            optimizer, named_parameters(layers))
        arrays.update(state)
    if standardizer is not None:
        numbers = standardizer.state()
        header["standardizer"] = sorted(numbers)
        arrays.update({STANDARDIZER + k: np.asarray(v, np.float64) for k, v in numbers.items()})
    return files.write(path, header, arrays)


def read(path) -> tuple[list, object, dict, dict]:
    """(layers, loss, header, arrays) of the file at path, every part checked first."""
    header, arrays = files.load(path)
    specs, entry = header.get("layers"), header.get("optimizer")
    spec.check_layers(specs, path)
    if entry is not None:
        optimizer_state.check_type(entry, path)
    _check_arrays(header, arrays, path)
    layers = spec.build_layers(specs, arrays, path)
    loss = spec.build_loss(header.get("loss"), path)
    if entry is not None:  # checked now (no state copied): a bad file fails
        lr = 0.0 if optimizer_state.saved_callable(entry) else None
        optimizer_state.build_optimizer(entry, path, lr=lr)
    return layers, loss, header, arrays


def _check_arrays(header, arrays, path) -> None:
    """One CheckpointError listing every array that is missing, unlisted, unused by the
    layers, optimizer and standardizer the header describes, of the wrong shape or dtype, or
    not finite; nothing when all are sound."""
    problems = files.array_problems(header["arrays"], arrays)
    wanted = spec.expected_arrays(header["layers"])
    for name, (dtype, shape) in wanted.items():
        array = arrays.get(name)
        if array is None:
            problems.setdefault(name, "missing")
        elif [array.dtype.name, list(array.shape)] != [dtype, shape]:
            problems.setdefault(name, f"{name} must be {dtype} of shape {tuple(shape)}, got "
                                f"{array.dtype} of shape {array.shape}")
    state = set()
    if header.get("optimizer") is not None:
        shapes = {name: shape for name, (_, shape) in wanted.items()}
        state, found = optimizer_state.state_problems(header["optimizer"], shapes, arrays)
        for name, text in found.items():
            problems.setdefault(name, text)
    numbers = header.get("standardizer")
    numbers = [] if numbers is None else numbers
    files.expect(isinstance(numbers, list) and all(isinstance(n, str) for n in numbers),
                 path, f"the header's standardizer must be a list of names, got {numbers!r}")
    for name in {STANDARDIZER + n for n in numbers} - set(arrays):
        problems.setdefault(name, "missing")
    used = set(wanted) | state | {STANDARDIZER + n for n in numbers}
    for name in set(arrays) - used:
        problems.setdefault(name, "unused")
    if problems:
        raise CheckpointError(f"{path}: the arrays must be those the header describes, got "
                              f"{_problems_text(problems)}")


def _problems_text(problems: dict[str, str]) -> str:
    """Every problem in one line: the missing, not listed and unused arrays grouped."""
    groups = {"missing": [], "not listed": [], "unused": []}
    others = []
    for name, text in problems.items():
        if text in groups:
            groups[text].append(name)
        else:
            others.append(text)
    named = {"missing": "missing", "not listed": "not listed in the header",
             "unused": "used by no layer, optimizer or standardizer"}
    parts = [f"{named[kind]} {sorted(names)}" for kind, names in groups.items() if names]
    count = len(problems)
    return f"{count} problem{'s' if count > 1 else ''}: " + "; ".join(parts + others)


def fill_weights(layers, path) -> None:
    """Copy the file's parameters into layers' own arrays, in place (dtype cast as by
    assignment), after checking the file describes the same architecture."""
    stored, _, _, _ = read(path)
    if len(stored) != len(layers):
        raise CheckpointError(f"{path}: the file must hold {len(layers)} layers, as the "
                              f"model does, got {len(stored)}")
    differ = [f"model[{i}] is {theirs!r} in the file, {ours!r} in the model"
              for i, (ours, theirs) in enumerate(zip(layers, stored))
              if _shape_of(ours) != _shape_of(theirs)]
    if differ:
        raise CheckpointError(f"{path}: the file must hold this model's architecture, got "
                              f"{len(differ)} layer{'s' if len(differ) > 1 else ''} that "
                              f"differ: {'; '.join(differ)}")
    for ours, theirs in zip(layers, stored):
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.value[...] = q.value


def _shape_of(layer) -> tuple:
    return (type(layer).__name__, getattr(layer, "activation", getattr(layer, "name", None)),
            [p.value.shape for p in layer.parameters()])


__all__ = ["save", "read", "fill_weights", "ModelCheckpoint",
           "CheckpointError", "FORMAT_VERSION"]
