"""Timing: worker processes per competitor, warm-up apart, repeats interleaved A/B/B/A.

Every competitor runs in processes of its own (several: a process can be unlucky in where
its memory lands, and stay so), so thread pools never share a process, and never run at
once: the parent waits for each run. Its first process starts with an empty numba cache
directory, so its first call includes compiling; its other processes share that cache.
Repeats go round-robin, forward on even rounds and backward on odd ones, so no competitor
always gets the machine warm from another.
A sample is the mean of k back-to-back runs, k chosen from an untimed calibration run so a
sample lasts at least min_sample_s: a 1 ms run is not then dominated by waking up cold.
"""

from __future__ import annotations

import math
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


# -- statistics -------------------------------------------------------------------------
def summarize(samples: list[float]) -> dict:
    """Median, quartiles and extremes of some timings, in seconds."""
    if not samples:
        raise ValueError("summarize: no samples")
    ordered = sorted(samples)
    if len(ordered) > 1:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {"median_s": statistics.median(ordered), "q1_s": q1, "q3_s": q3,
            "min_s": ordered[0], "max_s": ordered[-1]}


def speedup(reference_s: float | None, seconds: float | None) -> float | None:
    """How many times faster than the reference (above 1: faster; below 1: slower)."""
    if reference_s is None or seconds is None or seconds <= 0:
        return None
    return reference_s / seconds


def round_order(names: list[str], round_index: int) -> list[str]:
    """A, B, C on even rounds, C, B, A on odd ones."""
    return list(names) if round_index % 2 == 0 else list(reversed(names))


def max_abs_difference(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    """Largest |a - b| over matching arrays; inf when the shapes do not match."""
    if len(ours) != len(theirs):
        return float("inf")
    worst = 0.0
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
    return worst


# -- worker processes ------------------------------------------------------------------------
class Worker:
    """One process of one competitor: prepare once, then time runs on request."""

    def __init__(self, name: str, index: int, cache_dir: str):
        self.name, self.index, self.runs = name, index, 1
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [p for p in (env.get("PYTHONPATH"), str(REPO)) if p])
        env["NUMBA_CACHE_DIR"] = cache_dir
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        cwd=REPO, env=env)

    def request(self, *message) -> dict:
        pickle.dump(message, self.process.stdin)
        self.process.stdin.flush()
        try:
            return pickle.load(self.process.stdout)
        except EOFError:
            return {"ok": False, "reason": f"worker exited with code {self.process.wait()}"}

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                pickle.dump(("quit",), self.process.stdin)
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self.process.wait(timeout=30)


def run_workload(workload, competitors, repeats: int, pause: float, min_sample_s: float = 0.05,
                 processes: int = 1, log=print) -> dict:
    """Time every competitor on one workload, in `processes` processes each; returns
    per-competitor results (no ratios yet)."""
    results = {c.name: {"label": c.label, "optimizer": c.optimizer, "status": "ok",
                        "first_calls_s": [], "samples_s": [],
                        "process_samples_s": [[] for _ in range(processes)]}
               for c in competitors}
    with tempfile.TemporaryDirectory(prefix="minibp-bench-numba-") as cache_root:
        caches = {c.name: tempfile.mkdtemp(prefix=f"{c.name}-", dir=cache_root)
                  for c in competitors}
        workers = [Worker(c.name, p, caches[c.name])
                   for p in range(processes) for c in competitors]
        try:
            for worker in workers:      # every import done before any timing
                _prepare(worker, workload, results[worker.name], log)
            for worker in workers:      # process 0 of each compiles into an empty cache
                _warm_up(worker, workload.key, results[worker.name], min_sample_s, log)
            for r in range(repeats):
                live = [w for w in workers if results[w.name]["status"] == "ok"]
                for worker in round_order(live, r):
                    time.sleep(pause)      # let the last competitor's threads go idle
                    _one_sample(worker, results[worker.name])
                log(f"  {workload.key} round {r + 1}/{repeats} done")
        finally:
            for worker in workers:
                worker.close()
    for result in results.values():
        if result["status"] == "ok":
            _summarize_result(result, workload.steps)
    return results


def _summarize_result(result: dict, steps: int) -> None:
    result.update(summarize(result["samples_s"]))
    result["us_per_step"] = result["median_s"] / steps * 1e6
    result["process_medians_s"] = [statistics.median(s) for s in result["process_samples_s"]]
    first = result["first_calls_s"]
    result["first_call_s"] = first[0]
    result["first_call_cached_s"] = statistics.median(first[1:]) if len(first) > 1 else None


def _prepare(worker, workload, result, log) -> None:
    """The worker imports its libraries and builds its network."""
    if result["status"] != "ok":
        return
    reply = worker.request("prepare", worker.name, workload)
    if reply["ok"]:
        result["threads"] = reply["threads"]
    else:
        _give_up(result, reply["reason"], f"{workload.key} {worker.name}", log)


def _warm_up(worker, key, result, min_sample_s, log) -> None:
    """Time the first call (compiling included), then calibrate the runs per sample."""
    if result["status"] != "ok":
        return
    first = worker.request("time", 1)
    second = worker.request("time", 1) if first["ok"] else first
    if not second["ok"]:
        _give_up(result, second["reason"], f"{key} {worker.name}", log)
        return
    worker.runs = max(1, math.ceil(min_sample_s / max(second["seconds"], 1e-9)))
    result["first_calls_s"].append(first["seconds"])
    if worker.index == 0:
        result.update(weights=first["weights"], repeatable=True)
    _check_repeatable(result, first["weights"])
    log(f"  {key} {worker.name}[{worker.index}]: first call {first['seconds']:.4f} s, "
        f"then {second['seconds']:.4f} s; {worker.runs} run(s) per sample")


def _give_up(result, reason: str, who: str, log) -> None:
    result.update(status="unavailable", reason=reason)
    log(f"  {who}: unavailable: {reason}")


def _one_sample(worker, result) -> None:
    reply = worker.request("time", worker.runs)
    if not reply["ok"]:
        result.update(status="unavailable", reason=f"failed mid-run: {reply['reason']}")
        return
    result["samples_s"].append(reply["seconds"])
    result["process_samples_s"][worker.index].append(reply["seconds"])
    _check_repeatable(result, reply["weights"])


def _check_repeatable(result, weights) -> None:
    """Every run, in every process, must end at the very same weights."""
    if max_abs_difference(weights, result["weights"]) != 0.0:
        result["repeatable"] = False
