"""The options of benchmarks/run.py (and of `minibp bench`, which passes them on): each bad
one refused by argparse with the usage line and one line naming the flag and the value."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks import competitors, harness, workloads
from minibp.cli.arguments import non_negative_float, positive_int

RESULTS = harness.REPO / "benchmarks" / "results"


def prog() -> str:
    return os.environ.get("MINIBP_BENCH_PROG", "benchmarks/run.py")  # `minibp bench` sets it


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=prog(), description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default=",".join(workloads.DEFAULT),
                        help=f"comma-separated (default {','.join(workloads.DEFAULT)})")
    parser.add_argument("--competitors", default=None, type=competitor_names,
                        help=f"comma-separated subset of {','.join(competitors.BY_NAME)}; "
                        "each workload runs those of them that run it (default: all but the "
                        "opt-in "
                        f"{','.join(c.name for c in competitors.COMPETITORS if c.opt_in)})")
    parser.add_argument("--repeats", type=positive_int, default=None,
                        help="rounds of samples (default 7 for W1/W2, 5 for W3/W4; 3 with "
                        "--quick)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help=f"W1/W2: steps (default {workloads.FULL_STEPS:,})")
    parser.add_argument("--samples", type=positive_int, default=None,
                        help=f"W3/W4: samples in the epoch (default {workloads.FULL_SAMPLES:,})")
    parser.add_argument("--quick", action="store_true",
                        help=f"CI-sized: {workloads.QUICK_STEPS:,} steps, "
                        f"{workloads.QUICK_SAMPLES:,} samples, 3 repeats, 1 process")
    parser.add_argument("--processes", type=positive_int, default=None,
                        help="worker processes per competitor (default 3 for W1/W2, 2 for "
                        "W3/W4; 1 with --quick)")
    parser.add_argument("--pause", type=non_negative_float, default=0.1,
                        help="seconds of idle before each sample (default 0.1)")
    parser.add_argument("--min-sample", type=non_negative_float, default=0.05,
                        help="a sample repeats the run until it lasts this long (default 0.05 s)")
    parser.add_argument("--no-startup", action="store_true",
                        help="skip the startup figures (measured only when W1 or W2 runs)")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the summary JSON (default "
                        "benchmarks/results/latest.json, or latest-W3-W4.json and the like when "
                        "not every workload runs); the whole record goes to raw/ beside it")
    parser.add_argument("--write-docs", action="store_true",
                        help="update the marked sections of docs/benchmarks.md")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="time nothing: work out the ratios and tables of a results file "
                        "again (and write them back to it; the docs with --write-docs); from "
                        "its raw record when there, else the tables of the summary's ratios")
    parser.add_argument("--summarize", type=Path, default=None,
                        help="time nothing: turn a whole results file into its summary, the "
                        "whole record moved to raw/ beside it")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = parser.parse_args(argv)
    args.workloads = [key.strip() for key in args.workloads.split(",") if key.strip()]
    unknown = [key for key in args.workloads if key not in workloads.DEFAULT]
    if unknown or not args.workloads:
        parser.error(f"argument --workloads: expected some of {','.join(workloads.DEFAULT)}, "
                     f"got {','.join(unknown) or 'none'}")
    args.steps = args.steps or (workloads.QUICK_STEPS if args.quick else workloads.FULL_STEPS)
    args.samples = args.samples or (workloads.QUICK_SAMPLES if args.quick
                                    else workloads.FULL_SAMPLES)
    args.json = args.json or default_json(args.workloads)
    return args


def competitor_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or not set(names) <= set(competitors.BY_NAME):
        raise argparse.ArgumentTypeError(f"expected some of {','.join(competitors.BY_NAME)}, "
                                         f"got {text!r}")
    return names


def default_json(keys: list[str]) -> Path:
    """latest.json for a run of every workload, else named after the workloads run, so a run
    of W3,W4 leaves the last full run's figures alone."""
    if sorted(keys) == sorted(workloads.DEFAULT):
        return RESULTS / "latest.json"
    return RESULTS / f"latest-{'-'.join(keys)}.json"


def rounds_and_processes(args, workload) -> tuple[int, int]:
    """--repeats and --processes when given; else 3 and 1 with --quick; else the workload's."""
    quick = (3, 1) if args.quick else (workload.repeats, workload.processes)
    return args.repeats or quick[0], args.processes or quick[1]
