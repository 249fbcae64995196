"""Where the BLAS engine's compiled steps spend a W3/W4 epoch: each phase's work and each
meeting's wait, per thread, beside the products a step needs.

    python benchmarks/step_phases.py [--workload W4] [--epochs 5] [--samples 60000]

The driver (minibp/engines/kernels/blas_steps.py) is compiled once more from its own text
with a cycle counter read (LLVM's readcyclecounter: the TSC on x86) around every meeting of
its two threads: a phase's work is from the end of one meeting to the start of the next, its
wait the time in the meeting. So the phases are the driver's own, named here for a model of
three layers (784-256-128-10): the gather, per layer its forward product and activation,
the loss (thread 0's alone, thread 1 waits), per layer from the top its weight-gradient and
input-gradient products and the derivative below, the update. Cycles become milliseconds at
the TSC's rate, measured against time.perf_counter. Each epoch follows the needed products'
epoch after a 0.1 s pause, as the harness's samples do; medians over --epochs epochs,
after one that compiles. One process: compare within a run (docs/benchmarks.md, "Reading
the figures with care").
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import workloads
from benchmarks.competitors import gemm_bound, minibp_engines
from benchmarks.machine import cpu_line
from minibp.engines import blas_compiled

SLOTS = 64  # phases counted per thread (a deeper model's extra phases go uncounted)
CYCLES = '''
@intrinsic
def cycles(typingctx):
    """The CPU's cycle counter (the TSC on x86), for step_phases' timings."""
    def codegen(context, builder, sig, args):
        read = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter")
        return builder.call(read, [])

    return types.int64(), codegen

'''
THREE_LAYERS = ("gather", "layer 0 forward product", "layer 0 activation",
                "layer 1 forward product", "layer 1 activation", "layer 2 forward product",
                "layer 2 activation", "loss (thread 0)", "layer 2 dW and dZ @ W",
                "layer 1 derivative", "layer 1 dW and dZ @ W", "layer 0 derivative",
                "layer 0 dW", "update")


def timed_source(source: str) -> str:
    """The compiled steps' text with every meeting in train_steps timed into result[4:]:
    result[4 + SLOTS * 2 * me + k] the work before meeting k, + SLOTS the wait in it."""
    head, marker, driver = source.rpartition("def train_steps(")
    driver = driver.replace("    for s in range(first, stop):\n", (
        "    for s in range(first, stop):\n        k, t_last = 0, cycles()\n"), 1)

    def timed_meeting(found) -> str:
        pad = found.group(1)
        return (f"{pad}t_in = cycles()\n{pad}met = meet(sync, threads, met)\n"
                f"{pad}t_out = cycles()\n{pad}slot = 4 + {2 * SLOTS} * me + min(k, {SLOTS - 1})\n"
                f"{pad}result[slot] += t_in - t_last\n{pad}result[slot + {SLOTS}] += t_out - t_in\n"
                f"{pad}t_last, k = t_out, k + 1\n")

    driver = re.sub(r"^( +)met = meet\(sync, threads, met\)\n", timed_meeting, driver,
                    flags=re.M)
    decorator = head.rstrip().rfind("@njit")
    return head[:decorator] + CYCLES + head[decorator:] + marker + driver


@contextlib.contextmanager
def instrumented():
    """``with instrumented():`` blas_compiled runs the timed text, with a result array that
    has the slots; everything is put back after."""
    saved = (blas_compiled.source, blas_compiled.Steps.__init__, list(blas_compiled._MODULE))
    source, init = saved[:2]

    def steps_init(self, session):
        init(self, session)
        self.result = np.zeros(4 + 4 * SLOTS)

    blas_compiled.source = lambda: timed_source(source())
    blas_compiled.Steps.__init__ = steps_init
    blas_compiled._MODULE.clear()
    try:
        yield
    finally:
        blas_compiled.source, blas_compiled.Steps.__init__ = source, init
        blas_compiled._MODULE[:] = saved[2]


def cycles_per_second() -> float:
    from numba import njit

    cycles = blas_compiled.kernels().cycles  # the timed module's (inside instrumented())
    read = njit(lambda: cycles())
    read()
    first, started = read(), time.perf_counter()
    time.sleep(0.2)
    return (read() - first) / (time.perf_counter() - started)


def measure(key: str, epochs: int, samples: int) -> dict:
    """{"needed_s", "fit_s", "work_ms" (2, SLOTS), "wait_ms" (2, SLOTS), "meetings",
    "weights"}: the epochs' medians, and the weights after the last epoch."""
    work = workloads.build(key, samples=samples)
    ours = minibp_engines.prepare(work, engine=None)
    needed = gemm_bound.prepare(work, first_layer_dA=False)
    found, blocks = [], blas_compiled.Steps._blocks

    def recorded_blocks(self, session, interrupt, train, stop):
        self.result[4:] = 0.0  # an epoch's run: every block of it adds into the slots
        outcome = blocks(self, session, interrupt, train, stop)
        found.append(self.result[4:].copy())
        return outcome

    def timed(runner) -> float:
        runner.reset()
        time.sleep(0.1)
        started = time.perf_counter()
        runner.train()
        return time.perf_counter() - started

    with instrumented():
        blas_compiled.Steps._blocks = recorded_blocks
        try:
            timed(ours)
            rate, fits, products = cycles_per_second(), [], []
            found.clear()
            for _ in range(epochs):
                products.append(timed(needed))
                fits.append(timed(ours))
        finally:
            blas_compiled.Steps._blocks = blocks
    per_epoch = np.median(np.array(found), axis=0).reshape(2, 2, SLOTS) / rate * 1e3
    return {"needed_s": statistics.median(products), "fit_s": statistics.median(fits),
            "work_ms": per_epoch[:, 0], "wait_ms": per_epoch[:, 1],
            "meetings": int(np.count_nonzero(per_epoch[0, 0])), "weights": ours.weights()}


def table(found: dict) -> list[str]:
    names = THREE_LAYERS if found["meetings"] == len(THREE_LAYERS) else [
        f"phase {k}" for k in range(found["meetings"])]
    lines = [f"{'phase':26s} {'work 0':>8s} {'work 1':>8s} {'wait 0':>8s} {'wait 1':>8s}  (ms)"]
    for k, name in enumerate(names):
        values = (found["work_ms"][0, k], found["work_ms"][1, k], found["wait_ms"][0, k],
                  found["wait_ms"][1, k])
        lines.append(f"{name:26s} " + " ".join(f"{v:8.1f}" for v in values))
    totals = [found[kind][me].sum() for kind in ("work_ms", "wait_ms") for me in (0, 1)]
    lines.append(f"{'all':26s} " + " ".join(f"{v:8.1f}" for v in totals))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="W4", choices=sorted(workloads.MLP_WORKLOADS))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=workloads.FULL_SAMPLES)
    args = parser.parse_args()
    found = measure(args.workload, args.epochs, args.samples)
    print(f"{args.workload}, {args.samples} samples; {cpu_line()}")
    print(f"needed products {found['needed_s'] * 1e3:.1f} ms, minibp's fit "
          f"{found['fit_s'] * 1e3:.1f} ms ({found['fit_s'] / found['needed_s']:.3f}x); "
          "per epoch, medians:")
    print("\n".join(table(found)))


if __name__ == "__main__":
    main()
