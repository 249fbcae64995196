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
    header, arrays = files.read(path)
    layers = spec.build_layers(header.get("layers"), arrays, path)
    loss = spec.build_loss(header.get("loss"), path)
    if header.get("optimizer") is not None:  # checked now (no state copied): a bad file fails
        optimizer_state.build_optimizer(header["optimizer"], arrays, named_parameters(layers),
                                        path, lr=0.0)
    return layers, loss, header, arrays


def fill_weights(layers, path) -> None:
    """Copy the file's parameters into layers' own arrays, in place (dtype cast as by
    assignment), after checking the file describes the same architecture."""
    stored, _, _, _ = read(path)
    if len(stored) != len(layers):
        raise CheckpointError(f"{path}: holds {len(stored)} layers, the model has "
                              f"{len(layers)}")
    for i, (ours, theirs) in enumerate(zip(layers, stored)):
        if _shape_of(ours) != _shape_of(theirs):
            raise CheckpointError(f"{path}: model[{i}] is {theirs!r} in the file, "
                                  f"{ours!r} in the model")
    for ours, theirs in zip(layers, stored):
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.value[...] = q.value


def _shape_of(layer) -> tuple:
    return (type(layer).__name__, getattr(layer, "activation", getattr(layer, "name", None)),
            [p.value.shape for p in layer.parameters()])


__all__ = ["save", "read", "fill_weights", "ModelCheckpoint",
           "CheckpointError", "FORMAT_VERSION"]
