"""The `minibp` command line: `minibp demo`, `minibp gradcheck`, `minibp bench`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

LOSSES = ("squared", "mse", "xent")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minibp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="the chapter's worked example, computed by minibp, and XOR")
    _add_gradcheck_parser(commands)
    bench = commands.add_parser(
        "bench", help="time minibp against its competitors (benchmarks/run.py)",
        description="Runs benchmarks/run.py from the source repository with the same Python, "
        "passing every option on (minibp bench --help shows them).")
    bench.add_argument("options", nargs="*", help="options for benchmarks/run.py")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:  # e.g. `minibp demo | head`: the reader left, nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # everything after it belongs to benchmarks/run.py
        return _bench_command(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from minibp.demo import main as demo_main

        return demo_main()
    if args.command == "gradcheck":
        return _gradcheck_command(args)
    return 2  # argparse refuses unknown commands before this


def _bench_command(options: list[str]) -> int:
    """Run the benchmark harness, which lives beside the package in the repository."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    if not script.is_file():
        print("minibp bench: benchmarks/run.py is not here; it ships with the source "
              "repository, not the installed package (clone it and `make bench`).",
              file=sys.stderr)
        return 3
    return subprocess.call([sys.executable, str(script), *options])


# -- minibp gradcheck -----------------------------------------------------------------------------
def _add_gradcheck_parser(commands) -> None:
    from minibp.check.checker import ATOL, EPS, MODES, RTOL  # numpy only, as `import minibp`
    from minibp.engines import ENGINES
    from minibp.nn.activations import ACTIVATIONS

    p = commands.add_parser(
        "gradcheck", help="check a model's gradients against finite differences",
        description="Build a model, check every gradient backward computes against central "
        "differences in float64, and print the report. Exit status: 0 all passed, 1 a "
        "gradient is wrong, 2 bad arguments, 3 any other error.")
    p.add_argument("--layers", type=_widths, help="widths, inputs first (default: 4,8,3)")
    p.add_argument("--activation", default="sigmoid", choices=sorted(ACTIVATIONS),
                   help="of every layer (default: sigmoid); with --loss xent the output "
                   "stays linear")
    p.add_argument("--loss", default="squared", choices=LOSSES,
                   help="SquaredError, MSE or SoftmaxCrossEntropy (default: squared)")
    p.add_argument("--batch", type=_positive_int, default=5, help="rows of X (default: 5)")
    p.add_argument("--mode", default="full", choices=MODES, help="default: full")
    p.add_argument("--seed", type=int, default=0,
                   help="for the weights, the data and the check (default: 0)")
    p.add_argument("--k", type=_positive_int,
                   help="coordinates per tensor in sample mode (default: 10), random "
                   "directions per tensor in fast mode (default: 2)")
    p.add_argument("--eps", type=_positive_float, help=f"default: {EPS:g}")
    p.add_argument("--atol", type=_non_negative_float, help=f"default: {ATOL:g}")
    p.add_argument("--rtol", type=_non_negative_float, help=f"default: {RTOL:g}")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="of the model built (it is checked through a float64 copy)")
    p.add_argument("--engine", choices=ENGINES,
                   help="check this training engine's gradients (default: the layers' own)")
    p.add_argument("--sweep", action="store_true",
                   help="also print the largest error for each eps from 1e-1 to 1e-10")


def _gradcheck_command(args) -> int:
    try:
        report = _run_gradcheck(args)
    except Exception as error:  # exit status 3 is "any other error", said in one line
        print(f"minibp gradcheck: error: {error}", file=sys.stderr)
        return 3
    return 0 if report.passed else 1


def _run_gradcheck(args):
    """Build the model and data the arguments describe, check them, print what was found."""
    import numpy as np

    from minibp.builders import mlp
    from minibp.check import gradcheck, gradcheck_sweep
    from minibp.nn import MSE, SoftmaxCrossEntropy, SquaredError

    sizes = args.layers or [4, 8, 3]
    xent = args.loss == "xent"
    output = None if xent else args.activation
    model = mlp(sizes, args.activation, output, seed=args.seed, dtype=args.dtype)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.batch, sizes[0]))
    Y = rng.integers(0, sizes[-1], args.batch) if xent else rng.random((args.batch, sizes[-1]))
    loss = {"squared": SquaredError, "mse": MSE, "xent": SoftmaxCrossEntropy}[args.loss]()
    options = {name: getattr(args, name) for name in ("eps", "atol", "rtol", "k")
               if getattr(args, name) is not None}
    print(f"minibp gradcheck: mlp {'-'.join(map(str, sizes))} ({args.activation}, output "
          f"{output or 'linear'}, {args.dtype}), loss {loss!r}, batch {args.batch}, "
          f"seed {args.seed}\n")
    report = gradcheck(model, X, Y, loss=loss, mode=args.mode, seed=args.seed,
                              engine=args.engine, **options)
    print(report)
    if args.sweep:
        print()
        gradcheck_sweep(model, X, Y, loss=loss, mode=args.mode, k=args.k,
                               seed=args.seed, engine=args.engine)
    return report


def _widths(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected at least two positive widths separated by commas, like 4,8,3; got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
