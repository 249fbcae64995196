"""``trace(model, x, y, loss, optimizer=None)``: one sample's walk through forward, backward
and one update, every value read from the layers' own forward and backward.

The trace runs on a deep copy of the model, the loss and the optimizer, so tracing never
changes them: not the weights, not the optimizer's state or step count, not even the values
a layer keeps for its backward (a trace between a backward and a step would otherwise swap
the gradients the step is about to use). To take the step, call model.train_step.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from minibp.explain.trace_check import TraceCheck, check_trace
from minibp.explain.trace_reading import (
    backward_keeping,
    layer_trace,
    one_row,
    stages_of,
    target_of,
    target_row,
)
from minibp.explain.trace_records import (
    LayerTrace,
    Names,
    NeuronTrace,
    ParameterTrace,
    notation_for,
)
from minibp.model import Sequential
from minibp.nn import Loss, get_loss
from minibp.optim import get_optimizer

__all__ = ["trace", "Trace"]


@dataclass(repr=False)
class Trace:
    """One sample traced through a model: see docs/explain.md, "Trace".

    ``layers`` holds one LayerTrace per Dense layer (its neurons, then its weights row by
    row, then its biases); ``loss_total`` is E_total, the loss as the model trains with it;
    ``loss_after`` the same loss after the optimizer's step (None without an optimizer).
    Every number is a Python float.
    """

    notation: str
    loss: str
    optimizer: str | None
    dtype: str
    input_names: list[str]
    inputs: list[float]
    targets: list[float]
    loss_total: float
    loss_after: float | None = None
    layers: list[LayerTrace] = field(default_factory=list)

    def check(self, rtol: float | None = None) -> TraceCheck:
        """Recompute every chain-rule product and sum from the recorded factors and compare
        it with what backward wrote; a TraceCheck, true when all agree (it names the
        quantities that do not). rtol defaults to 256 ulps of the model's dtype."""
        return check_trace(self, rtol)

    def values(self) -> dict[str, float]:
        """Every named quantity: {"net_h1": 0.3775, ..., "dE/dw5": ..., "w5+": ...}."""
        from minibp.explain.trace_text import named_values

        return named_values(self)

    def text(self, limit: int | None = 32) -> str:
        """The trace as text; at most ``limit`` neurons and parameters per layer (None:
        all)."""
        from minibp.explain.trace_text import as_text

        return as_text(self, limit)

    def to_markdown(self, limit: int | None = 32) -> str:
        """The trace as Markdown tables, one per section."""
        from minibp.explain.trace_text import as_markdown

        return as_markdown(self, limit)

    def to_dict(self) -> dict:
        """Plain Python numbers, strings, lists and dicts: json.dumps takes it as it is."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Trace:
        """The Trace that to_dict (or json.loads of its dump) describes."""
        data = copy.deepcopy(data)
        layers = [LayerTrace(**{**layer,
                                "neurons": [NeuronTrace(**n) for n in layer["neurons"]],
                                "parameters": [ParameterTrace(**p)
                                               for p in layer["parameters"]]})
                  for layer in data.pop("layers")]
        return cls(**data, layers=layers)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        widths = [len(self.inputs)] + [len(layer.neurons) for layer in self.layers]
        return (f"Trace({'-'.join(map(str, widths))}, {self.notation} notation, "
                f"E_total={self.loss_total!r})")


def trace(model: Sequential, x, y, loss, optimizer=None) -> Trace:
    """Trace one sample through ``model``: every neuron's net input and output, the loss per
    output, every parameter's chain-rule factors and gradient and, with an optimizer, its
    value after one step.

    Shapes: x (in_features,) or (1, in_features); y (out_features,) or (1, out_features), or
    a class label for SoftmaxCrossEntropy. ``model`` is a Sequential of Dense layers,
    optionally with activation layers after them. ``loss`` and ``optimizer`` take instances
    or names ("squared", "sgd", ...). Nothing passed in is changed: see the module docstring.
    """
    stages = stages_of(model)
    loss = get_loss(loss, "trace")
    optimizer = None if optimizer is None else get_optimizer(optimizer)
    work, work_loss, work_optimizer = copy.deepcopy((model, loss, optimizer))
    layers = work.layers
    X, Y, pred, total, upstream = _forward_and_backward(layers, work_loss, x, y)
    names = Names(notation_for([X.shape[1]] + [layers[s[0]].out_features for s in stages]),
                  [s[0] for s in stages], [s[-1] for s in stages])
    result = Trace(names.notation, repr(loss), None if optimizer is None else repr(optimizer),
                   str(layers[0].dtype), [names.input(k) for k in range(X.shape[1])],
                   X[0].tolist(), target_row(loss, Y, pred), total)
    counted = 0
    for s, stage in enumerate(stages):
        result.layers.append(layer_trace(names, s, [layers[i] for i in stage],
                                         upstream[stage[-1]], counted))
        counted += layers[stage[0]].W.size
    _add_loss_terms(result, names, loss, pred, Y)
    _add_hidden_terms(result)
    if optimizer is not None:
        work.train_step(X, Y, work_loss, work_optimizer, engine="numpy")
        _add_updates(result, [layers[s[0]] for s in stages])
        result.loss_after = float(work_loss.forward(work.forward(X), Y))
    return result


def _forward_and_backward(layers, loss, x, y):
    """The model's forward and backward on one sample, layer by layer: (X (1, in), Y, the
    prediction (1, out), E_total, each layer's upstream gradient)."""
    X = one_row(x, layers[0].in_features)
    pred = X
    for layer in layers:
        pred = layer.forward(pred)
    Y = target_of(y, pred.shape[1])
    total = float(loss.forward(pred, Y))
    return X, Y, pred, total, backward_keeping(layers, loss.backward())


def _add_loss_terms(result: Trace, names: Names, loss, pred, Y) -> None:
    """The loss's own term per output (its reduction "none"), when it has one per output."""
    if not isinstance(loss, Loss):
        return
    per_output = copy.deepcopy(loss)
    per_output.reduction = "none"
    terms = np.asarray(per_output.forward(pred, Y))
    if terms.shape != pred.shape:
        return  # one term per sample (softmax cross-entropy): nothing per output
    for j, neuron in enumerate(result.layers[-1].neurons):
        neuron.loss_name, neuron.loss = names.loss(j), float(terms[0, j])


def _add_hidden_terms(result: Trace) -> None:
    """For each hidden neuron j: dE_ok/dout_hj = dE/dnet_ok * w_kj over the next layer."""
    for layer, after in zip(result.layers, result.layers[1:]):
        for j, neuron in enumerate(layer.neurons):
            neuron.terms = [n.dE_dnet * after.weight(k, j).value
                            for k, n in enumerate(after.neurons)]


def _add_updates(result: Trace, dense_layers: list) -> None:
    """Each parameter's value after the step, read from the stepped copy."""
    for layer, dense in zip(result.layers, dense_layers):
        updated = dense.W.ravel().tolist() + dense.b.tolist()
        for parameter, value in zip(layer.parameters, updated):
            parameter.updated = value
