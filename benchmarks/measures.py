"""The arithmetic every comparison shares: which optimizer a result trained with, how far
apart two sets of weights are, a time ratio taken within each round, and a target's row."""

from __future__ import annotations

import statistics

import numpy as np

from benchmarks.harness import max_abs_difference


def optimizer_of(result: dict) -> str:
    """"sgd", "momentum" or "adam"; results written before the Adam competitors say
    nothing: SGD."""
    return result.get("optimizer", "sgd")


def max_rel_difference(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    """Largest max|a - b| / max|b| over matching arrays (each array scaled by its own largest
    magnitude, so biases near zero do not blow it up); inf when the shapes do not match."""
    worst = max_abs_difference(ours, theirs)
    if worst in (0.0, float("inf")):
        return worst
    return max(float(np.max(np.abs(np.subtract(a, b, dtype=np.float64)))
                     / max(float(np.max(np.abs(b))), np.finfo(np.float64).tiny))
               for a, b in zip(ours, theirs))


def paired_ratio(result: dict, reference: dict) -> float | None:
    """Median over the samples of this competitor's time over the reference's sample of the
    same round and process index. A shared machine drifts between slow and fast spells that
    last about a round; a ratio within the round cancels much of that."""
    ours, theirs = result.get("process_samples_s"), reference.get("process_samples_s")
    if not ours or not theirs or [len(s) for s in ours] != [len(s) for s in theirs]:
        return None
    return statistics.median(a / b for mine, its in zip(ours, theirs) for a, b in zip(mine, its))


def paired_first(result: dict, ratio: str) -> tuple[float | None, str | None]:
    """(value, as shown) of a time ratio: paired by round (the field ratio + "_paired") where
    the samples allowed, else of the medians (the field ratio); (None, None) without either."""
    paired, medians = result.get(ratio + "_paired"), result.get(ratio)
    if paired is not None:
        shown = f"{paired:.2f}x" + ("" if medians is None else f" (medians: {medians:.2f}x)")
        return paired, shown
    if medians is not None:
        return medians, f"{medians:.2f}x (medians, not paired)"
    return None, None


def target_row(what: str, value, target: str, met: bool, shown) -> dict:
    """One row of a targets table; "not measured" and met None when value is None."""
    return {"what": what, "value": value, "target": target,
            "measured": shown if value is not None else "not measured",
            "met": bool(met) if value is not None else None}
