"""minibp's fit against the hand-written floor on W1 or W2, alternating in one process.

The harness (run.py) times each competitor in processes of its own, and on this kind of
machine processes differ in speed by up to 1.5x (docs/performance.md, "Why the same loop
runs at different speeds in different processes"), so one competitor's slow processes can
flatter or hide a ratio. Here both run in the same process, in turns: ``--rounds`` rounds
of ``--runs`` fits of each, the median of each round, and the median and range of the
per-round ratios, with the same optimizer on both sides (the floors of
benchmarks/competitors/numba_floor.py; minibp as benchmarks/competitors/minibp_engines.py
calls it, fixed cost and default verbosity included). It also times minibp's compiled call
alone, so the ratio splits into the loop's and fit's Python.

    python benchmarks/floor_ratio.py                              # W1, SGD
    python benchmarks/floor_ratio.py --workload W1 --optimizer momentum --processes 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import cpu_line  # noqa: E402


def median_seconds(runner, runs: int) -> float:
    """The median of ``runs`` timed trainings, each from the initial weights."""
    times = []
    for _ in range(runs):
        runner.reset()
        started = time.perf_counter()
        runner.train()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(workload: str, optimizer: str, rounds: int, runs: int) -> dict:
    """One process: {"floor", "minibp", "ratio", "compiled"}, lists with one entry a
    round; "compiled" is the median time of minibp's compiled calls in its fits (the numba
    engine's Session._train, wrapped), so minibp's time minus it is fit's Python."""
    from benchmarks import workloads
    from benchmarks.competitors import minibp_engines, numba_floor
    from minibp.engines import numba_engine

    work = workloads.build(workload)
    floor = numba_floor.prepare(work, optimizer=optimizer)
    minibp = minibp_engines.prepare(work, engine=None, optimizer=optimizer)
    calls = []
    train = numba_engine.Session._train

    def timed_train(session, *args):
        started = time.perf_counter()
        try:
            return train(session, *args)
        finally:
            calls.append(time.perf_counter() - started)

    numba_engine.Session._train = timed_train
    for runner in (floor, minibp):  # compile, or load the caches, outside the timing
        runner.reset()
        runner.train()
    found = {"floor": [], "minibp": [], "ratio": [], "compiled": []}
    for _ in range(rounds):
        f = median_seconds(floor, runs)
        calls.clear()
        m = median_seconds(minibp, runs)
        found["floor"].append(f)
        found["minibp"].append(m)
        found["ratio"].append(m / f)
        found["compiled"].append(statistics.median(calls))  # one call a fit on W1, W2
    numba_engine.Session._train = train
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="W1", choices=("W1", "W2"))
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "momentum", "adam"))
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.workload, args.optimizer, args.rounds, args.runs)))
        return
    print(f"{args.workload}, {args.optimizer}: minibp fit against the floor, alternating; "
          f"{cpu_line()}, os.cpu_count() = {os.cpu_count()}")
    for process in range(args.processes):
        out = subprocess.run([sys.executable, __file__, "--child", *sys.argv[1:]],
                             capture_output=True, text=True, check=True).stdout
        found = json.loads(out.splitlines()[-1])
        floor, minibp, compiled = (1e3 * statistics.median(found[k])
                                   for k in ("floor", "minibp", "compiled"))
        ratios = found["ratio"]
        print(f"process {process + 1}: floor {floor:.2f} ms, minibp {minibp:.2f} ms, "
              f"ratio median {statistics.median(ratios):.2f} "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); minibp's compiled call "
              f"{compiled:.2f} ms ({compiled / floor:.2f}x the floor), the rest of its fit "
              f"{minibp - compiled:.3f} ms")


if __name__ == "__main__":
    main()
