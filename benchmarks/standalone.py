"""What the one-file benchmarks (digits.py, saving.py, interrupt_latency.py) share.

Each times its competitors in one run, prints one markdown section (the machine, its tables,
its targets) and, with --write-docs, puts that section between its own
<!-- bench:NAME --> markers in docs/benchmarks.md, through report.replace_section as run.py
does. Raw samples, when a script keeps them, go to benchmarks/results/raw/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
from importlib import metadata

from benchmarks import harness, report
from benchmarks.machine import describe_threads, load_average, machine_info

DOCS = harness.REPO / "docs" / "benchmarks.md"
RAW = harness.REPO / "benchmarks" / "results" / "raw"


def parse(description: str, prog: str, repeats: int, argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--repeats", type=int, default=repeats,
                        help=f"timed rounds (default {repeats})")
    parser.add_argument("--write-docs", action="store_true",
                        help="replace this benchmark's section of docs/benchmarks.md")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.command = ("python " + prog + " " + shlex.join(sys.argv[1:] if argv is None
                                                         else argv)).strip()
    return args


class Run:
    """The machine at the start of a run, and the text of its section at the end."""

    def __init__(self, command: str):
        self.command = command
        self.date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.machine = machine_info(harness.REPO)

    def machine_text(self, extra_packages=(), threads: dict | None = None) -> str:
        """report.machine_text's lines, more package versions, and this process's pools."""
        self.machine["load_average_at_end"] = load_average()
        lines = report.machine_text(self.machine, self.command, self.date)
        found = [f"{name} {version(name)}" for name in extra_packages if version(name)]
        if found:
            lines += "\n- Also: " + ", ".join(found)
        if threads is not None:
            lines += f"\n- Thread pools in the timing process: {describe_threads(threads)}"
        return lines

    def finish(self, name: str, body: str, write_docs: bool, raw: dict | None = None) -> None:
        """Print the section; write it to the docs and the raw samples when asked."""
        print(body)
        if raw is not None:
            RAW.mkdir(parents=True, exist_ok=True)
            path = RAW / f"{name}.json"
            path.write_text(json.dumps({"command": self.command, "date": self.date,
                                        "machine": self.machine, **raw}, indent=1))
            log(f"wrote {path}")
        if write_docs:
            text = DOCS.read_text()
            DOCS.write_text(report.replace_section(text, name, body))
            log(f"updated {DOCS} (bench:{name})")


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def med(samples: list[float]) -> float:
    return statistics.median(samples)


def iqr_ms(samples: list[float]) -> str:
    found = harness.summarize(samples)
    return f"{report.ms(found['q1_s'])} - {report.ms(found['q3_s'])}"


def paired(numerators: list[float], denominators: list[float]) -> float:
    """The median of the per-round ratios: robust to a machine that drifts between rounds."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def yes_no(met: bool) -> str:
    return "yes" if met else "**no**"

