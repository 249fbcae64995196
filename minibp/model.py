"""Sequential: layers applied in order, with training entry points."""

from __future__ import annotations

import numpy as np

from minibp import checkpoint, engines, model_text, outputs
from minibp.checkpoint import onnx_export
from minibp.engines import evaluation, repeat, trainer
from minibp.engines.checks import exclusive, warn_if_nothing_trains
from minibp.errors import check_training_data, expect_choice, expect_int
from minibp.fit_plan import loss_from, make_plan, optimizer_from
from minibp.history import History
from minibp.nn.layer import Parameter, named_parameters
from minibp.nn.metrics import get_metric


class Sequential:
    """A = layers[-1](...layers[0](X)), over a whole batch.

    Shapes: X (batch, in_features of the first layer) -> A (batch, out of the last).
    Consecutive layers whose widths disagree are refused here, at construction.
    """

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            _check_is_layer(layer, i)
        _check_distinct(layers)
        _check_widths(layers)
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            layer._position = f"model[{i}]"
        self.loss = None       # the loss of the last fit: predict_proba and accuracy read it
        self.optimizer = None  # the optimizer of the last fit: callbacks reach it here
        self.stop_training = False

    def __getstate__(self) -> dict:
        """Pickled and copied without what its last fits kept (engines/repeat.py)."""
        return repeat.without_kept(self.__dict__)

    # -- the layer protocol ---------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (batch, in) -> A (batch, out); every layer keeps what its backward needs."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dA (batch, out) -> dX (batch, in); overwrites every layer's parameter gradients."""
        for layer in reversed(self.layers):
            dA = layer.backward(dA)
        return dA

    def parameters(self) -> list[Parameter]:
        """Every layer's parameters, named like ``model[0].W``."""
        return named_parameters(self.layers)

    # -- training -----------------------------------------------------------------------
    # Each entry point takes engine="auto" | "numpy" | "numba" | "blas" and makes one call
    # down, engines.resolve, which picks the engine and checks X against the first layer.

    def fit(self, X, Y, *, loss, optimizer, epochs: int = 1, batch_size: int = 32,
            shuffle: bool = True, seed=None, validation_data=None, validation_split=0.0,
            metrics=(), callbacks=(), verbose="auto", sample_weight=None, clip_norm=None,
            on_divergence: str = "raise", engine: str = "auto") -> History:
        """Minibatch training over X (n, in) and Y (n, out), or labels, for ``epochs`` epochs.

        See docs/training.md for every argument. In short: each epoch takes its order as
        ``rng.permutation(n)`` from one ``numpy.random.default_rng(seed)`` made at the start
        (``seed`` drives shuffling only); the last batch may be short. ``validation_split``
        takes the LAST fraction of the rows, before any shuffling (Keras' rule: shuffle
        sorted data first). Validation and ``metrics`` are computed after each epoch with
        that epoch's final weights, without touching them. ``loss`` and ``optimizer`` take
        names ("mse", "xent", "bce", "adam", ...) or instances.

        Returns a History: per epoch the sample-weighted mean of the batch losses, each taken
        before its update, then val_loss and metrics. When the loss or the gradient norm
        stops being finite the update is refused and, with on_divergence="raise",
        TrainingDivergedError is raised (the weights are those of the last finite step);
        with "stop", fit returns and History.stopped_reason is "diverged". Ctrl-C ends fit
        after a whole step and raises KeyboardInterrupt carrying ``.history``.
        """
        arguments = (loss, optimizer, epochs, batch_size, shuffle, seed, validation_data,
                     validation_split, metrics, callbacks, verbose, sample_weight, clip_norm,
                     on_divergence, engine)  # engine last: repeat.keep reads it
        kept = repeat.kept_run(self, X, Y, arguments)
        if kept is not None:  # the same objects as the last plain fit: engines/repeat.py
            return kept.run(X, Y)
        given = (X, Y)
        loss, optimizer = loss_from(loss), optimizer_from(optimizer)
        expect_choice(getattr(loss, "reduction", "mean"), "the loss's reduction", "fit",
                      ("mean",))  # fit weights batch losses by their size: means only
        X, Y, plan = make_plan(X, Y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                               seed=seed, validation_data=validation_data,
                               validation_split=validation_split, metrics=metrics,
                               callbacks=callbacks, verbose=verbose,
                               sample_weight=sample_weight, clip_norm=clip_norm,
                               on_divergence=on_divergence)
        chosen, X = engines.resolve(engine, self, X, loss, optimizer, options=plan.options(),
                                    rows=min(plan.batch_size, len(X)), who="fit", checked=True)
        warn_if_nothing_trains(self.layers)
        with exclusive(self, "fit"):
            self.loss, self.optimizer = loss, optimizer
            return trainer.run(repeat.keep(self, given, arguments, chosen, X, Y, loss,
                                           optimizer, plan))

    def evaluate(self, X, Y, *, loss=None, metrics=(), batch_size: int | None = None,
                 sample_weight=None, engine: str = "auto") -> dict[str, float]:
        """{"loss": ..., "accuracy": ...}: the loss (default: the one the model was last fit
        with) and each metric on X, Y, predicting ``batch_size`` rows at a time."""
        loss = self.loss if loss is None else loss_from(loss, "evaluate")
        if loss is None and not metrics:
            raise ValueError("evaluate: loss must be given (this model was never fit), or "
                             "metrics, got neither")
        X, Y = check_training_data(X, Y, "evaluate")
        chosen, X = engines.resolve(engine, self, X, who="evaluate", checked=True)
        found = [get_metric(m) for m in ([metrics] if isinstance(metrics, str) else metrics)]
        return evaluation.evaluate(self, chosen, X, Y, loss, found, sample_weight,
                                   last_loss=self.loss if self.loss is not None else loss,
                                   batch_size=_rows(batch_size, "evaluate"))

    def predict(self, X, *, batch_size: int | None = None, engine: str = "auto") -> np.ndarray:
        """The model's output for X (n, in) -> (n, out), ``batch_size`` rows at a time
        (default 4096), so memory stays bounded for large X."""
        chosen, X = engines.resolve(engine, self, X, who="predict")
        return evaluation.predict(self, chosen, X, _rows(batch_size, "predict"))

    def predict_proba(self, X, **kwargs) -> np.ndarray:
        """Probabilities: softmax of the outputs after SoftmaxCrossEntropy, sigmoid after
        BinaryCrossEntropy on logits, the outputs themselves otherwise."""
        return outputs.probabilities(self.predict(X, **kwargs), self.loss)

    def predict_classes(self, X, **kwargs) -> np.ndarray:
        """Labels (n,): the argmax of several outputs; for one output, 1 where it passes the
        threshold (0 on BCE logits, else 0.5), else 0."""
        return outputs.classes(self.predict(X, **kwargs), self.loss)

    def train_step(self, X, Y, loss, optimizer, *, engine: str = "auto") -> float:
        """One forward, backward and update on one batch; returns the loss before the update."""
        loss, optimizer = loss_from(loss, "train_step"), optimizer_from(optimizer)
        X, Y = check_training_data(X, Y, "train_step")
        chosen, X = engines.resolve(engine, self, X, loss, optimizer, who="train_step",
                                    checked=True)
        with exclusive(self, "train_step"):
            return chosen.train_step(self.layers, X, Y, loss, optimizer)

    def gradients(self, X, Y, loss, *, engine: str = "auto") -> dict[str, np.ndarray]:
        """One batch's loss gradients, without updating: ``{"model[0].W": dW, ...}`` (copies).

        Frozen parameters are included: they get gradients, they just do not move.
        """
        loss = loss_from(loss, "gradients")
        X, Y = check_training_data(X, Y, "gradients")
        chosen, X = engines.resolve(engine, self, X, loss, who="gradients", checked=True)
        chosen.gradients(self.layers, X, Y, loss)
        return {p.name: p.grad.copy() for p in self.parameters()}

    def astype(self, dtype) -> Sequential:
        """A copy of the model with every layer's parameters in ``dtype`` (float32 or
        float64). Like NumPy's astype it returns a new model and leaves this one alone; give
        the copy its own optimizer, since momentum belongs to the old arrays."""
        return Sequential(*[layer.astype(dtype) for layer in self.layers])

    # -- saving ---------------------------------------------------------------------------
    def save(self, path, *, optimizer=None, standardizer=None):
        """Write the model to exactly ``path`` (no suffix added), atomically: an interrupted
        save leaves the old file whole. With ``optimizer`` its state goes in too
        (minibp.load_optimizer), with ``standardizer`` its numbers (the command line's).
        The format, and what a file can hold, are in docs/saving.md. Returns the path."""
        return checkpoint.save(path, self.layers, loss=self.loss, optimizer=optimizer,
                               standardizer=standardizer)

    def load_weights(self, path) -> Sequential:
        """Fill this model's parameters from the file at ``path`` in place (an optimizer
        holding them stays attached), after checking it has this architecture; returns self.
        The file is checked whole first (CheckpointError): a bad file changes nothing."""
        checkpoint.fill_weights(self.layers, path)
        return self

    to_onnx = onnx_export.to_onnx  # model.to_onnx(path, *, head=None): docs/interop.md

    # -- looking inside -----------------------------------------------------------------
    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    def summary(self, print_fn=print) -> None:
        """Print a table of layers, output shapes and parameter counts (the text itself:
        summary_text())."""
        print_fn(self.summary_text())

    def summary_text(self) -> str:
        return model_text.summary_text(self.layers)

    def inspect(self) -> None:
        """Print every weight and bias, neuron by neuron, like the chapter's inspect()."""
        print("\n".join(model_text.inspect_lines(self.layers)))


def _check_is_layer(layer, i: int) -> None:
    missing = [m for m in ("forward", "backward", "parameters") if not hasattr(layer, m)]
    if missing:
        raise TypeError(f"Sequential: model[{i}] ({type(layer).__name__}) is not a layer; "
                        f"it lacks {', '.join(missing)}")


def _check_distinct(layers) -> None:
    """Refuse one layer object at two positions: a layer keeps one forward's values for its
    backward and overwrites its gradients, so the two uses would corrupt each other."""
    seen = {}
    for i, layer in enumerate(layers):
        if id(layer) in seen:
            raise ValueError(
                f"Sequential: model[{seen[id(layer)]}] and model[{i}] are the same layer "
                f"object ({layer!r}); a layer can appear once. To share weights, make a second "
                "layer and give it the same arrays (Dense(..., W=first.W, b=first.b, "
                "copy=False)), knowing each position then gets its own gradients")
        seen[id(layer)] = i


def _check_widths(layers) -> None:
    """Refuse a layer whose in_features differs from the width reaching it."""
    width, source = None, None
    for i, layer in enumerate(layers):
        wanted = getattr(layer, "in_features", None)
        if wanted is not None and width is not None and wanted != width:
            raise ValueError(f"Sequential: model[{i}] {layer!r} expects {wanted} inputs, "
                             f"but model[{source}] {layers[source]!r} gives {width}")
        out = getattr(layer, "out_features", None)
        if out is not None:
            width, source = out, i
        elif wanted is not None:
            width, source = wanted, i


def _rows(batch_size, who: str) -> int | None:
    return None if batch_size is None else expect_int(batch_size, "batch_size", who, least=1)
