"""The `minibp` command line: `minibp demo`, and more subcommands as they land."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minibp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="the chapter's worked example, computed by minibp, and XOR")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from minibp.demo import main as demo_main

        return demo_main()
    return 2  # argparse refuses unknown commands before this


if __name__ == "__main__":
    sys.exit(main())
