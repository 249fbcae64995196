"""The Adam tables: one per workload the Adam competitors ran, below that workload's SGD table.

W1/W2: time per run and per step, over the same code's time with SGD and against PyTorch's
Adam. W3: seconds per epoch, over the GEMM-only bound's (measured in the same run, in the SGD
table) and over the same code's with SGD. Every table ends with the weights' relative
difference from the Adam reference (adam_analysis.reference) and says which one it was.
The momentum SGD competitors (W1/W2) have a table of the same form (optimizer="momentum").
"""

from __future__ import annotations

from benchmarks.adam_analysis import AGREEMENT
from benchmarks.competitors import REFERENCES
from benchmarks.measures import optimizer_of
from benchmarks.report import ms, multiple, secs, table, times, unavailable_row

TIMING = ["first call: empty cache / cached ({unit})", "median ({unit})", "IQR ({unit})",
          "process medians ({unit})"]
CHAPTER_COLUMNS = ["us/step", "time / same with SGD", "same, paired by round",
                   "vs PyTorch {name}"]
NAMES = {"adam": "Adam", "momentum": "momentum"}
MLP_COLUMNS = ["samples/s", "time / GEMM-only bound", "same, paired by round",
               "time / same with SGD", "same, paired by round"]


def adam_results(entry: dict, optimizer: str = "adam") -> list[dict]:
    return [r for r in entry["competitors"].values() if optimizer_of(r) == optimizer]


def table_of(entry: dict, optimizer: str = "adam") -> str | None:
    """The Adam (or momentum SGD) table of a workload (W1/W2 or the MLP's), or None when no
    competitor with that optimizer ran."""
    if not adam_results(entry, optimizer):
        return None
    if entry.get("group") == "mlp":
        return _table(entry, secs, "s", MLP_COLUMNS, _mlp_cells, optimizer)
    return _table(entry, ms, "ms", CHAPTER_COLUMNS, _chapter_cells, optimizer)


def _table(entry: dict, show, unit: str, columns: list[str], cells, optimizer: str) -> str:
    header = (["competitor"] + [name.format(unit=unit) for name in TIMING]
              + [name.format(name=NAMES[optimizer]) for name in columns]
              + [f"max rel. diff of weights vs {reference_label(entry, optimizer)}"])
    rows = []
    for result in adam_results(entry, optimizer):
        if result["status"] != "ok":
            rows.append(unavailable_row(result, len(header)))
            continue
        diff = result.get("max_rel_diff_vs_reference")
        rows.append([result["label"], *_timing_cells(result, show),
                     *cells(result, optimizer), ("-" if diff is None else f"{diff:.1e}")
                     + ("" if result["repeatable"] else " (runs differ!)")])
    return "\n\n".join([table(header, rows), notes(entry, optimizer)])


def _timing_cells(result: dict, show) -> list[str]:
    first = show(result["first_call_s"])
    if result.get("first_call_cached_s") is not None:
        first += f" / {show(result['first_call_cached_s'])}"
    medians = result["process_medians_s"]
    return [first, show(result["median_s"]), f"{show(result['q1_s'])} - {show(result['q3_s'])}",
            f"{show(min(medians))} - {show(max(medians))}"]


def _chapter_cells(result: dict, optimizer: str) -> list[str]:
    return [f"{result['us_per_step']:.3g}", multiple(result.get("time_vs_sgd")),
            multiple(result.get("time_vs_sgd_paired")),
            times(result.get(f"speedup_vs_{REFERENCES[optimizer]}"))]


def _mlp_cells(result: dict, optimizer: str) -> list[str]:
    return [f"{result['samples_per_s']:,.0f}", multiple(result.get("time_vs_bound")),
            multiple(result.get("time_vs_bound_paired")), multiple(result.get("time_vs_sgd")),
            multiple(result.get("time_vs_sgd_paired"))]


def reference_label(entry: dict, optimizer: str = "adam") -> str:
    """The label of the competitor whose weights the Adam (momentum) rows were held to."""
    name = entry.get(f"{optimizer}_reference")
    return (entry["competitors"][name]["label"] if name
            else f"the {NAMES[optimizer]} reference (none ran)")


def notes(entry: dict, optimizer: str = "adam") -> str:
    """What ran, how the ratios were taken, the weights' tolerance and the fit of the data."""
    mlp = entry.get("group") == "mlp"
    each = " (each a whole epoch)" if mlp else ""
    if optimizer == "momentum":
        trained = (f"SGD(lr={entry['momentum_lr']:g}, momentum={entry['momentum']:g}), "
                   "torch.optim.SGD's defaults otherwise (dampening 0, no Nesterov)")
    else:
        trained = f"Adam(lr={entry['adam_lr']:g}), torch.optim.Adam's defaults otherwise"
    found = [f"{entry['key']} with {trained}, from the same weights in the same order as SGD "
             f"above; median of {entry['repeats']} samples{each} in each of "
             f"{entry.get('processes', 1)} process(es) per competitor.",
             "Time / same with SGD: over the median of the same competitor with SGD in this "
             "run; paired by round: the median of the ratios of samples from the same round "
             "and process."]
    reference = entry.get(f"{optimizer}_reference")
    if reference is None:
        found.append(f"No {NAMES[optimizer]} competitor ran to hold the weights to.")
        return " ".join(found)
    label = reference_label(entry, optimizer)
    tolerance = f"{entry['tolerance']:g} in {entry['dtype']}" if mlp else f"{AGREEMENT:g}"
    found.append(f"Weights against {label}'s: max over the parameters of max|a - b| / "
                 f"max|b|, tolerance {tolerance}.")
    if mlp and entry.get("adam_fit"):
        start, end = entry["adam_fit"]["start"], entry["adam_fit"]["end"]
        found.append(f"Cross-entropy over all {entry['samples']:,} samples, from {label}'s "
                     f"weights: {start['loss']:.3f} at the start, {end['loss']:.3f} after the "
                     f"epoch (accuracy {start['accuracy']:.1%} -> {end['accuracy']:.1%}).")
    elif entry.get(f"{optimizer}_final_loss") is not None:
        found.append(f"Loss after training, from {label}'s final weights: "
                     f"{entry[f'{optimizer}_final_loss']!r}.")
    return " ".join(found)
