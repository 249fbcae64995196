"""Sequential: layers applied in order, with training entry points."""

from __future__ import annotations

import numpy as np

from minibp import engines
from minibp.errors import check_training_data, expect_choice, expect_int
from minibp.history import History
from minibp.nn.layer import Parameter


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
        _check_widths(layers)
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            layer._position = f"model[{i}]"

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
        return [
            Parameter(f"model[{i}].{p.name}", p.value, p.grad, p.frozen)
            for i, layer in enumerate(self.layers)
            for p in layer.parameters()
        ]

    # -- training -----------------------------------------------------------------------
    # Each entry point takes engine="auto" | "numpy" | "numba" | "blas" and makes one call
    # down, engines.resolve, which picks the engine and checks X against the first layer.

    def predict(self, X, *, engine: str = "auto") -> np.ndarray:
        """The model's output for X (batch, in) -> (batch, out)."""
        chosen, X = engines.resolve(engine, self, X, who="predict")
        return chosen.predict(self.layers, X)

    def train_step(self, X, Y, loss, optimizer, *, engine: str = "auto") -> float:
        """One forward, backward and update on one batch; returns the loss before the update."""
        X, Y = check_training_data(X, Y, "train_step")
        chosen, X = engines.resolve(engine, self, X, loss, optimizer, who="train_step")
        return chosen.train_step(self.layers, X, Y, loss, optimizer)

    def gradients(self, X, Y, loss, *, engine: str = "auto") -> dict[str, np.ndarray]:
        """One batch's loss gradients, without updating: ``{"model[0].W": dW, ...}`` (copies).

        Frozen parameters are included: they get gradients, they just do not move.
        """
        X, Y = check_training_data(X, Y, "gradients")
        chosen, X = engines.resolve(engine, self, X, loss, who="gradients")
        chosen.gradients(self.layers, X, Y, loss)
        return {p.name: p.grad.copy() for p in self.parameters()}

    def fit(self, X, Y, *, loss, optimizer, epochs: int = 1, batch_size: int = 32,
            shuffle: bool = True, seed=None, verbose: int = 0, engine: str = "auto") -> History:
        """Minibatch training over the whole of X, Y for a number of epochs.

        Each epoch takes its order as ``rng.permutation(n)`` from one
        ``numpy.random.default_rng(seed)`` made at the start (no draws when shuffle=False);
        the last batch of an epoch may be short. ``seed`` affects shuffling only.

        Returns a History whose ``history["loss"]`` holds, per epoch, the sample-weighted
        mean of the batch losses, each taken before its update. If the loss or gradient
        norm stops being finite, raises TrainingDivergedError before that update, keeping
        the weights of the last finite step.
        """
        X, Y = check_training_data(X, Y)
        expect_int(epochs, "epochs", "fit", least=0)
        expect_int(batch_size, "batch_size", "fit", least=1)
        expect_choice(getattr(loss, "reduction", "mean"), "the loss's reduction", "fit",
                      ("mean",))  # fit weights batch losses by their size: means only
        chosen, X = engines.resolve(engine, self, X, loss, optimizer,
                                    rows=min(batch_size, len(X)), who="fit")
        return chosen.fit(self.layers, X, Y, loss=loss, optimizer=optimizer, epochs=epochs,
                          batch_size=batch_size, shuffle=shuffle, seed=seed, verbose=verbose)

    def astype(self, dtype) -> Sequential:
        """A copy of the model with every layer's parameters in ``dtype`` (float32 or
        float64). Like NumPy's astype it returns a new model and leaves this one alone; give
        the copy its own optimizer, since momentum belongs to the old arrays."""
        return Sequential(*[layer.astype(dtype) for layer in self.layers])

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

    def summary(self) -> str:
        """Print and return a table of layers, output shapes and parameter counts."""
        rows = [("#", "layer", "output shape", "parameters")]
        total = frozen = 0
        for i, layer in enumerate(self.layers):
            count = sum(p.value.size for p in layer.parameters())
            n_frozen = sum(p.value.size for p in layer.parameters() if p.frozen)
            total, frozen = total + count, frozen + n_frozen
            note = f" ({n_frozen} frozen)" if n_frozen else ""
            rows.append((str(i), repr(layer), _output_shape_text(self.layers, i),
                         f"{count}{note}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in rows]
        lines.append(f"Total parameters: {total} ({total - frozen} trainable, {frozen} frozen)")
        text = "\n".join(lines)
        print(text)
        return text

    def inspect(self) -> None:
        """Print every weight and bias, neuron by neuron, like the chapter's inspect()."""
        print("------")
        widths = (getattr(layer, "in_features", None) for layer in self.layers)
        print(f"* Inputs: {next((w for w in widths if w is not None), '?')}")
        for i, layer in enumerate(self.layers):
            print("------")
            print(f"model[{i}] {layer!r}")
            params = {p.name: p for p in layer.parameters()}
            if "W" not in params:
                continue
            print(f"Neurons: {params['W'].value.shape[0]}")
            for j, row in enumerate(params["W"].value):
                print(f" Neuron {j}")
                for w in row:
                    print(f"  Weight: {float(w)!r}")
                if "b" in params:
                    note = " (frozen)" if params["b"].frozen else ""
                    print(f"  Bias: {float(params['b'].value[j])!r}{note}")
        print("------")


def _check_is_layer(layer, i: int) -> None:
    missing = [m for m in ("forward", "backward", "parameters") if not hasattr(layer, m)]
    if missing:
        raise TypeError(f"Sequential: model[{i}] ({type(layer).__name__}) is not a layer; "
                        f"it lacks {', '.join(missing)}")


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


def _output_shape_text(layers, i: int) -> str:
    for layer in layers[i::-1]:
        width = getattr(layer, "out_features", None) or getattr(layer, "in_features", None)
        if width is not None:
            return f"(batch, {width})"
    return "(batch, ?)"

