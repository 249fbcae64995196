"""What `minibp train --data NAME|FILE.csv` trains on, and the defaults each dataset brings.

A built-in dataset gives its rows and a recipe (layers, activation, loss, optimizer, lr,
epochs, batch, held-out test share); every flag the user gives overrides its part of the
recipe. A CSV file gets the generic recipe; its last column is the target unless --target
names another, and a standardizer is fitted on its training rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

CLASSIFIERS = ("xent", "bce")


@dataclass(frozen=True)
class Recipe:
    hidden: tuple[int, ...]
    activation: str
    loss: str
    optimizer: str
    lr: float
    epochs: int
    batch: int
    test: float          # the held-out, stratified test share (0: none)
    standardize: bool = False


RECIPES = {
    "digits": Recipe((64,), "relu", "xent", "adam", 0.01, 30, 32, 0.25),
    "moons": Recipe((16,), "tanh", "xent", "adam", 0.01, 200, 32, 0.25),
    "spirals": Recipe((64,), "tanh", "xent", "adam", 0.01, 300, 32, 0.25),
    "xor": Recipe((5,), "sigmoid", "squared", "sgd", 0.5, 2500, 4, 0.0),
    "chapter": Recipe((2,), "sigmoid", "squared", "sgd", 0.5, 10_000, 1, 0.0),
    "csv": Recipe((32,), "tanh", "xent", "adam", 0.01, 50, 32, 0.0, standardize=True),
}
DATASETS = tuple(name for name in RECIPES if name != "csv")


@dataclass
class TrainingData:
    """X (n, features) float64 and y: labels (n,) for a classification set, else (n, k)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    recipe: Recipe
    labels: bool          # y holds class labels (stratified splits, accuracy)
    feature_names: list[str] | None = None


def load(source: str, target, seed: int) -> TrainingData:
    """The dataset named source, or the CSV file at source."""
    from minibp import datasets

    if source == "digits":
        X, y = datasets.load_digits()
    elif source == "moons":
        X, y = datasets.make_moons(1000, noise=0.2, seed=seed)
    elif source == "spirals":
        X, y = datasets.make_spirals(900, classes=3, noise=0.2, seed=seed)
    elif source in ("xor", "chapter"):
        X, y = datasets.xor() if source == "xor" else datasets.chapter()
        return TrainingData(source, X, y, RECIPES[source], labels=False)
    else:
        return _csv(source, target)
    return TrainingData(source, X, y, RECIPES[source], labels=True)


def _csv(path: str, target) -> TrainingData:
    from minibp.datasets import read_csv

    found = read_csv(path, target=-1 if target is None else _column(target))
    y = found.y
    whole = bool(np.all(y == np.round(y))) and y.min() >= 0
    recipe = RECIPES["csv"] if whole else replace(RECIPES["csv"], loss="mse")
    if whole:
        y = y.astype(np.int64)
    return TrainingData(path, found.X, y if whole else y[:, None], recipe, labels=whole,
                        feature_names=found.feature_names)


def _column(target: str):
    """--target: a column name, or a 0-based index when it is an integer."""
    try:
        return int(target)
    except ValueError:
        return target


def outputs_needed(data: TrainingData, loss: str) -> int:
    """The width the last layer must have for these targets under this loss."""
    if not data.labels:
        return data.y.shape[1]
    classes = int(data.y.max()) + 1
    return 1 if loss == "bce" and classes <= 2 else classes


def targets(data_y: np.ndarray, labels: bool, loss: str, outputs: int) -> np.ndarray:
    """y as the loss takes it: labels for xent, 0/1 for bce, one-hot rows for squared/mse."""
    if not labels or loss == "xent":
        return data_y
    if loss == "bce":
        return data_y.astype(np.float64) if outputs == 1 else np.eye(outputs)[data_y]
    return np.eye(outputs)[data_y]
