"""minibp: a small, fast, exact neural-network library.

Layers are matrix objects with forward and backward over a batch, composed into a
Sequential, trained by optimizers against losses. Importing minibp never imports numba.
"""

from minibp import examples
from minibp.activations import Identity, ReLU, Sigmoid, Tanh, stable_sigmoid
from minibp.builders import mlp
from minibp.dense import Dense
from minibp.errors import TrainingDivergedError
from minibp.gradient_check import GradcheckError, GradcheckReport, gradcheck, gradcheck_sweep
from minibp.layers import Layer, Parameter
from minibp.losses import MSE, Loss, SoftmaxCrossEntropy, SquaredError
from minibp.model import Sequential
from minibp.optim import SGD
from minibp.training import History

__version__ = "0.1.0"


def warmup(dtypes=("float64", "float32")) -> dict[str, float]:
    """Compile the compiled engines' kernels now (or load them from the on-disk cache)
    rather than on first use; returns seconds per engine entry point and dtype."""
    from minibp.engines.warmup import warmup as compile_kernels

    return compile_kernels(dtypes)


__all__ = [
    "Dense", "Identity", "ReLU", "Sigmoid", "Tanh", "Layer", "Parameter", "Sequential",
    "Loss", "SquaredError", "MSE", "SoftmaxCrossEntropy", "SGD", "History", "mlp",
    "stable_sigmoid", "examples", "warmup", "TrainingDivergedError", "__version__",
    "gradcheck", "gradcheck_sweep", "GradcheckReport", "GradcheckError",
]
