"""The NumPy engine: plain forward and backward through the layer objects.

It is the reference every faster engine is checked against, and it never imports numba.
One step, in order: forward, loss (weighted by sample_weight when given), backward, the
optimizer's l2 penalty, the divergence guard on the loss and the gradient norm, clipping
to clip_norm, the update.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.epochs import (
    INTERRUPTED,
    Chunk,
    Divergence,
    epoch_batches,
    one_step,
    run_epochs,
    weighted_loss,
)
from minibp.errors import UpdateOverflowError

STEP_SECONDS = 1e-4  # a cautious guess of a step's fixed cost, for sizing chunks (epochs.py)


def forward(layers, X: np.ndarray) -> np.ndarray:
    """X (batch, in) -> the last layer's A (batch, out)."""
    for layer in layers:
        X = layer.forward(X)
    return X


def backward(layers, dA: np.ndarray) -> np.ndarray:
    """dA (batch, out) -> dX (batch, in); every layer overwrites its parameters' grads."""
    for layer in reversed(layers):
        dA = layer.backward(dA)
    return dA


def loss_and_gradients(layers, X, Y, loss, optimizer=None, sample_weight=None,
                       parameters=None) -> tuple[float, float]:
    """Forward, loss, backward (and the optimizer's l2 penalty): (loss, squared gradient
    norm, summed in float64 whatever the dtype). NaN and overflow are left for the guard."""
    parameters = _parameters(layers) if parameters is None else parameters
    with np.errstate(over="ignore", invalid="ignore"):  # the guard reports these
        value = weighted_loss(loss, forward(layers, X), Y, sample_weight)
        backward(layers, loss.backward())
        if getattr(optimizer, "l2", 0):
            value += optimizer.l2_penalty(parameters, len(X))
        return value, _sum_of_squares(parameters)


def clip(parameters, clip_norm: float | None) -> None:
    """torch.nn.utils.clip_grad_norm_ over the trainable parameters: every gradient times
    min(1, clip_norm / (norm + 1e-6)), norm being their global L2 norm."""
    if clip_norm is None:
        return
    trainable = [p for p in parameters if not p.frozen]
    scale = clip_norm / (float(np.sqrt(_sum_of_squares(trainable))) + 1e-6)
    if scale < 1.0:
        with np.errstate(under="ignore"):  # a tiny gradient scaled down: its answer
            for p in trainable:
                p.grad *= scale


class Session:
    """One fit's state on this engine: run(epochs) trains that many more epochs."""

    def __init__(self, layers, X, Y, *, loss, optimizer, batch_size, shuffle, seed,
                 sample_weight=None, clip_norm=None):
        self.layers, self.X, self.w = layers, X, sample_weight
        self.Y = _target_rows(layers, loss, Y)  # checked whole: errors name the data's rows
        self.loss, self.optimizer, self.clip_norm = loss, optimizer, clip_norm
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.parameters = _parameters(layers)
        self.step = self.epoch = 0

    def to_compile(self, evaluates: bool = False) -> list:
        """Nothing to compile: this engine is NumPy only."""
        return []

    def run(self, epochs: int, interrupt=None) -> Chunk:
        """Up to ``epochs`` epochs; stops early at a diverging step or an interrupt."""
        return run_epochs(self._epoch, epochs, interrupt)

    def _epoch(self, interrupt):
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else None
        total = weight = 0.0
        self.epoch += 1
        for rows in epoch_batches(n, self.batch_size, order):
            self.step += 1
            w = None if self.w is None else self.w[rows]
            value, norm2 = loss_and_gradients(self.layers, self.X[rows], self.Y[rows],
                                              self.loss, self.optimizer, w, self.parameters)
            if not (np.isfinite(value) and np.isfinite(norm2)):
                return None, Divergence(self.step, self.epoch, value)
            clip(self.parameters, self.clip_norm)
            try:
                self.optimizer.step(self.parameters)
            except UpdateOverflowError:  # it has put every value back
                return None, Divergence(self.step, self.epoch, value, overflow=True)
            share = len(self.X[rows]) if w is None else float(np.sum(w))
            total, weight = total + value * share, weight + share
            if interrupt is not None and interrupt.requested:
                return None, INTERRUPTED
        return total / weight, None

    def sync(self) -> None:
        """Nothing to write back: this engine trains the layers' own arrays."""

    close = sync


def train_step(layers, X, Y, loss, optimizer) -> float:
    """One forward, backward and update on X, Y; the loss before the update."""
    return one_step(Session, layers, X, Y, loss, optimizer)


def gradients(layers, X, Y, loss) -> None:
    """One batch's loss gradients, written by each layer's backward; no update."""
    loss.forward(forward(layers, X), Y)
    backward(layers, loss.backward())


def predict(layers, X, who: str = "predict") -> np.ndarray:
    """The layers' output for X (n, in), through their infer: nothing is kept in them.
    (``who``, the caller's name, is for engines that check parameters here; resolve has
    checked them for this one.)"""
    for layer in layers:
        infer = getattr(layer, "infer", None)
        X = infer(X) if infer is not None else layer.forward(X)
    return X


def _target_rows(layers, loss, Y):
    """Y as the loss's (n, outputs) target rows, checked once for the whole data (labels
    become one-hot rows), when the model's output width is known; else Y as it came."""
    widths = [w for w in (getattr(layer, "out_features", None) for layer in layers) if w]
    dtypes = [p.value.dtype for layer in layers for p in layer.parameters()]
    target_rows = getattr(loss, "target_rows", None)
    if not widths or target_rows is None:
        return Y
    return target_rows(Y, (len(Y), widths[-1]), dtypes[0] if dtypes else np.float64)


def _parameters(layers) -> list:
    return [p for layer in layers for p in layer.parameters()]


def _sum_of_squares(parameters) -> float:
    """The squared gradient norm, summed in float64 whatever the dtype (as every engine)."""
    total = 0.0
    for p in parameters:
        g = p.grad if p.grad.dtype == np.float64 else p.grad.astype(np.float64)
        total += float(np.vdot(g, g))
    return total
