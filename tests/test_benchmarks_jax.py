"""The JAX competitors (benchmarks/competitors/jax_sgd.py) are fair: on short runs of each
workload they end at the weights of an independent reference already in the benchmarks, the
chapter's pure Python for W1/W2 and plain NumPy for W3/W4, to the harness's own tolerance;
they compile in their first call only; and "vs JAX" reaches the W1/W2 tables. With momentum
SGD and Adam (jax_loop_momentum, jax_loop_adam, and jax_step given the optimizer) they end at
PyTorch's weights with that optimizer, or without PyTorch at the hand-written floor's (its
plain-Python body), which tests/test_benchmarks.py holds to PyTorch's and to its own reference.
The tests that run JAX skip when it is not installed (it is in the test extra).
"""

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `benchmarks`

from benchmarks import (  # noqa: E402
    adam_analysis,
    analysis,
    competitors,
    harness,
    report,
    workloads,
)
from benchmarks.competitors import (  # noqa: E402
    UnavailableError,
    chapter_pure,
    jax_sgd,
    numba_floor,
    numpy_mlp,
)

STEPS = {"W1": 200, "W2": 200}    # W2: 50 shuffled epochs of 4
SAMPLES = 500                     # W3/W4: 3 batches of 128 and a short one of 116
NAMES = ("jax_step", "jax_loop")
# W3/W4 after 4 steps, relative: within the harness's tolerance (MLP_AGREEMENT, set for a
# whole epoch: 1e-3 in float32) and within these, which the 4 steps' moves (4e-3 of the first
# layer's W, relative) dwarf, so a wrong step shows. Measured: 3e-7 and 7e-16.
STEP_TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


def build(key: str):
    if key in STEPS:
        return workloads.build(key, steps=STEPS[key])
    return workloads.build(key, samples=SAMPLES)


@functools.cache
def reference(key: str) -> tuple:
    """(workload, final weights) from the independent reference of the workload."""
    workload = build(key)
    runner = (chapter_pure if workload.group == "chapter" else numpy_mlp).prepare(workload)
    runner.reset()
    runner.train()
    return workload, runner.weights()


def finish(runner, runs: int = 2) -> list[np.ndarray]:
    """Train `runs` times from the initial weights: every run must end at the same place,
    as the harness requires of every run in every process."""
    ends = []
    for _ in range(runs):
        runner.reset()
        runner.train()
        ends.append(runner.weights())
    assert all(isinstance(a, np.ndarray) for a in ends[-1])
    assert harness.max_abs_difference(ends[0], ends[-1]) == 0.0, "reset did not reset"
    return ends[-1]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", sorted(STEPS))
def test_jax_on_the_chapters_workloads_ends_at_the_chapters_weights(jax, key, name):
    workload, expected = reference(key)
    got = finish(competitors.BY_NAME[name].prepare(workload))
    assert [(a.shape, a.dtype) for a in got] == [(a.shape, a.dtype) for a in expected]
    assert harness.max_abs_difference(got, expected) <= analysis.AGREEMENT
    start = workload.initial_weights()
    assert harness.max_abs_difference(got, start) > 1e-3, "the weights hardly moved"
    for layer, b in zip(workload.layers, got[1::2]):
        assert (harness.max_abs_difference([b], [layer.b]) == 0.0) == (not layer.train_bias)


@functools.cache
def optimizer_reference(key: str, optimizer: str) -> tuple:
    """(workload, final weights) with momentum SGD or Adam: PyTorch's when it is installed,
    else the hand-written floor's plain-Python body."""
    workload = build(key)
    try:
        import torch  # noqa: F401
    except ImportError:
        runner = numba_floor.prepare(workload, compiled=False, optimizer=optimizer)
    else:
        runner = competitors.BY_NAME[competitors.REFERENCES[optimizer]].prepare(workload)
    runner.reset()
    runner.train()
    return workload, runner.weights()


@pytest.mark.parametrize("mode", jax_sgd.MODES)
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("key", sorted(STEPS))
def test_jax_with_momentum_and_adam_ends_at_the_references_weights(jax, key, optimizer, mode):
    """jax_loop_momentum and jax_loop_adam (mode "loop"), and jax_step given the optimizer."""
    workload, expected = optimizer_reference(key, optimizer)
    if mode == "loop":
        competitor = competitors.BY_NAME[f"jax_loop_{optimizer}"]
        assert (competitor.optimizer, competitor.sgd_twin) == (optimizer, "jax_loop")
        runner = competitor.prepare(workload)
    else:
        runner = jax_sgd.prepare(workload, mode=mode, optimizer=optimizer)
    got = finish(runner)                # twice: the optimizer's state starts afresh too
    assert [(a.shape, a.dtype) for a in got] == [(a.shape, a.dtype) for a in expected]
    assert analysis.max_rel_difference(got, expected) <= adam_analysis.AGREEMENT
    trained = [flag for layer in workload.layers for flag in (True, layer.train_bias)]
    for start, end, learns in zip(workload.initial_weights(), got, trained):
        moved = analysis.max_rel_difference([start], [end])
        assert moved > 1e-3 if learns else moved == 0.0


def test_jax_optimizers_are_refused_where_they_do_not_run(jax):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        jax_sgd.prepare(workloads.build("W1", steps=4), optimizer="rmsprop")
    with pytest.raises(ValueError, match="W3/W4 run SGD only"):
        jax_sgd.prepare(workloads.build("W3", samples=SAMPLES), mode="loop", optimizer="adam")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", sorted(workloads.MLP_WORKLOADS))
def test_jax_on_the_mlp_ends_at_plain_numpys_weights(jax, key, name):
    workload, expected = reference(key)
    got = finish(competitors.BY_NAME[name].prepare(workload))
    assert [(a.shape, a.dtype) for a in got] == [(a.shape, a.dtype) for a in expected]
    assert got[0].dtype == np.dtype(workload.dtype)          # W3 stays float32 under x64
    tolerance = STEP_TOLERANCE[workload.dtype]
    assert tolerance <= analysis.MLP_AGREEMENT[workload.dtype]
    assert analysis.max_rel_difference(got, expected) <= tolerance
    moved = min(analysis.max_rel_difference([a], [b])
                for a, b in zip(workload.initial_weights(), got))
    assert moved > 100 * tolerance, "the weights hardly moved: a wrong step would pass"


def test_float64_is_on(jax):
    assert jax.config.jax_enable_x64
    assert jax.numpy.asarray(np.ones(2)).dtype == np.float64


@pytest.mark.parametrize("mode", jax_sgd.MODES)
@pytest.mark.parametrize("key,loss,optimizer", [("W2", "squared_error", "sgd"),
                                                ("W2", "squared_error", "adam"),
                                                ("W3", "cross_entropy", "sgd")])
def test_only_the_first_train_call_traces(jax, monkeypatch, key, mode, loss, optimizer):
    """jit traces (and compiles) in the first train(); later calls, which the harness times,
    reuse it. W3 traces its step twice: the full batches and the short last one."""
    traced = []
    original = getattr(jax_sgd, loss)

    def counting(*args):
        traced.append(1)
        return original(*args)

    monkeypatch.setattr(jax_sgd, loss, counting)
    runner = jax_sgd.prepare(build(key), mode=mode, optimizer=optimizer)
    runner.reset()
    runner.train()
    first = len(traced)
    assert first == (2 if key == "W3" else 1)
    for _ in range(2):
        runner.reset()
        runner.train()
    assert len(traced) == first


def test_both_run_every_workload_and_say_so_when_jax_is_missing(monkeypatch):
    for name, label in (("jax_step", "JAX jit step + Python loop"),
                        ("jax_loop", "JAX whole run (lax.fori_loop)")):
        competitor = competitors.BY_NAME[name]
        assert competitor.workloads == competitors.ALL and competitor.label == label
        assert competitor.module == "jax_sgd" and competitor.optimizer == "sgd"
    assert competitors.JAX == "jax_step"
    monkeypatch.setattr(jax_sgd, "jax", None)
    for name in NAMES:
        with pytest.raises(UnavailableError, match="jax is not installed"):
            competitors.BY_NAME[name].prepare(workloads.build("W1", steps=4))
    with pytest.raises(ValueError, match="mode"):
        jax_sgd.prepare(workloads.build("W1", steps=4), mode="scan")


def test_vs_jax_ratio_and_column():
    same = [np.ones(2)]
    results = {
        "chapter": {"label": "chapter", "status": "ok", "median_s": 0.12, "weights": same},
        "jax_step": {"label": "JAX step", "status": "ok", "median_s": 0.15, "weights": same},
        "minibp": {"label": "minibp", "status": "ok", "median_s": 0.005, "weights": same},
    }
    analysis.compare(results)
    assert results["jax_step"]["speedup_vs_jax"] == 1.0
    assert results["minibp"]["speedup_vs_jax"] == pytest.approx(30.0)
    assert results["minibp"]["speedup_vs_torch"] is None          # PyTorch did not run
    for result in results.values():
        result.update(first_call_s=0.3, first_call_cached_s=None, q1_s=result["median_s"],
                      q3_s=result["median_s"], process_medians_s=[result["median_s"]],
                      us_per_step=1.0, repeatable=True)
    text = report.workload_table({"key": "W1", "title": "t", "repeats": 1, "processes": 1,
                                  "competitors": results})
    header, _, *rows = text.split("\n\n")[0].splitlines()
    column = [c.strip() for c in header.split("|")].index("vs JAX")
    assert [[c.strip() for c in row.split("|")][column] for row in rows] == ["1.2x", "1.0x",
                                                                           "30.0x"]
