"""`minibp train`: fit a model to a dataset or a CSV file from the shell, print its metrics,
save it, draw its curves. docs/cli.md shows it at work."""

from __future__ import annotations

import argparse
import os

from minibp.cli import train_data
from minibp.cli.arguments import (
    UsageError,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    widths,
)
from minibp.cli.train_data import CLASSIFIERS, DATASETS
from minibp.nn.losses import LOSS_NAMES
from minibp.optim import OPTIMIZER_NAMES

LOSSES = tuple(LOSS_NAMES)  # the names fit takes
OPTIMIZERS = tuple(OPTIMIZER_NAMES)


def add_parser(commands, parents) -> None:
    from minibp.nn.activations import ACTIVATIONS

    p = commands.add_parser(
        "train", parents=parents, help="train a model on a dataset or a CSV file",
        description="Train an MLP on a built-in dataset or a CSV file (its last column the "
        "target), print its loss and metrics on the training, validation and test rows, and "
        "optionally save it and its curves. Each dataset brings a recipe; every flag "
        "overrides its part.")
    p.add_argument("--data", required=True, type=_source, metavar="|".join(DATASETS) + "|FILE.csv",
                   help="a built-in dataset or a CSV file of numbers (header optional)")
    p.add_argument("--target", help="the CSV's target column, by name or 0-based index "
                   "(default: the last)")
    p.add_argument("--layers", type=widths, help="widths, inputs first, like 64,32,10 "
                   "(default: the dataset's recipe)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS),
                   help="of the hidden layers (default: the dataset's recipe)")
    p.add_argument("--loss", choices=LOSSES, help="default: xent for class labels, squared "
                   "for xor and chapter, mse for a numeric CSV target")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--lr", type=positive_float, help="learning rate")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch", type=positive_int, help="rows per step")
    p.add_argument("--seed", type=non_negative_int, default=0, help="weights, splits and shuffling "
                   "(default: 0)")
    p.add_argument("--val", type=fraction, default=0.0, help="share of the training rows held "
                   "out for validation, stratified by class (default: 0)")
    p.add_argument("--test", type=fraction, help="share held out for the test, stratified "
                   "(default: 0.25 for digits, moons and spirals, else 0)")
    p.add_argument("--patience", type=non_negative_int, help="stop after this many epochs "
                   "without improvement (val_loss, else loss) and keep the best weights")
    p.add_argument("--no-standardize", action="store_true",
                   help="leave a CSV's features as they are")
    p.add_argument("--engine", choices=("auto", "numpy", "numba", "blas"), default="auto")
    p.add_argument("--verbose", choices=("auto", "0", "1", "2"), default="auto",
                   help="progress as in fit (default: auto)")
    p.add_argument("--save", metavar="MODEL.npz", help="save the model (and the CSV's "
                   "standardizer) to this path")
    p.add_argument("--plot", metavar="CURVES.png", help="draw the loss and metric curves "
                   "(matplotlib, the plot extra)")


def run(args) -> int:
    from minibp.callbacks import EarlyStopping

    data = train_data.load(args.data, args.target, args.seed)
    recipe = data.recipe
    loss = _loss(args, data)
    outputs = train_data.outputs_needed(data, loss)
    sizes = _sizes(args.layers, data, loss, outputs)
    parts, standardizer = _parts(args, data, loss, outputs)
    model = _model(args, data, sizes, loss)
    optimizer = _optimizer(args.optimizer or recipe.optimizer, args.lr or recipe.lr)
    metrics = ["accuracy"] if data.labels or data.name == "xor" else []
    monitor = "val_loss" if "val" in parts else "loss"
    callbacks = [] if args.patience is None else [
        EarlyStopping(monitor, patience=args.patience, restore_best_weights=True)]
    epochs, batch = args.epochs or recipe.epochs, args.batch or recipe.batch
    print(f"minibp train: {_describe(data, parts)}; mlp {'-'.join(map(str, sizes))} "
          f"({args.activation or recipe.activation}), loss {loss}, {optimizer!r}, {epochs} "
          f"epochs of batch {batch}, seed {args.seed}", flush=True)
    X, Y = parts["train"]
    history = model.fit(X, Y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=batch,
                        seed=args.seed, validation_data=parts.get("val"), metrics=metrics,
                        callbacks=callbacks, verbose=_verbosity(args.verbose),
                        engine=args.engine)
    if history.stopped_reason:
        print(f"stopped after {len(history.epoch)} epochs: {history.stopped_reason}")
    for name, (X, Y) in parts.items():
        found = model.evaluate(X, Y, metrics=metrics)
        print(f"{name}: " + ", ".join(f"{k} {v:.6g}" for k, v in found.items()))
    if args.save:
        model.save(args.save, standardizer=standardizer)
        print(f"saved the model to {args.save}")
    if args.plot:
        history.plot(args.plot)
        print(f"saved the curves to {args.plot}")
    return 0


def _source(text: str) -> str:
    if text in DATASETS or os.path.isfile(text):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(DATASETS)} or a CSV file, "
                                     f"got {text!r} (no such dataset or file)")


def _loss(args, data) -> str:
    loss = args.loss or data.recipe.loss
    if loss in CLASSIFIERS and not data.labels:
        raise UsageError(f"argument --loss: {loss} needs class labels (whole numbers >= 0), "
                         f"and {data.name}'s targets are not; use squared or mse")
    return loss


def _sizes(given, data, loss: str, outputs: int) -> list[int]:
    features = data.X.shape[1]
    if given is None:
        return [features, *data.recipe.hidden, outputs]
    text = ",".join(map(str, given))
    if given[0] != features:
        raise UsageError(f"argument --layers: {text} starts with {given[0]} inputs, but "
                         f"{data.name} has {features} features")
    if given[-1] != outputs:
        why = "classes" if data.labels and loss != "bce" else "outputs"
        raise UsageError(f"argument --layers: {text} ends with {given[-1]} outputs, but "
                         f"{data.name} with loss {loss} needs {outputs} ({why})")
    return given


def _parts(args, data, loss: str, outputs: int):
    """{"train": (X, Y), "val": ..., "test": ...} and the standardizer fitted on train."""
    from minibp.datasets import Standardizer, train_test_split

    X, y = data.X, data.y
    parts = {}
    test = data.recipe.test if args.test is None else args.test
    if test:
        X, X_test, y, y_test = train_test_split(X, y, test_size=test, seed=args.seed,
                                                stratify=data.labels)
        parts["test"] = (X_test, y_test)
    if args.val:
        X, X_val, y, y_val = train_test_split(X, y, test_size=args.val, seed=args.seed,
                                              stratify=data.labels)
        parts["val"] = (X_val, y_val)
    parts = {"train": (X, y), **dict(reversed(parts.items()))}
    standardizer = None
    if data.recipe.standardize and not args.no_standardize:
        standardizer = Standardizer().fit(X)
        parts = {k: (standardizer.transform(a), b) for k, (a, b) in parts.items()}
    return {k: (a, train_data.targets(b, data.labels, loss, outputs))
            for k, (a, b) in parts.items()}, standardizer


def _model(args, data, sizes, loss: str):
    from minibp.builders import mlp
    from minibp.examples import chapter_network

    recipe = data.recipe
    if data.name == "chapter" and args.layers is None and args.activation is None:
        return chapter_network()  # the chapter's own weights, biases frozen
    activation = args.activation or recipe.activation
    squashed = loss not in CLASSIFIERS and (data.labels or data.name in ("xor", "chapter"))
    return mlp(sizes, activation, "sigmoid" if squashed else None, seed=args.seed)


def _optimizer(name: str, lr: float):
    from minibp.optim import SGD, Adam, AdamW

    return {"sgd": lambda: SGD(lr), "momentum": lambda: SGD(lr, momentum=0.9),
            "adam": lambda: Adam(lr), "adamw": lambda: AdamW(lr)}[name]()


def _describe(data, parts) -> str:
    sizes = ", ".join(f"{len(X)} {name}" for name, (X, _) in parts.items())
    return f"{data.name} ({len(data.X)} rows: {sizes})"


def _verbosity(text: str):
    return text if text == "auto" else int(text)
