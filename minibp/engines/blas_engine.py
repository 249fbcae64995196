"""The BLAS engine: matrix products in NumPy's BLAS, everything else in fused kernels.

For batches large enough that the matrix products dominate. Each step runs, per layer,
X @ W.T (forward), dZ.T @ X and dZ @ W (backward) through ``np.matmul(..., out=)`` into
buffers allocated once per call, and hands bias, activations, loss and derivatives to
minibp.engines.kernels.fused, and l2, clipping and the optimizer's update to
minibp.engines.blas_update. Parameters and the optimizer's state are their owners' own
arrays, updated in place.
"""

from __future__ import annotations

import math

import numpy as np

from minibp.engines import cache_location  # noqa: F401  (before the kernels: see it)
from minibp.engines.blas_update import NO_WEIGHTS, Updater
from minibp.engines.capabilities import ACTIVATION_CODES, activation_code, loss_code
from minibp.engines.epochs import (
    INTERRUPTED,
    Chunk,
    Divergence,
    one_step,
    run_epochs,
    weightless_batch,
)
from minibp.engines.flat import training_arrays
from minibp.engines.kernels import fused, updates  # numba: imported only when the engine runs
from minibp.nn import Sigmoid

PREDICT_ROWS = 1024
STEP_SECONDS = 1e-4  # a cautious guess of a step's fixed cost, for sizing chunks (epochs.py)
SIGMOID = ACTIVATION_CODES[Sigmoid]


class Buffers:
    """Every array one step needs, for batches of up to ``rows`` rows; plus transposed views
    made once, so a full batch creates no array at all."""

    def __init__(self, layers, rows: int):
        self.layers = layers
        dtype = self.layers[0].W.dtype
        self.rows = rows
        self.x = np.empty((rows, self.layers[0].in_features), dtype)
        self.t = np.empty((rows, self.layers[-1].out_features), dtype)
        self.A = [np.empty((rows, layer.out_features), dtype) for layer in self.layers]
        self.dZ = [np.empty((rows, layer.out_features), dtype) for layer in self.layers]
        self.acts = [activation_code(layer) for layer in self.layers]
        self.WT = [layer.W.T for layer in self.layers]
        widths = [self.x.shape[1]] + [a.shape[1] for a in self.A]
        self.sq = np.empty(max(widths))  # float64 column sums, see kernels_fused
        # A bound on ||dW||^2 below this keeps every entry of dW finite in this dtype (any
        # finite float64 bound does, for float64: its root is far below the largest double).
        largest = float(np.finfo(dtype).max) / 4
        self.safe_bound = largest * largest if largest < 1e150 else math.inf
        self.E = [np.empty_like(a) if code == SIGMOID else None  # exp scratch for sigmoid
                  for a, code in zip(self.A, self.acts)]
        self.w = np.empty(rows)  # a batch's sample weights, float64; w_rows the same as rows
        self.w_rows = self.w.reshape(rows, 1)

    def batch(self, rows: int):
        """(x, t, A, dZ) for a batch of `rows` rows: the buffers themselves when full."""
        if rows == self.rows:
            return self.x, self.t, self.A, self.dZ
        return (self.x[:rows], self.t[:rows], [a[:rows] for a in self.A],
                [d[:rows] for d in self.dZ])

    def weights(self, w, order, start: int, rows: int):
        """The sample weights (rows,) of the batch at order[start:], gathered from w (n, 1);
        NO_WEIGHTS (empty) when w is None."""
        if w is None:
            return NO_WEIGHTS
        if rows == self.rows:
            fused.gather_rows(w, order, start, self.w_rows, self.sq)
            return self.w
        fused.gather_rows(w, order, start, self.w_rows[:rows], self.sq)
        return self.w[:rows]

    def exp_scratch(self, i: int, rows: int):
        E = self.E[i]
        return E if rows == self.rows else E[:rows]


def forward(buffers, x, A) -> list[float]:
    """A[l] = act(A[l-1] @ W.T + b) for every layer, A[-1] the output.

    Returns each layer's sum of squares of A, which the kernels total on the way. Underflow
    (exp(-|z|) of a saturated sigmoid, a matmul with such a tiny A) is the answer, no error."""
    squares = []
    inp = x
    with np.errstate(under="ignore"):
        for i, (layer, WT, act, out) in enumerate(zip(buffers.layers, buffers.WT,
                                                      buffers.acts, A)):
            np.matmul(inp, WT, out=out)
            if act == SIGMOID:  # exp in NumPy's SIMD loop: see fused.bias_and_exp_argument
                E = buffers.exp_scratch(i, len(out))
                fused.bias_and_exp_argument(out, layer.b, E)
                np.exp(E, out=E)
                squares.append(fused.sigmoid_from_exp(out, E, out.dtype.type(1), buffers.sq))
            else:
                squares.append(fused.bias_activation(out, layer.b, act, buffers.sq))
            inp = out
    return squares


def loss_and_gradients(buffers, x, x2, t, weight, A, dZ, loss_id: int):
    """Forward, loss and backward of one batch into the layers' dW and db; x2 is the sum of
    squares of x, weight the batch's sample weights (or empty).

    Returns (loss, share, g2): the (weighted) mean loss, the batch's share of the epoch's
    mean (rows, or the sum of its weights), and g2, finite exactly when the gradient's norm
    is. Since
    dW = dZ.T @ A_in, ||dW||^2 <= ||dZ||^2 * ||A_in||^2 (Cauchy-Schwarz), and the kernels
    total those squares as they pass; only when that bound is not safely finite is the
    gradient itself summed, so a healthy step reads no gradient twice. Underflow is the
    answer (see forward); overflow and NaN are left for the divergence guard to report."""
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        return _loss_and_gradients(buffers, x, x2, t, weight, A, dZ, loss_id)


def _loss_and_gradients(buffers, x, x2, t, weight, A, dZ, loss_id: int):
    """loss_and_gradients' work, inside its np.errstate."""
    layers = buffers.layers
    a2 = forward(buffers, x, A)
    value, share, dz2 = fused.loss_backward(A[-1], t, weight, loss_id, buffers.acts[-1],
                                            dZ[-1], layers[-1].db, buffers.sq)
    bound = 0.0
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        np.matmul(dZ[i].T, x if i == 0 else A[i - 1], out=layer.dW)
        bound += dz2 * (x2 if i == 0 else a2[i - 1]) + updates.sum_of_squares(layer.db)
        if i > 0:  # dZ[i] @ W is the gradient at A[i-1]; turn it into dZ[i-1] and db[i-1]
            np.matmul(dZ[i], layer.W, out=dZ[i - 1])
            dz2 = fused.activation_backward(dZ[i - 1], A[i - 1], buffers.acts[i - 1],
                                            layers[i - 1].db, buffers.sq)
    if bound < buffers.safe_bound:  # False for inf and nan too
        return value, share, bound
    return value, share, sum(updates.sum_of_squares(layer.dW.ravel())
                             + updates.sum_of_squares(layer.db) for layer in layers)


class Session:
    """One fit's buffers and generator over the layers' own arrays; run(epochs) trains that
    many more epochs, step by step (so a Ctrl-C is seen after the step it came in)."""

    def __init__(self, layers, X, Y, *, loss, optimizer, batch_size, shuffle, seed,
                 sample_weight=None, clip_norm=None):
        self.buffers = Buffers(layers, rows=min(batch_size, len(X)))
        self.X, self.T = training_arrays(layers, X, Y, loss)
        self.w = None if sample_weight is None else np.ascontiguousarray(
            sample_weight, dtype=np.float64).reshape(-1, 1)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.loss, self.loss_id, self.optimizer = loss, loss_code(loss), optimizer
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(X))
        self.updater = Updater(layers, optimizer, clip_norm)
        self.step = self.epoch = 0

    def run(self, epochs: int, interrupt=None) -> Chunk:
        self.updater.refresh()  # a callback may have frozen parameters or changed settings
        return run_epochs(self._epoch, epochs, interrupt)

    def _epoch(self, interrupt):
        """One epoch; an update that made a value non-finite is undone by restoring the
        epoch's starting snapshot and replaying the steps before it."""
        if self.shuffle:
            self.order = self.rng.permutation(len(self.X))
        self.epoch += 1
        first_step, before = self.step, self.updater.snapshot()
        mean, stop = self._batches(interrupt, None)
        if isinstance(stop, Divergence) and stop.overflow:
            self.updater.restore(before)
            self.step = first_step
            self._batches(None, stop.step - 1)
        return mean, stop

    def _batches(self, interrupt, last_step: int | None):
        """The epoch's batches (up to step ``last_step``, 1-based, when given): (mean loss,
        None) or (None, why it stopped)."""
        n, total, seen = len(self.X), 0.0, 0.0
        buffers, updater = self.buffers, self.updater
        for start in range(0, n, self.batch_size):
            if self.step == last_step:
                return None, None
            self.step += 1
            rows = min(self.batch_size, n - start)
            x, t, A, dZ = buffers.batch(rows)
            x2 = fused.gather_rows(self.X, self.order, start, x, buffers.sq)
            fused.gather_rows(self.T, self.order, start, t, buffers.sq)
            weight = buffers.weights(self.w, self.order, start, rows)
            value, share, norm2 = loss_and_gradients(buffers, x, x2, t, weight, A, dZ,
                                                     self.loss_id)
            if self.w is not None and share == 0.0:
                raise weightless_batch(self.loss)
            value, norm2 = updater.penalize(value, norm2, rows)
            if not (np.isfinite(value) and np.isfinite(norm2)):
                return None, Divergence(self.step, self.epoch, value)
            updater.clip()
            if not updater.update():
                return None, Divergence(self.step, self.epoch, value, overflow=True)
            total, seen = total + value * share, seen + share
            if interrupt is not None and interrupt.requested:
                return None, INTERRUPTED
        return total / seen, None

    def sync(self) -> None:
        """Nothing to write back: this engine trains the layers' and the optimizer's own
        arrays."""

    close = sync


def train_step(layers, X, Y, loss, optimizer) -> float:
    """One forward, backward and update on X, Y; the loss before the update."""
    return one_step(Session, layers, X, Y, loss, optimizer)


def gradients(layers, X, Y, loss) -> None:
    """One batch's gradients, computed by this engine into the layers' dW and db."""
    buffers = Buffers(layers, rows=len(X))
    X, T = training_arrays(layers, X, Y, loss)
    x2 = updates.sum_of_squares(X.ravel())
    loss_and_gradients(buffers, X, x2, T, NO_WEIGHTS, buffers.A, buffers.dZ, loss_code(loss))


def predict(layers, X) -> np.ndarray:
    """The layers' output for X (n, in), PREDICT_ROWS rows at a time."""
    X = np.ascontiguousarray(X, dtype=layers[0].W.dtype)
    out = np.empty((len(X), layers[-1].out_features), X.dtype)
    buffers = Buffers(layers, rows=max(1, min(PREDICT_ROWS, len(X))))
    for start in range(0, len(X), buffers.rows):
        rows = min(buffers.rows, len(X) - start)
        x, _, A, _ = buffers.batch(rows)
        forward(buffers, X[start:start + rows], A)
        out[start:start + rows] = A[-1]
    return out
