"""The `minibp` command line: demo, train, predict, gradcheck, explain, bench.

Exit status: 0 done, 1 a runtime error (one line ``minibp: error: ...`` on stderr, no
traceback unless --debug), 2 bad arguments (argparse's usage line and one error line), 130
Ctrl-C. `minibp gradcheck` keeps its own codes (1 a wrong gradient, 3 any other error).
Output piped into a reader that leaves early (``| head``) is not an error: the rest of it is
discarded and the command ends as it would have (guard.py).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
from pathlib import Path

from minibp.cli import (
    explain_command,
    gradcheck_command,
    guard,
    predict_command,
    train_command,
)
from minibp.version import __version__

COMMANDS = {"train": train_command.run, "predict": predict_command.run,
            "gradcheck": gradcheck_command.run, "explain": explain_command.run}


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
    explain_command.add_parser(commands, [common])
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)  # for errors found after parsing
    commands.add_parser("bench", help="time minibp against its competitors "
                        "(benchmarks/run.py; minibp bench --help shows its options)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (guard.py says which)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return guard.pipe_safe(lambda: _run(argv))


def _run(argv: list[str]) -> int:
    debugs = len(argv) - len(list(itertools.dropwhile("--debug".__eq__, argv)))
    if argv[debugs:debugs + 1] == ["bench"]:  # the rest is benchmarks/run.py's, --debug too
        return _bench_command(argv[:debugs] + argv[debugs + 1:])
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's parser, so its usage line is the one shown
        said_by = getattr(args, "command_parser", parser)
        said_by.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.debug = getattr(args, "debug", False)
    if args.command == "demo":
        from minibp.demo import main as demo_main

        return guard.reported(demo_main, "minibp", args.debug)
    return guard.reported(lambda: COMMANDS[args.command](args), "minibp", args.debug,
                          usage=args.command_parser)


def _bench_command(options: list[str]) -> int:
    """Run the benchmark harness, which lives beside the package in the repository."""
    script = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "run.py"
    if not script.is_file():
        print(f"minibp: error: minibp bench: expected the benchmark harness at {script} (it "
              "ships with the source repository, not the installed package: clone it and "
              "`make bench`), got no such file", file=sys.stderr)
        return 1
    env = dict(os.environ, MINIBP_BENCH_PROG="minibp bench")
    try:
        status = subprocess.call([sys.executable, str(script), *options], env=env)
    except KeyboardInterrupt:  # the harness heard Ctrl-C too, and said so
        return guard.INTERRUPTED
    return 128 - status if status < 0 else status  # killed by signal N: 128 + N, as a shell


if __name__ == "__main__":
    sys.exit(main())
