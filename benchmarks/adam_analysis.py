"""The Adam competitors: whose weights they are held to, their time over SGD's, their targets.
The momentum SGD competitors (W1/W2) are held and timed the same way (optimizer="momentum":
SGD(lr=workload.momentum_lr, momentum=workload.momentum), their reference PyTorch's), with no
time target of their own here (analysis.speed_issue_targets has the floor's and JAX's).

Every Adam competitor trains the workload's network from the same weights, in the same order,
with Adam(lr=workload.adam_lr). Its final weights are held to an Adam reference: PyTorch's
(independent code) when it ran, else the first Adam competitor that ran (reference()); the
check is not made when no other Adam competitor ran. Its time is also taken over that of its
SGD twin (the same code with SGD, Competitor.sgd_twin), of the medians and paired by round.
The issue's targets: W1/W2's compiled Adam within 1.5x of the compiled SGD, W3's minibp (engine
auto) with Adam within 1.3x of the GEMM-only bound.
"""

from __future__ import annotations

from benchmarks.competitors import BY_NAME
from benchmarks.harness import speedup
from benchmarks.measures import (
    max_rel_difference,
    optimizer_of,
    paired_first,
    paired_ratio,
    target_row,
)

# Relative, in float64: minibp's NumPy engine ends 4e-16 (W1) and 2e-14 (W2) from PyTorch's
# Adam after 10,000 steps. W3/W4 keep the SGD tolerances (analysis.MLP_AGREEMENT): one epoch
# of Adam ends 2e-5 (float32) and 7e-14 (float64) from PyTorch's.
# Momentum SGD in float64 is held to the same: measured 6e-16 from PyTorch's after 10,000 steps.
AGREEMENT = 1e-10
COMPILED = "minibp_numba_adam"    # W1/W2: within 1.5x of the same engine's time with SGD
TARGET_VS_SGD = 1.5
MLP_MINIBP = "minibp_adam"        # W3: within 1.3x of the GEMM-only bound
MLP_TARGET_VS_BOUND = 1.3
NAMES = {"adam": "Adam", "momentum": "momentum SGD"}      # in the targets' rows


def reference(results: dict, preferred: str, optimizer: str = "adam") -> str | None:
    """The Adam (or `optimizer`) competitor the others' final weights are held to: `preferred`
    (PyTorch's, code independent of minibp) when it ran, else the first competitor with that
    optimizer that ran; None when none did."""
    ran = [name for name, result in results.items() if optimizer_of(result) == optimizer
           and result["status"] == "ok" and result.get("weights")]
    if preferred in ran:
        return preferred
    return ran[0] if ran else None


def compare(results: dict, preferred: str, optimizer: str = "adam") -> None:
    """For each Adam (or `optimizer`) competitor, in place: its time over its SGD twin's (of
    the medians, and paired by round), the reference it is held to, and its weights' relative
    difference from that reference's (the reference's own is 0)."""
    held_to = reference(results, preferred, optimizer)
    for name, result in results.items():
        if result["status"] != "ok" or optimizer_of(result) != optimizer:
            continue
        twin = results.get(getattr(BY_NAME.get(name), "sgd_twin", None)) or {}
        ran = twin.get("status") == "ok"
        result["time_vs_sgd"] = speedup(result["median_s"], twin["median_s"]) if ran else None
        result["time_vs_sgd_paired"] = paired_ratio(result, twin) if ran else None
        result["weights_reference"] = held_to
        result["max_rel_diff_vs_reference"] = None if held_to is None else \
            max_rel_difference(result["weights"], results[held_to]["weights"])


def entry_fields(workload, results: dict, preferred: str, measure, name: str,
                 optimizer: str = "adam") -> dict:
    """What the Adam (or `optimizer`) table's note needs, when such competitors ran: the lr
    (adam_lr; momentum_lr and momentum), the reference, and how well the reference's weights
    fit the data (measure(workload, weights), as name)."""
    if not any(optimizer_of(result) == optimizer for result in results.values()):
        return {}
    held_to = reference(results, preferred, optimizer)
    weights = results[held_to]["weights"] if held_to else None
    found = {f"{optimizer}_lr": getattr(workload, f"{optimizer}_lr"),
             f"{optimizer}_reference": held_to,
             name: measure(workload, weights) if weights else None}
    return found | ({"momentum": workload.momentum} if optimizer == "momentum" else {})


def targets(key: str, entry: dict, preferred: str, optimizer: str = "adam") -> list[dict]:
    """One workload's Adam targets: the time (compiled Adam over compiled SGD for W1/W2,
    minibp's Adam over the GEMM-only bound for the MLP), paired by round where the samples
    were, else of the medians; and every Adam competitor at the Adam reference's weights.
    Momentum SGD's: its competitors at its reference's weights, when any of them ran."""
    results = entry["competitors"]
    if optimizer != "adam":
        if not any(optimizer_of(r) == optimizer for r in results.values()):
            return []
        return [agreement(key, results, preferred, optimizer, AGREEMENT,
                          "max relative difference")]
    if entry.get("group") == "mlp":
        name, ratio, limit = MLP_MINIBP, "time_vs_bound", MLP_TARGET_VS_BOUND
        what, tolerance = "time / GEMM-only bound", entry["tolerance"]
        kind = f"{entry['dtype']}, max relative difference"
    else:
        name, ratio, limit = COMPILED, "time_vs_sgd", TARGET_VS_SGD
        what, tolerance, kind = "time / the same with SGD", AGREEMENT, "max relative difference"
    value, shown = paired_first(results.get(name, {}), ratio)
    return [target_row(f"{key}: {BY_NAME[name].label}, {what}, paired by round", value,
                       f"<= {limit}x", value is not None and value <= limit, shown),
            agreement(key, results, preferred, optimizer, tolerance, kind)]


def agreement(key: str, results: dict, preferred: str, optimizer: str, tolerance: float,
              kind: str) -> dict:
    """The row: every competitor with this optimizer ends at its reference's weights."""
    held_to = next((r["weights_reference"] for r in results.values()
                    if optimizer_of(r) == optimizer and r.get("weights_reference")), None)
    diffs = [r.get("max_rel_diff_vs_reference") for n, r in results.items()
             if r["status"] == "ok" and optimizer_of(r) == optimizer and n != held_to]
    worst = max((d for d in diffs if d is not None), default=None)
    label = results[held_to]["label"] if held_to else BY_NAME[preferred].label
    return target_row(f"{key}: every {NAMES[optimizer]} competitor ends at {label}'s weights "
                      f"({kind})", worst, f"<= {tolerance:g}",
                      worst is not None and worst <= tolerance,
                      worst is not None and f"{worst:.1e}")
