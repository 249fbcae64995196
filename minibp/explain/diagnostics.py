"""Diagnostics: a callback that looks inside the network after every epoch.

    history = model.fit(X, Y, ..., callbacks=[minibp.explain.Diagnostics()])
    history["model[0].grad_norm"]            # one value per epoch, beside history["loss"]
    history.plot_diagnostics("diagnostics.png")

Per layer and epoch, into the History fit returns (keys "model[i].<figure>"):

    grad_norm     sqrt(||dW||^2 + ||db||^2) of the loss on a fixed probe batch
    update_ratio  ||W_end - W_start|| / ||W_start|| over the epoch (W only: b starts at 0)
    saturated     sigmoid and tanh: the fraction of units whose slope dA/dZ is under 1% of
                  its largest (0.25, 1) on most (more than half) of the probe rows
    dead          relu: the fraction of units that are zero on every probe row

The probe batch is drawn once, at the start of fit, from the training rows. Every figure
comes from the layers' own NumPy forward and backward, run on a private copy of the layers:
the training run, on any engine, is bit for bit the one it would be without this callback.
"""

from __future__ import annotations

import copy

import numpy as np

from minibp.callbacks import Callback
from minibp.errors import expect_int
from minibp.nn import ActivationLayer

FLAT = 0.01          # a slope under 1% of the activation's largest is flat ...
MOST = 0.5           # ... and a unit flat on more than half the probe rows is saturated:
#                      it passes under 1% of its gradient for most samples. "Every row" would
#                      let one odd row hide a unit stuck for all the others.
MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0}   # sigmoid'(0) and tanh'(0)
DYING = ("relu",)    # dead: zero on every probe row, so no gradient reaches its weights


class Diagnostics(Callback):
    """Records gradient norms, update ratios, saturated and dead units per layer and epoch.

    Parameters
    ----------
    probe_rows : int, default 256
        Rows of the training data in the probe batch (all of them when there are fewer),
        drawn without replacement by ``numpy.random.default_rng(seed)``.
    seed : int, default 0
        Seed of the probe draw: the same fit gives the same figures.

    The probe's loss is the fit's loss, unweighted and without the optimizer's l2 penalty.
    ``last`` holds the latest epoch's figures; fit writes every epoch's into its History.
    """

    def __init__(self, probe_rows: int = 256, seed: int = 0):
        self.probe_rows = expect_int(probe_rows, "probe_rows", "Diagnostics", least=1)
        self.seed = expect_int(seed, "seed", "Diagnostics", least=0)
        self.history = None
        self.last: dict[str, float] = {}
        self._data = None

    # -- fit's optional hooks (minibp.engines.trainer) -------------------------------------
    def set_data(self, X: np.ndarray, Y: np.ndarray) -> None:
        """The training rows, as fit trains on them; read at on_train_begin."""
        self._data = (X, Y)

    def set_history(self, history) -> None:
        """The History fit fills: each epoch's figures join its columns."""
        self.history = history

    # -- the Keras hooks ---------------------------------------------------------------------
    def on_train_begin(self, logs=None) -> None:
        if self._data is None:
            raise RuntimeError("Diagnostics: no training data came with on_train_begin; it "
                               "is a callback for fit: model.fit(..., callbacks=[it])")
        X, Y = self._data
        self._data = None                     # hold the probe, not the whole training set
        rng = np.random.default_rng(self.seed)
        rows = np.sort(rng.choice(len(X), size=min(self.probe_rows, len(X)), replace=False))
        self.X_probe, self.Y_probe = X[rows], Y[rows]
        self._layers = copy.deepcopy(list(self.model.layers))  # the probe runs here, only
        self._loss = copy.deepcopy(self.model.loss)             # it keeps what backward needs
        self.last = {}

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._copy_weights()                  # the copy holds W_start until the epoch ends

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        figures = self._update_ratios()
        self._copy_weights()
        figures.update(self._probe())
        self.last = dict(sorted(figures.items(), key=lambda item: _order(item[0])))
        if self.history is not None:
            # no epochs: the values join the columns of the epoch fit has just recorded
            self.history.add_to_last_epoch(**self.last)

    # -- the figures -----------------------------------------------------------------------
    def _copy_weights(self) -> None:
        """The model's parameters (the layers hold the epoch's weights on every engine: fit
        syncs them before callbacks) into the private copy, in place."""
        for mine, theirs in zip(self._layers, self.model.layers):
            for p, q in zip(mine.parameters(), theirs.parameters()):
                p.value[...] = q.value

    def _update_ratios(self) -> dict[str, float]:
        figures = {}
        for i, (start, end) in enumerate(zip(self._layers, self.model.layers)):
            for p, q in zip(start.parameters(), end.parameters()):
                if p.name == "W":
                    size = _norm(p.value)
                    moved = _norm(q.value.astype(np.float64) - p.value)
                    figures[f"model[{i}].update_ratio"] = moved / size if size else np.nan
        return figures

    def _probe(self) -> dict[str, float]:
        """Forward and backward of the probe batch through the copy: gradient norms, then
        saturated and dead units from each layer's A and dA/dZ."""
        A = self.X_probe
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in self._layers:
                A = layer.forward(A)
            self._loss.forward(A, self.Y_probe)
            dA = self._loss.backward()
            for layer in reversed(self._layers):
                dA = layer.backward(dA)
        figures = {}
        for i, layer in enumerate(self._layers):
            grads = [p.grad for p in layer.parameters()]
            if grads:
                figures[f"model[{i}].grad_norm"] = float(np.sqrt(sum(_norm(g) ** 2
                                                                     for g in grads)))
            figures.update(_units(i, layer))
        return figures

    def __repr__(self) -> str:
        return f"Diagnostics(probe_rows={self.probe_rows}, seed={self.seed})"


def _units(i: int, layer) -> dict[str, float]:
    """{"model[i].saturated": ...} or {"model[i].dead": ...} for a layer whose activation
    saturates or dies (a Dense with one fused, or an activation layer); else nothing."""
    if isinstance(layer, ActivationLayer):
        name, slope = layer.name, layer.derivative(layer.A)
    elif hasattr(layer, "activation_derivative"):
        name, slope = layer.activation, layer.activation_derivative()
    else:
        return {}
    if name in MAX_SLOPE:
        flat = np.abs(slope) < FLAT * MAX_SLOPE[name]
        return {f"model[{i}].saturated": float(np.mean(np.mean(flat, axis=0) > MOST))}
    if name in DYING:
        return {f"model[{i}].dead": float(np.mean(np.all(layer.A <= 0, axis=0)))}
    return {}


def _norm(array: np.ndarray) -> float:
    """The L2 norm, summed in float64 whatever the dtype."""
    flat = array.ravel().astype(np.float64, copy=False)
    return float(np.sqrt(np.dot(flat, flat)))


FIGURES = ("grad_norm", "update_ratio", "saturated", "dead")


def _order(key: str) -> tuple[int, int]:
    """model[i].figure keys by layer, then in FIGURES' order."""
    layer, figure = key.split(".", 1)
    return int(layer[6:-1]), FIGURES.index(figure)
