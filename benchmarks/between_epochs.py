"""What evaluating between epochs costs a fit on the BLAS engine's compiled steps: the same
W3-sized fit with and without validation data (or training metrics), alternating in one
process.

    python benchmarks/between_epochs.py [--rounds 8] [--samples 60000] [--metrics]

Three variants, each a fresh 784-256-128-10 sigmoid model (float32) trained ``--epochs``
epochs of ``--samples`` random rows in batches of 128 (SGD 0.05, softmax cross-entropy):

- ``plain``: nothing evaluated between epochs;
- ``evaluated``: 10,000 validation rows (with ``--metrics``: accuracy on the training rows)
  evaluated after each epoch as fit does it: its predictions compiled, each batch's halves
  on numba's two threads, OpenBLAS at one thread (the compiled steps hold it so until fit
  returns);
- ``threaded evaluation``: the same, its predictions as fit made them before the night of
  2026-11-30: products in NumPy's BLAS on OpenBLAS's own threads, which keep spinning for
  up to about 0.1 s after their last product while the next epoch's compiled steps wait
  for the cores.

It prints, per variant, the median over rounds of the training epochs' own time (History's
seconds, epochs after the first) and of the whole fit, each also as the median of the
per-round ratios to ``plain``; then the CPU model and thread counts. All three variants
train the same weights (evaluation reads them only): the script checks that too.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks.machine import cpu_line

VARIANTS = ("plain", "evaluated", "threaded evaluation")
VALIDATION_ROWS = 10_000


def data(samples: int, seed: int = 0):
    """(X, y) of ``samples`` standard normal rows of 784 in float32 and labels 0-9, and the
    validation rows (the first VALIDATION_ROWS of them, or all when fewer)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, samples)
    rows = min(VALIDATION_ROWS, samples)
    return X, y, (X[:rows], y[:rows])


def fit(variant: str, X, y, validation, epochs: int, metrics: bool = False):
    """One fit of a fresh model: (seconds of the whole fit, History, the model)."""
    import minibp

    model = minibp.mlp([784, 256, 128, 10], "sigmoid", seed=1, dtype=np.float32)
    evaluated = {"metrics": ["accuracy"]} if metrics else {"validation_data": validation}
    options = {} if variant == "plain" else evaluated
    with _evaluation_threads(variant == "threaded evaluation"):
        started = time.perf_counter()
        history = model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.05), epochs=epochs,
                            batch_size=128, seed=0, engine="blas", verbose=0, **options)
        seconds = time.perf_counter() - started
    return seconds, history, model


@contextlib.contextmanager
def _evaluation_threads(threaded: bool):
    """While active (when ``threaded``), fit's evaluations between epochs predict through
    NumPy's products (blas_compiled.can_predict false) with OpenBLAS's thread count as it
    was before the fit (threadpoolctl)."""
    if not threaded:
        yield
        return
    from threadpoolctl import threadpool_info, threadpool_limits

    from minibp.engines import blas_compiled, trainer

    count = max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
    real, can_predict = trainer.evaluate, blas_compiled.can_predict

    def evaluate(*args, **kwargs):
        blas_compiled.can_predict = lambda: False
        try:
            with threadpool_limits(limits=count, user_api="blas"):
                return real(*args, **kwargs)
        finally:
            blas_compiled.can_predict = can_predict

    trainer.evaluate = evaluate
    try:
        yield
    finally:
        trainer.evaluate = real


def measure(rounds: int, samples: int, epochs: int, metrics: bool = False) -> dict:
    """{variant: {"epoch": [...], "fit": [...]}} over ``rounds`` rounds, the variants'
    order reversed every other round; raises if a variant's weights differ from plain's."""
    X, y, validation = data(samples)
    for variant in VARIANTS:  # compiles the steps and predict, or loads them from the cache
        fit(variant, X[:1000], y[:1000], validation, 1, metrics)
    found = {variant: {"epoch": [], "fit": []} for variant in VARIANTS}
    for round_ in range(rounds):
        weights = {}
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            time.sleep(0.3)  # every variant starts with OpenBLAS's threads asleep
            seconds, history, model = fit(variant, X, y, validation, epochs, metrics)
            found[variant]["epoch"].append(statistics.median(history.seconds[1:] or
                                                             history.seconds))
            found[variant]["fit"].append(seconds)
            weights[variant] = [p.value.copy() for p in model.parameters()]
        for variant in VARIANTS[1:]:
            for a, b in zip(weights[variant], weights["plain"]):
                np.testing.assert_array_equal(a, b, err_msg=f"{variant} trained differently")
    return found


def paired(values: list[float], reference: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(values, reference))


def report(found: dict, rounds: int, samples: int, epochs: int, metrics: bool = False) -> str:
    import numba
    from threadpoolctl import threadpool_info

    plain = found["plain"]
    evaluated = ("accuracy on the training rows" if metrics else
                 f"{min(VALIDATION_ROWS, samples):,} validation rows")
    lines = [f"W3-sized fit, {samples:,} samples, {epochs} epochs, {rounds} rounds, "
             f"evaluated: {evaluated}",
             "| variant | training epoch (s) | / plain, paired | whole fit (s) | / plain, paired |",
             "| --- | --- | --- | --- | --- |"]
    for variant in VARIANTS:
        times = found[variant]
        lines.append(f"| {variant} | {statistics.median(times['epoch']):.3f} | "
                     f"{paired(times['epoch'], plain['epoch']):.2f}x | "
                     f"{statistics.median(times['fit']):.3f} | "
                     f"{paired(times['fit'], plain['fit']):.2f}x |")
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    lines.append(f"CPU: {cpu_line()}; numba threads {numba.get_num_threads()}, BLAS "
                 f"threads {blas}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="between_epochs.py", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--metrics", action="store_true",
                        help="evaluate accuracy on the training rows, not validation data")
    args = parser.parse_args(argv)
    found = measure(args.rounds, args.samples, args.epochs, args.metrics)
    print(report(found, args.rounds, args.samples, args.epochs, args.metrics))


if __name__ == "__main__":
    main()
