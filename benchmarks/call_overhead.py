"""The fixed cost of minibp's entry points, per call, on the chapter's network.

    python benchmarks/call_overhead.py              # one process: prints a JSON line
    PYTHONPATH=/path/to/other/checkout python benchmarks/call_overhead.py

Times 2,000 calls each of fit(epochs=1) (one step), predict, train_step and gradients on
the chapter's 2-2-2 network (numba engine after a warm-up, float64), and W1 and W2 as one
fit each (median of 15). To compare two versions, run this alternately in processes of each
(PYTHONPATH pointing at each checkout) and take medians: the per-process speed of the
compiled loop varies (docs/benchmarks.md, "Reading the figures with care").
"""

from __future__ import annotations

import json
import statistics
import time

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

    return {
        "fit_1_epoch_us": 1e6 * per_call(lambda: model.fit(
            X, Y, loss=loss, optimizer=sgd, epochs=1, batch_size=1, shuffle=False), CALLS),
        "predict_us": 1e6 * per_call(lambda: model.predict(X), CALLS),
        "train_step_us": 1e6 * per_call(lambda: model.train_step(X, Y, loss, sgd), CALLS),
        "gradients_us": 1e6 * per_call(lambda: model.gradients(X, Y, loss), CALLS),
        "W1_ms": 1e3 * statistics.median(per_call(w1, 1) for _ in range(REPEATS)),
        "W2_ms": 1e3 * statistics.median(per_call(w2, 1) for _ in range(REPEATS)),
    }


if __name__ == "__main__":
    print(json.dumps(measure()))
