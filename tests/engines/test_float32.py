"""float32 models: model.astype, and training in float32 on every engine, checked against
the same training in float64 (independent of any float32 code path) to 1e-4 relative."""

import numpy as np
import pytest

import minibp

ENGINES = ["numpy", "numba", "blas"]


def problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 6))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    model = minibp.mlp([6, 16, 8, 3], "sigmoid", seed=seed)
    model[0].freeze("b")
    return model, X, labels


def test_astype_returns_a_converted_copy_and_leaves_the_model_alone():
    model, _, _ = problem()
    small = model.astype(np.float32)
    assert small is not model
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32
               for p in small.parameters())
    assert all(p.value.dtype == np.float64 for p in model.parameters())
    for a, b in zip(model.parameters(), small.parameters()):
        np.testing.assert_array_equal(a.value.astype(np.float32), b.value)
        assert a.frozen == b.frozen and a.name == b.name
    small[0].W[0, 0] = 123.0
    assert model[0].W[0, 0] != 123.0
    assert repr(small) == repr(model)


def test_astype_keeps_layers_without_parameters():
    model = minibp.Sequential(minibp.Dense(2, 3), minibp.Tanh(), minibp.Dense(3, 1))
    converted = model.astype("float32")
    assert isinstance(converted[1], minibp.Tanh) and converted[1] is not model[1]
    assert converted.forward(np.ones((2, 2), np.float32)).dtype == np.float32


def test_astype_refuses_other_dtypes():
    with pytest.raises(TypeError, match="float32 or float64"):
        minibp.mlp([2, 2]).astype(np.int32)


OPTIMIZERS = {  # the second also runs fit's sample_weight and clip_norm
    "momentum": (lambda: minibp.SGD(0.1, momentum=0.5), {}),
    "adamw": (lambda: minibp.AdamW(0.01, l2=1e-3),
              {"sample_weight": np.linspace(0.5, 2.0, 64), "clip_norm": 1.0}),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_training_follows_float64_training(name, engine):
    model, X, labels = problem()
    small = model.astype(np.float32)
    make, options = OPTIMIZERS[name]
    kwargs = dict(loss=minibp.SoftmaxCrossEntropy(), epochs=5, batch_size=16, seed=3,
                  engine=engine, **options)
    h64 = model.fit(X, labels, optimizer=make(), **kwargs)
    h32 = small.fit(X, labels, optimizer=make(), **kwargs)
    assert h64.history["loss"][-1] < h64.history["loss"][0]       # stable, learning
    np.testing.assert_allclose(h32.history["loss"], h64.history["loss"], rtol=1e-4)
    for p64, p32 in zip(model.parameters(), small.parameters()):
        assert p32.value.dtype == np.float32
        np.testing.assert_allclose(p32.value, p64.value, rtol=1e-4, atol=1e-5, err_msg=p32.name)
    out = small.predict(X.astype(np.float32), engine=engine)
    assert out.dtype == np.float32


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_losses_are_summed_in_float64(engine):
    """A sum of many float32 terms drifts; the engines accumulate losses in float64."""
    rows = 4096
    model = minibp.Sequential(minibp.Dense(1, 1, W=[[0.0]], b=0.0, dtype=np.float32))
    model[0].freeze()
    X = np.zeros((rows, 1), np.float32)
    Y = np.full((rows, 1), 0.1, np.float32)
    with pytest.warns(UserWarning, match="every parameter of this model is frozen"):
        history = model.fit(X, Y, loss=minibp.MSE(), optimizer=minibp.SGD(0.0),
                            batch_size=rows, engine=engine)
    exact = float(np.float32(0.1)) ** 2
    assert history.history["loss"][0] == pytest.approx(exact, rel=1e-7)
