"""minibp.load, load_optimizer and load_standardizer: what a saved file gives back.

Each reads the file through minibp.checkpoint, which checks it whole (a CheckpointError
names the path and the fault) before anything is built.
"""

from __future__ import annotations

from minibp import checkpoint
from minibp.checkpoint import optimizer_state
from minibp.datasets.preprocessing import Standardizer
from minibp.errors import CheckpointError
from minibp.model import Sequential

__all__ = ["load", "load_optimizer", "load_standardizer"]


def load(path) -> Sequential:
    """A new model from the file at path: its layers, weights, frozen flags and the loss it
    was last fit with (so predict_proba and accuracy behave as before saving)."""
    layers, loss, _, _ = checkpoint.read(path)
    model = Sequential(layers)
    model.loss = loss
    return model


def load_optimizer(path, model: Sequential, *, lr=None):
    """The optimizer saved with ``model.save(path, optimizer=...)``, bound to ``model``'s
    arrays (the model loaded from that file, or one of the same architecture): its settings,
    step count, lr_scale and state (momentum, Adam's moments), so training continues as if
    it had never stopped. ``lr`` is needed when the saved lr was a function of your own."""
    _, _, header, arrays = checkpoint.read(path)
    entry = header.get("optimizer")
    if entry is None:
        raise CheckpointError(f"{path}: holds no optimizer; save with "
                              "model.save(path, optimizer=...)")
    parameters = _matching_parameters(model, arrays, path)
    optimizer = optimizer_state.build_optimizer(entry, path, lr=lr)
    optimizer_state.restore_state(optimizer, arrays, parameters)
    model.optimizer = optimizer
    return optimizer


def load_standardizer(path) -> Standardizer | None:
    """The Standardizer saved with the model (the command line's), or None."""
    _, _, header, arrays = checkpoint.read(path)
    if not header.get("standardizer"):
        return None
    numbers = {key[len(checkpoint.STANDARDIZER):]: value for key, value in arrays.items()
               if key.startswith(checkpoint.STANDARDIZER)}
    try:
        return Standardizer.from_state(numbers)
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"{path}: the standardizer is not valid ({error})") from None


def _matching_parameters(model, arrays, path):
    """model's parameters, after checking each has its file counterpart's shape (one
    CheckpointError listing every one that differs)."""
    parameters = model.parameters()
    differ = []
    for p in parameters:
        stored = arrays.get(p.name)
        if stored is None or stored.shape != p.value.shape:
            got = "nothing" if stored is None else f"shape {stored.shape}"
            differ.append(f"{p.name} has shape {p.value.shape} in the model, {got} in the file")
    if differ:
        raise CheckpointError(f"{path}: the model must be the one this optimizer trained, got "
                              f"{'; '.join(differ)}")
    return parameters
