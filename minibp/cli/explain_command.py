"""`minibp explain`: one sample traced through a network, every value of its forward pass,
its backward pass and (with --lr) one update, in the chapter's notation when the network is
small (minibp.explain.trace; docs/explain.md).

The network is an mlp from --layers, --activation and --seed; the sample and its target are
--sample and --target, or drawn from --seed (rounded to two decimals, to read like the
chapter's 0.05 and 0.10). Bad arguments exit 2 with the usage line.
"""

from __future__ import annotations

import argparse
import math

from minibp.cli.arguments import UsageError, non_negative_int, positive_float, widths
from minibp.nn.losses import LOSS_NAMES

LOSSES = tuple(LOSS_NAMES)  # the names fit takes
LIMIT = 32  # neurons and parameters shown per layer, unless --all


class Numbers(list):
    """The numbers of a flag such as --sample 0.05,0.1, keeping the text as typed."""

    def __init__(self, values, text: str):
        super().__init__(values)
        self.text = text


def numbers(text: str) -> Numbers:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(
            f"expected finite numbers separated by commas, like 0.05,0.1; got {text!r}")
    return Numbers(values, text)


def add_parser(commands, parents) -> None:
    from minibp.nn.activations import ACTIVATIONS

    p = commands.add_parser(
        "explain", parents=parents,
        help="trace one sample through a network: forward, backward and an update, value "
        "by value", description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--layers", type=widths, default=[2, 2, 2],
                   help="widths, inputs first (default: 2,2,2, the chapter's)")
    p.add_argument("--activation", default="sigmoid", choices=sorted(ACTIVATIONS),
                   help="of every layer (default: sigmoid); with --loss xent or bce the "
                   "output stays linear (logits)")
    p.add_argument("--loss", default="squared", choices=LOSSES,
                   help="SquaredError (the chapter's E = 1/2 sum (t - o)^2, the default), "
                   "MSE, SoftmaxCrossEntropy or BinaryCrossEntropy")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="for the weights, and the sample and target when not given (default: 0)")
    p.add_argument("--sample", type=numbers, help="the inputs, e.g. 0.05,0.1 (default: drawn)")
    p.add_argument("--target", type=numbers,
                   help="the targets, e.g. 0.01,0.99; under xent one class label or a row of "
                   "probabilities (default: drawn)")
    p.add_argument("--lr", type=positive_float,
                   help="take one SGD step at this learning rate and show the updated values")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.add_argument("--all", action="store_true",
                   help=f"every neuron and parameter (default: at most {LIMIT} per layer)")


def run(args) -> int:
    from minibp.explain import trace
    from minibp.optim import SGD

    model, loss, title = _model_and_loss(args)
    x, y = _sample(args)
    traced = trace(model, x, y, loss, None if args.lr is None else SGD(lr=args.lr))
    limit = None if args.all else LIMIT
    print(f"minibp explain: {title}, seed {args.seed}\n")
    print(traced.to_markdown(limit) if args.markdown else traced.text(limit))
    return 0


def _model_and_loss(args):
    from minibp.builders import mlp
    from minibp.nn import get_loss

    output = None if args.loss in ("xent", "bce") else args.activation
    model = mlp(args.layers, args.activation, output, seed=args.seed)
    return model, get_loss(args.loss), (f"mlp {'-'.join(map(str, args.layers))} "
                                        f"({args.activation}, output {output or 'linear'})")


def _sample(args):
    """x (inputs,) and y: --sample and --target checked against --layers, or drawn."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    inputs, outputs = args.layers[0], args.layers[-1]
    x = rng.random(inputs).round(2) if args.sample is None else np.array(args.sample)
    if len(x) != inputs:
        raise UsageError(f"argument --sample: expected {inputs} numbers (the first width of "
                         f"--layers), got {args.sample.text!r}")
    if args.target is None:
        if args.loss == "xent":
            return x, int(rng.integers(outputs))
        drawn = rng.integers(0, 2, outputs) if args.loss == "bce" else rng.random(outputs)
        return x, drawn.astype(float).round(2)
    return x, _target(args, outputs)


def _target(args, outputs: int):
    values, label = args.target, args.loss == "xent" and len(args.target) == 1
    if label:
        if not (values[0].is_integer() and 0 <= values[0] < outputs):
            raise UsageError(f"argument --target: expected a class label 0 to {outputs - 1} "
                             f"(or {outputs} probabilities), got {values.text!r}")
        return int(values[0])
    if len(values) != outputs:
        raise UsageError(f"argument --target: expected {outputs} numbers (the last width of "
                         f"--layers), got {values.text!r}")
    if args.loss == "bce" and not all(0 <= v <= 1 for v in values):
        raise UsageError(f"argument --target: expected numbers in [0, 1] under bce, got "
                         f"{values.text!r}")
    return list(values)
