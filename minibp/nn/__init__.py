"""The math objects, in NumPy: what the chapter becomes, and what a learner reads first.

- ``layer``: the layer protocol (forward, backward, parameters) and Parameter.
- ``dense``: Dense, Z = X @ W.T + b with a fused activation.
- ``activations``: Sigmoid, Tanh, ReLU, Identity and the registry Dense looks names up in.
- ``loss``: the loss protocol: checks, reductions and per-sample weights.
- ``losses``: SquaredError (the chapter's E_total), MSE, and ``get_loss`` (names to losses).
- ``cross_entropy``: SoftmaxCrossEntropy and BinaryCrossEntropy, on logits.
- ``metrics``: accuracy, mse, mae, and ``get_metric`` (names to functions).

Everything here is the NumPy reference that the compiled engines are tested against. This
package imports nothing from minibp but ``minibp.errors``.
"""

from minibp.nn.activations import (
    ActivationLayer,
    Identity,
    ReLU,
    Sigmoid,
    Tanh,
    register_activation,
    stable_sigmoid,
)
from minibp.nn.dense import Dense
from minibp.nn.layer import Layer, Parameter
from minibp.nn.losses import (
    MSE,
    BinaryCrossEntropy,
    Loss,
    SoftmaxCrossEntropy,
    SquaredError,
    get_loss,
)
from minibp.nn.metrics import get_metric

__all__ = [
    "ActivationLayer", "Identity", "ReLU", "Sigmoid", "Tanh", "register_activation",
    "stable_sigmoid", "Dense", "Layer", "Parameter", "Loss", "MSE", "SoftmaxCrossEntropy",
    "SquaredError", "BinaryCrossEntropy", "get_loss", "get_metric",
]
