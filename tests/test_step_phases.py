"""benchmarks/step_phases.py: the BLAS engine's compiled steps timed phase by phase.

What can be checked without a threshold on time: the timed text times every meeting of the
driver and nothing else, the timed driver trains to the very weights of the real one (the
timers only read a counter), every phase of a three-layer model is found, and blas_compiled
is put back as it was."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from benchmarks import step_phases
from benchmarks.competitors import minibp_engines
from benchmarks.workloads import build
from minibp.engines import blas_compiled, blas_library

pytestmark = pytest.mark.skipif(blas_library.register() is not None,
                                reason="NumPy's OpenBLAS is not callable from compiled code")


def test_the_timed_text_times_each_meeting_of_the_driver_once():
    source = blas_compiled.source()
    driver = source[source.rindex("def train_steps("):]
    timed = step_phases.timed_source(source)
    ast.parse(timed)  # still Python
    meetings = driver.count("met = meet(sync, threads, met)")  # 14 a step at depth 3,
    assert meetings > 0  # some inside the loops over layers
    assert timed.count("t_in = cycles()") == meetings
    assert timed.count("def cycles(") == 1
    assert timed.index("def cycles(") < timed.index("def train_steps(")
    assert timed.replace(step_phases.CYCLES, "").count("cycles()") == 2 * meetings + 1


def test_a_timed_epoch_trains_as_the_real_one_and_names_every_phase():
    found = step_phases.measure("W4", epochs=1, samples=1_024)
    assert blas_compiled.source.__name__ == "source"  # put back
    real = minibp_engines.prepare(build("W4", samples=1_024), engine=None)
    real.reset()
    real.train()
    for timed, plain in zip(found["weights"], real.weights()):
        np.testing.assert_array_equal(timed, plain)
    assert found["meetings"] == len(step_phases.THREE_LAYERS)
    assert (found["work_ms"] >= 0).all() and (found["wait_ms"] >= 0).all()
    assert found["work_ms"].sum() > 0
    lines = step_phases.table(found)
    assert lines[1].startswith("gather") and lines[-1].startswith("all")
