"""Markdown tables for the terminal and docs/benchmarks.md, and the marked docs sections.

The workload tables here hold the SGD competitors; the Adam ones have tables of their own
(adam_report.py), so the SGD tables read as they did before Adam was measured.
"""

from __future__ import annotations

import re

from benchmarks.machine import (
    SIMD_FLAGS,
    describe_threads,
    openblas_forced_narrower,
    simd_flags,
)
from benchmarks.measures import optimizer_of


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds with about three significant figures."""
    if seconds is None:
        return "-"
    value = seconds * 1e3
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def secs(seconds: float | None) -> str:
    """Seconds with three significant figures."""
    return "-" if seconds is None else f"{seconds:.3g}"


def multiple(value: float | None) -> str:
    """A time over a reference time, two decimals: "1.25x"."""
    return "-" if value is None else f"{value:.2f}x"


def times(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def short(reason: str, limit: int = 120) -> str:
    """The first line of a reason, cut to fit a table cell (the JSON keeps all of it)."""
    line = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    line = line.replace("|", "/")
    return line if len(line) <= limit else line[:limit - 3] + "..."


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


WORKLOAD_HEADER = ["competitor", "first call: empty cache / cached (ms)", "median (ms)",
                   "IQR (ms)", "process medians (ms)", "us/step", "vs chapter", "vs PyTorch",
                   "vs JAX", "max abs diff of weights vs chapter"]


def sgd_results(entry: dict) -> list[dict]:
    """The results of the competitors that train with SGD (and the GEMM-only bounds)."""
    return [r for r in entry["competitors"].values() if optimizer_of(r) == "sgd"]


def unavailable_row(result: dict, columns: int) -> list[str]:
    return [result["label"], f"unavailable: {short(result['reason'])}"] + ["-"] * (columns - 2)


def workload_table(entry: dict) -> str:
    """One row per SGD competitor, with the workload's title and the final loss under it."""
    rows = []
    for result in sgd_results(entry):
        if result["status"] != "ok":
            rows.append(unavailable_row(result, len(WORKLOAD_HEADER)))
            continue
        first = ms(result["first_call_s"])
        if result.get("first_call_cached_s") is not None:
            first += f" / {ms(result['first_call_cached_s'])}"
        medians = result["process_medians_s"]
        diff = result.get("max_abs_diff_vs_chapter")
        rows.append([result["label"], first, ms(result["median_s"]),
                     f"{ms(result['q1_s'])} - {ms(result['q3_s'])}",
                     f"{ms(min(medians))} - {ms(max(medians))}",
                     f"{result['us_per_step']:.3g}", times(result.get("speedup_vs_chapter")),
                     times(result.get("speedup_vs_torch")), times(result.get("speedup_vs_jax")),
                     "-" if diff is None else f"{diff:.1e}"
                     + ("" if result["repeatable"] else " (runs differ!)")])
    notes = [f"{entry['key']}: {entry['title']}; median of {entry['repeats']} samples in each "
             f"of {entry.get('processes', 1)} process(es) per competitor."]
    if entry.get("final_loss") is not None:
        notes.append("Loss after training, from the chapter's pure Python's final weights: "
                     f"{entry['final_loss']!r}.")
    return "\n\n".join([table(WORKLOAD_HEADER, rows), " ".join(notes)])


MLP_HEADER = ["competitor", "first call: empty cache / cached (s)", "median (s)", "IQR (s)",
              "process medians (s)", "samples/s", "time / GEMM-only bound",
              "same, paired by round", "time / needed products",
              "max rel. diff of weights vs plain NumPy"]


def mlp_table(entry: dict) -> str:
    """W3/W4: one row per SGD competitor, seconds per epoch; the fit of the data under it."""
    rows = []
    for result in sgd_results(entry):
        if result["status"] != "ok":
            rows.append(unavailable_row(result, len(MLP_HEADER)))
        else:
            rows.append(_mlp_row(result))
    return "\n\n".join([table(MLP_HEADER, rows), mlp_notes(entry)])


def _mlp_row(result: dict) -> list[str]:
    first = secs(result["first_call_s"])
    if result.get("first_call_cached_s") is not None:
        first += f" / {secs(result['first_call_cached_s'])}"
    medians = result["process_medians_s"]
    diff = result.get("max_rel_diff_vs_reference")
    if not trains(result):
        diff_text = "n/a"                    # the GEMM-only rows train nothing
    else:
        diff_text = "-" if diff is None else f"{diff:.1e}"
    return [result["label"], first, secs(result["median_s"]),
            f"{secs(result['q1_s'])} - {secs(result['q3_s'])}",
            f"{secs(min(medians))} - {secs(max(medians))}",
            f"{result['samples_per_s']:,.0f}", multiple(result.get("time_vs_bound")),
            multiple(result.get("time_vs_bound_paired")), multiple(result.get("time_vs_needed")),
            diff_text + ("" if result["repeatable"] else " (runs differ!)")]


def trains(result: dict) -> bool:
    """Whether a competitor ends with weights (a summary keeps only the shapes of large ones;
    the GEMM-only rows have none)."""
    return bool(result.get("weights") or result.get("weights_shapes"))


def mlp_notes(entry: dict) -> str:
    notes = [f"{entry['key']}: {entry['title']}; median of {entry['repeats']} samples (each "
             f"a whole epoch) in each of {entry['processes']} process(es) per competitor.",
             f"Weights after the epoch against plain NumPy's: max over the parameters of "
             f"max|a - b| / max|b|, tolerance {entry['tolerance']:g} in {entry['dtype']}; the "
             "GEMM-only bound trains nothing (n/a)."]
    fit = entry.get("fit")
    if fit:
        start, end = fit["start"], fit["end"]
        notes.append(f"Cross-entropy over all {entry['samples']:,} samples, from plain "
                     f"NumPy's weights: {start['loss']:.3f} at the start, {end['loss']:.3f} "
                     f"after the epoch (accuracy {start['accuracy']:.1%} -> "
                     f"{end['accuracy']:.1%}).")
    return " ".join(notes)


def threads_table(workloads: dict) -> str:
    """Each competitor's thread pools, as its own worker process reported them."""
    seen = {}
    for entry in workloads.values():
        for result in entry["competitors"].values():
            if result.get("threads") and result["label"] not in seen:
                seen[result["label"]] = describe_threads(result["threads"])
    return table(["competitor (own process)", "thread pools (threadpoolctl, numba, torch)"],
                 [[label, text] for label, text in seen.items()])


def machine_text(machine: dict, command: str, date: str) -> str:
    v = machine["versions"]
    env = ", ".join(f"{k}={val}" for k, val in machine["environment"].items() if val)
    lines = [
        f"- Command: `{command}`, run {date}",
        f"- CPU: {machine['cpu']}; os.cpu_count() = {machine['cpu_count']}, "
        f"usable = {machine['cpus_usable']}",
        *_flags_lines(machine),
        f"- {machine['platform']}, Python {machine['python']}",
        "- " + ", ".join(f"{name} {version}" for name, version in v.items() if version),
        f"- Environment (threads, caches, code generation): {env or 'none set'}",
        *_openblas_lines(machine),
        f"- minibp commit: {machine['commit']}",
        f"- Load average (1, 5, 15 min) at start: {machine['load_average_at_start']}, "
        f"at end: {machine.get('load_average_at_end')} (other work on the machine)",
    ]
    return "\n".join(lines)


def _openblas_lines(machine: dict) -> list[str]:
    """A warning when the run's environment forced OpenBLAS below the CPU's kernels."""
    forced = openblas_forced_narrower(machine)
    return [f"- **OpenBLAS forced narrower**: {forced}"] if forced else []


def _flags_lines(machine: dict) -> list[str]:
    """The CPU's SIMD flags and LLVM's name for it, when the run recorded them (runs before
    the night of 2026-12-01 did not)."""
    if "cpu_flags" not in machine:
        return []
    simd = simd_flags(machine["cpu_flags"])
    shown = ("unknown (no /proc/cpuinfo)" if simd is None
             else " ".join(simd) or "none of " + " ".join(SIMD_FLAGS))
    llvm = machine.get("llvm_cpu") or "unknown"
    return [f"- CPU flags (SIMD): {shown}; LLVM, so numba, compiles for: {llvm}"]


def startup_table(startup: dict) -> str:
    imp, cache = startup["import"], startup["cache"]
    rows = [
        ["`import minibp` inside a fresh process (median)", ms(imp["import_minibp_s"])],
        ["`import numpy` alone, for comparison", ms(imp["import_numpy_s"])],
        ["`import numba` alone, for comparison", ms(imp["import_numba_s"])],
        ["whole `python -c \"import minibp\"` process", ms(imp["process_import_minibp_s"])],
        ["whole `python -c pass` process", ms(imp["process_bare_python_s"])],
        ["does `import minibp` import numba?", "yes" if imp["imports_numba"] else "no"],
    ]
    for name, probe in (("first", cache["first_process"]), ("second", cache["second_process"])):
        if "unavailable" in probe:
            rows.append([f"{name} process, compiled fits",
                         f"unavailable: {short(probe['unavailable'])}"])
            continue
        rows += [
            [f"{name} process: first W1 fit, engine='numba' (10 steps)",
             ms(probe["first_fit_W1_s"])],
            [f"{name} process: first W2 fit, engine='numba' (40 steps)",
             ms(probe["first_fit_W2_s"])],
            [f"{name} process: second W1 fit (10 steps)", ms(probe["second_fit_W1_s"])],
            [f"{name} process: numba cache hits / misses",
             f"{probe['cache_hits']} / {probe['cache_misses']}"],
        ]
    return table(["startup (each in fresh processes)", "ms"], rows)


def targets_table(rows: list[dict]) -> str:
    mark = {True: "yes", False: "**no**", None: "-"}
    return table(["target", "wanted", "measured", "met"],
                 [[r["what"], r["target"], str(r["measured"]), mark[r["met"]]] for r in rows])


def replace_section(text: str, name: str, body: str) -> str:
    """Put body between <!-- bench:name --> and <!-- /bench:name -->; both must exist."""
    key = re.escape(name)
    pattern = re.compile(rf"(<!-- bench:{key} -->\n).*?(<!-- /bench:{key} -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"docs: no <!-- bench:{name} --> ... <!-- /bench:{name} --> markers")
    return pattern.sub(lambda m: m.group(1) + body.strip() + "\n" + m.group(2), text, count=1)
