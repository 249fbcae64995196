"""Sequential <-> torch.nn.Sequential: a Dense is a torch.nn.Linear followed by its
activation module.

    minibp                           torch
    Dense(i, o)                      Linear(i, o)                  (identity: nothing after)
    Dense(i, o, "sigmoid")           Linear(i, o), Sigmoid()       (also "tanh", "relu")
    Sigmoid(), Tanh(), ReLU()        Sigmoid(), Tanh(), ReLU()     (a lone activation layer)
    Identity()                       Identity()
    frozen W or b                    requires_grad=False
    frozen b of zeros                Linear(bias=False) maps here  (to_torch gives a zero bias)

W is (out_features, in_features) in both, so values copy across as they are; dtype is kept
(float64 gives float64 modules). Anything else is refused, naming its index and repr.
"""

from __future__ import annotations

import numpy as np
import torch

from minibp.errors import DTypeError, shown
from minibp.model import Sequential
from minibp.nn import Dense, Identity, ReLU, Sigmoid, Tanh

# A Dense's fused activation -> the torch module placed after its Linear.
TORCH_ACTIVATIONS = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
# Standalone activation layers, one to one.
LONE_LAYERS = {Identity: torch.nn.Identity, Sigmoid: torch.nn.Sigmoid, Tanh: torch.nn.Tanh,
               ReLU: torch.nn.ReLU}
# A torch activation module -> the name Dense fuses when it follows a Linear.
FUSED_NAMES = {module: name for name, module in TORCH_ACTIVATIONS.items()}
FROM_TORCH = {module: layer for layer, module in LONE_LAYERS.items()}
NUMPY_FLOATS = {torch.float32: np.float32, torch.float64: np.float64}
WHAT_CONVERTS = ("torch.nn.Linear (with or without bias), each optionally followed by "
                 "Sigmoid, Tanh or ReLU, and lone Sigmoid, Tanh, ReLU or Identity modules")


def to_torch(model: Sequential) -> torch.nn.Sequential:
    """A torch.nn.Sequential computing what ``model`` computes, in its dtype, with copies of
    its values: each Dense becomes a Linear (bias=True) plus its activation module (none
    for identity), each activation layer its torch module. Frozen parameters get
    requires_grad=False. Layers of other kinds, or custom activations, are refused
    (TypeError naming ``model[i]``). torch's random generator is not touched."""
    if not isinstance(model, Sequential):
        raise TypeError(f"to_torch: model must be a minibp.Sequential, got {shown(model)}")
    modules = []
    for i, layer in enumerate(model.layers):
        modules += _torch_modules(layer, i)
    return torch.nn.Sequential(*modules)


def from_torch(module: torch.nn.Module) -> Sequential:
    """A minibp Sequential computing what ``module`` computes, with copies of its values.

    ``module`` is a torch.nn.Sequential (or one supported module) of Linear layers, each
    optionally followed by Sigmoid, Tanh or ReLU, which is fused into the Dense; a lone
    activation module becomes an activation layer. A Linear without bias becomes a Dense
    whose b is zeros and frozen, so it stays zero under every optimizer. requires_grad=False
    becomes a frozen parameter. Anything else is refused (TypeError naming its index and
    repr); so are dtypes other than float32 and float64 (DTypeError).
    """
    if isinstance(module, torch.nn.Sequential):
        children = list(module.named_children())
    elif type(module) is torch.nn.Linear or type(module) in FROM_TORCH:
        children = [("0", module)]
    else:
        raise TypeError(f"from_torch: module must be a torch.nn.Sequential of {WHAT_CONVERTS}; "
                        f"got {_quoted(module)}")
    layers, i = [], 0
    while i < len(children):
        name, child = children[i]
        if type(child) is torch.nn.Linear:
            following = children[i + 1][1] if i + 1 < len(children) else None
            activation = FUSED_NAMES.get(type(following))
            layers.append(_dense(child, _where(i, name), activation))
            i += 2 if activation else 1
        elif type(child) in FROM_TORCH:
            layers.append(FROM_TORCH[type(child)]())
            i += 1
        else:
            raise _refused("from_torch", _where(i, name), child,
                           f"minibp converts only {WHAT_CONVERTS}")
    return Sequential(layers)


# -- minibp -> torch -----------------------------------------------------------------------
def _torch_modules(layer, i: int) -> list[torch.nn.Module]:
    """The torch modules standing for model[i]."""
    where = f"model[{i}]"
    if type(layer) is Dense:
        if layer.activation == "identity":
            return [_linear(layer)]
        if layer.activation not in TORCH_ACTIVATIONS:
            raise _refused("to_torch", where, layer,
                           f"its activation {layer.activation!r} has no torch module here; "
                           f"only {', '.join(TORCH_ACTIVATIONS)} and identity convert")
        return [_linear(layer), TORCH_ACTIVATIONS[layer.activation]()]
    if type(layer) in LONE_LAYERS:
        return [LONE_LAYERS[type(layer)]()]
    raise _refused("to_torch", where, layer, "minibp converts only Dense (identity, sigmoid, "
                   "tanh, relu) and the activation layers Sigmoid, Tanh, ReLU and Identity")


def _linear(layer: Dense) -> torch.nn.Linear:
    """A Linear holding copies of layer's W and b. Built on the meta device and then given
    its parameters, so no initial values are drawn (torch's generator stays as it was)."""
    linear = torch.nn.Linear(layer.in_features, layer.out_features, device="meta")
    frozen = {p.name for p in layer.parameters() if p.frozen}
    linear.weight = torch.nn.Parameter(torch.from_numpy(layer.W.copy()),
                                       requires_grad="W" not in frozen)
    linear.bias = torch.nn.Parameter(torch.from_numpy(layer.b.copy()),
                                     requires_grad="b" not in frozen)
    return linear


# -- torch -> minibp -----------------------------------------------------------------------
def _dense(linear: torch.nn.Linear, where: str, activation: str | None) -> Dense:
    """A Dense with copies of linear's weight and bias (zeros, frozen, when it has none)."""
    weight, bias = linear.weight, linear.bias
    for tensor in (weight, bias):
        if tensor is None:
            continue
        if tensor.dtype not in NUMPY_FLOATS:
            raise DTypeError(f"from_torch: {where} {_quoted(linear)} holds {tensor.dtype} "
                             "values; minibp computes in float32 or float64: convert it "
                             "first (module.double() or module.float())")
        if tensor.device.type == "meta":
            raise _refused("from_torch", where, linear, "its parameters are on the meta device "
                           "and hold no values")
    b = 0.0 if bias is None else bias.numpy(force=True)  # Dense copies both
    layer = Dense(linear.in_features, linear.out_features, activation,
                  W=weight.numpy(force=True), b=b, dtype=NUMPY_FLOATS[weight.dtype])
    if not weight.requires_grad:
        layer.freeze("W")
    if bias is None or not bias.requires_grad:
        layer.freeze("b")
    return layer


# -- messages ------------------------------------------------------------------------------
def _where(index: int, name: str) -> str:
    """'module [2]', or "module [2] (named 'fc')" when the Sequential names its children."""
    return f"module [{index}]" if name == str(index) else f"module [{index}] (named {name!r})"


def _quoted(thing) -> str:
    text = " ".join(repr(thing).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _refused(who: str, where: str, thing, reason: str) -> TypeError:
    """The TypeError for what cannot cross: who, where (index), what (repr), why."""
    return TypeError(f"{who}: cannot convert {where} {_quoted(thing)}: {reason}")
