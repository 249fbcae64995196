"""Run the benchmarks: ``python benchmarks/run.py [--quick] [--write-docs] ...``.

Times every competitor on each workload in the same run (docs/benchmarks.md explains how),
prints markdown tables, writes the raw figures as JSON and, with --write-docs, the tables
into docs/benchmarks.md between its <!-- bench:... --> markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import analysis, competitors, harness, report, startup, workloads
from benchmarks.machine import load_average, machine_info

DEFAULT_JSON = harness.REPO / "benchmarks" / "results" / "latest.json"
DOCS = harness.REPO / "docs" / "benchmarks.md"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated (default W1,W2)")
    parser.add_argument("--competitors", default=None,
                        help=f"comma-separated subset of {','.join(competitors.BY_NAME)}")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds of samples (default 7; 3 with --quick)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"steps per workload (default {workloads.FULL_STEPS:,})")
    parser.add_argument("--quick", action="store_true",
                        help=f"CI-sized: {workloads.QUICK_STEPS:,} steps, 3 repeats, 1 process")
    parser.add_argument("--processes", type=int, default=None,
                        help="worker processes per competitor (default 3; 1 with --quick)")
    parser.add_argument("--pause", type=float, default=0.1,
                        help="seconds of idle before each sample (default 0.1)")
    parser.add_argument("--min-sample", type=float, default=0.05,
                        help="a sample repeats the run until it lasts this long (default 0.05 s)")
    parser.add_argument("--no-startup", action="store_true", help="skip the startup figures")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--write-docs", action="store_true",
                        help="update the marked sections of docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.steps = args.steps or (workloads.QUICK_STEPS if args.quick else workloads.FULL_STEPS)
    args.processes = args.processes or (1 if args.quick else 3)
    if min(args.repeats, args.steps, args.processes) < 1:
        parser.error("--repeats, --steps and --processes must be at least 1")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_workloads(args) -> dict:
    chosen = competitors.select(args.competitors.split(",") if args.competitors else None)
    entries = {}
    for key in args.workloads.split(","):
        workload = workloads.build(key.strip(), args.steps)
        log(f"{workload.key}: {workload.title}")
        results = harness.run_workload(workload, chosen, args.repeats, args.pause,
                                       args.min_sample, args.processes, log)
        analysis.compare(results)
        base = results.get(competitors.BASELINE, {})
        loss = analysis.final_loss(workload, base["weights"]) if "weights" in base else None
        entries[workload.key] = {"key": workload.key, "title": workload.title,
                                 "steps": workload.steps, "repeats": args.repeats,
                                 "processes": args.processes,
                                 "final_loss": loss, "competitors": results}
    return entries


def to_json(value):
    """Arrays to lists, so the results serialize."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def sections(record: dict) -> dict[str, str]:
    """The docs sections, by marker name, as markdown."""
    found = {"machine": report.machine_text(record["machine"], record["command"],
                                          record["date"]) + "\n\n"
             + report.threads_table(record["workloads"])}
    for key, entry in record["workloads"].items():
        found[key] = report.workload_table(entry)
    if record["startup"]:
        found["startup"] = report.startup_table(record["startup"])
    found["targets"] = report.targets_table(record["targets"])
    return found


def write_json(record: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(to_json(record), indent=1) + "\n")
    os.replace(temporary, path)


def write_docs(found: dict[str, str], path: Path = DOCS) -> None:
    text = path.read_text()
    for name, body in found.items():
        text = report.replace_section(text, name, body)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = "python benchmarks/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    record = {"command": command.strip(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "settings": {"repeats": args.repeats, "processes": args.processes,
                           "steps": args.steps, "quick": args.quick,
                           "pause_s": args.pause, "min_sample_s": args.min_sample},
              "machine": machine_info(harness.REPO)}
    record["workloads"] = run_workloads(args)
    record["startup"] = None if args.no_startup else startup.measure(log=log)
    record["machine"]["load_average_at_end"] = load_average()
    record["targets"] = analysis.targets(record["workloads"], record["startup"])
    found = sections(record)
    print("\n\n".join(found.values()))
    write_json(record, args.json)
    log(f"wrote {args.json}")
    if args.write_docs:
        write_docs(found)
        log(f"updated {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
