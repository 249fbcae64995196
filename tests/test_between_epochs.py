"""benchmarks/between_epochs.py: a fit evaluated between epochs, compiled or through NumPy's
threaded products, trains exactly the weights of the fit without evaluation.

No threshold on time: evaluation only reads the weights, so the three variants' weights
must agree bit for bit (the script checks it on every round), and fit must leave
trainer.evaluate and OpenBLAS's thread count as they were."""

from __future__ import annotations

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from openblas_count import openblas_threads  # noqa: E402

from benchmarks import between_epochs  # noqa: E402
from minibp.engines import blas_compiled, blas_engine, trainer  # noqa: E402


@pytest.mark.parametrize("metrics", [False, True])
def test_each_variant_trains_the_same_weights_and_reports_both_times(metrics):
    before, evaluate = openblas_threads(), trainer.evaluate
    found = between_epochs.measure(rounds=2, samples=700, epochs=2, metrics=metrics)
    assert trainer.evaluate is evaluate and openblas_threads() == before
    for variant in between_epochs.VARIANTS:
        assert len(found[variant]["epoch"]) == len(found[variant]["fit"]) == 2
        assert all(t > 0 for t in found[variant]["epoch"] + found[variant]["fit"])
    text = between_epochs.report(found, 2, 700, 2, metrics)
    assert "threaded evaluation" in text and "CPU:" in text


def test_the_threaded_variant_predicts_on_openopenblas_threads():
    """In fit's own evaluation the predictions are compiled, OpenBLAS at one thread; in the
    threaded variant's they are NumPy's products on the thread count from before the fit."""
    seen = {}
    real = blas_engine.predict

    def spy(*args, **kwargs):
        seen.setdefault(spy.variant, (openblas_threads(), blas_compiled.can_predict()))
        return real(*args, **kwargs)

    X, y, validation = between_epochs.data(400)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if max(openblas_threads()) != 2:
            pytest.skip("OpenBLAS cannot run two threads here")
        blas_engine.predict = spy
        try:
            for spy.variant in ("evaluated", "threaded evaluation"):
                between_epochs.fit(spy.variant, X, y, validation, 1)
        finally:
            blas_engine.predict = real
    assert seen["evaluated"] == ([1], True)
    assert seen["threaded evaluation"] == ([2], False)
