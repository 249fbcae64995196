"""The BLAS engine: matrix products in NumPy's BLAS, everything else in fused kernels.

For batches large enough that the matrix products dominate. Each step runs, per layer,
X @ W.T (forward), dZ.T @ X and dZ @ W (backward) through ``np.matmul(..., out=)`` into
buffers allocated once per call, and hands bias, activations, loss and derivatives to
minibp.engines.kernels.fused, and l2, clipping and the optimizer's update to
minibp.engines.blas_update. Parameters and the optimizer's state are their owners' own
arrays, updated in place.

The divergence guard sums nothing in a plain step: the update kernels already report a
non-finite value, and a non-finite gradient always makes one, so such a step is undone and
classified afterwards (Session._epoch). Only clipping, l2 and frozen parameters sum
gradients before the update (blas_update.Updater.guard_norm2).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from minibp.engines import (
    blas_compiled,
    blas_library,
    blas_predict,
    cache_location,  # noqa: F401  (before the kernels: see it)
)
from minibp.engines.blas_buffers import SIGMOID, Buffers, batch_sources
from minibp.engines.blas_update import NO_WEIGHTS, Updater
from minibp.engines.capabilities import loss_code
from minibp.engines.epochs import (
    INTERRUPTED,
    Chunk,
    Divergence,
    one_step,
    run_epochs,
    weightless_batch,
)
from minibp.engines.kernels import fused, step  # numba: imported when the engine runs

PREDICT_ROWS = 1024
STEP_SECONDS = 1e-4  # a cautious guess of a step's fixed cost, for sizing chunks (epochs.py)


def forward(buffers, x, A) -> None:
    """A[l] = act(A[l-1] @ W.T + b) for every layer, A[-1] the output. Underflow (exp(-|z|)
    of a saturated sigmoid, a matmul with such a tiny A) is the answer, no error."""
    with np.errstate(under="ignore"):
        _forward(buffers, x, A)


def _forward(buffers, x, A) -> None:
    """forward's work, inside the caller's np.errstate."""
    inp = x
    for i, (layer, WT, act, out) in enumerate(zip(buffers.layers, buffers.WT, buffers.acts, A)):
        np.matmul(inp, WT, out=out)
        if act == SIGMOID:  # exp in NumPy's SIMD loop: see fused.bias_and_exp_argument
            E = buffers.exp_scratch(i, len(out))
            fused.bias_and_exp_argument(out, layer.b, E)
            np.exp(E, out=E)
            step.sigmoid_of_exp(out, E, out.dtype.type(1))
        else:
            step.add_bias_activate(out, layer.b, act)
        inp = out


def loss_and_gradients(buffers, x, t, weight, A, dZ, loss_id: int) -> tuple[float, float]:
    """Forward, loss and backward of one batch into the layers' dW and db; weight the
    batch's sample weights (or empty). Returns (loss, share): the (weighted) mean loss and
    the batch's share of the epoch's mean (rows, or the sum of its weights).

    Nothing here sums the gradients for the divergence guard: a non-finite gradient makes
    the update non-finite, which the update kernels report, and the Session then restores
    and classifies the step (Session._epoch). Underflow is the answer (see forward);
    overflow and NaN are left for that guard."""
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        return _loss_and_gradients(buffers, x, t, weight, A, dZ, loss_id)


def _loss_and_gradients(buffers, x, t, weight, A, dZ, loss_id: int) -> tuple[float, float]:
    """loss_and_gradients' work, inside the caller's np.errstate."""
    layers, acts = buffers.layers, buffers.acts
    _forward(buffers, x, A)
    value, share, _ = fused.loss_backward(A[-1], t, weight, loss_id, acts[-1], dZ[-1],
                                          layers[-1].db, buffers.sq)  # its sum: 10 columns
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        np.matmul(dZ[i].T, x if i == 0 else A[i - 1], out=layer.dW)
        if i > 0:  # dZ[i] @ W is the gradient at A[i-1]; turn it into dZ[i-1] and db[i-1]
            np.matmul(dZ[i], layer.W, out=dZ[i - 1])
            step.derivative_and_bias_gradient(dZ[i - 1], A[i - 1], acts[i - 1],
                                               layers[i - 1].db)
    return value, share


class Session:
    """One fit's buffers and generator over the layers' own arrays; run(epochs) trains that
    many more epochs, step by step (so a Ctrl-C is seen after the step it came in)."""

    def __init__(self, layers, X, Y, *, loss, optimizer, batch_size, shuffle, seed,
                 sample_weight=None, clip_norm=None):
        self.buffers = Buffers(layers, rows=min(batch_size, len(X)))
        self.X, self.T = batch_sources(layers, X, Y, loss)
        self.w = None if sample_weight is None else np.ascontiguousarray(
            sample_weight, dtype=np.float64).reshape(-1, 1)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.loss, self.loss_id, self.optimizer = loss, loss_code(loss), optimizer
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(X))
        self.updater = Updater(layers, optimizer, clip_norm)
        self.step = self.epoch = 0
        self.compiled = None  # blas_compiled.Steps while a chunk runs them compiled
        self._one_blas_thread = None  # an ExitStack holding blas_library.one_blas_thread()

    def to_compile(self, evaluates: bool = False) -> list:
        """What this fit compiles before its first epoch (blas_compiled.to_compile), and
        for predict when it ``evaluates`` between epochs (blas_predict.to_compile)."""
        predict = blas_predict.to_compile(self.buffers) if evaluates else []
        return blas_compiled.to_compile(self) + predict

    def run(self, epochs: int, interrupt=None) -> Chunk:
        self.updater.refresh()  # a callback may have frozen parameters or changed settings
        self.compiled = None if blas_compiled.why_not(self) else blas_compiled.Steps(self)
        self._hold_one_blas_thread(self.compiled is not None)
        return run_epochs(self._epoch, epochs, interrupt)

    def _hold_one_blas_thread(self, hold: bool) -> None:
        """Compiled chunks need OpenBLAS at one thread (blas_library.one_blas_thread), and
        it stays so from the first of them until close: what runs between chunks (the
        validation data's and the metrics' predictions, callbacks) then leaves no OpenBLAS
        thread spinning for the next chunk's two threads to wait on (up to 0.1 s after a
        threaded product: a W3-sized fit's epochs ran 1.21x slower after evaluating 10,000
        validation rows, docs/engines.md). A chunk of Python steps gets OpenBLAS's threads
        back."""
        if hold and self._one_blas_thread is None:
            self._one_blas_thread = contextlib.ExitStack()
            self._one_blas_thread.enter_context(blas_library.one_blas_thread())
        elif not hold and self._one_blas_thread is not None:
            self._one_blas_thread.close()
            self._one_blas_thread = None

    def _epoch(self, interrupt):
        """One epoch; an update that made a value non-finite is undone by restoring the
        epoch's starting snapshot and replaying the steps before it. Then the refused step
        is run again, without its update, to tell why: its gradient was not finite (the
        update kernels check no gradient before using it, see loss_and_gradients) or the
        update itself overflowed."""
        if self.shuffle:
            self.order = self.rng.permutation(len(self.X))
        self.epoch += 1
        first_step, before = self.step, self.updater.snapshot()
        mean, stop = self._batches(interrupt, None)
        if isinstance(stop, Divergence) and stop.overflow:
            self.updater.restore(before)
            self.step = first_step
            self._batches(None, stop.step - 1)
            stop = self._why(stop, (stop.step - 1 - first_step) * self.batch_size)
        return mean, stop

    def _why(self, stop: Divergence, start: int) -> Divergence:
        """The refused step (at ``start`` in the epoch's order) computed again without its
        update: a Divergence without overflow when its loss or gradient is not finite, as
        the guard of the NumPy engine reports it, else ``stop`` as it is."""
        rows = min(self.batch_size, len(self.X) - start)
        x, t, A, dZ = self.buffers.batch(rows)
        step.gather_batch(self.X, self.T, self.order, start, x, t)
        weight = self.buffers.weights(self.w, self.order, start, rows)
        value, _ = loss_and_gradients(self.buffers, x, t, weight, A, dZ, self.loss_id)
        with np.errstate(over="ignore", invalid="ignore"):
            value, norm2 = self.updater.penalize(value, self.updater.gradient_norm2(), rows)
        if math.isfinite(value) and math.isfinite(norm2):
            return stop
        return Divergence(stop.step, stop.epoch, value)

    def _batches(self, interrupt, last_step: int | None):
        """The epoch's batches (up to step ``last_step``, 1-based, when given): (mean loss,
        None) or (None, why it stopped)."""
        with np.errstate(under="ignore", over="ignore", invalid="ignore"):
            if self.compiled is not None:
                return self.compiled.run(self, interrupt, last_step)
            return self._steps(interrupt, last_step)

    def _steps(self, interrupt, last_step: int | None):
        """_batches' work, inside its np.errstate (one for the epoch: a step's kernels and
        products run between two Python statements, and entering np.errstate costs more
        than some of them)."""
        n, total, seen = len(self.X), 0.0, 0.0
        buffers, updater, order = self.buffers, self.updater, self.order
        X, T, w, loss_id, batch_size = self.X, self.T, self.w, self.loss_id, self.batch_size
        isfinite = math.isfinite
        for start in range(0, n, batch_size):
            if self.step == last_step:
                return None, None
            self.step += 1
            rows = min(batch_size, n - start)
            x, t, A, dZ = buffers.batch(rows)
            step.gather_batch(X, T, order, start, x, t)
            weight = buffers.weights(w, order, start, rows)
            value, share = _loss_and_gradients(buffers, x, t, weight, A, dZ, loss_id)
            if w is not None and share == 0.0:
                raise weightless_batch(self.loss)
            value, norm2 = updater.penalize(value, updater.guard_norm2(), rows)
            if not (isfinite(value) and isfinite(norm2)):
                return None, Divergence(self.step, self.epoch, value)
            updater.clip(norm2)
            if not updater.update():
                return None, Divergence(self.step, self.epoch, value, overflow=True)
            total, seen = total + value * share, seen + share
            if interrupt is not None and interrupt.requested:
                return None, INTERRUPTED
        return total / seen, None

    def sync(self) -> None:
        """Nothing to write back: this engine trains the layers' and the optimizer's own
        arrays."""

    def close(self) -> None:
        """The end of the fit: OpenBLAS's thread count back as it was."""
        self._hold_one_blas_thread(False)


def train_step(layers, X, Y, loss, optimizer) -> float:
    """One forward, backward and update on X, Y; the loss before the update."""
    return one_step(Session, layers, X, Y, loss, optimizer)


def gradients(layers, X, Y, loss) -> None:
    """One batch's gradients, computed by this engine into the layers' dW and db."""
    buffers = Buffers(layers, rows=len(X))
    X, T = batch_sources(layers, X, Y, loss)
    loss_and_gradients(buffers, X, T, NO_WEIGHTS, buffers.A, buffers.dZ, loss_code(loss))


def predict(layers, X, who: str = "predict") -> np.ndarray:
    """The layers' output for X (n, in), PREDICT_ROWS rows at a time: compiled where the
    compiled steps can run (blas_predict.predict), else NumPy's products. (``who``, the
    caller's name, is for engines that check parameters here; resolve has checked them.)"""
    X = np.ascontiguousarray(X, dtype=layers[0].W.dtype)
    out = np.empty((len(X), layers[-1].out_features), X.dtype)
    rows = max(1, min(PREDICT_ROWS, len(X)))
    if blas_compiled.can_predict():
        blas_predict.predict(layers, X, out, rows)
        return out
    buffers = Buffers(layers, rows=rows)
    for start in range(0, len(X), rows):
        x, _, A, _ = buffers.batch(min(rows, len(X) - start))
        forward(buffers, X[start:start + len(x)], A)
        out[start:start + len(x)] = A[-1]
    return out
