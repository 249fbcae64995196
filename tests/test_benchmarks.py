"""The benchmark harness is fair and its arithmetic right; no timings are asserted here.

Fair: every competitor, run for a few dozen steps of each workload, ends at the weights of an
independent reference, minibp's NumPy engine (and the chapter's own numbers where it has them).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `benchmarks`

from benchmarks import analysis, competitors, harness, report, run, worker, workloads  # noqa: E402
from benchmarks.competitors import UnavailableError, minibp_engines, numba_floor  # noqa: E402

STEPS = {"W1": 50, "W2": 48}      # W2's steps come in epochs of 4 rows
CHAPTER_E_TOTAL = 0.2983711087600027             # the chapter's table, before any step
CHAPTER_E_TOTAL_AFTER_1 = 0.29102777369359933    # and after one


def reference_weights(workload) -> list[np.ndarray]:
    """minibp's NumPy engine on the workload (plain fit when this minibp has no engine=)."""
    model = workload.minibp_model()
    try:
        engine = minibp_engines.engine_keyword("numpy")
    except UnavailableError:
        engine = {}
    minibp_engines.fit(model, workload, **engine)
    return minibp_engines.model_weights(model)


@pytest.fixture(scope="module", params=sorted(STEPS))
def workload_and_reference(request):
    workload = workloads.build(request.param, STEPS[request.param])
    return workload, reference_weights(workload)


def finish(runner, runs: int = 2) -> list[np.ndarray]:
    """Train `runs` times from the initial weights; every run must end at the same place."""
    ends = []
    for _ in range(runs):
        runner.reset()
        runner.train()
        ends.append([np.array(a, copy=True) for a in runner.weights()])
    assert harness.max_abs_difference(ends[0], ends[-1]) == 0.0, "reset did not reset"
    return ends[-1]


@pytest.mark.parametrize("name", [c.name for c in competitors.COMPETITORS])
def test_competitor_ends_at_the_reference_weights(name, workload_and_reference):
    workload, expected = workload_and_reference
    if name == "torch":
        pytest.importorskip("torch")
    try:
        runner = competitors.BY_NAME[name].prepare(workload)
    except UnavailableError as error:
        pytest.skip(f"{name}: {error}")
    got = finish(runner)
    assert [a.shape for a in got] == [a.shape for a in expected]
    assert harness.max_abs_difference(got, expected) <= 1e-12


def test_uncompiled_floor_matches_too(workload_and_reference):
    """The floor's plain-Python body, which draws its order through NumPy itself."""
    workload, expected = workload_and_reference
    got = finish(numba_floor.prepare(workload, compiled=False), runs=1)
    assert harness.max_abs_difference(got, expected) <= 1e-12


def test_workloads_start_from_the_chapter_and_its_xor():
    w1, w2 = workloads.build("W1"), workloads.build("W2")
    assert w1.steps == w2.steps == 10_000 and (w1.epochs, w2.epochs) == (10_000, 2_500)
    np.testing.assert_array_equal(w1.layers[0].W, [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(w1.layers[1].W, [[0.40, 0.45], [0.50, 0.55]])
    assert [layer.train_bias for layer in w1.layers] == [False, False]
    assert [layer.train_bias for layer in w2.layers] == [True, True]
    assert not w1.shuffle and w2.shuffle and w2.seed == workloads.XOR_SEED
    assert all(((a >= 0) & (a < 1)).all() for a in w2.initial_weights())  # uniform01
    with pytest.raises(ValueError, match="multiple of 4"):
        workloads.build("W2", 10)


def test_final_loss_is_the_chapters_e_total():
    w1 = workloads.build("W1", 1)
    assert abs(analysis.final_loss(w1, w1.initial_weights()) - CHAPTER_E_TOTAL) < 1e-12
    runner = competitors.BY_NAME["chapter"].prepare(w1)
    after_one = analysis.final_loss(w1, finish(runner, runs=1))
    assert abs(after_one - CHAPTER_E_TOTAL_AFTER_1) < 1e-12


def test_summarize_on_known_numbers():
    stats = harness.summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert stats == {"median_s": 3.0, "q1_s": 2.0, "q3_s": 4.0, "min_s": 1.0, "max_s": 5.0}
    assert harness.summarize([2.0, 4.0])["median_s"] == 3.0
    assert harness.summarize([7.0])["q1_s"] == 7.0
    with pytest.raises(ValueError):
        harness.summarize([])


def test_speedup_and_round_order():
    assert harness.speedup(5.2e-6 * 10_000, 0.1e-6 * 10_000) == pytest.approx(52.0)
    assert harness.speedup(1.0, 4.0) == 0.25          # below 1: slower than the reference
    assert harness.speedup(None, 1.0) is None and harness.speedup(1.0, None) is None
    assert harness.round_order(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert harness.round_order(["a", "b", "c"], 1) == ["c", "b", "a"]


def test_max_abs_difference():
    a = [np.array([[1.0, 2.0]]), np.array([0.5])]
    assert harness.max_abs_difference(a, [np.array([[1.0, 2.5]]), np.array([0.25])]) == 0.5
    assert harness.max_abs_difference(a, a[:1]) == float("inf")
    assert harness.max_abs_difference(a, [np.zeros((2, 1)), a[1]]) == float("inf")


def test_compare_and_targets_on_synthetic_results():
    same = [np.ones(2)]
    results = {
        "chapter": {"label": "chapter", "status": "ok", "median_s": 0.052, "weights": same},
        "torch": {"label": "torch", "status": "ok", "median_s": 2.4, "weights": same},
        "minibp": {"label": "minibp", "status": "ok", "median_s": 0.001,
                   "weights": [np.ones(2) + 1e-15]},
        "minibp_numba": {"label": "numba", "status": "unavailable", "reason": "no engine="},
    }
    analysis.compare(results)
    assert results["minibp"]["speedup_vs_chapter"] == pytest.approx(52.0)
    assert results["minibp"]["speedup_vs_torch"] == pytest.approx(2400.0)
    assert results["torch"]["speedup_vs_torch"] == 1.0
    rows = analysis.targets({"W1": {"competitors": results}}, None)
    met = {row["what"]: row["met"] for row in rows}
    assert met["W1: minibp fit, default engine, times faster than chapter's pure Python"] is True
    assert met["W1: minibp fit, engine='numba', times faster than PyTorch"] is None  # unmeasured
    assert met["W1: every competitor ends at the chapter's weights"] is True


def test_replace_section():
    text = "intro\n<!-- bench:W1 -->\nold\n<!-- /bench:W1 -->\nrest\n"
    new = report.replace_section(text, "W1", "| new |")
    assert new == "intro\n<!-- bench:W1 -->\n| new |\n<!-- /bench:W1 -->\nrest\n"
    with pytest.raises(ValueError, match="bench:W2"):
        report.replace_section(text, "W2", "x")


def test_docs_have_every_marker_the_harness_writes():
    text = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()
    for name in ("machine", "W1", "W2", "startup", "targets"):
        assert f"<!-- bench:{name} -->" in text and f"<!-- /bench:{name} -->" in text


def test_harness_end_to_end_in_worker_processes(tmp_path, capsys):
    """Two cheap competitors, a few steps, in real worker processes: JSON and tables come out."""
    path = tmp_path / "result.json"
    run.main(["--workloads", "W1,W2", "--competitors", "chapter,numpy_loop", "--steps", "8",
              "--repeats", "2", "--processes", "2", "--pause", "0", "--min-sample", "0",
              "--no-startup", "--json", str(path)])
    record = json.loads(path.read_text())
    for key in ("W1", "W2"):
        entry = record["workloads"][key]
        assert entry["steps"] == 8
        for result in entry["competitors"].values():
            assert result["status"] == "ok", result.get("reason")
            assert len(result["samples_s"]) == 4 and result["repeatable"]
            assert len(result["process_medians_s"]) == 2 and result["first_call_cached_s"]
            assert result["max_abs_diff_vs_chapter"] <= 1e-12
        assert entry["competitors"]["chapter"]["speedup_vs_chapter"] == 1.0
    assert "| plain NumPy loop |" in capsys.readouterr().out


class _Refuses:
    """A competitor whose training fails, as minibp's fit does with an unknown engine=."""

    label = "refuses"

    def prepare(self, workload):
        def train():
            raise TypeError("fit() got an unexpected keyword argument 'engine'")

        return competitors.Runner(lambda: None, train, lambda: [])


def test_a_failing_competitor_becomes_a_reason(monkeypatch):
    monkeypatch.setitem(competitors.BY_NAME, "refuses", _Refuses())
    state = {}
    assert worker.reply_to(("prepare", "refuses", workloads.build("W1", 1)), state)["ok"]
    reply = worker.reply_to(("time", 1), state)
    assert not reply["ok"] and reply["reason"].startswith("TypeError: fit() got an unexpected")
    result = {"label": "refuses", "status": "unavailable", "reason": reply["reason"]}
    table = report.workload_table({"key": "W1", "title": "t", "repeats": 1,
                                   "competitors": {"refuses": result}})
    assert "| refuses | unavailable: TypeError: fit() got an unexpected keyword" in table
