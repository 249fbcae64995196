"""`minibp predict MODEL.npz DATA.csv`: one prediction per row of a CSV of features.

The saved standardizer (a model trained on a CSV by `minibp train`) is applied first. A
classifier (fit with xent or bce) prints class labels, or with --proba the probabilities of
each class (bce: of the positive class per output); any other model prints its outputs.
Rows are written as CSV without a header, to stdout or to --output.
"""

from __future__ import annotations

import sys

import numpy as np

from minibp.cli.arguments import positive_int


def add_parser(commands, parents) -> None:
    p = commands.add_parser(
        "predict", parents=parents, help="predict the rows of a CSV file with a saved model",
        description="Predict each row of DATA.csv (features only) with a saved model, after "
        "its saved standardizer: class labels for a classifier (probabilities with --proba), "
        "outputs otherwise; CSV rows without a header, to stdout or --output.")
    p.add_argument("model", metavar="MODEL.npz", help="a model saved by minibp train or "
                   "model.save")
    p.add_argument("data", metavar="DATA.csv", help="features only, one row per sample "
                   "(header optional)")
    p.add_argument("--proba", action="store_true", help="probabilities instead of labels")
    p.add_argument("--output", metavar="OUT.csv", help="write here instead of stdout")
    p.add_argument("--batch", type=positive_int, help="rows per forward pass (default: 4096)")


def run(args) -> int:
    from minibp.datasets import read_csv, write_csv
    from minibp.loading import load, load_standardizer

    model, standardizer = load(args.model), load_standardizer(args.model)
    X = read_csv(args.data).X
    if standardizer is not None:
        X = standardizer.transform(X)
    if _is_classifier(model) and not args.proba:
        rows = model.predict_classes(X, batch_size=args.batch)
    else:
        rows = model.predict_proba(X, batch_size=args.batch)
    rows = np.asarray(rows)
    if args.output:
        write_csv(args.output, rows.reshape(len(rows), -1))
        return 0
    for row in rows.reshape(len(rows), -1):
        sys.stdout.write(",".join(_cell(v) for v in row) + "\n")
    return 0


def _is_classifier(model) -> bool:
    from minibp.nn import BinaryCrossEntropy, SoftmaxCrossEntropy

    return isinstance(model.loss, (SoftmaxCrossEntropy, BinaryCrossEntropy))


def _cell(value) -> str:
    return str(int(value)) if isinstance(value, np.integer) else repr(float(value))
