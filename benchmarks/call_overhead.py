"""The fixed cost of minibp's entry points, per call, on the chapter's network.

    python benchmarks/call_overhead.py              # one process: prints a JSON line
    python benchmarks/call_overhead.py --against /path/to/other/checkout [--rounds 6]

Times 2,000 calls each of fit(epochs=1) (one step; again on one model, and on a new model
and SGD each call as the benchmarks' samples do), predict, train_step and gradients on
the chapter's 2-2-2 network (numba engine after a warm-up, float64), the BLAS engine's
predict of 4 rows of a 32-32-10 network, and W1 and W2 as one fit each (median of 15).
``--against`` compares two versions: processes of this checkout and of the other
(PYTHONPATH pointing at each) alternate, ``--rounds`` of each, and each figure is reported
as the median over the rounds and as the ratio this / other, since the machine's speed
drifts between runs (docs/benchmarks.md, "Reading the figures with care").
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

import numpy as np

import minibp
from minibp.examples import chapter_data, chapter_network, xor_data

CALLS = 2_000
REPEATS = 15


def per_call(function, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def measure() -> dict[str, float]:
    X, Y = chapter_data()
    Xx, Yx = xor_data()
    loss, model, sgd = minibp.SquaredError(), chapter_network(), minibp.SGD(0.5)
    model.fit(X, Y, loss=loss, optimizer=sgd, epochs=10, batch_size=1, shuffle=False,
              verbose=0)  # compiles, or loads the cache: keep stdout one JSON line
    model.predict(X)
    model.gradients(X, Y, loss)

    def w1():
        chapter_network().fit(X, Y, loss=loss, optimizer=minibp.SGD(0.5), epochs=10_000,
                              batch_size=1, shuffle=False)

    def w2():
        net = minibp.mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=0)
        net.fit(Xx, Yx, loss=loss, optimizer=minibp.SGD(0.5), epochs=2_500, batch_size=1,
                seed=0)

    fresh = iter([chapter_network() for _ in range(CALLS)])  # made outside the timing
    mid, X_mid = minibp.mlp([32, 32, 10], seed=0), np.ones((4, 32))  # BLAS predict's rows
    mid.predict(X_mid, engine="blas")

    return {
        "fit_1_epoch_us": 1e6 * per_call(lambda: model.fit(
            X, Y, loss=loss, optimizer=sgd, epochs=1, batch_size=1, shuffle=False), CALLS),
        "fit_new_model_us": 1e6 * per_call(lambda: next(fresh).fit(
            X, Y, loss=loss, optimizer=minibp.SGD(0.5), epochs=1, batch_size=1,
            shuffle=False), CALLS),
        "predict_us": 1e6 * per_call(lambda: model.predict(X), CALLS),
        "predict_blas_32x32x10_4_rows_us": 1e6 * per_call(
            lambda: mid.predict(X_mid, engine="blas"), CALLS),
        "train_step_us": 1e6 * per_call(lambda: model.train_step(X, Y, loss, sgd), CALLS),
        "gradients_us": 1e6 * per_call(lambda: model.gradients(X, Y, loss), CALLS),
        "W1_ms": 1e3 * statistics.median(per_call(w1, 1) for _ in range(REPEATS)),
        "W2_ms": 1e3 * statistics.median(per_call(w2, 1) for _ in range(REPEATS)),
    }


def compare(other: str, rounds: int) -> None:
    """Alternate processes of this checkout and ``other``; print medians and ratios."""
    trees = {"this": str(Path(__file__).resolve().parents[1]), "other": other}
    found = {name: [] for name in trees}
    for round_ in range(rounds):
        order = list(trees.items())
        for name, tree in order if round_ % 2 == 0 else order[::-1]:
            env = dict(os.environ, PYTHONPATH=tree)
            out = subprocess.run([sys.executable, __file__], env=env, capture_output=True,
                                 text=True, check=True, cwd=tree)
            found[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'figure':16s} {'this':>10s} {'other':>10s}  this/other   ({rounds} rounds)")
    for key in found["this"][0]:
        this, that = (statistics.median(run[key] for run in found[name]) for name in trees)
        print(f"{key:16s} {this:10.1f} {that:10.1f}  {this / that:10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout to compare with, alternating")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.rounds)
    else:
        print(json.dumps(measure()))
