"""The BLAS engine's step kernels (minibp/engines/kernels/step.py) against the guard-summing
kernels of fused.py they replaced, on W3/W4's shapes: microseconds per call.

    python benchmarks/step_kernels.py [--calls 300] [--repeats 9]

One process, kernels alternated, each timed over --calls calls, --repeats times; prints the
median and the best per kernel and dtype. A batch gather reads rows of a 60,000-row X in a
shuffled order (from DRAM, as in an epoch); the layers are 128 x 256 and 128 x 128.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `minibp` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np


def timed(function, calls: int, repeats: int) -> tuple[float, float]:
    function()
    per_call = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        per_call.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(per_call), min(per_call)


def cases(dtype):
    """(name, old kernel call, new kernel call) on fresh inputs of W3/W4's shapes."""
    from minibp.engines.kernels import fused, step

    rng = np.random.default_rng(0)
    X = rng.random((60_000, 784)).astype(dtype)
    T = np.eye(10, dtype=dtype)[rng.integers(0, 10, 60_000)]
    order = rng.permutation(60_000)
    x, t, sq = np.empty((128, 784), dtype), np.empty((128, 10), dtype), np.empty(1024)
    where = [0]

    def start():
        where[0] = (where[0] + 128) % (60_000 - 128)
        return where[0]

    def old_gather():
        s = start()
        fused.gather_rows(X, order, s, x, sq)
        fused.gather_rows(T, order, s, t, sq)

    found = [("gather x, t (128 rows)", old_gather,
              lambda: step.gather_batch(X, T, order, start(), x, t))]
    one = dtype(1)
    for width in (256, 128):
        Z0 = (rng.standard_normal((128, width)) * 3).astype(dtype)
        b = rng.standard_normal(width).astype(dtype)
        Z, E = Z0.copy(), np.empty_like(Z0)
        A = rng.random((128, width)).astype(dtype)
        dA0 = rng.standard_normal((128, width)).astype(dtype)
        dA, db = dA0.copy(), np.empty(width, dtype)

        def sigmoid(last, Z=Z, Z0=Z0, b=b, E=E):
            np.copyto(Z, Z0)
            fused.bias_and_exp_argument(Z, b, E)
            np.exp(E, out=E)
            last(Z, E)

        found += [
            (f"sigmoid, 3 passes (128 x {width})",
             lambda sigmoid=sigmoid: sigmoid(lambda z, e: fused.sigmoid_from_exp(z, e, one, sq)),
             lambda sigmoid=sigmoid: sigmoid(lambda z, e: step.sigmoid_of_exp(z, e, one))),
            (f"derivative and db (128 x {width})",
             lambda dA=dA, dA0=dA0, A=A, db=db: (np.copyto(dA, dA0), fused.activation_backward(
                 dA, A, 1, db, sq)),
             lambda dA=dA, dA0=dA0, A=A, db=db: (np.copyto(dA, dA0),
                                                 step.derivative_and_bias_gradient(dA, A, 1, db))),
        ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/step_kernels.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print("| dtype | work | fused.py (summing), us | step.py, us |\n| --- | --- | --- | --- |")
    for dtype in (np.float32, np.float64):
        for name, old, new in cases(dtype):
            (old_median, old_best), (new_median, new_best) = (
                timed(old, args.calls, args.repeats), timed(new, args.calls, args.repeats))
            print(f"| {dtype.__name__} | {name} | {old_median:.1f} (best {old_best:.1f}) | "
                  f"{new_median:.1f} (best {new_best:.1f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
