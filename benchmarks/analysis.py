"""From raw timings to what the tables say: ratios, agreement of weights, the targets."""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import BASELINE, BY_NAME, TORCH
from benchmarks.harness import max_abs_difference, speedup

AGREEMENT = 1e-12          # every competitor's final weights, against the baseline's
COMPILED_MINIBP = ("minibp", "minibp_numba")
TARGETS = {"vs_chapter": 40.0, "vs_torch": 1000.0, "import_s": 0.15}


def compare(results: dict) -> None:
    """Add speedups against the baseline and PyTorch, and weight differences, in place."""
    base = results.get(BASELINE, {})
    torch = results.get(TORCH, {})
    for result in results.values():
        if result["status"] != "ok":
            continue
        result["speedup_vs_chapter"] = speedup(base.get("median_s"), result["median_s"])
        result["speedup_vs_torch"] = speedup(torch.get("median_s"), result["median_s"])
        if base.get("status") == "ok":
            result["max_abs_diff_vs_chapter"] = max_abs_difference(result["weights"],
                                                                   base["weights"])


def final_loss(workload, weights: list[np.ndarray]) -> float:
    """Mean over the rows of 1/2 sum (A - Y)**2, for sigmoid layers with these weights."""
    A = workload.X
    for W, b in zip(weights[0::2], weights[1::2]):
        A = 1.0 / (1.0 + np.exp(-(A @ W.T + b)))
    return float(np.mean(0.5 * np.sum((A - workload.Y) ** 2, axis=1)))


def targets(workloads: dict, startup: dict | None) -> list[dict]:
    """The issue's targets, each with what this run measured and whether it was met."""
    rows = []
    for key, entry in workloads.items():
        results = entry["competitors"]
        for name in COMPILED_MINIBP:
            result = results.get(name, {})
            label = BY_NAME[name].label
            for what, field in (("chapter's pure Python", "vs_chapter"), ("PyTorch", "vs_torch")):
                value = result.get(f"speedup_{field}")
                rows.append(_row(f"{key}: {label}, times faster than {what}", value,
                                 f">= {TARGETS[field]:g}x", value is not None
                                 and value >= TARGETS[field], value and f"{value:.1f}x"))
        worst = max((r.get("max_abs_diff_vs_chapter", 0.0) for r in results.values()
                     if r["status"] == "ok"), default=None)
        rows.append(_row(f"{key}: every competitor ends at the chapter's weights", worst,
                         f"<= {AGREEMENT:g}", worst is not None and worst <= AGREEMENT,
                         worst is not None and f"{worst:.1e}"))
    if startup:
        seconds = startup["import"]["import_minibp_s"]
        rows.append(_row("`import minibp`, fresh process (median)", seconds,
                         f"< {TARGETS['import_s']} s", seconds < TARGETS["import_s"],
                         f"{seconds:.3f} s"))
        second = startup["cache"]["second_process"]
        reused = "unavailable" not in second and second["cache_misses"] == 0 \
            and second["cache_hits"] > 0
        rows.append(_row("second process loads the compiled cache (no numba cache miss)",
                         second.get("cache_hits"), "0 misses", reused,
                         f"{second['cache_hits']} hits, {second['cache_misses']} misses"))
    return rows


def _row(what: str, value, target: str, met: bool, shown) -> dict:
    return {"what": what, "value": value, "target": target,
            "measured": shown if value is not None else "not measured",
            "met": bool(met) if value is not None else None}
