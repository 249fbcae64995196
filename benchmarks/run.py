"""Run the benchmarks: ``python benchmarks/run.py [--quick] [--write-docs] ...``.

Times every competitor on each workload in the same run (docs/benchmarks.md explains how),
prints markdown tables, writes the figures as JSON (a summary for git, the whole record under
raw/ beside it: see records.py) and, with --write-docs, the tables into docs/benchmarks.md
between its <!-- bench:... --> markers (and, when W3 or W4 ran and matplotlib is there, the
plot docs/benchmarks_w3_w4.png). A run rewrites only the sections of the workloads it ran:
the machine and targets sections of W1/W2 ("machine", "targets") and of W3/W4 ("mlp-machine",
"mlp-targets") are apart, so each says which run it came from. A workload's Adam competitors
have a table of their own below its SGD table ("W1-adam"), written when any of them ran; so
have its momentum SGD competitors ("W1-momentum", opt-in: docs/benchmarks.md may have no
markers for it, and --write-docs then leaves it out, saying so).
"""

from __future__ import annotations

import contextlib
import datetime
import shlex
import sys
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (
    adam_report,
    analysis,
    competitors,
    harness,
    plot,
    records,
    report,
    startup,
    workloads,
)
from benchmarks.machine import load_average, machine_info, openblas_forced_narrower
from benchmarks.options import (  # noqa: F401 - RESULTS and default_json: run.X, as before
    RESULTS,
    default_json,
    parse_args,
    prog,
    rounds_and_processes,
)
from minibp.cli import guard

DOCS = harness.REPO / "docs" / "benchmarks.md"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_workloads(args) -> dict:
    chosen = competitors.select(args.competitors)
    entries = {}
    for key in args.workloads:
        racing = competitors.for_workload(chosen, key)
        if not racing:
            log(f"{key}: none of the chosen competitors runs it; skipped")
            continue
        workload = workloads.build(key, args.steps, args.samples)
        repeats, processes = rounds_and_processes(args, workload)
        log(f"{workload.key}: {workload.title}")
        results = harness.run_workload(workload, racing, repeats, args.pause,
                                       args.min_sample, processes, log)
        entries[workload.key] = analysis.entry(workload, results, repeats, processes)
    return entries


def group(record: dict, name: str) -> dict:
    """The workloads of one group ("chapter" or "mlp") that this run measured."""
    return {key: entry for key, entry in record["workloads"].items()
            if entry.get("group", "chapter") == name}


def sections(record: dict) -> dict[str, str]:
    """The docs sections of the workloads this run measured, by marker name, as markdown."""
    found = {}
    machine = report.machine_text(record["machine"], record["command"], record["date"])
    chapter, mlp = group(record, "chapter"), group(record, "mlp")
    if chapter:
        found["machine"] = machine + "\n\n" + report.threads_table(chapter)
        found.update(workload_tables(chapter, report.workload_table))
    if record["startup"]:
        found["startup"] = report.startup_table(record["startup"])
    if chapter:
        found["targets"] = report.targets_table(record["targets"])
    if mlp:
        found["mlp-machine"] = machine + "\n\n" + report.threads_table(mlp)
        found.update(workload_tables(mlp, report.mlp_table))
        found["mlp-targets"] = report.targets_table(record["mlp_targets"])
    return found


def workload_tables(entries: dict, sgd_table) -> dict[str, str]:
    """Each workload's SGD table under its key and, when Adam (momentum SGD) competitors ran,
    their table under key-adam (key-momentum), right after it."""
    found = {}
    for key, entry in entries.items():
        found[key] = sgd_table(entry)
        for optimizer in ("adam", "momentum"):
            other = adam_report.table_of(entry, optimizer)
            if other is not None:
                found[f"{key}-{optimizer}"] = other
    return found


OPTIONAL_SECTIONS = ("-momentum",)   # the opt-in competitors' tables: markers not required


def write_docs(found: dict[str, str], path: Path = DOCS) -> None:
    text = path.read_text()
    for name, body in found.items():
        if name.endswith(OPTIONAL_SECTIONS) and f"<!-- bench:{name} -->" not in text:
            log(f"{path.name} has no <!-- bench:{name} --> markers: that table not written")
            continue
        text = report.replace_section(text, name, body)
    path.write_text(text)


def write_plot(record: dict, path: Path = plot.DEFAULT_PNG) -> None:
    """The W3/W4 plot, when they ran and matplotlib is there (else say why not)."""
    if not group(record, "mlp"):
        return
    missing = plot.matplotlib_missing()
    if missing:
        log(f"plot skipped: {missing}")
        return
    log(f"wrote {plot.write(record, path)}")


def measure(args, argv: list[str]) -> dict:
    """Time the workloads (and startup): the whole record, ratios and targets included."""
    record = {"command": ("python benchmarks/run.py " + shlex.join(argv)).strip(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "settings": {"repeats": args.repeats, "processes": args.processes,
                           "steps": args.steps, "samples": args.samples, "quick": args.quick,
                           "pause_s": args.pause, "min_sample_s": args.min_sample},
              "machine": machine_info(harness.REPO)}
    forced = openblas_forced_narrower(record["machine"])
    if forced:  # said before the run, not only in its report: the run takes minutes
        log(f"note: {forced}")
    record["workloads"] = run_workloads(args)
    measure_startup = not args.no_startup and bool(group(record, "chapter"))
    record["startup"] = startup.measure(log=log) if measure_startup else None
    record["machine"]["load_average_at_end"] = load_average()
    return with_targets(record)


def with_targets(record: dict) -> dict:
    record["targets"] = analysis.targets(record["workloads"], record["startup"])
    record["mlp_targets"] = analysis.mlp_targets(record["workloads"])
    return record


def reanalyzed(path: Path) -> dict:
    """A results file's record with its ratios, comparisons and targets worked out again by
    this code (the samples, weights and machine are the file's: nothing is timed). With only
    the summary, which has no samples and not all weights, its ratios stay as they are."""
    record = records.load_whole(path, log)
    if records.is_summary(record):
        log("ratios and weight differences as the summary has them; targets and tables again")
        return with_targets(record)
    for entry in record["workloads"].values():
        if entry.get("group") == "mlp":
            analysis.compare_mlp(entry["competitors"], entry["samples"])
        else:
            analysis.compare(entry["competitors"])
    return with_targets(record)


def summarize(path: Path) -> int:
    """--summarize: a whole results file (as written before the summaries) becomes its
    summary; the whole record goes to raw/ first."""
    with reading("--summarize", path):
        record = records.load(path)
    if records.is_summary(record):
        log(f"{path} is a summary already; nothing to do")
        return 0
    for written in records.write(record, path):
        log(f"wrote {written}")
    return 0


@contextlib.contextmanager
def reading(flag: str, path: Path | None):
    """A failure to read path (when given) as a results file, said in one line."""
    try:
        yield
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as error:
        if path is None:
            raise
        why = (error.strerror if isinstance(error, OSError) and error.strerror else
               f"no {error} in it" if isinstance(error, KeyError) else guard.one_line(error))
        raise ValueError(f"{flag}: expected a results file that benchmarks/run.py "
                         f"wrote, got {path} ({why})") from error


def main(argv: list[str] | None = None) -> int:
    """Exit status as `minibp`'s (minibp/cli/guard.py): 0 done, 1 an error, said in one line
    (its traceback with --debug), 2 bad arguments, 130 Ctrl-C; a closed pipe is no error."""
    argv = sys.argv[1:] if argv is None else argv
    return guard.pipe_safe(lambda: _main(argv))


def _main(argv: list[str]) -> int:
    args = parse_args(argv)
    return guard.reported(lambda: run(args, argv), prog().split()[0], args.debug)


def run(args, argv: list[str]) -> int:
    if args.summarize:
        return summarize(args.summarize)
    with reading("--from-json", args.from_json):
        record = reanalyzed(args.from_json) if args.from_json else measure(args, argv)
        found = sections(record)
    args.json = args.from_json or args.json
    print("\n\n".join(found.values()))
    for written in records.write(record, args.json):
        log(f"wrote {written}")
    if args.write_docs:
        write_docs(found)
        log(f"updated {DOCS}")
        write_plot(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
