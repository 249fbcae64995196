"""The W3/W4 plot: samples per second of every competitor, grouped bars per workload.

``python benchmarks/plot.py [results.json] [out.png]`` draws it from a results file
(default: the newer of benchmarks/results/latest.json and latest-W3-W4.json; the picture goes
to docs/benchmarks_w3_w4.png); run.py calls write() itself with --write-docs. Needs
matplotlib (the ``plot`` extra): matplotlib_missing() says so instead of failing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import report
from benchmarks.harness import REPO

DEFAULT_PNG = REPO / "docs" / "benchmarks_w3_w4.png"
RESULTS = [REPO / "benchmarks" / "results" / name
           for name in ("latest.json", "latest-W3-W4.json")]


def matplotlib_missing() -> str | None:
    """Why no plot can be drawn here, or None when matplotlib is importable."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed (pip install -e '.[plot]'); no plot drawn"
    return None


def bars(workloads: dict) -> tuple[list[str], dict[str, list]]:
    """(workload titles, {competitor label: per workload, None if it did not run, else
    (samples/s at the median, at the slow quartile, at the fast one, time / bound)}) for
    the MLP workloads, the SGD competitors in table order (Adam's are in their own table)."""
    entries = [e for e in workloads.values() if e.get("group") == "mlp"]
    titles = [f"{e['key']} ({e['dtype']})" for e in entries]
    series: dict[str, list] = {}
    for i, entry in enumerate(entries):
        for result in report.sgd_results(entry):
            values = series.setdefault(result["label"], [None] * len(entries))
            if result["status"] == "ok":
                values[i] = (result["samples_per_s"], entry["samples"] / result["q3_s"],
                             entry["samples"] / result["q1_s"], result.get("time_vs_bound"))
    return titles, series


def write(record: dict, path: Path = DEFAULT_PNG) -> Path:
    """Draw the grouped bars into path (PNG); returns path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    titles, series = bars(record["workloads"])
    if not titles:
        raise ValueError("plot: the record has no W3/W4 results")
    width = 0.84 / max(1, len(series))
    figure, axes = plt.subplots(figsize=(10, 6), dpi=100)
    for k, (label, values) in enumerate(series.items()):
        xs = [i - 0.42 + width * (k + 0.5) for i in range(len(titles))]
        heights = [v[0] if v else 0.0 for v in values]
        spread = [[v[0] - v[1] if v else 0.0 for v in values],
                  [v[2] - v[0] if v else 0.0 for v in values]]
        drawn = axes.bar(xs, heights, width, yerr=spread, capsize=2, label=label,
                         error_kw={"elinewidth": 0.8})
        axes.bar_label(drawn, [_bar_text(v) for v in values], fontsize=7, padding=2,
                       rotation=90)
    axes.set_xticks(range(len(titles)), titles)
    axes.set_ylabel("samples per second (higher is faster)")
    axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    axes.set_title(_title(record), fontsize=9)
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    axes.margins(y=0.18)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    return path


def _bar_text(value) -> str:
    """Over a bar: its time over the GEMM-only bound's ("1.25x"); "n/a" if it did not run."""
    if not value:
        return "n/a"
    return f"{value[3]:.2f}x" if value[3] is not None else ""


def _title(record: dict) -> str:
    machine = record["machine"]
    return ("784-256-128-10 sigmoid MLP, one epoch of SGD in batches of 128: samples per "
            "second,\nmedian and interquartile range; over each bar its time / the GEMM-only "
            "bound's (the issue's ratio)\n"
            f"{machine['cpu']}, {machine['cpus_usable']} CPUs, {record['date'][:10]}: "
            f"{record['command']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    found = [path for path in RESULTS if path.exists()]
    source = Path(argv[0]) if argv else max(found, key=lambda path: path.stat().st_mtime)
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_PNG
    missing = matplotlib_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    print(write(json.loads(source.read_text()), target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
