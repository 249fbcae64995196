"""The numba engine's loops specialized to a model's structure (engines.specialize)
against the generic loop and the NumPy engine.

Independent references: the generic loop of kernels/loop.py (itself held to the NumPy
engine by test_engines.py and test_compiled_optimizers.py), the NumPy engine, and NumPy's
Generator.permutation for the specialized loop's own shuffle (kernels/shuffle.py). Each
structure below is run three ways: specialized, generic (MINIBP_SPECIALIZE's switch off)
and on NumPy. Specialized and generic run the same operations in the same order, so they
must agree bit for bit; against NumPy, 1e-12 on one batch's gradients and 1e-10 on weights
after 3 epochs, as the other engine tests hold. The structures cover depths 1 to 4, small
(sizes compiled in) and large layers, every activation (mixed within models), every loss,
SGD plain, with momentum, Nesterov and weight decay, Adam, AdamW, each kind of schedule,
l2, clipping, sample weights, batch sizes 1 to one full batch, shuffling and freezing;
single rows with SGD (any of its terms) run the FUSED step (the update inside the backward
pass); single rows with Adam do not (tried: W1's loop 3-6% slower fused, likely because the
separate update loop is one LLVM can vectorize, square roots and divisions included).
Each compiles once (a few seconds) and then loads from the on-disk cache.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minibp
from minibp import SGD, Adam, AdamW
from minibp.engines import loop_source, specialize
from minibp.engines.kernels.shuffle import shuffle_order
from minibp.optim import CosineDecay, ExponentialDecay, StepDecay


@pytest.fixture
def loaded(monkeypatch):
    """Specializing on, with no per-process cap; yields the list of modules each compiled
    call ran (None for the generic loop), so a test can see which loop ran."""
    used = []
    real = specialize.kernels_for

    def spy(structure):
        module = real(structure)
        used.append(module)
        return module

    monkeypatch.setattr(specialize, "ENABLED", True)
    monkeypatch.setattr(specialize, "MAX_PER_PROCESS", 10**6)
    monkeypatch.setattr(specialize, "kernels_for", spy)
    return used


def mixed_model(sizes, activations, output, seed, dtype="float64"):
    """Dense layers whose hidden activations cycle through ``activations``."""
    rng = np.random.default_rng(seed)
    layers = [minibp.Dense(n_in, n_out, activations[i % len(activations)], seed=rng,
                           dtype=dtype)
              for i, (n_in, n_out) in enumerate(zip(sizes[:-2], sizes[1:-1]))]
    layers.append(minibp.Dense(sizes[-2], sizes[-1], output, seed=rng, dtype=dtype))
    return minibp.Sequential(*layers)


def data(loss, n, n_in, n_out, seed):
    rng = np.random.default_rng(seed + 100)
    X = rng.normal(size=(n, n_in))
    if loss == "xent":
        return X, rng.integers(0, n_out, size=n)
    return X, rng.uniform(0.1, 0.9, size=(n, n_out))


# name -> (sizes, hidden activations, output, loss, optimizer factory, fit options)
STRUCTURES = {
    "chapter-like": ([2, 2, 2], ["sigmoid"], "sigmoid", "squared", lambda: SGD(0.5),
                     dict(batch_size=1, shuffle=False)),
    "depth-1": ([3, 4], [], "identity", "squared", lambda: SGD(0.1),
                dict(batch_size=2, shuffle=True)),
    "mixed-momentum": ([3, 5, 4, 4], ["tanh", "relu"], "sigmoid", "mse",
                       lambda: SGD(0.05, 0.9), dict(batch_size=7, shuffle=True)),
    "nesterov-decay": ([3, 6, 4], ["relu"], None, "xent",
                       lambda: SGD(0.05, 0.5, nesterov=True, weight_decay=0.05),
                       dict(batch_size=32, shuffle=True)),
    "adam-weighted": ([3, 8, 8, 4], ["identity", "sigmoid", "tanh"], None, "bce",
                      lambda: Adam(0.01), dict(batch_size=5, shuffle=False, weights=True)),
    "adamw-clip": ([3, 6, 4], ["sigmoid"], "tanh", "squared",
                   lambda: AdamW(0.01, weight_decay=0.1), dict(batch_size=4, shuffle=True,
                                                              clip_norm=0.05)),
    "l2-step-decay": ([3, 5, 4], ["tanh"], "sigmoid", "mse",
                      lambda: SGD(StepDecay(0.2, step_size=3, gamma=0.5), l2=0.1),
                      dict(batch_size=3, shuffle=True)),
    "large-adam-cosine": ([3, 20, 16, 4], ["relu", "tanh"], None, "xent",
                          lambda: Adam(CosineDecay(0.01, total_steps=8, final_lr=0.001),
                                       l2=0.01), dict(batch_size=8, shuffle=True)),
    "frozen-exponential": ([3, 6, 5, 4], ["sigmoid", "relu"], "identity", "mse",
                           lambda: SGD(ExponentialDecay(0.1, gamma=0.95), 0.9),
                           dict(batch_size=6, shuffle=True, freeze=True)),
    "callable-weighted": ([3, 4, 4], ["tanh"], "sigmoid", "bce",
                          lambda: SGD(lambda step: 0.2 / (1.0 + 0.1 * step)),
                          dict(batch_size=1, shuffle=True, weights=True)),
    "fused-frozen-shuffled": ([3, 4, 3, 2], ["relu", "tanh"], "sigmoid", "squared",
                              lambda: SGD(0.3), dict(batch_size=1, shuffle=True, freeze=True)),
    "fused-cosine-xent": ([3, 12, 10, 4], ["tanh", "identity"], None, "xent",
                          lambda: SGD(CosineDecay(0.1, total_steps=40, final_lr=0.01)),
                          dict(batch_size=1, shuffle=False)),
    "single-row-large-momentum": ([3, 20, 16, 4], ["tanh", "identity"], None, "xent",
                                  lambda: SGD(0.05, 0.9), dict(batch_size=1, shuffle=True)),
    "fused-momentum-frozen": ([2, 3, 2], ["sigmoid"], "sigmoid", "squared",
                              lambda: SGD(0.4, 0.9), dict(batch_size=1, shuffle=True,
                                                          freeze=True)),
    "adam-single-row-frozen": ([3, 5, 2], ["tanh"], "sigmoid", "bce",
                          lambda: Adam(ExponentialDecay(0.02, gamma=0.97)),
                          dict(batch_size=1, shuffle=True, freeze=True)),
    "adamw-single-row-weighted": ([2, 4, 3], ["relu"], None, "xent",
                             lambda: AdamW(0.01, betas=(0.2, 0.99), weight_decay=0.1),
                             dict(batch_size=1, shuffle=False, weights=True)),
    "fused-nesterov-decay": ([3, 5, 4], ["relu"], None, "mse",
                             lambda: SGD(StepDecay(0.05, step_size=10, gamma=0.5), 0.8,
                                         nesterov=True, weight_decay=0.01),
                             dict(batch_size=1, shuffle=False)),
}


def problem(name, dtype="float64"):
    sizes, activations, output, loss, make_optimizer, options = STRUCTURES[name]
    options = dict(options)
    model = mixed_model(sizes, activations, output, seed=len(name), dtype=dtype)
    if options.pop("freeze", False):
        model[0].freeze("W")
        model[1].freeze("b")
    n = 23
    X, Y = data(loss, n, sizes[0], sizes[-1], seed=len(name))
    if options.pop("weights", False):
        options["sample_weight"] = np.random.default_rng(1).uniform(0.5, 2.0, size=n)
    return model, X, Y, dict(loss=loss, seed=3, verbose=0, **options), make_optimizer


def fit_three_ways(name, epochs=3, monkeypatch=None, dtype="float64"):
    """(model, optimizer, history) specialized, generic and on NumPy, from one start."""
    model, X, Y, options, make_optimizer = problem(name, dtype)
    runs = {}
    for way in ("specialized", "generic", "numpy"):
        m, optimizer = copy.deepcopy(model), make_optimizer()
        engine = "numpy" if way == "numpy" else "numba"
        monkeypatch.setattr(specialize, "ENABLED", way == "specialized")
        history = m.fit(X, Y, optimizer=optimizer, epochs=epochs, engine=engine, **options)
        runs[way] = (m, optimizer, history)
    monkeypatch.setattr(specialize, "ENABLED", True)
    return runs


def assert_identical(a, b):
    (model_a, opt_a, hist_a), (model_b, opt_b, hist_b) = a, b
    assert hist_a["loss"] == hist_b["loss"]
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        np.testing.assert_array_equal(p.value, q.value, err_msg=p.name)
        if not p.frozen:
            for state in opt_a.state_names:
                np.testing.assert_array_equal(opt_a.state(p)[state], opt_b.state(q)[state])
    for layer_a, layer_b in zip(model_a, model_b):
        np.testing.assert_array_equal(layer_a.dW, layer_b.dW)
        np.testing.assert_array_equal(layer_a.db, layer_b.db)


@pytest.mark.parametrize("name", STRUCTURES)
def test_three_epochs_equal_the_generic_loop_and_agree_with_numpy(name, loaded, twins,
                                                                  monkeypatch):
    runs = fit_three_ways(name, monkeypatch=monkeypatch)
    assert loaded[0] is not None, "the specialized loop did not run"
    assert loaded[-1] is None, "the generic run used a specialized loop"
    assert_identical(runs["specialized"], runs["generic"])
    twins.assert_agree([runs["numpy"], runs["specialized"]], rtol=1e-10)


@pytest.mark.parametrize("name", STRUCTURES)
def test_one_batch_gradients_agree_with_numpy(name, loaded, monkeypatch):
    """The structure's own loop (its optimizer, schedule, batch size, shuffling, weights,
    clipping, freezing) with lr_scale 0, so that no update moves a weight: the layers' dW
    and db after one epoch are its last batch's gradients at the starting weights. (The
    same structure as the three-epoch test's: compiled once for both.)"""
    model, X, Y, options, make_optimizer = problem(name)
    grads = []
    for engine in ("numba", "numpy"):
        m, optimizer = copy.deepcopy(model), make_optimizer()
        optimizer.lr_scale = 0.0
        m.fit(X, Y, optimizer=optimizer, epochs=1, engine=engine, **options)
        for p, q in zip(m.parameters(), model.parameters()):
            np.testing.assert_array_equal(p.value, q.value, err_msg=f"{engine} {p.name}")
        grads.append([a for layer in m for a in (layer.dW, layer.db)])
    assert loaded and loaded[0] is not None
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))


def test_float32_specialized_equals_generic(loaded, monkeypatch):
    runs = fit_three_ways("mixed-momentum", monkeypatch=monkeypatch, dtype="float32")
    assert loaded[0] is not None
    assert runs["specialized"][0][0].W.dtype == np.float32
    assert_identical(runs["specialized"], runs["generic"])


def test_beyond_the_cap_the_generic_loop_runs_with_the_same_result(loaded, monkeypatch):
    monkeypatch.setattr(specialize, "_LOADED", {})
    monkeypatch.setattr(specialize, "MAX_PER_PROCESS", 0)
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(specialize, "ENABLED", enabled)
        model, X, Y, options, make_optimizer = problem("depth-1")
        runs.append((model, make_optimizer(), None))
        runs[-1] = (model, runs[-1][1], model.fit(X, Y, optimizer=runs[-1][1], epochs=2,
                                                  engine="numba", **options))
    assert loaded and all(module is None for module in loaded)
    assert specialize._LOADED == {}
    assert_identical(*runs)


def diverging(case):
    """(model, X, Y, lr) whose first steps go wrong in one of three ways on a fused loop:
    a loss that becomes infinite, a NaN gradient under a finite loss, an update that
    overflows. Each stops the fused loop (FUSED_NOT_FINITE); the engine undoes the call,
    replays it to the step before and asks the generic kernels what that step reports."""
    rng = np.random.default_rng(0)
    if case == "nan-gradient":  # relu units at infinity, a saturated sigmoid: 0 * inf
        model = minibp.mlp([2, 3, 1], "relu", "sigmoid", seed=0)
        model[0].W, model[1].W = np.full((3, 2), 1e307), np.full((1, 3), -1.0)
        X = np.array([[1.0, 1.0], [10.0, 10.0]])  # only the second row's step fails; seed
        return model, X, np.full((2, 1), 0.5), 0.1  # 3 visits it first: the draw must be right
    model = minibp.mlp([2, 3, 1], "tanh", None, seed=0)
    X, Y = 100 * rng.normal(size=(4, 2)), 10 + rng.normal(size=(4, 1))
    lrs = {"infinite-loss": 1e306, "overflowing-update": 1e308,
           "at-an-epoch-start": 1e50}  # shuffled: the first step of an epoch after the first
    return model, X, Y, lrs[case]


@pytest.mark.parametrize("case, overflow", [("infinite-loss", False),
                                             ("at-an-epoch-start", False),
                                             ("nan-gradient", False),
                                             ("overflowing-update", True)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_a_fused_step_that_diverges_ends_as_the_generic_loop_does(case, overflow, shuffle,
                                                                  loaded, monkeypatch):
    """Same error (step, epoch, kind, message), history, weights and gradients (NaN where
    the refused step's are) as the generic loop, for each way a step can go wrong."""
    from minibp.engines import numba_engine

    model, X, Y, lr = diverging(case)
    reports, train = [], numba_engine.Session._train

    def spy(session, *args):
        finished = train(session, *args)
        reports.append(float(session.report[0]))
        return finished

    monkeypatch.setattr(numba_engine.Session, "_train", spy)
    ends = []
    for enabled in (True, False):
        monkeypatch.setattr(specialize, "ENABLED", enabled)
        m = copy.deepcopy(model)
        with pytest.raises(minibp.TrainingDivergedError) as info:
            m.fit(X, Y, loss="squared", optimizer=SGD(lr), epochs=5, batch_size=1,
                  shuffle=shuffle, seed=3, engine="numba", verbose=0)
        error = info.value
        ends.append(((error.step, error.epoch, error.overflow, str(error)),
                     error.history["loss"], [a for layer in m for a in
                                             (layer.W, layer.b, layer.dW, layer.db)]))
        if enabled:
            assert loaded[0].FUSED, "the fused loop did not run"
            assert numba_engine.FUSED_NOT_FINITE in reports, reports  # and then replayed
    (fused_error, fused_losses, fused_arrays), (error, losses, arrays) = ends
    assert fused_error == error and fused_error[2] is overflow
    assert fused_losses == losses
    for a, b in zip(fused_arrays, arrays):
        np.testing.assert_array_equal(a, b)  # NaN where NaN


def test_a_fused_step_on_a_sample_of_weight_zero_is_refused_as_the_generic_loop_does(
        loaded, monkeypatch):
    model, X, Y, _ = diverging("infinite-loss")
    ends = []
    for enabled in (True, False):
        monkeypatch.setattr(specialize, "ENABLED", enabled)
        m = copy.deepcopy(model)
        with pytest.raises(ValueError, match="sample_weight must have a finite sum above 0"):
            m.fit(X, Y, loss="squared", optimizer=SGD(0.1, 0.5), epochs=2, batch_size=1,
                  shuffle=True, seed=3, sample_weight=[1.0, 1.0, 0.0, 1.0],
                  engine="numba", verbose=0)
        ends.append([a for layer in m for a in (layer.W, layer.b)])
    assert loaded[0].FUSED
    for a, b in zip(*ends):  # the weights of the step before (gradients: the fused loop
        np.testing.assert_array_equal(a, b)  # leaves that step's, as the NumPy engine does)


def test_the_report_code_of_fused_loops_agrees():
    from minibp.engines import numba_replay

    text = loop_source.TEMPLATE.read_text()
    assert f"FUSED_NOT_FINITE = {float(numba_replay.FUSED_NOT_FINITE)}" in text


def test_a_changed_kernel_text_or_version_gets_another_file(monkeypatch):
    path, text = specialize.kernel_file("A = 1\n")
    assert path.name.startswith("loop_") and text.endswith("A = 1\n")
    assert specialize.kernel_file("A = 2\n")[0] != path
    monkeypatch.setattr(specialize, "__version__", "99.0")
    assert specialize.kernel_file("A = 1\n")[0] != path


def test_generated_source_names_the_structure_and_fixes_its_facts():
    model, X, Y, options, make_optimizer = problem("chapter-like")
    from minibp.engines.flat import FlatModel
    from minibp.engines.update_settings import settings
    flat = FlatModel(list(model), rows=1)
    structure = specialize.structure_of(specialize.layer_facts(flat), 0,
                                        settings(make_optimizer()), shuffle=False,
                                        weighted=False, all_trainable=True)
    text = loop_source.source(structure)
    assert "# layers: 2 -> 2 sigmoid -> 2 sigmoid" in text
    assert "SHUFFLED = False" in text and "WITH_ADAM = False" in text
    assert "dense_forward_at(x, x_off, rows, params, 2, 2, 0, 4, SIGMOID" in text
    large = specialize.layer_facts(FlatModel(list(mixed_model([3, 20, 16, 4], ["relu"],
                                                                  None, 0)), rows=1))
    assert large[0] == (None, None, None, None, 3)  # sizes read at run time


CHILD = textwrap.dedent("""
    import numpy as np, minibp
    from minibp.engines import loop_source, specialize
    model = minibp.mlp([2, 3, 1], "tanh", "sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(8, 2)); Y = (X[:, :1] > 0) * 1.0
    model.fit(X, Y, loss="mse", optimizer="sgd", epochs=2, batch_size=2, seed=0,
              engine="numba", verbose=0)
    (module,) = specialize._LOADED.values()
    stats = module.train_epochs.stats
    print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()),
          module.__file__, float(model[0].W.sum()))
""")


def test_a_second_process_loads_the_compiled_loop_from_disk():
    """Two processes, the user's cache folder: the second loads what the first (or an
    earlier run) compiled, and both end at the same weights."""
    env = dict(os.environ, MINIBP_SPECIALIZE="1")
    outputs = [subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                              text=True, check=True).stdout.split() for _ in range(2)]
    (_, _, file_1, w_1), (hits_2, misses_2, file_2, w_2) = outputs
    assert (hits_2, misses_2) == ("1", "0")  # loaded, not compiled
    assert file_1 == file_2 and file_1.startswith(str(specialize.cache_folder()))
    assert w_1 == w_2


def test_a_tampered_kernel_file_is_rewritten_before_it_is_imported(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIBP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(specialize, "_LOADED", {})
    layers = ((2, 2, 0, 4, 1), (2, 2, 6, 10, 1))
    structure = specialize.Structure(layers, 0, False, False, False, False, False, True, True)
    module = specialize.kernels_for(structure)  # writes and imports; compiles nothing yet
    path = tmp_path / "loops" / os.path.basename(module.__file__)
    good = path.read_text()
    path.write_text(good.replace("SHUFFLED = False", "SHUFFLED = True"))
    monkeypatch.setattr(specialize, "_LOADED", {})
    again = specialize.kernels_for(structure)
    assert path.read_text() == good and again.SHUFFLED is False


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 1000, 70_001])
def test_the_compiled_shuffle_draws_numpys_permutations(n):
    """Three epochs' orders from one generator, compiled and in Python (NumPy's own shuffle):
    each what rng.permutation(n) gives, and the generator left where NumPy leaves it."""
    from numba import njit

    @njit
    def three_orders(rng, order, out):
        for e in range(out.shape[0]):
            shuffle_order(rng, order)
            out[e] = order

    for seed in (0, 1, 12345):
        reference = np.random.default_rng(seed)
        expected = [reference.permutation(n) for _ in range(3)]
        for run in (three_orders, three_orders.py_func):
            rng, out = np.random.default_rng(seed), np.empty((3, n), np.int64)
            run(rng, np.empty(n, np.int64), out)
            np.testing.assert_array_equal(out, expected)
            assert rng.bit_generator.state == reference.bit_generator.state


def test_the_generated_loop_pastes_the_layers_and_the_shuffle():
    """The driver's calls to forward_layers and backward_layers become one call per layer
    (single rows: the derivative loop and the one-row backward that dense_backward_at runs
    for them), and its order is drawn by shuffle_order, whose text the file holds."""
    layers = ((2, 5, 0, 10, 1), (5, 1, 15, 20, 1))
    for single_row, backward in ((True, "_dense_backward_one_row("), (False,
                                                                      "dense_backward_at(")):
        structure = specialize.Structure(layers, 0, True, False, False, False, False, True,
                                         True, single_row=single_row)
        text = loop_source.source(structure)
        driver = text[text.index(loop_source.MARKER):]
        assert "forward_layers(" not in driver and "backward_layers(" not in driver
        assert driver.count("dense_forward_at(") == 2 and driver.count(backward) == 2
        assert driver.count("activation_derivative(") == (2 if single_row else 0)
        assert "shuffle_order(rng, order)" in driver and "rng.shuffle" not in driver
        assert loop_source.SHUFFLE.read_text() in text
        assert f"GATHERED = {not single_row}" in text  # single rows are read in place
        fused = specialize.Structure(layers, 0, True, False, False, False, False, True,
                                     False, single_row=True, fused=True)
        driver = loop_source.source(fused).split(loop_source.MARKER)[-1]
        assert "backward_update_layers(" not in driver and "FUSED = True" in \
            loop_source.source(fused)
        assert driver.count("_dense_backward_update_one_row(") == 1 + 2  # def + 2 layers
        assert "sgd, trains[1, 0], trains[1, 1])" in driver  # frozen parts: read per call


@pytest.mark.parametrize("n, batch_size, rows_of_one", [(23, 2, True), (23, 7, False),
                                                         (23, 32, False), (1, 4, True),
                                                         (9, 1, True), (60_000, 128, False)])
def test_the_one_row_backward_is_left_out_when_no_batch_has_one_row(n, batch_size,
                                                                     rows_of_one):
    """ROWS_OF_ONE, the structure's last constant, overrides loop.py's True exactly when
    the data's last batch (or only batch) cannot be a single row. The matrix above runs
    both kinds bit for bit against the generic loop (depth-1: 23 rows in batches of 2)."""
    settings = np.zeros(16)
    structure = specialize.structure_of(((3, 4, 0, 12, 1),), 0, settings, shuffle=False,
                                        weighted=False, all_trainable=True,
                                        batch_size=batch_size, n=n)
    assert structure.rows_of_one is rows_of_one
    text = loop_source.source(structure)
    assert f"ROWS_OF_ONE = {rows_of_one}" in text
    assert text.index("ROWS_OF_ONE = True") < text.index(loop_source.MARKER)  # loop.py's


@pytest.mark.parametrize("sizes, fused", [([3, 12, 10, 4], True), ([3, 20, 16, 4], False)])
def test_single_rows_fuse_the_update_only_when_the_sizes_are_compiled_in(sizes, fused):
    """A layer over SMALL_LAYER weights leaves the sizes run-time values, and there the
    fused step was slower than the generic loop: such a structure updates after the
    backward pass (it is in the matrix above, bit for bit: single-row-large-momentum)."""
    from minibp.engines.flat import FlatModel
    from minibp.engines.update_settings import settings

    flat = FlatModel(minibp.mlp(sizes, "tanh", seed=0).layers, rows=1)
    structure = specialize.structure_of(specialize.layer_facts(flat), 0, settings(SGD(0.1, 0.9)),
                                        shuffle=True, weighted=False, all_trainable=True,
                                        batch_size=1)
    assert structure.fused is fused
    assert structure.sgd_terms == ((True, False, False) if fused else (False,) * 3)
