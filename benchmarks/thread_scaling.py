"""What a second thread buys on this machine, for the kinds of work a large-batch step does.

    python benchmarks/thread_scaling.py [--repeats 200]

Times, in one process, medians of ``--repeats`` calls, each kind on one thread and on two:

- ``compute``: a numba kernel with arithmetic per element and little memory traffic (rows of
  a W3-sized activation, 128 x 256), split by rows over ``prange(2)``;
- ``memory``: SGD's update of W3's first weight matrix (256 x 784, float32), the same split;
- ``blas``: W3's largest product (128 x 784 by 784 x 256, float32) in NumPy's BLAS, with
  threadpoolctl limiting it to one thread and then two.

It prints the time of each on one and two threads, their ratio (the speedup), the CPU model
and the thread counts. docs/performance.md ("One thread pool, and the step compiled whole")
explains why it matters: on the 2-vCPU machine of 2026-11-30 the compute kernel gained
nothing from its second thread and BLAS 1.26-1.35x, so elementwise work between products
could not be made parallel there. On a machine whose second core does pay, the design
tried then (numba's pool for everything, BLAS called one thread per half) is worth
measuring again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba
import numpy as np
from numba import njit, prange

from benchmarks.machine import cpu_line


@njit(cache=True, error_model="numpy")
def _compute_rows(a, r0, r1):
    for r in range(r0, r1):
        for j in range(a.shape[1]):
            v = a[r, j]
            for _ in range(20):
                v = v * np.float32(0.999) + np.float32(0.001)
            a[r, j] = v


@njit(cache=True, error_model="numpy")
def _update_rows(W, dW, rate, r0, r1):
    for r in range(r0, r1):
        for j in range(W.shape[1]):
            W[r, j] -= rate * dW[r, j]


@njit(cache=True)
def compute_serial(a):
    _compute_rows(a, 0, a.shape[0])


@njit(cache=True, parallel=True)
def compute_parallel(a):
    for t in prange(2):
        _compute_rows(a, a.shape[0] * t // 2, a.shape[0] * (t + 1) // 2)


@njit(cache=True)
def update_serial(W, dW, rate):
    _update_rows(W, dW, rate, 0, W.shape[0])


@njit(cache=True, parallel=True)
def update_parallel(W, dW, rate):
    for t in prange(2):
        _update_rows(W, dW, rate, W.shape[0] * t // 2, W.shape[0] * (t + 1) // 2)


def median_seconds(call, repeats: int) -> float:
    call()  # compiles, or loads from the cache
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(repeats: int, rows: int = 128) -> dict[str, dict[str, float]]:
    """{kind: {"one": s, "two": s, "speedup": one / two}} for compute, memory and blas."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = np.ones((rows, 256), np.float32)
    W = rng.standard_normal((256, 784)).astype(np.float32)
    dW = (rng.standard_normal((256, 784)) * 1e-9).astype(np.float32)
    x, WT = rng.standard_normal((rows, 784), np.float32), rng.standard_normal((784, 256),
                                                                             np.float32)
    out = np.empty((rows, 256), np.float32)
    rate = np.float32(1e-3)
    pairs = {"compute": (lambda: compute_serial(a), lambda: compute_parallel(a)),
             "memory": (lambda: update_serial(W, dW, rate),
                        lambda: update_parallel(W, dW, rate))}
    found = {}
    for kind, (one, two) in pairs.items():
        found[kind] = {"one": median_seconds(one, repeats), "two": median_seconds(two, repeats)}
    blas = {}
    for threads, name in ((1, "one"), (2, "two")):
        with threadpool_limits(threads):
            blas[name] = median_seconds(lambda: np.matmul(x, WT, out=out), repeats)
    found["blas"] = blas
    for times in found.values():
        times["speedup"] = times["one"] / times["two"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/thread_scaling.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    found = measure(args.repeats)
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"{cpu_line()}; numba threads {numba.get_num_threads()} "
          f"({numba.threading_layer()} layer); medians of {args.repeats} calls")
    for kind, times in found.items():
        print(f"{kind:8s} one thread {times['one'] * 1e6:8.1f} us   two {times['two'] * 1e6:8.1f}"
              f" us   speedup {times['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
