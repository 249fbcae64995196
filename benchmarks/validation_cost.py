"""What fit's validation step costs on W1 and W3, as a share of the fit it guards.

    python benchmarks/validation_cost.py [--repeats 7] [--write-docs]

The validation step is everything fit checks before its first step: the data
(minibp.errors.check_training_data: a 2-D array of real numbers, finite, rows agreeing)
and minibp.engines.resolve (the engine, every parameter's shape, dtype, layout and
finiteness, X's width and dtype). It is timed alone, called as fit calls it, and set
beside a whole fit of the same model and data on the default engine: W1 (the chapter's
2-2-2 network, 10,000 single-sample SGD steps) and W3 (784-256-128-10 sigmoid in float32,
one epoch of 60,000 random rows in batches of 128). One process; medians of the rounds,
after an untimed fit that compiles the kernels. The issue's target: under 5% of each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import report, standalone
from benchmarks.standalone import med, yes_no

TARGET = 0.05


def seconds(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return med(samples)


def workloads():
    """(name, make_model, X, Y, fit keywords, validation rounds) of W1 and W3."""
    import minibp
    from minibp import examples

    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(60_000, 784)).astype(np.float32)
    Y3 = rng.integers(0, 10, 60_000)
    return [
        ("W1", examples.chapter_network, np.array([[0.05, 0.10]]),
         np.array([[0.01, 0.99]]), dict(loss="squared", optimizer=minibp.SGD(0.5),
                                        epochs=10_000, batch_size=1, shuffle=False), 201),
        ("W3", lambda: minibp.mlp([784, 256, 128, 10], "sigmoid", seed=0, dtype=np.float32),
         X3, Y3, dict(loss="xent", optimizer=minibp.SGD(0.05), epochs=1, batch_size=128,
                      seed=0), 7),
    ]


def measure_one(name, make, X, Y, fit: dict, rounds: int, repeats: int) -> list[str]:
    """One workload's row: validation alone, the whole fit, the share."""
    from minibp import engines
    from minibp.errors import check_training_data
    from minibp.fit_plan import loss_from, optimizer_from

    model = make()
    loss, optimizer = loss_from(fit["loss"]), optimizer_from(fit["optimizer"])
    batch = min(fit["batch_size"], len(X))

    def validate():
        Xc, _ = check_training_data(X, Y)
        engines.resolve("auto", model, Xc, loss, optimizer, rows=batch, who="fit",
                        checked=True)

    def whole_fit():
        make().fit(X, Y, verbose=0, **fit)

    whole_fit()  # compiles, or loads the kernels from the cache
    checks, total = seconds(validate, rounds), seconds(whole_fit, repeats)
    standalone.log(f"{name}: validation {checks * 1e3:.3f} ms of {total * 1e3:.1f} ms")
    share = checks / total
    return [name, report.ms(checks), report.ms(total), f"{100 * share:.2f}%",
            yes_no(share < TARGET)]


def measure(repeats: int) -> list[list[str]]:
    return [measure_one(name, make, X, Y, fit, rounds, repeats)
            for name, make, X, Y, fit, rounds in workloads()]


def main(argv=None) -> int:
    args = standalone.parse(__doc__.split("\n")[0], "benchmarks/validation_cost.py", 7,
                            argv)
    run = standalone.Run(args.command)
    rows = measure(args.repeats)
    body = "\n\n".join([run.machine_text(), report.table(
        ["workload", "validation (ms)", "whole fit (ms)", "share", "under 5%"], rows)])
    run.finish("validation-cost", body, args.write_docs, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
