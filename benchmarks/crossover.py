"""Where the whole-run compiled loop stops paying: the numba, blas and numpy engines for one
epoch of fit, across model widths and batch sizes.

Prints the multiply-adds of one step's forward (batch x sum of in*out) and each engine's
median time (paired, alternating repeats) relative to the fastest. "auto" picks numba below
the crossover and blas above it; minibp.engines.AUTO_NUMBA_MAX_MACS holds the threshold,
and docs/performance.md records the figures.

    python benchmarks/crossover.py
"""

import statistics
import time

import numpy as np

import minibp
from minibp.engines import macs_per_step

SAMPLES, REPEATS = 2048, 5
ENGINES = ("numba", "blas", "numpy")


def one_epoch(model, X, Y, batch, engine):
    started = time.perf_counter()
    model.fit(X, Y, loss=minibp.SoftmaxCrossEntropy(), optimizer=minibp.SGD(0.01), epochs=1,
              batch_size=batch, seed=0, engine=engine)
    return time.perf_counter() - started


def main():
    rng = np.random.default_rng(0)
    minibp.warmup(("float64",))
    print(f"{'sizes':<18}{'batch':>6}{'MACs/step':>12}" + "".join(f"{e:>9}" for e in ENGINES)
          + "   (time / fastest)")
    for sizes in ([16, 8, 4], [64, 32, 10], [64, 128, 10], [256, 128, 10], [784, 256, 10]):
        X = rng.normal(size=(SAMPLES, sizes[0]))
        Y = rng.integers(0, sizes[-1], size=SAMPLES)
        for batch in (1, 8, 32, 128):
            model = minibp.mlp(sizes, "sigmoid", seed=0)
            times = {engine: [] for engine in ENGINES}
            for _ in range(REPEATS):
                for engine in times:
                    times[engine].append(one_epoch(model, X, Y, batch, engine))
            medians = {e: statistics.median(t) for e, t in times.items()}
            best = min(medians.values())
            print(f"{str(sizes):<18}{batch:>6}{macs_per_step(model, batch):>12,}"
                  + "".join(f"{medians[e] / best:>9.2f}" for e in ENGINES))


if __name__ == "__main__":
    main()
