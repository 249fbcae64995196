"""minibp.engines.capabilities: one table per fact, and what is missing from it never reaches
a compiled engine.

References: the constants written in the kernel modules themselves (read, not imported from
the tables), and a NumPy-only activation registered here, checked against central
differences and a hand-written forward.
"""

import numpy as np
import pytest
from finite_diff import numeric_gradient

import minibp
from minibp.engines import capabilities, choose_engine, flat, why_not_compiled
from minibp.engines.kernels import fused, loop
from minibp.nn import activations

KERNEL_NAMES = {  # the kernels' constant for each class of the tables
    minibp.Identity: "IDENTITY", minibp.Sigmoid: "SIGMOID", minibp.Tanh: "TANH",
    minibp.ReLU: "RELU",
    minibp.SquaredError: "SQUARED_ERROR", minibp.MSE: "MSE",
    minibp.SoftmaxCrossEntropy: "SOFTMAX_XENT",
}


@pytest.mark.parametrize("module", [loop, fused], ids=["loop", "fused"])
@pytest.mark.parametrize("table", ["ACTIVATION_CODES", "LOSS_CODES"])
def test_kernel_constants_equal_the_tables(module, table):
    codes = getattr(capabilities, table)
    for cls, code in codes.items():
        assert getattr(module, KERNEL_NAMES[cls]) == code, (module.__name__, cls.__name__)
    assert len(set(codes.values())) == len(codes), "two classes share a code"


def test_layout_columns_of_flat_model_and_loop_kernels_agree():
    columns = ("N_IN", "N_OUT", "W_OFF", "B_OFF", "ACT", "A_OFF")
    assert [getattr(flat, c) for c in columns] == [getattr(loop, c) for c in columns]
    assert [getattr(flat, c) for c in columns] == list(range(6))


def test_every_built_in_activation_has_a_compiled_code():
    assert set(activations.ACTIVATIONS.values()) <= set(capabilities.ACTIVATION_CODES)


# -- an activation of the user's own, NumPy only -------------------------------------------------
class ELU(minibp.ActivationLayer):
    """A = Z for Z > 0, exp(Z) - 1 otherwise; dA/dZ = 1 or A + 1, both from A."""

    name = "test_elu"

    @staticmethod
    def function(Z):
        return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0.0)))

    @staticmethod
    def derivative(A):
        return np.where(A > 0, 1.0, A + 1.0)


@pytest.fixture
def elu():
    minibp.register_activation(ELU)
    yield ELU
    del activations.ACTIVATIONS[ELU.name]


def test_a_registered_activation_trains_on_numpy_and_matches_calculus(elu):
    layer = minibp.Dense(3, 2, "test_elu", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 3))
    Z = X @ layer.W.T + layer.b
    np.testing.assert_allclose(layer.forward(X), np.where(Z > 0, Z, np.exp(Z) - 1), rtol=1e-14)
    G = np.random.default_rng(1).normal(size=(4, 2))
    layer.backward(G)
    numeric = numeric_gradient(lambda: float(np.sum(layer.forward(X) * G)), layer.W)
    np.testing.assert_allclose(layer.dW, numeric, rtol=1e-6, atol=1e-9)


def test_auto_falls_back_to_numpy_for_a_registered_activation(elu):
    model = minibp.mlp([2, 3, 1], "test_elu", seed=0)
    loss, sgd = minibp.MSE(), minibp.SGD(0.1)
    assert choose_engine("auto", model, loss, sgd, rows=4) == "numpy"
    X, Y = np.ones((4, 2)), np.zeros((4, 1))
    history = model.fit(X, Y, loss=loss, optimizer=sgd, epochs=3, batch_size=2)
    assert len(history.history["loss"]) == 3
    assert minibp.gradcheck(model, X, Y, loss=loss).passed


@pytest.mark.parametrize("engine", ["numba", "blas"])
def test_a_compiled_engine_refuses_a_registered_activation_saying_why(elu, engine):
    model = minibp.mlp([2, 3, 1], "test_elu", seed=0)
    reason = why_not_compiled(model)
    assert reason.startswith("model[0] Dense(2 -> 3, test_elu) uses the activation 'test_elu'")
    with pytest.raises(ValueError) as info:
        model.predict(np.ones((1, 2)), engine=engine)
    assert str(info.value) == (f"predict: engine={engine!r} cannot run this: {reason}. "
                               "Use engine='numpy' (or 'auto', which falls back by itself).")


def test_register_activation_refuses_what_it_cannot_use(elu):
    with pytest.raises(TypeError, match="must be an ActivationLayer subclass, got"):
        minibp.register_activation(np.tanh)

    class Clash(minibp.ActivationLayer):
        name = "sigmoid"

    with pytest.raises(ValueError, match=r"Clash.name must be a name not yet taken, got "
                                         r"'sigmoid' \(registered to Sigmoid\)"):
        minibp.register_activation(Clash)
