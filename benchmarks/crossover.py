"""Where the whole-run compiled loop stops paying: the numba, blas and numpy engines for one
epoch of fit, across model widths and batch sizes.

Prints the multiply-adds of one step's forward (batch x sum of in*out) and each engine's
median time (paired, alternating repeats) relative to the fastest. "auto" picks numba below
the crossover and blas above it; minibp.engines.AUTO_NUMBA_MAX_MACS holds the threshold,
and docs/performance.md records the figures.

    python benchmarks/crossover.py
    python benchmarks/crossover.py --near   # a finer grid around the threshold
"""

import argparse
import statistics
import time

import numpy as np

import minibp
from minibp.engines import macs_per_step

SAMPLES, REPEATS = 2048, 5
ENGINES = ("numba", "blas", "numpy")
GRID = {  # sizes: batches
    "wide": {(16, 8, 4): (1, 8, 32, 128), (64, 32, 10): (1, 8, 32, 128),
             (64, 128, 10): (1, 8, 32, 128), (256, 128, 10): (1, 8, 32, 128),
             (784, 256, 10): (1, 8, 32, 128)},
    "near": {(16, 8, 4): (1, 4, 16, 32, 64), (16, 32, 4): (1, 4, 8, 16),
             (32, 16, 10): (1, 4, 8), (32, 32, 10): (1, 2, 4), (64, 32, 10): (1, 2),
             (8, 64, 64, 2): (1, 2, 4), (4, 16, 16, 16, 2): (1, 4, 8, 16),
             (2, 2, 2): (1, 128), (2, 5, 2): (1, 4)},
}


def one_epoch(model, X, Y, batch, engine):
    started = time.perf_counter()
    model.fit(X, Y, loss=minibp.SoftmaxCrossEntropy(), optimizer=minibp.SGD(0.01), epochs=1,
              batch_size=batch, seed=0, engine=engine)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--near", action="store_true",
                        help="a finer grid of small models around the threshold")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated, of " + ", ".join(ENGINES))
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    rng = np.random.default_rng(0)
    minibp.warmup(("float64",))
    print(f"{'sizes':<18}{'batch':>6}{'MACs/step':>12}" + "".join(f"{e:>9}" for e in engines)
          + "   (time / fastest)")
    for sizes, batches in GRID["near" if args.near else "wide"].items():
        sizes = list(sizes)
        X = rng.normal(size=(SAMPLES, sizes[0]))
        Y = rng.integers(0, sizes[-1], size=SAMPLES)
        for batch in batches:
            model = minibp.mlp(sizes, "sigmoid", seed=0)
            times = {engine: [] for engine in engines}
            for _ in range(REPEATS):
                for engine in times:
                    times[engine].append(one_epoch(model, X, Y, batch, engine))
            medians = {e: statistics.median(t) for e, t in times.items()}
            best = min(medians.values())
            print(f"{str(sizes):<18}{batch:>6}{macs_per_step(model, batch):>12,}"
                  + "".join(f"{medians[e] / best:>9.2f}" for e in engines))


if __name__ == "__main__":
    main()
