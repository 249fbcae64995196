"""benchmarks/between_epochs.py: a fit with validation data, evaluated on one BLAS thread
or on OpenBLAS's own threads, trains exactly the weights of the fit without it.

No threshold on time: evaluation only reads the weights, so the three variants' weights
must agree bit for bit (the script checks it on every round), and fit must leave
trainer.evaluate and OpenBLAS's thread count as they were."""

from __future__ import annotations

import os

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from benchmarks import between_epochs  # noqa: E402
from minibp.engines import blas_library, trainer  # noqa: E402


def blas_threads() -> list[int]:
    """NumPy's OpenBLAS's thread count (other BLAS libraries the process loaded left out)."""
    ours = {os.path.realpath(path) for path in blas_library.library_paths()}
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if os.path.realpath(pool["filepath"]) in ours]


def test_each_variant_trains_the_same_weights_and_reports_both_times():
    before, evaluate = blas_threads(), trainer.evaluate
    found = between_epochs.measure(rounds=2, samples=700, epochs=2)
    assert trainer.evaluate is evaluate and blas_threads() == before
    for variant in between_epochs.VARIANTS:
        assert len(found[variant]["epoch"]) == len(found[variant]["fit"]) == 2
        assert all(t > 0 for t in found[variant]["epoch"] + found[variant]["fit"])
    text = between_epochs.report(found, 2, 700, 2)
    assert "threaded evaluation" in text and "CPU:" in text


def test_the_threaded_variant_gives_the_evaluation_openblas_threads():
    """Inside the threaded variant's evaluation the count is the one from before the fit;
    in fit's own evaluation it is 1 (the compiled steps hold it)."""
    seen = {}
    real = trainer.evaluate

    def spy(*args, **kwargs):
        seen.setdefault(spy.variant, blas_threads())
        return real(*args, **kwargs)

    X, y, validation = between_epochs.data(400)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if max(blas_threads()) != 2:
            pytest.skip("OpenBLAS cannot run two threads here")
        trainer.evaluate = spy
        try:
            for spy.variant in ("validation", "threaded evaluation"):
                between_epochs.fit(spy.variant, X, y, validation, 1)
        finally:
            trainer.evaluate = real
    assert max(seen["validation"]) == 1
    assert max(seen["threaded evaluation"]) == 2
