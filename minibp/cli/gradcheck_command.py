"""`minibp gradcheck [MODEL.npz]`: check a model's gradients against finite differences.

Without MODEL it builds an mlp from --layers and --activation; with MODEL it checks the
saved model (its loss, unless --loss names another). Exit status: 0 all passed, 1 a gradient
is wrong, 2 bad arguments, 3 any other error (a missing or bad file included).
"""

from __future__ import annotations

import sys

from minibp.cli.arguments import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    widths,
)
from minibp.cli.guard import one_line
from minibp.nn.losses import LOSS_NAMES

LOSSES = tuple(LOSS_NAMES)  # the names fit takes


def add_parser(commands, parents) -> None:
    from minibp.check.checker import ATOL, EPS, MODES, RTOL  # numpy only, as `import minibp`
    from minibp.engines import ENGINES
    from minibp.nn.activations import ACTIVATIONS

    p = commands.add_parser(
        "gradcheck", parents=parents, help="check a model's gradients against finite differences",
        description="Build a model (or load MODEL, a file model.save wrote), check every "
        "gradient backward computes against central differences in float64, and print the "
        "report. Exit status: 0 all passed, 1 a gradient is wrong, 2 bad arguments, 3 any "
        "other error.")
    p.add_argument("model", nargs="?", metavar="MODEL.npz",
                   help="a saved model to check (default: build one from --layers)")
    p.add_argument("--layers", type=widths, help="widths, inputs first (default: 4,8,3)")
    p.add_argument("--activation", default="sigmoid", choices=sorted(ACTIVATIONS),
                   help="of every layer (default: sigmoid); with --loss xent or bce the "
                   "output stays linear")
    p.add_argument("--loss", choices=LOSSES, help="SquaredError, MSE, SoftmaxCrossEntropy or "
                   "BinaryCrossEntropy (default: squared, or the saved model's loss)")
    p.add_argument("--batch", type=positive_int, default=5, help="rows of X (default: 5)")
    p.add_argument("--mode", default="full", choices=MODES, help="default: full")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="for the weights, the data and the check (default: 0)")
    p.add_argument("--k", type=positive_int,
                   help="random coordinates per tensor in sample mode (default: 10; two "
                   "random directions over the whole tensor are checked too, and a failing "
                   "one is traced to its coordinate), random directions per tensor in fast "
                   "mode (default: 2)")
    p.add_argument("--eps", type=positive_float, help=f"default: {EPS:g}")
    p.add_argument("--atol", type=non_negative_float, help=f"default: {ATOL:g}")
    p.add_argument("--rtol", type=non_negative_float, help=f"default: {RTOL:g}")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="of the model built (it is checked through a float64 copy)")
    p.add_argument("--engine", choices=ENGINES,
                   help="check this training engine's gradients (default: the layers' own)")
    p.add_argument("--sweep", action="store_true",
                   help="also print the largest error for each eps from 1e-1 to 1e-10")


def run(args) -> int:
    try:
        report = _check(args)
    except BrokenPipeError:
        raise  # the reader left (`| head`): not an error, guard.pipe_safe ends quietly
    except Exception as error:  # exit status 3 is "any other error", said in one line
        if args.debug:
            raise
        print(f"minibp gradcheck: error: {one_line(error)}", file=sys.stderr)
        return 3
    return 0 if report.passed else 1


def _check(args):
    """Build or load the model, make data for it, check it, print what was found."""
    from minibp.check import gradcheck, gradcheck_sweep

    model, loss, title = _model_and_loss(args)
    X, Y = _data(model, loss, args)
    options = {name: getattr(args, name) for name in ("eps", "atol", "rtol", "k")
               if getattr(args, name) is not None}
    print(f"minibp gradcheck: {title}, loss {loss!r}, batch {args.batch}, seed {args.seed}\n")
    report = gradcheck(model, X, Y, loss=loss, mode=args.mode, seed=args.seed,
                       engine=args.engine, **options)
    print(report)
    if args.sweep:
        print()
        gradcheck_sweep(model, X, Y, loss=loss, mode=args.mode, k=args.k, seed=args.seed,
                        engine=args.engine)
    return report


def _model_and_loss(args):
    from minibp.builders import mlp
    from minibp.loading import load
    from minibp.nn import get_loss

    if args.model:
        model = load(args.model)
        loss = get_loss(args.loss) if args.loss else model.loss or get_loss("squared")
        return model, loss, f"{args.model} ({'-'.join(map(str, _widths(model)))})"
    sizes = args.layers or [4, 8, 3]
    loss = get_loss(args.loss or "squared")
    output = None if args.loss in ("xent", "bce") else args.activation
    model = mlp(sizes, args.activation, output, seed=args.seed, dtype=args.dtype)
    return model, loss, (f"mlp {'-'.join(map(str, sizes))} ({args.activation}, output "
                         f"{output or 'linear'}, {args.dtype})")


def _data(model, loss, args):
    """Random inputs, and targets of the kind the loss takes, from --seed."""
    import numpy as np

    from minibp.nn import BinaryCrossEntropy, SoftmaxCrossEntropy

    rng = np.random.default_rng(args.seed)
    widths = _widths(model)
    inputs, outputs = widths[0], widths[-1]
    X = rng.standard_normal((args.batch, inputs))
    if isinstance(loss, SoftmaxCrossEntropy):
        return X, rng.integers(0, outputs, args.batch)
    if isinstance(loss, BinaryCrossEntropy):
        return X, rng.integers(0, 2, (args.batch, outputs)).astype(float)
    return X, rng.random((args.batch, outputs))


def _widths(model) -> list[int]:
    """Inputs, then each Dense layer's outputs (activation layers keep the width)."""
    dense = [layer for layer in model if getattr(layer, "out_features", None)]
    return [dense[0].in_features] + [d.out_features for d in dense]
