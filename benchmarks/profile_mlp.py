"""Where one W3/W4 epoch of minibp's BLAS engine (what engine="auto" picks there) spends
its time, beside the GEMM-only bound measured in the same process.

    python benchmarks/profile_mlp.py [--workloads W3,W4] [--epochs 3] [--write-docs]

Times every call the engine makes to np.matmul (by role: forward X @ W.T, backward
dZ.T @ A and dZ @ W), np.exp and each compiled kernel of minibp.engines.kernels (fused
and updates), plus fit's checks of the data and its target preparation, by wrapping them
for the run (a wrapper
costs about a microsecond a call, some 5,000 calls an epoch). What is left of fit's time is
Python: loops, views, the divergence guard's tests. Medians over --epochs epochs, after an
untimed one that compiles. One process, BLAS's threads as NumPy sets them; like every
figure, compare within a run. --write-docs puts the tables in docs/benchmarks.md between
<!-- bench:mlp-profile --> markers.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import report, workloads
from benchmarks.competitors import gemm_bound, minibp_engines


class Clock:
    """Seconds and calls per phase name, summed over the wrapped calls of one epoch."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)

    def wrap(self, function, name_of):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                name = name_of(args)
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


class TimedNumPy:
    """numpy for blas_engine, with matmul and exp timed; everything else passed through."""

    def __init__(self, clock: Clock):
        self.matmul = clock.wrap(np.matmul, _matmul_role)
        self.exp = clock.wrap(np.exp, lambda args: "np.exp (sigmoid)")

    def __getattr__(self, name):
        return getattr(np, name)


def _matmul_role(args) -> str:
    caller = sys._getframe(2).f_code.co_name       # this <- timed <- the engine function
    if caller in ("forward", "_forward"):
        return "matmul X @ W.T (forward)"
    if not args[0].flags.c_contiguous:              # a transposed dZ: the weight gradient
        return "matmul dZ.T @ A (dW)"
    return "matmul dZ @ W (dA)"


# Every kernel the BLAS engine has called, by module, old and new (a name missing is skipped).
KERNELS = {"fused": ("gather_rows", "bias_and_exp_argument", "sigmoid_from_exp",
                     "bias_activation", "loss_backward", "activation_backward"),
           "step": ("gather_batch", "sigmoid_of_exp", "add_bias_activate",
                    "derivative_and_bias_gradient"),
           "updates": ("sum_of_squares", "l2_penalty", "sgd_update", "adam_update")}


class Instrumented:
    """Inside ``with``: blas_engine's numpy, its kernels and fit's data checks timed."""

    def __init__(self, clock: Clock):
        from minibp import model
        from minibp.engines import blas_engine

        self.patches = [(blas_engine, "np", TimedNumPy(clock))]
        for module_name, names in KERNELS.items():
            try:
                module = importlib.import_module(f"minibp.engines.kernels.{module_name}")
            except ImportError:                     # an older minibp: not there
                continue
            for name in names:
                kernel = getattr(module, name, None)
                if kernel is None:                  # an older or newer minibp: not there
                    continue
                self.patches.append((module, name, clock.wrap(kernel, _kernel_name(name))))
        self.patches += [
            (model, "check_training_data",
             clock.wrap(model.check_training_data, lambda args: "fit's checks of X, y")),
        ]
        sources = "batch_sources" if hasattr(blas_engine, "batch_sources") else "training_arrays"
        self.patches.append((blas_engine, sources, clock.wrap(
            getattr(blas_engine, sources), lambda args: "X, y to arrays (one-hot)")))
        self.saved = []

    def __enter__(self):
        self.saved = [(owner, name, getattr(owner, name)) for owner, name, _ in self.patches]
        for owner, name, replacement in self.patches:
            setattr(owner, name, replacement)
        return self

    def __exit__(self, *exc):
        for owner, name, original in self.saved:
            setattr(owner, name, original)


def _kernel_name(name: str):
    return lambda args: f"kernel {name}"


def profile_epochs(workload, epochs: int) -> dict:
    """Median seconds per phase of minibp's epoch, of its whole epoch, and of the two
    GEMM-only references (the issue's bound and the products a step needs)."""
    runner = minibp_engines.prepare(workload, "blas")
    references = {"bound": gemm_bound.prepare(workload),
                  "needed": gemm_bound.prepare(workload, first_layer_dA=False)}
    runner.reset()
    runner.train()                                  # compiles (or loads) the kernels
    times = defaultdict(list)
    calls = {}
    for _ in range(epochs):
        clock = Clock()
        runner.reset()
        with Instrumented(clock):
            times["epoch"].append(_seconds(runner.train))
        for name, seconds in clock.seconds.items():
            times[name].append(seconds)
        calls = dict(clock.calls)
        for name, reference in references.items():
            times[name].append(_seconds(reference.train))
    medians = {name: statistics.median(s) for name, s in times.items()}
    return {"epoch_s": medians.pop("epoch"), "bound_s": medians.pop("bound"),
            "needed_s": medians.pop("needed"), "phases": medians, "calls": calls,
            "epochs": epochs}


def _seconds(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def profile_table(workload, found: dict) -> str:
    """Phases, largest first, with calls per epoch, seconds and share of the epoch."""
    epoch = found["epoch_s"]
    phases = sorted(found["phases"].items(), key=lambda item: -item[1])
    rest = epoch - sum(seconds for _, seconds in phases)
    rows = [[name, f"{found['calls'].get(name, 0):,}", report.secs(seconds),
             f"{seconds / epoch:.1%}"] for name, seconds in phases]
    rows.append(["the rest: Python in fit and the engine", "-", report.secs(rest),
                 f"{rest / epoch:.1%}"])
    rows.append(["**whole fit, instrumented**", "-", report.secs(epoch), "100%"])
    for label, key in (("GEMM-only bound (the issue's products), same process", "bound_s"),
                       ("GEMM-only, the products a step needs, same process", "needed_s")):
        rows.append([label, "-", report.secs(found[key]), f"{found[key] / epoch:.1%}"])
    products = sum(s for name, s in found["phases"].items() if name.startswith("matmul"))
    note = (f"{workload.key}: minibp fit, engine='blas' ({workload.dtype}, {workload.samples:,} "
            f"samples); median of {found['epochs']} epochs per phase. minibp's products took "
            f"{report.secs(products)} s, the same products alone "
            f"{report.secs(found['needed_s'])} s; everything else took "
            f"{report.secs(epoch - products)} s, {(epoch - products) / found['bound_s']:.2f}x "
            "the issue's bound.")
    return report.table(["phase", "calls per epoch", "seconds", "share of the epoch"],
                        rows) + "\n\n" + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/profile_mlp.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="W3,W4")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=workloads.FULL_SAMPLES)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    tables = []
    for key in args.workloads.split(","):
        workload = workloads.build(key.strip(), samples=args.samples)
        tables.append(profile_table(workload, profile_epochs(workload, args.epochs)))
    command = "python benchmarks/profile_mlp.py " + " ".join(sys.argv[1:] if argv is None
                                                              else argv)
    text = f"Command: `{command.strip()}`, {time.strftime('%Y-%m-%d')}\n\n" + "\n\n".join(tables)
    print(text)
    if args.write_docs:
        from benchmarks import run

        run.write_docs({"mlp-profile": text})
    return 0


if __name__ == "__main__":
    sys.exit(main())
