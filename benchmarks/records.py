"""Results files: a small summary, kept in git, and the whole record beside it, kept out.

A run writes two files: the summary where asked (benchmarks/results/latest.json and the like),
with every figure the tables, the plot and the targets read; and the raw record, everything
measured (every sample, the final weights), under raw/ beside it with the same name, which
.gitignore leaves out: the final weights of W3/W4's MLP alone make 50 MB. summary() turns a
record into its summary; ``run.py --summarize FILE`` does that to a file written before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

RAW_DIR = "raw"
RAW_FIELDS = ("samples_s", "process_samples_s")   # every sample: the raw record keeps them
SMALL_WEIGHTS = 100        # numbers; W1/W2 end with 12 and 21, W3/W4 with 235,146
SUMMARY_NOTE = ("per-sample times and large final weights left out; the whole record is in "
                f"{RAW_DIR}/ beside this file, under the same name (not in git)")


def paths(path: Path) -> tuple[Path, Path]:
    """(summary, raw record) of a results file, either named: the raw one is in raw/ beside
    the summary."""
    path = Path(path)
    if path.parent.name == RAW_DIR:
        return path.parent.parent / path.name, path
    return path, path.parent / RAW_DIR / path.name


def is_summary(record: dict) -> bool:
    return "summary" in record


def summary(record: dict) -> dict:
    """What git keeps of a record: all but the per-sample times, and the final weights only
    when small (else their shapes; the differences between them are kept, worked out)."""
    found = {"summary": SUMMARY_NOTE}
    found.update((key, value) for key, value in record.items() if key != "workloads")
    found["workloads"] = {key: {**entry, "competitors": {
        name: result_summary(result) for name, result in entry["competitors"].items()}}
        for key, entry in record["workloads"].items()}
    return found


def result_summary(result: dict) -> dict:
    """One competitor's figures without its samples, and its weights only when small."""
    found = {key: value for key, value in result.items() if key not in RAW_FIELDS}
    weights = found.get("weights")
    if weights is not None and sum(np.size(a) for a in weights) > SMALL_WEIGHTS:
        found["weights_shapes"] = [list(np.shape(a)) for a in found.pop("weights")]
    return found


def to_json(value):
    """Arrays to lists, so the results serialize."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def write_json(record: dict, path: Path) -> None:
    """All or nothing: a temporary file, then renamed over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(to_json(record), indent=1) + "\n")
    os.replace(temporary, path)


def write(record: dict, path: Path) -> list[Path]:
    """The raw record (unless this is a summary already), then its summary; the paths written.
    The raw one goes first, so a summary never stands for a record that is lost."""
    summary_path, raw_path = paths(path)
    if is_summary(record):
        write_json(record, summary_path)
        return [summary_path]
    write_json(record, raw_path)
    write_json(summary(record), summary_path)
    return [summary_path, raw_path]


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def load_whole(path: Path, log=print) -> dict:
    """A results file's whole record when there is one: the file itself if it is whole, else
    its raw record if that came from the same run; else the summary, saying why."""
    record = load(path)
    if not is_summary(record):
        return record
    raw_path = paths(path)[1]
    if not raw_path.exists():
        log(f"{path}: no raw record at {raw_path}; only the summary's figures")
        return record
    raw = load(raw_path)
    if (raw.get("command"), raw.get("date")) == (record["command"], record["date"]):
        return raw
    log(f"{path}: {raw_path} is from another run ({raw.get('date')}, not {record['date']}); "
        "only the summary's figures")
    return record
