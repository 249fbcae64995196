"""benchmarks/floor_ratio.py: minibp's fit and the floor timed in turns in one process.

What can be checked without a threshold on time: each round holds one median of each
side, the ratio is minibp's over the floor's of the same round, and every timed run starts
from the initial weights (reset before each train). That both runners end at the chapter's
weights is test_benchmarks.py's."""

from __future__ import annotations

import pytest

from benchmarks import floor_ratio
from minibp.engines import numba_engine


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_each_round_pairs_a_median_of_each_side(optimizer):
    found = floor_ratio.measure("W1", optimizer, rounds=2, runs=1)
    assert set(found) == {"floor", "minibp", "ratio", "compiled"}
    assert all(len(values) == 2 for values in found.values())
    for f, m, r, c in zip(found["floor"], found["minibp"], found["ratio"], found["compiled"]):
        assert f > 0 and m > 0
        assert r == pytest.approx(m / f, rel=1e-12)
        assert 0 < c < m  # the compiled call is part of the fit
    assert numba_engine.Session._train.__name__ == "_train"  # unwrapped again


def test_the_timed_runs_train_from_the_initial_weights():
    times = []

    class Runner:
        def __init__(self):
            self.weights = None

        def reset(self):
            self.weights = 0

        def train(self):
            assert self.weights == 0, "train ran without reset"
            self.weights += 1
            times.append(self.weights)

    assert floor_ratio.median_seconds(Runner(), 5) >= 0
    assert times == [1] * 5
