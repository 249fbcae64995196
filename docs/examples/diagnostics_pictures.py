"""Draw the pictures of docs/explain.md's Diagnostics section, two training problems seen
through minibp.explain.Diagnostics, each beside the healthy run it should have been.

    python docs/examples/diagnostics_pictures.py [--out DIR]

writes DIR/explain_saturation.png and DIR/explain_dead_relu.png (DIR defaults to docs/).
Both train a 20-64-64-6 network on the same six standardized blobs for 30 epochs of SGD in
batches of 32:

- saturation: sigmoid units with the chapter's init, weights uniform in [0, 1). Fine for
  its 2-2-2 network, too large at width 64: all positive, so the second layer's Z is about
  64 * 0.5 * 0.5 = 16, where sigmoid's slope is 1e-7. Healthy: Xavier's init.
- dead_relu: ReLU units with lr=2.0; the first steps throw the second layer's units to
  negative Z on every row, where they stay. Healthy: lr=0.1.

tests/explain/test_diagnostics.py runs this script into a temporary folder and checks the
figures show the problems.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt

import minibp
from minibp.explain import Diagnostics

DOCS = Path(__file__).resolve().parents[1]
SIZES = [20, 64, 64, 6]
EPOCHS, BATCH = 30, 32
CASES = {   # name: (activation, the problem's settings, the healthy settings)
    "saturation": ("sigmoid", {"init": "uniform01", "lr": 0.5}, {"init": None, "lr": 0.5}),
    "dead_relu": ("relu", {"init": None, "lr": 2.0}, {"init": None, "lr": 0.1}),
}


def blobs():
    """800 rows of six 20-dimensional blobs, standardized: X (800, 20), labels y (800,)."""
    X, y = minibp.datasets.make_blobs(800, centers=6, features=20, std=4.0, seed=0)
    return minibp.datasets.Standardizer().fit_transform(X), y


def train(activation: str, init, lr: float, X, y) -> tuple[minibp.History, float]:
    """The History of one fit with Diagnostics, and the trained model's accuracy."""
    model = minibp.mlp(SIZES, activation, init=init, seed=0)
    history = model.fit(X, y, loss="xent", optimizer=minibp.SGD(lr), epochs=EPOCHS,
                        batch_size=BATCH, seed=0, verbose=0, callbacks=[Diagnostics()])
    return history, float((model.predict_classes(X) == y).mean())


def summary(name: str, label: str, history, accuracy: float) -> str:
    units = {k: round(v[-1], 2) for k, v in history.history.items()
             if k.endswith((".saturated", ".dead"))}
    return (f"{name:10} {label:8} loss {history['loss'][0]:8.3f} -> {history['loss'][-1]:.3f}"
            f"  accuracy {accuracy:.2f}  last epoch {units}")


def main(argv=None) -> dict:
    """Train both cases, draw the problems' pictures into --out; returns {case: (problem
    History, healthy History)}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    X, y = blobs()
    found = {}
    for name, (activation, problem, healthy) in CASES.items():
        runs = [train(activation, settings["init"], settings["lr"], X, y)
                for settings in (problem, healthy)]
        for label, (history, accuracy) in zip(("problem", "healthy"), runs):
            print(summary(name, label, history, accuracy))
        figure = runs[0][0].plot_diagnostics()
        settings = ", ".join(f"{key}={value}" for key, value in problem.items()
                             if value is not None)
        figure.suptitle(f"{name.replace('_', ' ')}: {activation} units, {settings}")
        figure.tight_layout(rect=(0, 0, 1, 0.94))
        figure.savefig(args.out / f"explain_{name}.png", format="png", bbox_inches="tight")
        plt.close(figure)
        found[name] = (runs[0][0], runs[1][0])
    return found


if __name__ == "__main__":
    main()
