"""Layers and losses as the plain dicts of a file's header, and back.

Only names on the allow-lists below are ever built: Dense, the activation layers registered
in this process (minibp.nn.activations.ACTIVATIONS, which a file cannot add to), and minibp's
own losses. Nothing read from a file is imported or called by name. ``check_layers`` checks
every field, and minibp.checkpoint every array, before ``build_layers`` builds the first
layer, so a bad file builds nothing.
"""

from __future__ import annotations

import numpy as np

from minibp.checkpoint.files import DTYPES, expect
from minibp.nn import MSE, BinaryCrossEntropy, Dense, SoftmaxCrossEntropy, SquaredError
from minibp.nn.activations import ACTIVATIONS, ActivationLayer
from minibp.nn.loss import REDUCTIONS

LOSSES = {cls.__name__: cls for cls in (SquaredError, MSE, SoftmaxCrossEntropy,
                                         BinaryCrossEntropy)}


# -- saving ----------------------------------------------------------------------------------
def layer_spec(layer, i: int) -> dict:
    """The header's description of model[i]; a TypeError for a layer a file cannot hold."""
    if type(layer) is Dense:
        return {"type": "Dense", "in_features": layer.in_features,
                "out_features": layer.out_features, "activation": layer.activation,
                "dtype": layer.dtype.name, "frozen": sorted(layer._frozen)}
    if isinstance(layer, ActivationLayer) and ACTIVATIONS.get(layer.name) is type(layer):
        return {"type": "Activation", "activation": layer.name}
    raise TypeError(f"save: model[{i}] is a {type(layer).__name__}; a minibp file holds Dense "
                    "layers and registered activation layers only")


def layer_arrays(layer, i: int) -> dict[str, np.ndarray]:
    """{"model[i].W": W, "model[i].b": b}: the layer's own arrays, not copies."""
    return {f"model[{i}].{p.name}": p.value for p in layer.parameters()}


def loss_spec(loss) -> dict | None:
    """The loss of the last fit, if it is one of minibp's (a loss of your own is not stored:
    the loaded model's loss is then None)."""
    if loss is None or LOSSES.get(type(loss).__name__) is not type(loss):
        return None
    spec = {"type": type(loss).__name__, "reduction": loss.reduction}
    if isinstance(loss, BinaryCrossEntropy):
        spec["from_logits"] = loss.from_logits
    return spec


# -- loading ---------------------------------------------------------------------------------
def check_layers(specs, path) -> None:
    """Every field of every layer's entry, the first fault a CheckpointError (the arrays are
    checked afterwards, all together: expected_arrays)."""
    expect(isinstance(specs, list) and bool(specs), path,
           f"the header's layers must be a non-empty list, got {specs!r}")
    for i, spec in enumerate(specs):
        _check_layer(spec, i, path)


def expected_arrays(specs) -> dict[str, tuple[str, list[int]]]:
    """{"model[i].W": (dtype, shape), ...}: the arrays the (checked) layers need."""
    arrays = {}
    for i, spec in enumerate(specs):
        if spec["type"] == "Dense":
            out, into = spec["out_features"], spec["in_features"]
            arrays[f"model[{i}].W"] = (spec["dtype"], [out, into])
            arrays[f"model[{i}].b"] = (spec["dtype"], [out])
    return arrays


def build_layers(specs, arrays: dict[str, np.ndarray], path) -> list:
    """The layers the (checked) header describes, with the file's (checked) arrays, once
    their widths are found to agree."""
    _check_widths(specs, path)
    return [_build_layer(spec, i, arrays) for i, spec in enumerate(specs)]


def build_loss(spec, path):
    if spec is None:
        return None
    expect(isinstance(spec, dict) and _named(spec.get("type"), LOSSES), path,
           f"the loss must be one of {sorted(LOSSES)}, got {spec!r}")
    expect(_named(spec.get("reduction"), REDUCTIONS), path,
           f"the loss's reduction must be one of {list(REDUCTIONS)}, got {spec!r}")
    if spec["type"] != "BinaryCrossEntropy":
        return LOSSES[spec["type"]](reduction=spec["reduction"])
    expect(type(spec.get("from_logits")) is bool, path,
           f"BinaryCrossEntropy's from_logits must be true or false, got {spec!r}")
    return BinaryCrossEntropy(spec["from_logits"], reduction=spec["reduction"])


def _named(value, names) -> bool:
    """value is one of names (a string: a list or a table from JSON cannot be looked up)."""
    return isinstance(value, str) and value in names


def _check_layer(spec, i: int, path) -> None:
    where = f"layer model[{i}]"
    expect(isinstance(spec, dict), path, f"{where} must be a table, got {spec!r}")
    kind, activation = spec.get("type"), spec.get("activation")
    expect(_named(kind, ("Dense", "Activation")), path,
           f"{where}'s type must be 'Dense' or 'Activation' (a minibp file holds no other "
           f"layers), got {kind!r}")
    expect(_named(activation, ACTIVATIONS), path,
           f"{where}'s activation {activation!r} is not registered in this process (known: "
           f"{', '.join(ACTIVATIONS)}); register it with minibp.register_activation first")
    if kind == "Activation":
        return
    for key in ("in_features", "out_features"):
        expect(type(spec.get(key)) is int and spec[key] >= 1, path,
               f"{where}'s {key} must be a positive integer, got {spec.get(key)!r}")
    expect(_named(spec.get("dtype"), DTYPES), path,
           f"{where}'s dtype must be one of {list(DTYPES)}, got {spec.get('dtype')!r}")
    frozen = spec.get("frozen")
    expect(isinstance(frozen, list) and all(_named(f, ("W", "b")) for f in frozen), path,
           f"{where}'s frozen must be a list of 'W' and 'b', got {frozen!r}")


def _check_widths(specs, path) -> None:
    width, source = None, None
    for i, spec in enumerate(specs):
        if spec["type"] != "Dense":
            continue
        expect(width is None or spec["in_features"] == width, path,
               f"layer model[{i}] takes {spec['in_features']} inputs, but model[{source}] "
               f"gives {width}")
        width, source = spec["out_features"], i


def _build_layer(spec, i: int, arrays):
    if spec["type"] == "Activation":
        return ACTIVATIONS[spec["activation"]]()
    layer = Dense(spec["in_features"], spec["out_features"], spec["activation"],
                  W=arrays[f"model[{i}].W"], b=arrays[f"model[{i}].b"], dtype=spec["dtype"],
                  copy=False)  # arrays just read from the file: the layer adopts them
    return layer.freeze(*spec["frozen"]) if spec["frozen"] else layer
