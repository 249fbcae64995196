"""The workloads every competitor runs: the same network, weights, data and order for all.

Two groups. "chapter": W1 and W2, single-sample SGD on the chapter's tiny sigmoid networks
(Workload). "mlp": W3 (float32) and W4 (float64), one epoch of minibatch SGD on a
784-256-128-10 MLP with synthetic data (MLPWorkload). Each also names the learning rate its
Adam competitors train with (adam_lr): the same network, weights, data and order, Adam's step;
W1/W2 also those of momentum SGD (momentum_lr, momentum: torch.optim.SGD's momentum).

A workload is plain data (arrays and numbers), so it pickles into the worker processes;
W3/W4's 60,000 x 784 inputs are not in it but regenerated from their seed in each process
(data()), so no process pickles 376 MB. The initial weights are copied out of the minibp
model the workload names, so minibp and every competitor start from the same numbers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

XOR_SEED = 0
FULL_STEPS = 10_000
QUICK_STEPS = 1_000
FULL_SAMPLES = 60_000       # W3/W4: one epoch of this many samples
QUICK_SAMPLES = 6_000
MLP_SIZES = (784, 256, 128, 10)
MLP_BATCH, MLP_LR = 128, 0.05
CHAPTER_LR = 0.5            # W1/W2's SGD: the chapter's learning rate
# Adam's learning rates, beside SGD's (torch.optim.Adam's defaults otherwise). Adam's step is
# about lr per weight whatever the gradient's size, so it wants a smaller lr than SGD.
# Measured on minibp's NumPy engine over the full workloads: W1 and W2 at 0.01 train stably,
# W1's loss falling at every step from 0.298 to 3e-18 (at 0.1 it jumps tenfold on the way),
# W2's from 0.18 to 7e-5 (SGD at 0.5: 9e-4; Adam at 1e-3 leaves it at 0.11). W3/W4 at 1e-3,
# Adam's usual lr: the epoch takes the loss from 2.58 to 0.52, accuracy from 10% to 89%
# (SGD at 0.05: 2.25, 19%).
CHAPTER_ADAM_LR = 0.01
# Momentum SGD on W1/W2: SGD(lr=0.1, momentum=0.9), whose steady step (lr / (1 - momentum) = 1
# times the gradient) is about twice SGD's. Measured on minibp's NumPy engine over the full
# workloads: W1's loss falls at every step from 0.298 to 7.8e-6 (0.05: 3.5e-5, 0.2: 9.6e-7),
# W2's from 0.18 to 2.7e-4 (SGD at 0.5: 9e-4), rising now and then between shuffled epochs
# as SGD's does.
CHAPTER_MOMENTUM_LR, CHAPTER_MOMENTUM = 0.1, 0.9
MLP_ADAM_LR = 1e-3
MLP_INIT_SEED = 0           # minibp.mlp(..., seed=0): the initial weights
MLP_SHUFFLE_SEED = 0        # fit(..., seed=0): the order, default_rng(0).permutation(n)
MLP_DATA_SEED = 0           # the synthetic X and the labelling matrix R


@dataclass(frozen=True)
class Layer:
    """One sigmoid Dense layer's starting point: W (out, in), b (out,), whether b learns."""

    W: np.ndarray
    b: np.ndarray
    train_bias: bool


@dataclass(frozen=True)
class Workload:
    """Single-sample SGD on a sigmoid MLP with 1/2 squared error.

    X (n, in), Y (n, out). Each epoch visits all n rows once, in order
    (shuffle=False) or in ``rng.permutation(n)`` order from one
    ``numpy.random.default_rng(seed)`` made at the start (shuffle=True).
    """

    key: str
    title: str
    X: np.ndarray
    Y: np.ndarray
    layers: tuple[Layer, ...]
    lr: float
    adam_lr: float
    momentum_lr: float
    momentum: float
    epochs: int
    shuffle: bool
    seed: int | None

    group = "chapter"
    repeats, processes = 7, 3          # defaults of a full run: rounds, processes each

    @property
    def steps(self) -> int:
        return self.epochs * self.X.shape[0]

    def minibp_model(self):
        """A fresh minibp model with this workload's initial weights (built as a user would)."""
        from minibp import examples, mlp

        if self.key == "W1":
            return examples.chapter_network()
        return mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=XOR_SEED)

    def initial_weights(self) -> list[np.ndarray]:
        """[W, b] of every layer, copies, in layer order."""
        return [a.copy() for layer in self.layers for a in (layer.W, layer.b)]


def chapter_workload(steps: int = FULL_STEPS) -> Workload:
    """W1: the chapter's 2-2-2 example, one sample, ``steps`` epochs of one step, no shuffle."""
    from minibp import examples

    X, Y = examples.chapter_data()
    return _from_model("W1", f"the chapter's 2-2-2 example, {steps:,} single-sample steps",
                       examples.chapter_network(), X, Y, epochs=steps, shuffle=False,
                       seed=None)


def xor_workload(steps: int = FULL_STEPS) -> Workload:
    """W2: XOR on 2-5-1, biases trained, ``steps`` single-sample steps in shuffled epochs."""
    from minibp import examples, mlp

    X, Y = examples.xor_data()
    if steps % X.shape[0]:
        raise ValueError(f"W2: steps must be a multiple of {X.shape[0]}, got {steps}")
    model = mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=XOR_SEED)
    epochs = steps // X.shape[0]
    return _from_model("W2", f"XOR 2-5-1, {steps:,} single-sample steps "
                       f"({epochs:,} shuffled epochs)", model, X, Y, epochs=epochs,
                       shuffle=True, seed=XOR_SEED)


@dataclass(frozen=True)
class MLPWorkload:
    """One epoch of shuffled minibatch SGD on a sigmoid MLP with softmax cross-entropy.

    sizes (784, 256, 128, 10): sigmoid hidden layers, a linear output read as logits.
    data() gives X (samples, 784) in ``dtype`` and integer labels y (samples,); the order is
    ``numpy.random.default_rng(seed).permutation(samples)``, in batches of batch_size rows,
    the last one short when batch_size does not divide samples.
    """

    key: str
    title: str
    sizes: tuple[int, ...]
    dtype: str
    samples: int
    batch_size: int
    lr: float
    adam_lr: float
    seed: int
    layers: tuple[Layer, ...]

    group = "mlp"
    repeats, processes = 5, 2          # a sample is a whole epoch (0.3 to 3 s)

    @property
    def steps(self) -> int:
        return math.ceil(self.samples / self.batch_size)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, y), the same arrays in every process (cached: do not write into them)."""
        return synthetic_data(self.samples, self.sizes[0], self.sizes[-1], self.dtype)

    def order(self) -> np.ndarray:
        return np.random.default_rng(self.seed).permutation(self.samples)

    def minibp_model(self):
        """A fresh minibp model with this workload's initial weights (built as a user would)."""
        from minibp import mlp

        return mlp(list(self.sizes), "sigmoid", None, seed=MLP_INIT_SEED, dtype=self.dtype)

    def initial_weights(self) -> list[np.ndarray]:
        """[W, b] of every layer, copies, in layer order."""
        return [a.copy() for layer in self.layers for a in (layer.W, layer.b)]


@functools.lru_cache(maxsize=2)
def synthetic_data(samples: int, features: int, classes: int, dtype: str):
    """X (samples, features) standard normal, drawn in float64 and then cast, so W3 and W4
    see the same numbers; y = argmax(X @ R) for a random R (features, classes), so the labels
    are learnable. R is drawn first: a smaller X is the first rows of a larger one."""
    rng = np.random.default_rng(MLP_DATA_SEED)
    R = rng.standard_normal((features, classes))
    X = rng.standard_normal((samples, features))
    y = np.argmax(X @ R, axis=1)
    X = X.astype(dtype, copy=False)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def mlp_workload(key: str, dtype: str, samples: int = FULL_SAMPLES) -> MLPWorkload:
    """W3 (float32) or W4 (float64): the 784-256-128-10 MLP, one epoch of ``samples``."""
    from minibp import mlp

    if samples < 1:
        raise ValueError(f"{key}: samples must be at least 1, got {samples}")
    model = mlp(list(MLP_SIZES), "sigmoid", None, seed=MLP_INIT_SEED, dtype=dtype)
    layers = tuple(Layer(layer.W.copy(), layer.b.copy(), True) for layer in model)
    steps = math.ceil(samples / MLP_BATCH)
    title = (f"784-256-128-10 sigmoid MLP, softmax cross-entropy, {dtype}, one epoch of "
             f"{samples:,} samples in {steps} batches of {MLP_BATCH}")
    return MLPWorkload(key, title, MLP_SIZES, dtype, samples, MLP_BATCH, lr=MLP_LR,
                       adam_lr=MLP_ADAM_LR, seed=MLP_SHUFFLE_SEED, layers=layers)


WORKLOADS = {"W1": chapter_workload, "W2": xor_workload}
MLP_WORKLOADS = {"W3": "float32", "W4": "float64"}
DEFAULT = ("W1", "W2", "W3", "W4")


def build(key: str, steps: int = FULL_STEPS, samples: int = FULL_SAMPLES):
    """Workload `key`: W1/W2 run `steps` single-sample steps, W3/W4 one epoch of `samples`."""
    if key in WORKLOADS:
        return WORKLOADS[key](steps)
    if key in MLP_WORKLOADS:
        return mlp_workload(key, MLP_WORKLOADS[key], samples)
    raise ValueError(f"unknown workload {key!r}; expected one of "
                     f"{sorted(WORKLOADS) + sorted(MLP_WORKLOADS)}")


def _from_model(key, title, model, X, Y, *, epochs, shuffle, seed) -> Workload:
    layers = []
    for layer in model:
        frozen = {p.name for p in layer.parameters() if p.frozen}
        layers.append(Layer(layer.W.copy(), layer.b.copy(), train_bias="b" not in frozen))
    return Workload(key, title, np.array(X, dtype=np.float64), np.array(Y, dtype=np.float64),
                    tuple(layers), lr=CHAPTER_LR, adam_lr=CHAPTER_ADAM_LR,
                    momentum_lr=CHAPTER_MOMENTUM_LR, momentum=CHAPTER_MOMENTUM, epochs=epochs,
                    shuffle=shuffle, seed=seed)
