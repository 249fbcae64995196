"""minibp.explain.Diagnostics: figures against NumPy written here, training left bit for bit
as it is without the callback on every engine, the History columns and their plot, and the
docs' pictures script."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minibp
from minibp.explain import Diagnostics

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["numpy", "numba", "blas"]


def blobs(n=60, features=5, classes=3, seed=0):
    X, y = minibp.datasets.make_blobs(n, centers=classes, features=features, seed=seed)
    return minibp.datasets.Standardizer().fit_transform(X), y


class Snapshots(minibp.Callback):
    """Every epoch's final weights, [W0, b0, W1, b1, ...] copies (listed after Diagnostics)."""

    def on_train_begin(self, logs=None):
        self.start = [p.value.copy() for p in self.model.parameters()]
        self.ends = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append([p.value.copy() for p in self.model.parameters()])


def reference_gradients(X, y, W1, b1, W2, b2):
    """Mean softmax cross-entropy of sigmoid(X W1.T + b1) W2.T + b2, by hand: dW1, db1, dW2,
    db2 and the hidden A."""
    A = 1.0 / (1.0 + np.exp(-(X @ W1.T + b1)))
    logits = A @ W2.T + b2
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ2 = (P - np.eye(W2.shape[0])[y]) / len(X)
    dZ1 = (dZ2 @ W2) * A * (1.0 - A)
    return dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A, dZ2.sum(axis=0), A


def test_figures_match_numpy_written_here_epoch_by_epoch():
    X, y = blobs()
    model = minibp.mlp([5, 8, 3], "sigmoid", seed=1)
    snapshots = Snapshots()
    history = model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.5), epochs=4,
                        batch_size=16, seed=0, engine="numpy",
                        callbacks=[Diagnostics(probe_rows=1000), snapshots])  # every row
    before = snapshots.start
    for epoch, after in enumerate(snapshots.ends):
        dW1, db1, dW2, db2, A = reference_gradients(X, y, *after)
        assert history["model[0].grad_norm"][epoch] == pytest.approx(
            np.sqrt(np.sum(dW1 ** 2) + np.sum(db1 ** 2)), rel=1e-10)
        assert history["model[1].grad_norm"][epoch] == pytest.approx(
            np.sqrt(np.sum(dW2 ** 2) + np.sum(db2 ** 2)), rel=1e-10)
        for i, W in ((0, 0), (1, 2)):
            ratio = np.linalg.norm(after[W] - before[W]) / np.linalg.norm(before[W])
            assert history[f"model[{i}].update_ratio"][epoch] == pytest.approx(ratio, rel=1e-10)
        flat_rows = np.mean(A * (1 - A) < 0.0025, axis=0)
        assert history["model[0].saturated"][epoch] == np.mean(flat_rows > 0.5)
        before = after
    assert len(history["model[0].grad_norm"]) == len(history.epoch) == 4


def fixed_layer(activation, W, b):
    """A model of one Dense(1 -> len(b)) whose weights will not move (lr=0)."""
    return minibp.Sequential(minibp.Dense(1, len(b), activation, W=np.array(W)[:, None], b=b))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_unit_is_saturated_when_flat_on_more_than_half_the_rows(activation):
    x = np.array([0.0] * 4 + [1.0] * 6)[:, None]
    # Z = w x + b is 0 (the largest slope) or 50 (sigmoid' 2e-22, tanh' 0: flat):
    # unit 0 is flat on all 10 rows, unit 1 on 6, unit 2 on 4, unit 3 on none
    model = fixed_layer(activation, [0.0, 50.0, -50.0, 0.0], [50.0, 0.0, 50.0, 0.0])
    history = model.fit(x, np.zeros((10, 4)), loss="mse", optimizer=minibp.SGD(0.0),
                        epochs=2, verbose=0, callbacks=[Diagnostics()])
    assert history["model[0].saturated"] == [0.5, 0.5]  # units 0 and 1


def test_a_relu_unit_is_dead_only_when_zero_on_every_row():
    x = np.linspace(-1.0, 1.0, 9)[:, None]
    # unit 0: negative everywhere; unit 1: positive on the last row only; units 2, 3 alive
    model = fixed_layer("relu", [1.0, 1.0, 1.0, -1.0], [-5.0, -0.9, 0.0, 0.0])
    history = model.fit(x, np.zeros((9, 4)), loss="mse", optimizer=minibp.SGD(0.0),
                        epochs=1, verbose=0, callbacks=[Diagnostics()])
    assert history["model[0].dead"] == [0.25]
    assert history["model[0].update_ratio"] == [0.0]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_is_bit_for_bit_the_same_with_and_without_it(engine, dtype):
    X, y = blobs(n=90)
    runs = []
    for callbacks in ([], [Diagnostics(probe_rows=32)]):
        model = minibp.mlp([5, 16, 8, 3], "tanh", seed=2, dtype=dtype)
        history = model.fit(X.astype(dtype), y, loss="xent", optimizer=minibp.Adam(0.01),
                            epochs=5, batch_size=8, seed=3, engine=engine,
                            validation_split=0.2, callbacks=callbacks)
        runs.append((history, [p.value.copy() for p in model.parameters()]))
    (plain, weights), (watched, watched_weights) = runs
    assert all(np.array_equal(a, b) for a, b in zip(weights, watched_weights))
    assert watched["loss"] == plain["loss"] and watched["val_loss"] == plain["val_loss"]
    assert len(watched["model[1].saturated"]) == len(watched.epoch) == 5


def test_the_probe_is_drawn_once_by_its_seed_from_the_training_rows():
    X, y = blobs(n=100)
    found = []
    for seed in (0, 0, 1):
        diagnostics = Diagnostics(probe_rows=10, seed=seed)
        minibp.mlp([5, 4, 3], seed=0).fit(X, y, loss="xent", optimizer="sgd", epochs=2,
                                          validation_split=0.3, callbacks=[diagnostics])
        rows = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in diagnostics.X_probe]
        assert len(set(rows)) == 10 and max(rows) < 70       # training rows, no repeats
        assert np.array_equal(diagnostics.Y_probe, y[rows])
        found.append(rows)
    assert found[0] == found[1] != found[2]


def test_columns_stay_aligned_with_the_epochs_when_fit_stops_early():
    X, y = blobs()
    stop = minibp.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = minibp.mlp([5, 6, 3], "relu", seed=0).fit(
        X, y, loss="xent", optimizer="sgd", epochs=50, metrics=["accuracy"],
        callbacks=[stop, Diagnostics()])
    assert history.stopped_reason == "early_stopping" and len(history) == 2
    assert {k: len(v) for k, v in history.history.items()} == dict.fromkeys([
        "loss", "accuracy", "model[0].grad_norm", "model[0].update_ratio", "model[0].dead",
        "model[1].grad_norm", "model[1].update_ratio"], 2)


def test_bad_arguments_and_use_outside_fit_are_refused():
    with pytest.raises(ValueError, match="probe_rows"):
        Diagnostics(probe_rows=0)
    with pytest.raises(RuntimeError, match="callback for fit"):
        Diagnostics().on_train_begin({})
    assert repr(Diagnostics()) == "Diagnostics(probe_rows=256, seed=0)"


def test_plot_diagnostics_draws_a_panel_per_figure_and_saves_png_or_svg(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = blobs()
    history = minibp.mlp([5, 6, 6, 3], "relu", seed=0).fit(
        X, y, loss="xent", optimizer="sgd", epochs=3, callbacks=[Diagnostics()])
    figure = history.plot_diagnostics(tmp_path / "d.png")
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["gradient norm on the probe batch", "epoch's update / weight norm",
                      "dead units (relu)"]
    lines = figure.axes[2].get_lines()
    assert [line.get_label() for line in lines] == ["model[0]", "model[1]"]
    assert list(lines[1].get_ydata()) == history["model[1].dead"]
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history.plot_diagnostics(tmp_path / "d.svg")
    assert b"<svg" in (tmp_path / "d.svg").read_bytes()[:500]
    assert [axis.get_title() for axis in history.plot().axes] == ["loss"]  # not mixed in
    __import__("matplotlib.pyplot").pyplot.close("all")


def test_plot_diagnostics_without_diagnostics_says_how_to_get_them():
    history = minibp.History()
    history.record(0, loss=1.0)
    with pytest.raises(ValueError, match="Diagnostics"):
        history.plot_diagnostics()


def test_the_docs_pictures_show_each_problem_and_its_healthy_twin_does_not(tmp_path):
    pytest.importorskip("matplotlib")
    script = ROOT / "docs" / "examples" / "diagnostics_pictures.py"
    spec = importlib.util.spec_from_file_location("diagnostics_pictures", script)
    pictures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pictures)
    found = pictures.main(["--out", str(tmp_path)])
    for name, key in (("saturation", "model[1].saturated"), ("dead_relu", "model[1].dead")):
        problem, healthy = found[name]
        assert problem[key][-1] > 0.5 and healthy[key][-1] < 0.1, name
        assert problem["loss"][-1] > 10 * healthy["loss"][-1], name
        path = tmp_path / f"explain_{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < 200_000
