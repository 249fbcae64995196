"""minibp: a small, fast, exact neural-network library.

Layers are matrix objects with forward and backward over a batch, composed into a
Sequential, trained by optimizers against losses. Importing minibp never imports numba.

Where things live (docs/architecture.md): ``minibp.nn`` the NumPy math (layers, activations,
losses), ``minibp.engines`` how a fit runs (numpy, numba, blas), ``minibp.check`` the
gradient checker; the model, builders, optimizers and History at the top.
"""

from minibp import datasets, examples, explain
from minibp.builders import mlp
from minibp.callbacks import Callback, EarlyStopping, ReduceLROnPlateau
from minibp.check import GradcheckError, GradcheckReport, gradcheck, gradcheck_sweep
from minibp.checkpoint import ModelCheckpoint
from minibp.engines.precompile import warmup
from minibp.errors import (
    CheckpointError,
    DTypeError,
    NonFiniteInputError,
    ShapeError,
    TrainingDivergedError,
)
from minibp.history import History
from minibp.loading import load, load_optimizer, load_standardizer
from minibp.model import Sequential
from minibp.nn import (
    MSE,
    ActivationLayer,
    BinaryCrossEntropy,
    Dense,
    Identity,
    Layer,
    Loss,
    Parameter,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    SquaredError,
    Tanh,
    register_activation,
    stable_sigmoid,
)
from minibp.optim import SGD, Adam, AdamW
from minibp.version import __version__

__all__ = [
    "Dense", "Identity", "ReLU", "Sigmoid", "Tanh", "ActivationLayer", "register_activation",
    "Layer", "Parameter", "Sequential", "Loss", "SquaredError", "MSE", "SoftmaxCrossEntropy",
    "BinaryCrossEntropy",
    "SGD", "Adam", "AdamW", "History", "mlp", "stable_sigmoid", "examples", "warmup",
    "TrainingDivergedError",
    "__version__", "gradcheck", "gradcheck_sweep", "GradcheckReport", "GradcheckError",
    "Callback", "EarlyStopping", "ReduceLROnPlateau",
    "load", "load_optimizer", "load_standardizer", "ModelCheckpoint", "CheckpointError",
    "ShapeError", "NonFiniteInputError", "DTypeError",
    "datasets", "explain",
]
