"""The `minibp` command line: demo, train, predict, gradcheck, bench.

Exit status: 0 done, 1 a runtime error (one line ``minibp: error: ...`` on stderr, no
traceback unless --debug), 2 bad arguments (argparse's usage line and one error line).
`minibp gradcheck` keeps its own codes (1 a wrong gradient, 3 any other error). Output piped
into a reader that leaves early (``| head``) is not an error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from minibp.cli import gradcheck_command, predict_command, train_command
from minibp.cli.arguments import UsageError
from minibp.version import __version__

COMMANDS = {"train": train_command.run, "predict": predict_command.run,
            "gradcheck": gradcheck_command.run}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of a runtime error")
    parser = argparse.ArgumentParser(prog="minibp", description=__doc__.splitlines()[0],
                                     parents=[common])
    parser.add_argument("--version", action="version", version=f"minibp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", parents=[common],
                        help="the chapter's worked example, computed by minibp, and XOR")
    train_command.add_parser(commands, [common])
    predict_command.add_parser(commands, [common])
    gradcheck_command.add_parser(commands, [common])
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)  # for errors found after parsing
    commands.add_parser("bench", help="time minibp against its competitors "
                        "(benchmarks/run.py; minibp bench --help shows its options)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:  # e.g. `minibp predict ... | head`: the reader left, no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # everything after it belongs to benchmarks/run.py
        return _bench_command(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = getattr(args, "debug", False)
    if args.command == "demo":
        from minibp.demo import main as demo_main

        return demo_main()
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        args.command_parser.error(str(error))  # exits with status 2
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        print("minibp: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"minibp: error: {error}", file=sys.stderr)
        return 1


def _bench_command(options: list[str]) -> int:
    """Run the benchmark harness, which lives beside the package in the repository."""
    script = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "run.py"
    if not script.is_file():
        print("minibp bench: benchmarks/run.py is not here; it ships with the source "
              "repository, not the installed package (clone it and `make bench`).",
              file=sys.stderr)
        return 3
    env = dict(os.environ, MINIBP_BENCH_PROG="minibp bench")
    return subprocess.call([sys.executable, str(script), *options], env=env)


if __name__ == "__main__":
    sys.exit(main())
