"""The benchmark harness is fair and its arithmetic right; no timings are asserted here.

Fair: every competitor, run for a few dozen steps of each workload, ends at the weights of an
independent reference, minibp's NumPy engine (and the chapter's own numbers where it has them);
every Adam (momentum SGD) competitor at PyTorch's Adam's (momentum SGD's), or without PyTorch
at those of reference_training, written here. W3/W4 run on 500 samples: 4 steps, the last one
short, as the full epoch's is.
"""

import functools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `benchmarks`

from benchmarks import (  # noqa: E402
    adam_analysis,
    adam_report,
    analysis,
    competitors,
    harness,
    measures,
    plot,
    records,
    report,
    run,
    worker,
    workloads,
)
from benchmarks.competitors import (  # noqa: E402
    UnavailableError,
    gemm_bound,
    minibp_engines,
    numba_floor,
    torch_mlp,
    torch_sgd,
)

STEPS = {"W1": 50, "W2": 48}      # W2's steps come in epochs of 4 rows
MLP_SAMPLES = 500                 # 3 batches of 128 and one of 116
# Relative, after 4 steps: measured 3e-7 in float32 and 6e-16 in float64, while the first
# layer's weights move by 4e-3 (relative) and the biases from zero: a wrong step shows.
MLP_TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
# Adam against PyTorch's Adam, relative. W1/W2 in float64: measured 1e-15 after 50 steps (and
# 2e-14 after 10,000). W3 after 4 steps: measured 7e-5 in float32 (the first layer's W: Adam
# divides by sqrt(v), so a gradient near zero that float32 rounds differently moves its weight
# by up to lr) and 2e-13 in float64; the weights move by at least 2e-2.
ADAM_TOLERANCE = {"float64": 1e-10}
ADAM_MLP_TOLERANCE = {"float32": 1e-3, "float64": 1e-10}
CHAPTER_E_TOTAL = 0.2983711087600027             # the chapter's table, before any step
CHAPTER_E_TOTAL_AFTER_1 = 0.29102777369359933    # and after one
ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "benchmarks" / "results").glob("*.json"))


def reference_weights(workload) -> list[np.ndarray]:
    """minibp's NumPy engine on the workload (plain fit when this minibp has no engine=)."""
    model = workload.minibp_model()
    try:
        engine = minibp_engines.engine_keyword("numpy")
    except UnavailableError:
        engine = {}
    minibp_engines.fit(model, workload, **engine)
    return minibp_engines.model_weights(model)


@functools.cache
def workload_and_reference(key: str):
    if key in STEPS:
        workload = workloads.build(key, STEPS[key])
    else:
        workload = workloads.build(key, samples=MLP_SAMPLES)
    return workload, reference_weights(workload)


def pairs(keys, optimizer: str = "sgd") -> list[tuple[str, str]]:
    """(workload, competitor) for every competitor with this optimizer that runs each one."""
    return [(key, c.name) for key in keys for c in competitors.COMPETITORS
            if key in c.workloads and c.optimizer == optimizer]


def prepared(name: str, workload):
    if name.startswith("torch"):
        pytest.importorskip("torch")
    try:
        return competitors.BY_NAME[name].prepare(workload)
    except UnavailableError as error:
        pytest.skip(f"{name}: {error}")


def finish(runner, runs: int = 2) -> list[np.ndarray]:
    """Train `runs` times from the initial weights; every run must end at the same place."""
    ends = []
    for _ in range(runs):
        runner.reset()
        runner.train()
        ends.append([np.array(a, copy=True) for a in runner.weights()])
    assert harness.max_abs_difference(ends[0], ends[-1]) == 0.0, "reset did not reset"
    return ends[-1]


@pytest.mark.parametrize("key,name", pairs(STEPS))
def test_competitor_ends_at_the_reference_weights(key, name):
    workload, expected = workload_and_reference(key)
    got = finish(prepared(name, workload))
    assert [a.shape for a in got] == [a.shape for a in expected]
    assert harness.max_abs_difference(got, expected) <= 1e-12


@pytest.mark.parametrize("optimizer", numba_floor.OPTIMIZERS)
@pytest.mark.parametrize("key", sorted(STEPS))
def test_uncompiled_floor_matches_too(key, optimizer):
    """The floor's plain-Python body, which draws its order through NumPy itself."""
    workload, expected = workload_and_reference(key)
    got = finish(numba_floor.prepare(workload, compiled=False, optimizer=optimizer), runs=1)
    if optimizer == "sgd":
        assert harness.max_abs_difference(got, expected) <= 1e-12
    else:
        assert_adam_matches(workload, got, optimizer_reference(key, optimizer),
                            ADAM_TOLERANCE["float64"])


@pytest.mark.parametrize("key,name", [p for p in pairs(workloads.MLP_WORKLOADS)
                                      if not p[1].startswith("gemm")])
def test_mlp_competitor_ends_at_the_reference_weights(key, name):
    workload, expected = workload_and_reference(key)
    got = finish(prepared(name, workload))
    assert [(a.shape, a.dtype) for a in got] == [(a.shape, a.dtype) for a in expected]
    tolerance = MLP_TOLERANCE[workload.dtype]
    assert analysis.max_rel_difference(got, expected) <= tolerance
    moved = min(analysis.max_rel_difference([a], [b])
                for a, b in zip(workload.initial_weights(), got))
    assert moved > 100 * tolerance, "the weights hardly moved: a wrong step would pass"


@functools.cache
def torch_adam_weights(key: str) -> list[np.ndarray]:
    """PyTorch's Adam on the test-sized workload: the reference of every Adam competitor."""
    workload = workload_and_reference(key)[0]
    name = "torch_mlp_adam" if workload.group == "mlp" else "torch_adam"
    return finish(prepared(name, workload))


def finish_adam(runner) -> list[np.ndarray]:
    """finish(), or a skip when the engine refuses Adam (the compiled engines, until they
    run it: fit raises ValueError "engine=... cannot run this")."""
    try:
        return finish(runner)
    except ValueError as error:
        if "cannot run this" not in str(error):
            raise
        pytest.skip(f"this engine does not run Adam yet: {error}")


def assert_adam_matches(workload, got, expected, tolerance) -> None:
    """got within tolerance of expected (relative), each trained array moved far more than
    that from the start (a wrong step would show), each frozen one not at all."""
    assert [(a.shape, a.dtype) for a in got] == [(a.shape, a.dtype) for a in expected]
    assert analysis.max_rel_difference(got, expected) <= tolerance
    trained = [flag for layer in workload.layers for flag in (True, layer.train_bias)]
    for start, end, learns in zip(workload.initial_weights(), got, trained):
        moved = analysis.max_rel_difference([start], [end])
        assert moved > 10 * tolerance if learns else moved == 0.0


BETA1, BETA2, EPS = 0.9, 0.999, 1e-8           # torch.optim.Adam's defaults


def reference_training(workload, optimizer: str) -> list[np.ndarray]:
    """W1/W2 trained with momentum SGD or Adam by code of this test's own, as the papers write
    them: the rows in the workload's order, one step each; sigmoid layers and 1/2 squared error
    forward and back by NumPy; momentum SGD as torch.optim.SGD documents it (buf = momentum *
    buf + g, from zero; p -= lr * buf), Adam as Kingma and Ba (m_hat = m / (1 - beta1**t),
    v_hat = v / (1 - beta2**t), p -= lr * m_hat / (sqrt(v_hat) + eps)). Frozen biases stay."""
    params = workload.initial_weights()
    learns = [flag for layer in workload.layers for flag in (True, layer.train_bias)]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    n, t = workload.X.shape[0], 0
    rng = np.random.default_rng(workload.seed) if workload.shuffle else None
    for _ in range(workload.epochs):
        for row in (rng.permutation(n) if workload.shuffle else range(n)):
            acts = [workload.X[row]]
            for W, b in zip(params[0::2], params[1::2]):
                acts.append(1.0 / (1.0 + np.exp(-(W @ acts[-1] + b))))
            delta = (acts[-1] - workload.Y[row]) * acts[-1] * (1.0 - acts[-1])
            grads = []
            for layer in reversed(range(len(acts) - 1)):
                grads[:0] = [np.outer(delta, acts[layer]), delta.copy()]
                delta = (params[2 * layer].T @ delta) * acts[layer] * (1.0 - acts[layer])
            t += 1
            for p, g, m, v, learn in zip(params, grads, first, second, learns):
                if not learn:
                    continue
                if optimizer == "momentum":
                    m[...] = workload.momentum * m + g
                    p -= workload.momentum_lr * m
                else:
                    m[...] = BETA1 * m + (1.0 - BETA1) * g
                    v[...] = BETA2 * v + (1.0 - BETA2) * g * g
                    m_hat, v_hat = m / (1.0 - BETA1 ** t), v / (1.0 - BETA2 ** t)
                    p -= workload.adam_lr * m_hat / (np.sqrt(v_hat) + EPS)
    return params


@functools.cache
def optimizer_reference(key: str, optimizer: str) -> list[np.ndarray]:
    """W1/W2's reference weights with momentum SGD or Adam: PyTorch's (torch_momentum,
    torch_adam) when it is installed, else reference_training's."""
    workload = workload_and_reference(key)[0]
    try:
        import torch  # noqa: F401
    except ImportError:
        return reference_training(workload, optimizer)
    return finish(prepared(competitors.REFERENCES[optimizer], workload))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("key", sorted(STEPS))
def test_reference_training_is_torchs_optimizer(key, optimizer):
    """The test's own reference against PyTorch's: either one can stand for the other."""
    pytest.importorskip("torch")
    workload = workload_and_reference(key)[0]
    assert_adam_matches(workload, reference_training(workload, optimizer),
                        optimizer_reference(key, optimizer), 1e-12)


@pytest.mark.parametrize("key,name", pairs(STEPS, "adam"))
def test_adam_competitor_ends_at_torch_adams_weights(key, name):
    pytest.importorskip("torch")
    workload = workload_and_reference(key)[0]
    got = finish_adam(prepared(name, workload))
    assert_adam_matches(workload, got, torch_adam_weights(key), ADAM_TOLERANCE["float64"])


@pytest.mark.parametrize("key,name", pairs(STEPS, "momentum") + pairs(STEPS, "adam"))
def test_momentum_and_adam_competitors_end_at_their_references_weights(key, name):
    """Also without PyTorch: then against reference_training."""
    workload = workload_and_reference(key)[0]
    optimizer = competitors.BY_NAME[name].optimizer
    got = finish_adam(prepared(name, workload))
    assert_adam_matches(workload, got, optimizer_reference(key, optimizer),
                        ADAM_TOLERANCE["float64"])


@pytest.mark.parametrize("key", sorted(STEPS))
def test_minibp_adam_on_the_numpy_engine_ends_at_torch_adams_weights(key):
    """The NumPy engine runs Adam today, whatever the default engine does with it."""
    pytest.importorskip("torch")
    workload = workload_and_reference(key)[0]
    got = finish(minibp_engines.prepare(workload, engine="numpy", optimizer="adam"))
    assert_adam_matches(workload, got, torch_adam_weights(key), ADAM_TOLERANCE["float64"])


@pytest.mark.parametrize("key,name", pairs(workloads.MLP_WORKLOADS, "adam"))
def test_mlp_adam_competitor_ends_at_torch_adams_weights(key, name):
    pytest.importorskip("torch")
    workload = workload_and_reference(key)[0]
    got = finish_adam(prepared(name, workload))
    assert_adam_matches(workload, got, torch_adam_weights(key),
                        ADAM_MLP_TOLERANCE[workload.dtype])


def test_adam_competitors_are_their_sgd_twins_with_adam():
    """Same code, options and workloads (or fewer) as the SGD twin; Adam's lr per workload.
    The momentum SGD competitors the same, on W1/W2."""
    adam = [c for c in competitors.COMPETITORS if c.optimizer == "adam"]
    assert {c.name for c in adam} == {"torch_adam", "torch_mlp_adam", "minibp_adam",
                                      "minibp_numba_adam", "numba_floor_adam", "jax_loop_adam"}
    momentum = [c for c in competitors.COMPETITORS if c.optimizer == "momentum"]
    assert {c.name for c in momentum} == {"torch_momentum", "minibp_momentum",
                                          "numba_floor_momentum", "jax_loop_momentum"}
    assert all(c.workloads == competitors.CHAPTER for c in momentum)
    assert all(c.optimizer in competitors.OPTIMIZERS for c in competitors.COMPETITORS)
    assert all(c.sgd_twin is None for c in competitors.COMPETITORS if c.optimizer == "sgd")
    for c in adam + momentum:
        twin = competitors.BY_NAME[c.sgd_twin]
        assert (twin.optimizer, twin.module, twin.options) == ("sgd", c.module, c.options)
        assert set(c.workloads) <= set(twin.workloads) and c.label.startswith(
            twin.label.split(" + ")[0])
    assert competitors.BY_NAME[competitors.ADAM_REFERENCE].optimizer == "adam"
    assert competitors.BY_NAME[competitors.MLP_ADAM_REFERENCE].optimizer == "adam"
    assert competitors.BY_NAME[competitors.MOMENTUM_REFERENCE].optimizer == "momentum"
    assert {o: competitors.BY_NAME[n].optimizer for o, n in competitors.REFERENCES.items()} \
        == {"momentum": "momentum", "adam": "adam"}
    lrs = {key: (w.lr, w.adam_lr) for key in workloads.DEFAULT for w in [workloads.build(key)]}
    assert lrs == {"W1": (0.5, 0.01), "W2": (0.5, 0.01), "W3": (0.05, 1e-3), "W4": (0.05, 1e-3)}
    assert {key: (w.momentum_lr, w.momentum) for key in ("W1", "W2")
            for w in [workloads.build(key, 4)]} == {"W1": (0.1, 0.9), "W2": (0.1, 0.9)}


def test_torch_competitors_build_the_optimizer_they_are_named_for():
    torch = pytest.importorskip("torch")
    w1, w3 = workloads.build("W1", 1), workloads.build("W3", samples=MLP_SAMPLES)
    for module, workload in ((torch_sgd, w1), (torch_mlp, w3)):
        assert type(module.build(torch, workload)[1]) is torch.optim.SGD
        _, adam = module.build(torch, workload, "adam")
        assert type(adam) is torch.optim.Adam
        assert adam.defaults["lr"] == workload.adam_lr
        assert (adam.defaults["betas"], adam.defaults["eps"], adam.defaults["weight_decay"]) \
            == ((0.9, 0.999), 1e-8, 0.0)
    _, momentum = torch_sgd.build(torch, w1, "momentum")
    assert type(momentum) is torch.optim.SGD
    assert {k: momentum.defaults[k] for k in ("lr", "momentum", "dampening", "nesterov",
                                              "weight_decay")} == {
        "lr": 0.1, "momentum": 0.9, "dampening": 0, "nesterov": False, "weight_decay": 0}
    with pytest.raises(ValueError, match="'sgd', 'momentum' or 'adam'"):
        minibp_engines.prepare(w1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        numba_floor.prepare(w1, optimizer="rmsprop")
    step = minibp_engines.make_optimizer(w1, "momentum")
    assert (type(step).__name__, step.momentum, step.nesterov) == ("SGD", 0.9, False)


OPT_IN = {"torch_momentum", "minibp_momentum", "numba_floor_momentum", "numba_floor_adam",
          "jax_loop_momentum", "jax_loop_adam"}


def test_momentum_and_adam_floors_and_jax_loops_are_opt_in():
    """A run that names no competitors leaves them out (its time stays what it was); named,
    they run, in the table's order."""
    assert {c.name for c in competitors.COMPETITORS if c.opt_in} == OPT_IN
    default = competitors.select(None)
    assert not OPT_IN & {c.name for c in default}
    assert len(default) == len(competitors.COMPETITORS) - len(OPT_IN)
    chosen = competitors.select(["jax_loop_adam", "numba_floor_momentum", "minibp"])
    assert [c.name for c in chosen] == ["minibp", "numba_floor_momentum", "jax_loop_adam"]
    assert run.parse_args(["--competitors", "numba_floor_adam"]).competitors == [
        "numba_floor_adam"]


def test_competitors_option_selects_the_adam_competitors():
    chosen = competitors.select(["minibp_adam", "torch_adam", "chapter"])
    assert [c.name for c in chosen] == ["chapter", "torch_adam", "minibp_adam"]
    assert [c.name for c in competitors.for_workload(chosen, "W3")] == ["minibp_adam"]
    assert competitors.for_workload(chosen, "W4") == []
    mlp = competitors.select(["torch_mlp_adam", "minibp_numba_adam"])
    assert [c.name for c in competitors.for_workload(mlp, "W3")] == ["torch_mlp_adam"]
    assert [c.name for c in competitors.for_workload(mlp, "W1")] == ["minibp_numba_adam"]


def test_mlp_workloads_share_data_start_and_order():
    w3, w4 = (workloads.build(key, samples=MLP_SAMPLES) for key in ("W3", "W4"))
    assert (w3.dtype, w4.dtype, w3.steps, w3.batch_size, w3.lr) == (
        "float32", "float64", 4, 128, 0.05)
    (X3, y3), (X4, y4) = w3.data(), w4.data()
    assert X3.dtype == np.float32 and X4.dtype == np.float64 and X4.shape == (500, 784)
    np.testing.assert_array_equal(X3, X4.astype(np.float32))
    np.testing.assert_array_equal(y3, y4)
    assert set(np.unique(y4)) <= set(range(10)) and len(np.unique(y4)) == 10
    assert not X4.flags.writeable                   # shared by the competitors of a process
    rng = np.random.default_rng(workloads.MLP_DATA_SEED)
    R = rng.standard_normal((784, 10))
    np.testing.assert_array_equal(X4, rng.standard_normal((500, 784)))
    np.testing.assert_array_equal(y4, np.argmax(X4 @ R, axis=1))
    bigger = workloads.build("W4", samples=1000).data()[0]
    np.testing.assert_array_equal(bigger[:500], X4)  # --quick's data start the full data
    np.testing.assert_array_equal(w4.order(), np.random.default_rng(0).permutation(500))
    for workload in (w3, w4):
        expected = minibp_engines.model_weights(workload.minibp_model())
        assert harness.max_abs_difference(workload.initial_weights(), expected) == 0.0
        assert all(a.dtype == workload.dtype for a in workload.initial_weights())
    assert workloads.build("W4").samples == 60_000 and workloads.build("W4").steps == 469


def test_gemm_bound_does_the_issues_products():
    """Per layer X @ W.T, dZ.T @ X and dZ @ W (layer 1's too); `needed` skips that one."""
    shapes = gemm_bound.products((784, 256, 128, 10), 128)
    assert shapes[:3] == [((128, 784), (784, 256)), ((128, 256), (256, 128)),
                          ((128, 128), (128, 10))]
    assert shapes[3:] == [((10, 128), (128, 128)), ((128, 10), (10, 128)),
                          ((128, 128), (128, 256)), ((128, 128), (128, 256)),
                          ((256, 128), (128, 784)), ((128, 256), (256, 784))]
    needed = gemm_bound.products((784, 256, 128, 10), 128, first_layer_dA=False)
    assert needed == shapes[:-1]
    macs = [m * k * n for (m, k), (_, n) in shapes]
    assert macs[-1] / sum(macs) == pytest.approx(0.285, abs=1e-3)   # "about 28%" in the docs


@pytest.mark.parametrize("first_layer_dA", [True, False])
def test_gemm_bound_step_computes_those_products(monkeypatch, first_layer_dA):
    workload = workloads.build("W4", samples=MLP_SAMPLES)
    rng = np.random.default_rng(1)
    weights = [layer.W.copy() for layer in workload.layers]
    buffers = gemm_bound.Buffers(weights, rng.standard_normal((128, 784)), rng)
    seen = []
    matmul = np.matmul

    def recording(a, b, out):
        seen.append((a.shape, b.shape))
        return matmul(a, b, out=out)

    monkeypatch.setattr(gemm_bound.np, "matmul", recording)
    gemm_bound.step(buffers, 116, first_layer_dA)     # a short batch: views of the buffers
    monkeypatch.undo()
    assert seen == gemm_bound.products(workload.sizes, 116, first_layer_dA)
    x = buffers.x[:116]
    np.testing.assert_allclose(buffers.A[0][:116], x @ weights[0].T, rtol=1e-12)
    np.testing.assert_allclose(buffers.dW[0], buffers.dZ[0][:116].T @ x, rtol=1e-12)
    runner = gemm_bound.prepare(workload, first_layer_dA)
    runner.reset()
    runner.train()
    assert runner.weights() == []                     # it trains nothing


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


def _ran(label, median_s, weights, optimizer="sgd", process_samples_s=None) -> dict:
    result = {"label": label, "status": "ok", "optimizer": optimizer, "median_s": median_s,
              "weights": weights}
    return result | ({"process_samples_s": process_samples_s} if process_samples_s else {})


def _chapter_results(torch_adam_ran: bool = True, numba_adam_ran: bool = True) -> dict:
    """W1 as a run leaves it: SGD competitors at the chapter's weights, the Adam ones far
    from them and near PyTorch's Adam; the compiled Adam 1.2x and 1.3x its SGD's in its two
    rounds (1.25x paired), 0.0037 / 0.003 of the medians."""
    sgd_end, adam_end = [np.ones(2)], [np.full(2, 3.0)]
    gone = {"status": "unavailable", "reason": "no", "optimizer": "adam"}
    return {
        "chapter": _ran("chapter", 0.05, sgd_end),
        "torch": _ran("torch", 2.1, sgd_end, process_samples_s=[[2.0, 2.2]]),
        "minibp_numba": _ran("numba", 0.003, sgd_end, process_samples_s=[[0.002, 0.004]]),
        "torch_adam": _ran("PyTorch Adam", 4.2, adam_end, "adam", [[4.0, 4.4]])
        if torch_adam_ran else gone | {"label": "PyTorch Adam"},
        "minibp_adam": _ran("minibp Adam", 0.5, [adam_end[0] * (1 - 2e-11)], "adam"),
        "minibp_numba_adam": _ran("numba Adam", 0.0037, [adam_end[0] * (1 + 3e-11)], "adam",
                                  [[0.0026, 0.0048]])
        if numba_adam_ran else gone | {"label": "numba Adam"},
    }


ADAM_SPEED = "W1: minibp fit, engine='numba', Adam, time / the same with SGD, paired by round"


def test_adam_competitors_are_held_to_torch_adam_and_timed_against_their_sgd():
    results = _chapter_results()
    analysis.compare(results)
    adam = results["minibp_numba_adam"]
    assert not {"max_abs_diff_vs_chapter", "speedup_vs_chapter"} & set(adam)
    assert adam["weights_reference"] == "torch_adam"
    assert adam["max_rel_diff_vs_reference"] == pytest.approx(3e-11, rel=1e-3)
    assert results["torch_adam"]["max_rel_diff_vs_reference"] == 0.0
    assert adam["time_vs_sgd"] == pytest.approx(0.0037 / 0.003)
    assert adam["time_vs_sgd_paired"] == pytest.approx(1.25)
    assert adam["speedup_vs_torch_adam"] == pytest.approx(4.2 / 0.0037)
    assert results["torch_adam"]["time_vs_sgd_paired"] == pytest.approx(2.0)
    assert results["minibp_adam"]["time_vs_sgd"] is None            # its twin did not run
    assert results["minibp_numba"]["max_abs_diff_vs_chapter"] == 0.0
    rows = {row["what"]: row for row in analysis.targets({"W1": {"competitors": results}}, None)}
    assert rows["W1: every competitor ends at the chapter's weights"]["value"] == 0.0
    assert rows[ADAM_SPEED]["value"] == pytest.approx(1.25) and rows[ADAM_SPEED]["met"] is True
    assert rows[ADAM_SPEED]["measured"] == "1.25x (medians: 1.23x)"
    agree = rows["W1: every Adam competitor ends at PyTorch Adam's weights (max relative "
                 "difference)"]
    assert agree["value"] == pytest.approx(3e-11, rel=1e-3) and agree["met"] is True
    results["minibp_numba_adam"]["weights"] = [np.full(2, 3.0 + 1e-9)]
    results["minibp_numba_adam"]["process_samples_s"] = [[0.0032, 0.0064]]
    analysis.compare(results)
    rows = {row["what"]: row for row in analysis.targets({"W1": {"competitors": results}}, None)}
    assert rows[ADAM_SPEED]["value"] == pytest.approx(1.6) and rows[ADAM_SPEED]["met"] is False
    assert rows[agree["what"]]["met"] is False


def test_adam_reference_falls_back_or_the_check_is_not_made():
    results = _chapter_results(torch_adam_ran=False)
    analysis.compare(results)
    assert results["minibp_numba_adam"]["weights_reference"] == "minibp_adam"
    assert results["minibp_numba_adam"]["max_rel_diff_vs_reference"] == pytest.approx(
        5e-11, rel=1e-3)
    assert results["minibp_numba_adam"]["speedup_vs_torch_adam"] is None
    rows = {row["what"]: row for row in analysis.targets({"W1": {"competitors": results}}, None)}
    fallback = "W1: every Adam competitor ends at minibp Adam's weights (max relative difference)"
    assert rows[fallback]["met"] is True
    alone = _chapter_results(torch_adam_ran=False, numba_adam_ran=False)
    analysis.compare(alone)
    rows = {row["what"]: row for row in analysis.targets({"W1": {"competitors": alone}}, None)}
    assert rows[fallback]["measured"] == "not measured" and rows[fallback]["met"] is None
    assert rows[ADAM_SPEED]["met"] is None
    assert adam_analysis.reference({"chapter": alone["chapter"]}, "torch_adam") is None
    assert adam_report.table_of({"competitors": {"chapter": alone["chapter"]}}) is None


def _optimizer_results() -> dict:
    """W1 with the speed issue's momentum and Adam competitors: minibp's momentum SGD 1.5x
    the floor's and ahead of JAX's loop, its Adam 1.2x the floor's, JAX's Adam unavailable,
    PyTorch's Adam not chosen (so the first Adam that ran is the reference)."""
    sgd_end, momentum_end, adam_end = [np.ones(2)], [np.full(2, 2.0)], [np.full(2, 3.0)]
    return {
        "chapter": _ran("chapter", 0.05, sgd_end),
        "minibp": _ran("minibp", 0.0011, sgd_end),
        "numba_floor": _ran("floor", 0.001, sgd_end),
        "torch_momentum": _ran("PyTorch momentum", 2.0, momentum_end, "momentum"),
        "minibp_momentum": _ran("minibp momentum", 0.003, [momentum_end[0] * (1 + 1e-12)],
                                "momentum"),
        "numba_floor_momentum": _ran("floor momentum", 0.002, momentum_end, "momentum"),
        "jax_loop_momentum": _ran("JAX momentum", 0.004, momentum_end, "momentum"),
        "minibp_adam": _ran("minibp Adam", 0.0024, adam_end, "adam"),
        "numba_floor_adam": _ran("floor Adam", 0.002, [adam_end[0] * (1 - 2e-11)], "adam"),
        "jax_loop_adam": {"label": "JAX Adam", "status": "unavailable", "reason": "no jax",
                          "optimizer": "adam"},
    }


def test_speed_issue_targets_with_momentum_and_adam():
    """minibp's default engine with momentum SGD and with Adam: its time over the floor's with
    the same optimizer, and against JAX's whole-run loop with it; each held to the reference
    of its optimizer, not to the chapter's weights."""
    results = _optimizer_results()
    analysis.compare(results)
    momentum = results["minibp_momentum"]
    assert not {"speedup_vs_chapter", "max_abs_diff_vs_chapter"} & set(momentum)
    assert momentum["weights_reference"] == "torch_momentum"
    assert momentum["max_rel_diff_vs_reference"] == pytest.approx(1e-12, rel=1e-3)
    assert momentum["speedup_vs_torch_momentum"] == pytest.approx(2.0 / 0.003)
    assert momentum["time_vs_sgd"] == pytest.approx(0.003 / 0.0011)
    assert results["numba_floor_momentum"]["time_vs_sgd"] == pytest.approx(2.0)
    assert results["numba_floor_adam"]["weights_reference"] == "minibp_adam"
    assert results["numba_floor_adam"]["speedup_vs_torch_adam"] is None
    rows = {row["what"]: row for row in analysis.targets({"W1": {"competitors": results}}, None)}
    mine = "W1: minibp fit, default engine, momentum SGD"
    floor = rows[f"{mine}, time / the hand-written floor's (numba_floor_momentum)"]
    assert (floor["value"], floor["measured"], floor["target"], floor["met"]) == (
        pytest.approx(1.5), "1.50x", "<= 1.25x", False)
    jax = rows[f"{mine}, times faster than JAX whole run (lax.fori_loop), momentum SGD"]
    assert (jax["value"], jax["met"]) == (pytest.approx(0.004 / 0.003), True)
    adam = "W1: minibp fit, default engine, Adam"
    floor = rows[f"{adam}, time / the hand-written floor's (numba_floor_adam)"]
    assert (floor["value"], floor["met"]) == (pytest.approx(1.2), True)
    jax = rows[f"{adam}, times faster than JAX whole run (lax.fori_loop), Adam"]
    assert (jax["measured"], jax["met"]) == ("not measured", None)
    assert rows["W1: minibp fit, default engine, time / the hand-written floor's"]["value"] \
        == pytest.approx(1.1)
    agree = rows["W1: every momentum SGD competitor ends at PyTorch momentum's weights (max "
                 "relative difference)"]
    assert agree["value"] == pytest.approx(1e-12, rel=1e-3) and agree["met"] is True
    assert rows["W1: every Adam competitor ends at minibp Adam's weights (max relative "
                "difference)"]["value"] == pytest.approx(2e-11, rel=1e-3)
    assert rows["W1: every competitor ends at the chapter's weights"]["value"] == 0.0
    for name in ("numba_floor_momentum", "jax_loop_momentum", "numba_floor_adam",
                 "jax_loop_adam"):
        del results[name]                     # not chosen: no rows for their targets
    whats = [row["what"] for row in analysis.targets({"W1": {"competitors": results}}, None)]
    assert not [what for what in whats if "floor's (" in what or "), momentum" in what
                or "), Adam" in what]
    assert [what for what in whats if "momentum" in what] == [
        "W1: every momentum SGD competitor ends at PyTorch momentum's weights (max relative "
        "difference)"]
    sgd_only = {k: v for k, v in results.items() if v["optimizer"] == "sgd"}
    assert not [row for row in analysis.targets({"W1": {"competitors": sgd_only}}, None)
                if "momentum" in row["what"]]


def test_momentum_table_and_its_docs_section_are_optional(tmp_path):
    results = _optimizer_results()
    analysis.compare(results)
    for result in results.values():
        result.update(first_call_s=0.3, first_call_cached_s=None, q1_s=result.get("median_s"),
                      q3_s=result.get("median_s"), process_medians_s=[result.get("median_s")],
                      us_per_step=1.0, repeatable=True)
    w1 = workloads.build("W1", 4)
    fields = adam_analysis.entry_fields(w1, {"torch_momentum": results["torch_momentum"] | {
        "weights": w1.initial_weights()}}, "torch_momentum", analysis.final_loss,
        "momentum_final_loss", "momentum")
    assert fields == {"momentum_lr": 0.1, "momentum": 0.9, "momentum_reference": "torch_momentum",
                      "momentum_final_loss": pytest.approx(CHAPTER_E_TOTAL)}
    entry = {"key": "W1", "title": "t", "repeats": 1, "processes": 1, "competitors": results,
             "adam_lr": 0.01, "adam_reference": "minibp_adam", "adam_final_loss": None} | fields
    found = run.workload_tables({"W1": entry}, report.workload_table)
    assert list(found) == ["W1", "W1-adam", "W1-momentum"]
    assert "momentum" not in found["W1"] and "momentum" not in found["W1-adam"]
    header, _, *rows = found["W1-momentum"].split("\n\n")[0].splitlines()
    assert header.endswith("| vs PyTorch momentum | max rel. diff of weights vs PyTorch "
                           "momentum |")
    assert [row.split(" | ")[0] for row in rows] == ["| PyTorch momentum", "| minibp momentum",
                                                     "| floor momentum", "| JAX momentum"]
    assert "W1 with SGD(lr=0.1, momentum=0.9), torch.optim.SGD's defaults otherwise" \
        in found["W1-momentum"]
    docs = tmp_path / "benchmarks.md"
    docs.write_text("<!-- bench:W1 -->\nold\n<!-- /bench:W1 -->\n")
    run.write_docs({"W1": "new", "W1-momentum": found["W1-momentum"]}, docs)
    assert docs.read_text() == "<!-- bench:W1 -->\nnew\n<!-- /bench:W1 -->\n"
    with pytest.raises(ValueError, match="bench:W1-adam"):
        run.write_docs({"W1-adam": found["W1-adam"]}, docs)


def test_mlp_adam_target_pairs_by_round_and_keeps_the_sgd_check_apart():
    """The bound slows down 2x in the second process; minibp's Adam with it."""
    results = {
        "gemm_bound": _ran("bound", 1.5, [], process_samples_s=[[1.0, 1.0], [2.0, 2.0]]),
        "numpy_mlp": _ran("plain NumPy", 1.6, [np.ones(2)]),
        "torch_mlp_adam": _ran("PyTorch Adam", 2.0, [np.full(2, 5.0)], "adam"),
        "minibp_adam": _ran("minibp Adam", 1.9, [np.full(2, 5.0 + 1e-4)], "adam",
                            [[1.2, 1.25], [2.6, 2.6]]),
    }
    analysis.compare_mlp(results, 60_000)
    adam = results["minibp_adam"]
    assert adam["time_vs_bound"] == pytest.approx(1.9 / 1.5)
    assert adam["time_vs_bound_paired"] == pytest.approx(1.275)
    assert adam["max_rel_diff_vs_reference"] == pytest.approx(2e-5)
    entry = {"group": "mlp", "competitors": results, "dtype": "float32", "tolerance": 1e-3}
    rows = {row["what"]: row for row in analysis.mlp_targets({"W3": entry})}
    speed = rows["W3: minibp fit, default engine, Adam, time / GEMM-only bound, paired by round"]
    assert speed["value"] == pytest.approx(1.275) and speed["met"] is True
    assert rows["W3: every competitor ends at plain NumPy's weights (float32, max relative "
                "difference)"]["value"] == 0.0                     # Adam's 5.0s left out
    assert rows["W3: every Adam competitor ends at PyTorch Adam's weights (float32, max "
                "relative difference)"]["met"] is True
    assert not [what for what in {row["what"] for row in analysis.mlp_targets(
        {"W4": entry | {"key": "W4"}})} if "Adam" in what]          # W4 runs no Adam
    assert measures.paired_first({"time_vs_bound": 1.27}, "time_vs_bound") == (
        1.27, "1.27x (medians, not paired)")
    assert measures.paired_first({}, "time_vs_bound") == (None, None)


def test_replace_section():
    text = "intro\n<!-- bench:W1 -->\nold\n<!-- /bench:W1 -->\nrest\n"
    new = report.replace_section(text, "W1", "| new |")
    assert new == "intro\n<!-- bench:W1 -->\n| new |\n<!-- /bench:W1 -->\nrest\n"
    with pytest.raises(ValueError, match="bench:W2"):
        report.replace_section(text, "W2", "x")


def test_docs_have_every_marker_the_harness_writes():
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    for name in ("machine", "W1", "W1-adam", "W1-momentum", "W2", "W2-adam", "W2-momentum",
                 "startup", "targets",
                 "mlp-machine", "W3", "W3-adam", "W4", "mlp-targets", "mlp-profile"):
        assert f"<!-- bench:{name} -->" in text and f"<!-- /bench:{name} -->" in text
    assert "](benchmarks_w3_w4.png)" in text and (ROOT / "docs" / "benchmarks_w3_w4.png").exists()


def test_max_rel_difference_scales_each_array_by_its_largest_value():
    ours = [np.array([1.0, 2.0]), np.array([0.0, 1e-3])]
    theirs = [np.array([1.0, 4.0]), np.array([0.0, 2e-3])]
    assert analysis.max_rel_difference(ours, theirs) == 0.5
    assert analysis.max_rel_difference(ours, ours) == 0.0
    assert analysis.max_rel_difference(ours, theirs[:1]) == float("inf")
    assert analysis.max_rel_difference([np.ones(2, np.float32)],
                                       [np.ones(2) + 1e-7]) == pytest.approx(1e-7, rel=1e-3)


def test_mlp_compare_and_targets_on_synthetic_results():
    same = [np.ones(2)]
    results = {
        "gemm_bound": {"label": "bound", "status": "ok", "median_s": 1.0, "weights": []},
        "gemm_needed": {"label": "needed", "status": "ok", "median_s": 0.8, "weights": []},
        "numpy_mlp": {"label": "plain NumPy", "status": "ok", "median_s": 1.5, "weights": same},
        "torch_mlp": {"label": "torch", "status": "unavailable", "reason": "no torch"},
        "minibp": {"label": "minibp", "status": "ok", "median_s": 1.25,
                   "weights": [np.ones(2) * (1 + 2e-4)]},
    }
    analysis.compare_mlp(results, 60_000)
    assert results["minibp"]["time_vs_bound"] == 1.25
    assert results["minibp"]["time_vs_needed"] == pytest.approx(1.5625)
    assert results["minibp"]["samples_per_s"] == 48_000
    assert results["minibp"]["max_rel_diff_vs_reference"] == pytest.approx(2e-4)
    assert results["gemm_bound"]["max_rel_diff_vs_reference"] is None
    entry = {"group": "mlp", "competitors": results, "dtype": "float32", "tolerance": 1e-3}
    rows = {row["what"]: row for row in analysis.mlp_targets({"W3": entry})}
    assert rows["W3: minibp fit, default engine, time / GEMM-only bound"]["met"] is False
    assert rows["W3: minibp fit, default engine, times faster than plain NumPy"]["met"] is True
    assert rows["W3: minibp fit, default engine, times faster than PyTorch nn + optim.SGD"][
        "met"] is None                                                   # not measured
    agree = "W3: every competitor ends at plain NumPy's weights (float32, max relative " \
            "difference)"
    assert rows[agree]["met"] is True and rows[agree]["value"] == pytest.approx(2e-4)
    assert analysis.targets({"W3": entry}, None) == []     # W1/W2's targets leave W3 alone


def test_paired_ratio_divides_within_rounds():
    """Two processes of 3 rounds; the reference slows down 2x in round 3 with everyone."""
    reference = {"process_samples_s": [[1.0, 1.0, 2.0], [1.0, 1.0, 2.0]]}
    result = {"process_samples_s": [[1.1, 1.1, 2.2], [1.3, 1.1, 2.2]]}
    assert analysis.paired_ratio(result, reference) == pytest.approx(1.1)
    assert analysis.paired_ratio({"process_samples_s": [[1.0]]}, reference) is None
    assert analysis.paired_ratio(result, {}) is None


def test_default_json_is_named_after_a_partial_run():
    assert run.default_json(["W1", "W2", "W3", "W4"]).name == "latest.json"
    assert run.default_json(["W3", "W4"]).name == "latest-W3-W4.json"
    args = run.parse_args(["--quick", "--workloads", "W3"])
    assert (args.samples, args.steps, args.json.name) == (6_000, 1_000, "latest-W3.json")
    with pytest.raises(SystemExit):
        run.parse_args(["--workloads", "W5"])


def test_harness_end_to_end_in_worker_processes(tmp_path, capsys):
    """Two cheap competitors, a few steps, in real worker processes: JSON and tables come out,
    the summary where asked and the whole record, every sample in it, in raw/ beside it."""
    path = tmp_path / "result.json"
    run.main(["--workloads", "W1,W2", "--competitors", "chapter,numpy_loop", "--steps", "8",
              "--repeats", "2", "--processes", "2", "--pause", "0", "--min-sample", "0",
              "--no-startup", "--json", str(path)])
    record, summary = records.load(tmp_path / "raw" / "result.json"), records.load(path)
    assert records.is_summary(summary) and not records.is_summary(record)
    assert not list(tmp_path.rglob("*.tmp"))
    for key in ("W1", "W2"):
        entry = record["workloads"][key]
        assert entry["steps"] == 8
        for name, result in entry["competitors"].items():
            assert result["status"] == "ok", result.get("reason")
            assert len(result["samples_s"]) == 4 and result["repeatable"]
            assert [len(s) for s in result["process_samples_s"]] == [2, 2]
            assert len(result["process_medians_s"]) == 2 and result["first_call_cached_s"]
            assert result["max_abs_diff_vs_chapter"] <= 1e-12
            kept = summary["workloads"][key]["competitors"][name]
            assert not set(records.RAW_FIELDS) & set(kept)
            assert kept == {k: v for k, v in result.items() if k not in records.RAW_FIELDS}
        assert entry["competitors"]["chapter"]["speedup_vs_chapter"] == 1.0
    assert "| plain NumPy loop |" in capsys.readouterr().out


def test_adam_competitors_end_to_end_in_worker_processes(tmp_path, capsys):
    """PyTorch's SGD and Adam on W1, a few steps, in real worker processes: the Adam table
    comes after the SGD one, its ratios and its weights' check are there, also from the
    summary, and the SGD table, its targets and its check are as they were without Adam."""
    pytest.importorskip("torch")
    path = tmp_path / "result.json"
    run.main(["--workloads", "W1", "--competitors", "chapter,torch,torch_adam", "--steps", "8",
              "--repeats", "2", "--processes", "1", "--pause", "0", "--min-sample", "0",
              "--no-startup", "--json", str(path)])
    record, summary = records.load(tmp_path / "raw" / "result.json"), records.load(path)
    entry = record["workloads"]["W1"]
    adam = entry["competitors"]["torch_adam"]
    assert adam["status"] == "ok" and adam["optimizer"] == "adam", adam.get("reason")
    assert (entry["adam_reference"], adam["weights_reference"]) == ("torch_adam", "torch_adam")
    assert adam["max_rel_diff_vs_reference"] == 0.0 and adam["time_vs_sgd_paired"] > 0
    assert entry["adam_lr"] == 0.01 and entry["adam_final_loss"] < CHAPTER_E_TOTAL
    assert "max_abs_diff_vs_chapter" not in adam
    found = run.sections(record)
    assert list(found) == ["machine", "W1", "W1-adam", "targets"]
    assert "Adam" not in found["W1"] and "| PyTorch autograd + optim.Adam |" in found["W1-adam"]
    assert "W1 with Adam(lr=0.01)" in found["W1-adam"]
    assert "ends at PyTorch autograd + optim.Adam's weights (max relative difference) | " \
        "<= 1e-10 | not measured | - |" in found["targets"]           # no other Adam ran
    assert run.sections(summary) == found
    assert capsys.readouterr().out.strip() == "\n\n".join(found.values()).strip()


def _synthetic_record() -> dict:
    """A W3 record as a run leaves it: every sample, and MLP-sized final weights."""
    big = [np.full((256, 784), 0.5), np.zeros(256)]
    ok = {"label": "minibp", "status": "ok", "first_calls_s": [2.0, 1.0],
          "samples_s": [1.0, 3.0, 2.0, 4.0], "process_samples_s": [[1.0, 3.0], [2.0, 4.0]],
          "threads": {"pools": []}, "repeatable": True, "weights": big,
          **harness.summarize([1.0, 3.0, 2.0, 4.0]), "process_medians_s": [2.0, 3.0],
          "first_call_s": 2.0, "first_call_cached_s": 1.0, "time_vs_bound": 1.25,
          "time_vs_bound_paired": 1.1, "time_vs_needed": 1.5, "samples_per_s": 240.0,
          "max_rel_diff_vs_reference": 2e-7}
    bound = {**ok, "label": "bound", "weights": [], "time_vs_bound": 1.0}
    gone = {"label": "torch", "status": "unavailable", "reason": "no torch", "samples_s": [],
            "process_samples_s": [[], []], "first_calls_s": []}
    adam = {**ok, "label": "minibp Adam", "optimizer": "adam", "time_vs_sgd": 1.5,
            "time_vs_sgd_paired": 1.4, "weights_reference": "torch_mlp_adam",
            "max_rel_diff_vs_reference": 3e-5}
    torch_adam = {**adam, "label": "PyTorch Adam", "max_rel_diff_vs_reference": 0.0}
    entry = {"key": "W3", "title": "t", "group": "mlp", "repeats": 2, "processes": 2,
             "samples": 600, "dtype": "float32", "tolerance": 1e-3, "fit": None,
             "adam_lr": 1e-3, "adam_reference": "torch_mlp_adam", "adam_fit": None,
             "competitors": {"gemm_bound": bound, "minibp": ok, "torch_mlp": gone,
                             "torch_mlp_adam": torch_adam, "minibp_adam": adam}}
    machine = {"cpu": "cpu", "cpu_count": 2, "cpus_usable": 2, "platform": "os", "python": "3",
               "versions": {}, "environment": {}, "commit": "abc", "load_average_at_start": None}
    return {"command": "python benchmarks/run.py", "date": "2026-01-01T00:00:00+00:00",
            "settings": {}, "machine": machine, "workloads": {"W3": entry}, "startup": None,
            "targets": [], "mlp_targets": analysis.mlp_targets({"W3": entry})}


def test_summary_keeps_medians_iqr_and_ratios_but_no_samples_or_large_weights():
    record = _synthetic_record()
    summary = records.summary(record)
    assert records.is_summary(summary) and not records.is_summary(record)
    assert "samples_s" in record["workloads"]["W3"]["competitors"]["minibp"]  # left alone
    for name, result in record["workloads"]["W3"]["competitors"].items():
        kept = summary["workloads"]["W3"]["competitors"][name]
        assert not set(records.RAW_FIELDS) & set(kept)
        for field in ("median_s", "q1_s", "q3_s", "min_s", "process_medians_s", "first_calls_s",
                      "time_vs_bound", "time_vs_bound_paired", "max_rel_diff_vs_reference"):
            assert kept.get(field) == result.get(field)
    minibp = summary["workloads"]["W3"]["competitors"]["minibp"]
    assert "weights" not in minibp and minibp["weights_shapes"] == [[256, 784], [256]]
    assert summary["workloads"]["W3"]["competitors"]["gemm_bound"]["weights"] == []
    assert {k: v for k, v in summary.items() if k not in ("summary", "workloads")} == {
        k: v for k, v in record.items() if k != "workloads"}
    assert run.sections(summary) == run.sections(record)        # "n/a" for the bound alone
    found = run.sections(summary)
    assert "| minibp | 2 / 1 | 2.5 | 1.75 - 3.25 | 2 - 3 | 240 | 1.25x | 1.10x | 1.50x | " \
        "2.0e-07 |" in found["W3"] and "Adam" not in found["W3"]
    assert list(found) == ["mlp-machine", "W3", "W3-adam", "mlp-targets"]
    assert "| minibp Adam | 2 / 1 | 2.5 | 1.75 - 3.25 | 2 - 3 | 240 | 1.25x | 1.10x | 1.50x " \
        "| 1.40x | 3.0e-05 |" in found["W3-adam"]
    assert "vs PyTorch Adam |" in found["W3-adam"].splitlines()[0]
    assert analysis.mlp_targets(summary["workloads"]) == record["mlp_targets"]
    assert records.summary(summary) == summary
    assert len(json.dumps(records.to_json(summary))) < 8_000


def test_results_files_and_their_raw_records(tmp_path):
    assert records.paths(tmp_path / "a.json") == (tmp_path / "a.json", tmp_path / "raw" / "a.json")
    assert records.paths(tmp_path / "raw" / "a.json") == records.paths(tmp_path / "a.json")
    path, record = tmp_path / "a.json", _synthetic_record()
    assert records.write(record, path) == [path, tmp_path / "raw" / "a.json"]
    assert records.load_whole(path) == records.to_json(record)
    assert records.load(path) == records.to_json(records.summary(record))
    other = dict(record, date="2026-02-02T00:00:00+00:00")   # a raw record of another run
    records.write_json(other, tmp_path / "raw" / "a.json")
    said = []
    assert records.load_whole(path, said.append) == records.load(path)
    assert "from another run" in said[0]
    assert run.main(["--summarize", str(path)]) == 0          # a summary already: untouched
    assert records.load(tmp_path / "raw" / "a.json")["date"] == other["date"]
    records.write_json(record, path)                          # written before the summaries
    run.main(["--summarize", str(path)])
    assert records.load(path) == records.to_json(records.summary(record))
    assert records.load(tmp_path / "raw" / "a.json") == records.to_json(record)


@pytest.mark.parametrize("path", COMMITTED, ids=[path.name for path in COMMITTED])
def test_committed_results_are_summaries(path):
    """Git keeps summaries (the whole records are in the ignored raw/): small, with every
    competitor's median, and all the tables."""
    assert path.stat().st_size < 200_000
    assert "benchmarks/results/raw/" in (ROOT / ".gitignore").read_text().split()
    record = records.load(path)
    assert records.is_summary(record) and record["workloads"]
    for entry in record["workloads"].values():
        for result in entry["competitors"].values():
            assert not set(records.RAW_FIELDS) & set(result)
            if result["status"] == "ok":
                assert result["q1_s"] <= result["median_s"] <= result["q3_s"]
                assert len(result["process_medians_s"]) == entry["processes"]
    assert set(run.sections(record)) >= set(record["workloads"])


def test_mlp_harness_end_to_end_and_plot(tmp_path, capsys):
    """W3 and W4 on 500 samples with the cheap competitors, in real worker processes; the
    docs sections of W1/W2 are not touched by a run of W3,W4."""
    path = tmp_path / "result.json"
    run.main(["--workloads", "W3,W4", "--competitors", "gemm_bound,numpy_mlp,minibp_numpy,"
              "chapter", "--samples", "500", "--repeats", "2", "--processes", "1",
              "--pause", "0", "--min-sample", "0", "--json", str(path)])
    record = records.load(tmp_path / "raw" / "result.json")
    assert record["startup"] is None and record["targets"] == []
    for key in ("W3", "W4"):
        entry = record["workloads"][key]
        assert list(entry["competitors"]) == ["gemm_bound", "numpy_mlp", "minibp_numpy"]
        for result in entry["competitors"].values():
            assert result["status"] == "ok", result.get("reason")
            assert len(result["samples_s"]) == 2 and result["repeatable"]
        assert entry["competitors"]["gemm_bound"]["time_vs_bound"] == 1.0
        assert entry["competitors"]["minibp_numpy"]["max_rel_diff_vs_reference"] <= 1e-5
        assert entry["fit"]["end"]["loss"] < entry["fit"]["start"]["loss"]
    found = run.sections(record)
    assert set(found) == {"mlp-machine", "W3", "W4", "mlp-targets"}
    assert "| GEMM-only bound (the issue's products, NumPy) |" in found["W3"]
    assert "| n/a" in found["W4"] and "1.00x" in found["W4"]
    assert "minibp fit, default engine, time / GEMM-only bound | <= 1.2x | not measured" \
        in found["mlp-targets"]
    assert "| W3: minibp" in capsys.readouterr().out
    assert entry["competitors"]["numpy_mlp"]["time_vs_bound_paired"] > 0
    summary = records.load(path)
    assert run.sections(summary) == found and plot.bars(summary["workloads"]) == plot.bars(
        record["workloads"])
    assert summary["workloads"]["W4"]["competitors"]["minibp_numpy"]["weights_shapes"] == [
        [256, 784], [256], [128, 256], [128], [10, 128], [10]]
    before = path.read_text()
    run.main(["--from-json", str(path)])              # times nothing, same figures (from raw/)
    assert json.loads(path.read_text()) == json.loads(before)
    assert capsys.readouterr().out.strip() == "\n\n".join(found.values()).strip()
    (tmp_path / "raw" / "result.json").unlink()
    run.main(["--from-json", str(path)])              # the summary alone: the same tables
    assert json.loads(path.read_text()) == json.loads(before)
    out, err = capsys.readouterr()
    assert out.strip() == "\n\n".join(found.values()).strip() and "no raw record" in err
    assert not (tmp_path / "raw" / "result.json").exists()
    pytest.importorskip("matplotlib")
    png = plot.write(summary, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    titles, series = plot.bars(record["workloads"])
    assert titles == ["W3 (float32)", "W4 (float64)"] and len(series) == 3


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


CPUINFO = """processor\t: 0
model name\t: Some CPU
flags\t\t: fpu sse4_2 avx2 fma avx avx512f bmi2
processor\t: 1
flags\t\t: fpu
"""


def test_the_machine_description_reads_the_simd_flags_of_the_first_processor():
    from benchmarks import machine

    flags = machine.cpu_flags(CPUINFO)
    assert flags == ["fpu", "sse4_2", "avx2", "fma", "avx", "avx512f", "bmi2"]
    assert machine.simd_flags(flags) == ["sse4_2", "avx", "avx2", "fma", "avx512f"]
    assert machine.cpu_flags("model name\t: no flags line\n") is None
    assert machine.simd_flags(None) is None


def test_a_runs_machine_lines_name_the_cpu_flags_and_llvms_cpu_when_recorded():
    base = {"cpu": "Some CPU", "cpu_count": 2, "cpus_usable": 2, "platform": "os",
            "python": "3", "versions": {}, "environment": {"NUMBA_OPT": "2"}, "commit": "abc",
            "load_average_at_start": None}
    older = report.machine_text(base, "cmd", "date")  # a record from before the flags
    assert "CPU flags" not in older and "NUMBA_OPT=2" in older
    text = report.machine_text({**base, "cpu_flags": ["fpu", "fma", "avx2"],
                                "llvm_cpu": "skylake-avx512"}, "cmd", "date")
    assert "- CPU flags (SIMD): avx2 fma; LLVM, so numba, compiles for: skylake-avx512" in text
    bare = report.machine_text({**base, "cpu_flags": ["fpu"], "llvm_cpu": None}, "cmd", "d")
    assert "CPU flags (SIMD): none of sse4_2 avx" in bare and "compiles for: unknown" in bare
    linux_less = report.machine_text({**base, "cpu_flags": None}, "cmd", "d")
    assert "CPU flags (SIMD): unknown (no /proc/cpuinfo)" in linux_less


def test_a_run_warns_when_the_environment_forces_openblas_below_the_cpus_kernels():
    from benchmarks import machine

    avx512 = ["fpu", "avx2", "fma", "avx512f"]

    def forced(flags, core):
        return machine.openblas_forced_narrower(
            {"cpu_flags": flags, "environment": {"OPENBLAS_CORETYPE": core}})

    assert "OPENBLAS_CORETYPE=Haswell" in forced(avx512, "Haswell")
    assert "unset" in forced(avx512, "Haswell")
    assert forced(avx512, "SkylakeX") is None
    assert forced(avx512, None) is None
    assert forced(["avx2"], "Haswell") is None
    assert forced(None, "Haswell") is None
    assert machine.openblas_forced_narrower({"environment": {"OPENBLAS_CORETYPE": "Zen"}}) \
        is None  # a record from before the flags were kept
    base = {"cpu": "Some CPU", "cpu_count": 2, "cpus_usable": 2, "platform": "os",
            "python": "3", "versions": {}, "commit": "abc", "load_average_at_start": None,
            "cpu_flags": avx512, "llvm_cpu": "znver5"}
    text = report.machine_text({**base, "environment": {"OPENBLAS_CORETYPE": "Zen"}}, "c", "d")
    assert "- **OpenBLAS forced narrower**: OPENBLAS_CORETYPE=Zen" in text
    own = report.machine_text({**base, "environment": {"OPENBLAS_CORETYPE": None}}, "c", "d")
    assert "OpenBLAS forced" not in own
