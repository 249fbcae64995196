"""The compiled engines (numba, blas) against the NumPy reference engine, and how engines
are chosen.

Independent reference: the NumPy engine (itself matched to a per-neuron loop in
test_against_reference.py). In float64, one batch's gradients must agree to 1e-12 and the
weights after 3 epochs of stable training to 1e-10. "Stable" means a modest learning rate
with falling loss: unstable training amplifies last-bit differences between BLAS and loops.
"""

import numpy as np
import pytest

import minibp
from minibp.engines import AUTO_NUMBA_MAX_MACS, choose_engine, why_not_compiled

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu"]
COMPILED = ["numba", "blas"]
LOSSES = {"squared": minibp.SquaredError, "mse": minibp.MSE, "xent": minibp.SoftmaxCrossEntropy,
          "bce": minibp.BinaryCrossEntropy}  # bce: four yes/no outputs (multi-label), soft


def make_problem(depth, width, activation, loss_name, n, seed):
    """A random model of `depth` Dense layers of `width` units and data for it."""
    rng = np.random.default_rng(seed)
    n_in, n_out = 3, 4
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    output = None if loss_name in ("xent", "bce") else activation  # those two take logits
    model = minibp.mlp(sizes, activation, output, seed=rng)
    X = rng.normal(size=(n, n_in))
    if loss_name == "xent":
        Y = rng.integers(0, n_out, size=n)
    else:
        Y = rng.uniform(0.1, 0.9, size=(n, n_out))
    return model, X, Y, LOSSES[loss_name]()


def copy_of(model):
    layers = [minibp.Dense(layer.in_features, layer.out_features, layer.activation,
                           W=layer.W, b=layer.b) for layer in model]
    return minibp.Sequential(*layers)


def assert_same_weights(a, b, rtol):
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa.value, pb.value, rtol=rtol, atol=rtol, err_msg=pa.name)


CASES = [  # (depth, width, batch size, n samples)
    (1, 1, 1, 5), (1, 64, 7, 20), (2, 5, 32, 40), (2, 64, 1, 9),
    (3, 13, 7, 29), (3, 1, 32, 32), (4, 8, 7, 23), (4, 33, 32, 70),
]


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth,width,batch,n", CASES)
def test_one_batch_gradients_agree(depth, width, batch, n, activation, loss_name, engine):
    model, X, Y, loss = make_problem(depth, width, activation, loss_name, n, seed=depth * width)
    reference = model.gradients(X[:batch], Y[:batch], loss, engine="numpy")
    compiled = model.gradients(X[:batch], Y[:batch], loss, engine=engine)
    assert reference.keys() == compiled.keys()
    for name, grad in reference.items():
        scale = np.max(np.abs(grad)) + 1e-300
        np.testing.assert_allclose(compiled[name], grad, rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=name)


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth,width,batch,n", CASES[::2])
def test_three_epochs_agree(depth, width, batch, n, activation, loss_name, momentum, shuffle,
                            engine):
    model, X, Y, loss = make_problem(depth, width, activation, loss_name, n, seed=n)
    twin = copy_of(model)
    lr = 0.05 if momentum else 0.2
    kwargs = dict(loss=loss, epochs=3, batch_size=batch, shuffle=shuffle, seed=7)
    h_numpy = model.fit(X, Y, optimizer=minibp.SGD(lr, momentum), engine="numpy", **kwargs)
    h_numba = twin.fit(X, Y, optimizer=minibp.SGD(lr, momentum), engine=engine, **kwargs)
    assert_same_weights(model, twin, rtol=1e-10)
    np.testing.assert_allclose(h_numba.history["loss"], h_numpy.history["loss"], rtol=1e-10)
    assert h_numba.epoch == h_numpy.epoch == [0, 1, 2]


def test_engines_can_take_turns_with_one_optimizer():
    """Momentum lives in the optimizer, so switching engines mid-training changes nothing."""
    model, X, Y, loss = make_problem(2, 6, "tanh", "squared", 12, seed=3)
    twin = copy_of(model)
    opt_a, opt_b = minibp.SGD(0.1, 0.9), minibp.SGD(0.1, 0.9)
    for engine in ["numpy", "numba", "blas", "numba", "numpy", "blas"]:
        model.fit(X, Y, loss=loss, optimizer=opt_a, epochs=1, batch_size=5, seed=1,
                  engine=engine)
        twin.fit(X, Y, loss=loss, optimizer=opt_b, epochs=1, batch_size=5, seed=1,
                 engine="numpy")
    assert_same_weights(model, twin, rtol=1e-10)


@pytest.mark.parametrize("engine", COMPILED)
def test_shuffle_draws_the_same_orders_and_leaves_the_generator_in_the_same_state(engine):
    model, X, Y, loss = make_problem(1, 1, "sigmoid", "squared", 9, seed=0)
    rng_numpy, rng_numba = np.random.default_rng(5), np.random.default_rng(5)
    model.fit(X, Y, loss=loss, optimizer=minibp.SGD(0.1), epochs=4, batch_size=2,
              seed=rng_numpy, engine="numpy")
    copy_of(model).fit(X, Y, loss=loss, optimizer=minibp.SGD(0.1), epochs=4, batch_size=2,
                       seed=rng_numba, engine=engine)
    assert rng_numpy.bit_generator.state == rng_numba.bit_generator.state


@pytest.mark.parametrize("engine", ["numpy", *COMPILED])
def test_train_step_and_predict_agree_with_the_reference(engine):
    model, X, Y, loss = make_problem(3, 9, "sigmoid", "mse", 11, seed=2)
    twin = copy_of(model)
    expected_loss = twin.train_step(X, Y, loss, minibp.SGD(0.3), engine="numpy")
    assert model.train_step(X, Y, loss, minibp.SGD(0.3), engine=engine) == pytest.approx(
        expected_loss, rel=1e-12)
    assert_same_weights(model, twin, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X, engine=engine), twin.forward(X), rtol=1e-12)


@pytest.mark.parametrize("engine", COMPILED)
def test_predict_covers_more_rows_than_one_chunk(engine):
    model, _, _, _ = make_problem(2, 4, "relu", "squared", 1, seed=4)
    X = np.random.default_rng(0).normal(size=(2500, 3))
    np.testing.assert_allclose(model.predict(X, engine=engine), model.forward(X), rtol=1e-12)


@pytest.mark.parametrize("engine", COMPILED)
def test_compiled_engines_refuse_what_they_cannot_run_and_say_why(engine):
    model = minibp.Sequential(minibp.Dense(2, 3), minibp.Sigmoid(), minibp.Dense(3, 1))
    X, Y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match=r"model\[1\] is a Sigmoid.*Dense layers only"):
        model.fit(X, Y, loss=minibp.SquaredError(), optimizer=minibp.SGD(), engine=engine)
    history = model.fit(X, Y, loss=minibp.SquaredError(), optimizer=minibp.SGD(),
                        engine="auto")
    assert len(history.history["loss"]) == 1


def test_why_not_compiled_names_loss_and_optimizer():
    model = minibp.mlp([2, 2])

    class Hinge(minibp.SquaredError):
        pass

    class Adam(minibp.SGD):
        pass

    assert why_not_compiled(model) is None
    assert "Hinge" in why_not_compiled(model, Hinge())
    assert "reduction='mean'" in why_not_compiled(model, minibp.MSE(reduction="sum"))
    assert "Adam" in why_not_compiled(model, minibp.SquaredError(), Adam())
    assert why_not_compiled(model, minibp.SquaredError(), minibp.Adam()) is None


def test_auto_picks_numba_for_small_steps_blas_for_large_ones_numpy_for_the_rest():
    small = minibp.mlp([2, 5, 1])
    assert choose_engine("auto", small, minibp.SquaredError(), minibp.SGD(), rows=1) == "numba"
    big = minibp.mlp([784, 256, 10])
    assert 784 * 256 + 256 * 10 > AUTO_NUMBA_MAX_MACS
    assert choose_engine("auto", big, minibp.SquaredError(), minibp.SGD(), rows=1) == "blas"
    custom = minibp.Sequential(minibp.Dense(784, 256), minibp.Sigmoid())
    assert choose_engine("auto", custom, minibp.SquaredError(), minibp.SGD(), rows=1) == "numpy"
    with pytest.raises(ValueError, match=r"engine must be one of 'auto', .*, got 'fast'"):
        choose_engine("fast", small)


def test_auto_between_the_thresholds_picks_blas_only_where_its_steps_run_compiled(
        monkeypatch):
    """From AUTO_NUMBA_MAX_MACS_COMPILED to AUTO_NUMBA_MAX_MACS multiply-adds a step, the
    BLAS engine wins only in a fit with its compiled steps; l2, clipping and frozen
    parameters make it step in Python, and the whole-run loop keeps such fits
    (benchmarks/crossover.py), as it keeps predict and single steps there."""
    from minibp.engines import AUTO_NUMBA_MAX_MACS_COMPILED, blas_compiled

    model, loss = minibp.mlp([32, 32, 10]), minibp.SquaredError()
    rows = 4  # 5,376 multiply-adds
    assert AUTO_NUMBA_MAX_MACS_COMPILED < 4 * (32 * 32 + 32 * 10) <= AUTO_NUMBA_MAX_MACS
    compiled = blas_compiled.why_not_steps(minibp.SGD(), False, False) is None
    fit = {"sample_weight": False, "clip_norm": False}  # fit's options: only fit gives them
    for optimizer in (minibp.SGD(), minibp.Adam()):
        assert choose_engine("auto", model, loss, optimizer, rows=rows, options=fit) == (
            "blas" if compiled else "numba")
        assert choose_engine("auto", model, loss, optimizer, rows=rows) == "numba"  # a step
    assert choose_engine("auto", model, rows=rows) == "numba"  # predict, evaluate
    assert choose_engine("auto", model, loss, minibp.SGD(l2=1e-4), rows=rows,
                         options=fit) == "numba"
    assert choose_engine("auto", model, loss, minibp.SGD(), rows=rows,
                         options=dict(fit, clip_norm=True)) == "numba"
    model[0].freeze("b")
    assert choose_engine("auto", model, loss, minibp.SGD(), rows=rows, options=fit) == "numba"
    model[0].unfreeze()
    monkeypatch.setattr(blas_compiled, "ENABLED", False)  # MINIBP_BLAS_STEPS=0
    assert choose_engine("auto", model, loss, minibp.SGD(), rows=rows, options=fit) == "numba"
    assert choose_engine("auto", model, loss, minibp.SGD(), rows=1, options=fit) == "numba"
    assert choose_engine("auto", model, loss, minibp.SGD(), rows=8) == "blas"  # 10,752


@pytest.mark.parametrize("engine", ["numpy"] + COMPILED)
def test_read_only_parameters_give_gradients_and_refuse_training_by_name(engine):
    """gradients, predict and evaluate only read the parameters; fit and train_step update
    them in place, and say which one cannot be written before any step (each engine had
    failed in its own words: numba's write-back, a TypingError, NumPy's out=)."""
    model = minibp.mlp([5, 4, 3], "tanh", None, seed=0)
    X, y = np.random.default_rng(1).normal(size=(7, 5)), np.arange(7) % 3
    model.layers[1].b = np.linspace(-1, 1, 3)
    model.layers[1].b.setflags(write=False)
    reference = minibp.mlp([5, 4, 3], "tanh", None, seed=0)
    reference.layers[1].b = model.layers[1].b.copy()
    got = model.gradients(X, y, "xent", engine=engine)
    for name, want in reference.gradients(X, y, "xent", engine="numpy").items():
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-12 * np.abs(want).max())
    before = [p.value.copy() for p in model.parameters()]
    message = r"model\[1\]\.b is read-only; training updates the parameters in place"
    with pytest.raises(ValueError, match="fit: " + message):
        model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.1), engine=engine, verbose=0)
    with pytest.raises(ValueError, match="train_step: " + message):
        model.train_step(X, y, "xent", minibp.SGD(0.1), engine=engine)
    for p, value in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.value, value)


@pytest.mark.parametrize("engine", COMPILED)
def test_compiled_paths_still_check_the_input_width(engine):
    model = minibp.mlp([3, 2])
    with pytest.raises(ValueError, match=r"at model\[0\]: X must have shape \(batch, 3\), got \(4,"
                                   r" 5\)"):
        model.fit(np.ones((4, 5)), np.ones((4, 2)), loss=minibp.MSE(),
                  optimizer=minibp.SGD(), engine=engine)


def test_float32_models_train_in_float32_on_both_engines():
    X, Y = minibp.examples.xor_data()
    results = {}
    for engine in ["numpy", *COMPILED]:
        model = minibp.mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=0,
                           dtype=np.float32)
        model.fit(X, Y, loss=minibp.SquaredError(), optimizer=minibp.SGD(0.5), epochs=50,
                  batch_size=1, seed=0, engine=engine)
        assert model[0].W.dtype == np.float32
        results[engine] = model.predict(X, engine=engine)
        assert results[engine].dtype == np.float32
    for engine in COMPILED:
        np.testing.assert_allclose(results[engine], results["numpy"], rtol=1e-4)


@pytest.mark.parametrize("engine", COMPILED)
def test_verbose_fit_prints_progress_and_records_every_epoch(capsys, engine):
    model, X, Y, loss = make_problem(1, 1, "sigmoid", "squared", 4, seed=0)
    history = model.fit(X, Y, loss=loss, optimizer=minibp.SGD(0.1), epochs=40, batch_size=4,
                        verbose=1, engine=engine)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("epoch 40/40 - loss: ")
    assert 1 < len(lines) <= 21
    assert history.epoch == list(range(40))


@pytest.mark.parametrize("engine", ["numpy", *COMPILED])
def test_large_but_finite_float32_gradients_do_not_count_as_divergence(engine):
    """dW = 2e38 fits in float32 while its square does not: the norm is taken in float64, and
    the blas engine's Cauchy-Schwarz shortcut (4e76 here, above its safe limit) falls back
    to summing the gradient itself."""
    model = minibp.Sequential(minibp.Dense(1, 1, W=[[1e-22]], b=0.0, dtype=np.float32))
    X, Y = np.array([[1e30]], np.float32), np.zeros((1, 1), np.float32)
    model.fit(X, Y, loss=minibp.MSE(), optimizer=minibp.SGD(0.0), shuffle=False,
              engine=engine)
    assert model[0].dW[0, 0] == pytest.approx(2e38, rel=1e-5)
    assert np.isfinite(model[0].dW).all()
