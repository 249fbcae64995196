"""Reading a traced model: its Dense layers and the activation layers after them, the sample
as one row, backward with each layer's upstream gradient kept, and one layer's records."""

from __future__ import annotations

import numpy as np

from minibp.errors import shown
from minibp.explain.trace_records import LayerTrace, Names, NeuronTrace, ParameterTrace
from minibp.model import Sequential
from minibp.nn import ActivationLayer, Dense


def stages_of(model) -> list[list[int]]:
    """Positions of each Dense layer and of the activation layers that follow it."""
    if not isinstance(model, Sequential):
        raise TypeError(f"trace: model must be a minibp Sequential, got {shown(model)}")
    stages: list[list[int]] = []
    for i, layer in enumerate(model):
        if isinstance(layer, Dense):
            stages.append([i])
        elif isinstance(layer, ActivationLayer) and stages:
            stages[-1].append(i)
        else:
            what = ("comes before any Dense layer" if isinstance(layer, ActivationLayer)
                    else "is neither Dense nor an activation")
            raise TypeError(f"trace: model[{i}] {layer!r} {what}; a trace follows Dense layers, "
                            "each optionally followed by activation layers")
    return stages


def one_row(x, in_features: int) -> np.ndarray:
    """x (n,) or (1, n) as a (1, n) array; several rows are refused."""
    X = np.asarray(x)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[0] != 1:
        raise ValueError(f"trace: expected one sample x of shape ({in_features},) or "
                         f"(1, {in_features}), got {X.shape}; trace one row at a time, e.g. X[0]")
    return X


def target_of(y, outputs: int) -> np.ndarray:
    """y as one target row (1, outputs), or one label (1,); the loss checks the rest."""
    Y = np.asarray(y)
    if Y.ndim == 0:
        return Y.reshape(1)
    if Y.ndim == 1 and Y.shape[0] == outputs:
        return Y.reshape(1, -1)
    return Y


def target_row(loss, Y: np.ndarray, pred: np.ndarray) -> list[float]:
    """The target as the loss compares it (labels as one-hot rows)."""
    rows = getattr(loss, "target_rows", None)
    Y = rows(Y, pred.shape, pred.dtype) if rows is not None else np.asarray(Y, float)
    return np.asarray(Y, float).reshape(-1).tolist()


def backward_keeping(layers, dA: np.ndarray) -> list[np.ndarray]:
    """Sequential.backward, keeping the gradient each layer received: upstream[i] = dE/dA of
    model[i]'s output."""
    upstream = [dA] * len(layers)
    for i in reversed(range(len(layers))):
        upstream[i] = dA
        dA = layers[i].backward(dA)
    return upstream


def layer_trace(names: Names, s: int, stage: list, dE_dA: np.ndarray,
                counted: int) -> LayerTrace:
    """Layer s's neurons and parameters. stage: its Dense, then its activation layers;
    dE_dA (1, out) the gradient reaching the last of them; counted: weights before it."""
    kinds = [stage[0].activation] + [type(layer).name for layer in stage[1:]]
    kinds = [kind for kind in kinds if kind != "identity"] or ["identity"]
    result = LayerTrace(f"model[{names.dense[s]}]", " + ".join(repr(layer) for layer in stage),
                        ", then ".join(kinds))
    result.neurons = _neurons(names, s, stage, dE_dA)
    result.parameters = _parameters(names, s, stage[0], counted)
    return result


def _neurons(names: Names, s: int, stage: list, dE_dA: np.ndarray) -> list[NeuronTrace]:
    """dout/dnet is the Dense's activation_derivative() times each activation layer's."""
    dense, last = stage[0], stage[-1]
    slope = dense.activation_derivative()[0]
    for layer in stage[1:]:
        slope = slope * layer.derivative(layer.A)[0]
    return [NeuronTrace(names.neuron(s, j), names.net(s, j), names.out(s, j),
                        float(dense.Z[0, j]), float(last.A[0, j]), float(dE_dA[0, j]),
                        float(slope[j]), float(dense.dZ[0, j]))
            for j in range(dense.out_features)]


def _parameters(names: Names, s: int, dense, counted: int) -> list[ParameterTrace]:
    """W row by row, then b: value, the input each multiplies, backward's gradient."""
    frozen = {p.name: p.frozen for p in dense.parameters()}
    W, dW, inputs = dense.W.tolist(), dense.dW.tolist(), dense.X[0].tolist()
    found = [ParameterTrace(names.weight(s, j, k, counted + j * dense.in_features + k),
                            names.weight_place(s, j, k), j, names.source(s, k), W[j][k],
                            inputs[k], dW[j][k], frozen["W"])
             for j, k in np.ndindex(*dense.W.shape)]
    found += [ParameterTrace(names.bias(s, j), names.bias_place(s, j), j, None, b, 1.0, db,
                             frozen["b"])
              for j, (b, db) in enumerate(zip(dense.b.tolist(), dense.db.tolist()))]
    return found
