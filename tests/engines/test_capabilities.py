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
from minibp.engines import capabilities, choose_engine, flat, update_settings, why_not_compiled
from minibp.engines.kernels import fused, loop, updates
from minibp.nn import activations
from minibp.optim import CosineDecay, ExponentialDecay, Optimizer, StepDecay

KERNEL_NAMES = {  # the kernels' constant for each class of the tables
    minibp.Identity: "IDENTITY", minibp.Sigmoid: "SIGMOID", minibp.Tanh: "TANH",
    minibp.ReLU: "RELU",
    minibp.SquaredError: "SQUARED_ERROR", minibp.MSE: "MSE",
    minibp.SoftmaxCrossEntropy: "SOFTMAX_XENT", minibp.BinaryCrossEntropy: "BCE_LOGITS",
    StepDecay: "STEP_DECAY", CosineDecay: "COSINE_DECAY", ExponentialDecay: "EXPONENTIAL_DECAY",
}
FAMILIES = {minibp.SGD: "SGD", minibp.Adam: "ADAM", minibp.AdamW: "ADAM"}  # AdamW: Adam's kernel


@pytest.mark.parametrize("module", [loop, fused], ids=["loop", "fused"])
@pytest.mark.parametrize("table", ["ACTIVATION_CODES", "LOSS_CODES"])
def test_kernel_constants_equal_the_tables(module, table):
    codes = getattr(capabilities, table)
    for cls, code in codes.items():
        assert getattr(module, KERNEL_NAMES[cls]) == code, (module.__name__, cls.__name__)
    assert len(set(codes.values())) == len(codes), "two classes share a code"


def test_schedule_codes_equal_the_loop_kernels_constants():
    for cls, code in capabilities.SCHEDULE_CODES.items():
        assert getattr(loop, KERNEL_NAMES[cls]) == code == cls.code, cls.__name__
    assert loop.CONSTANT_LR == capabilities.CONSTANT_LR
    assert loop.LR_PER_STEP == capabilities.LR_PER_STEP
    codes = [*capabilities.SCHEDULE_CODES.values(), capabilities.CONSTANT_LR,
             capabilities.LR_PER_STEP]
    assert len(set(codes)) == len(codes), "two schedules share a code"


def test_optimizer_families_equal_the_loop_kernels_constants():
    """One update kernel per family: AdamW shares Adam's code (its decay is a setting)."""
    assert set(capabilities.OPTIMIZER_CODES) == set(FAMILIES)
    for cls, code in capabilities.OPTIMIZER_CODES.items():
        assert getattr(loop, FAMILIES[cls]) == code, cls.__name__
    assert capabilities.OPTIMIZER_CODES[minibp.SGD] != capabilities.OPTIMIZER_CODES[minibp.Adam]


@pytest.mark.parametrize("module", [loop, updates], ids=["loop", "updates"])
def test_settings_entries_are_named_alike_in_python_and_the_kernels(module):
    names = update_settings.SETTINGS
    assert [getattr(module, name) for name in names] == list(range(len(names)))
    assert update_settings.settings(minibp.SGD()).shape == (len(names),)


def test_layout_columns_of_flat_model_and_loop_kernels_agree():
    columns = ("N_IN", "N_OUT", "W_OFF", "B_OFF", "ACT", "A_OFF")
    assert [getattr(flat, c) for c in columns] == [getattr(loop, c) for c in columns]
    assert [getattr(flat, c) for c in columns] == list(range(6))


def test_every_built_in_activation_has_a_compiled_code():
    assert set(activations.ACTIVATIONS.values()) <= set(capabilities.ACTIVATION_CODES)


def test_every_built_in_loss_optimizer_and_schedule_compiles():
    model = minibp.mlp([2, 3, 1])
    for loss in minibp.nn.losses.LOSS_NAMES.values():
        for optimizer in minibp.optim.OPTIMIZER_NAMES.values():
            assert why_not_compiled(model, loss(), optimizer(), sample_weight=True,
                                    clip_norm=True) is None, (loss, optimizer)
    for lr in (StepDecay(0.1, 5), CosineDecay(0.1, 9), ExponentialDecay(0.1, 0.9),
               lambda step: 0.1):
        assert why_not_compiled(model, minibp.MSE(), minibp.AdamW(lr, l2=0.1)) is None


def test_what_still_runs_on_numpy_only_says_why():
    model = minibp.mlp([2, 3, 1])

    class Lion(Optimizer):
        def update(self, p, lr):
            p.value -= lr * np.sign(p.grad)

    class MyAdam(minibp.Adam):
        pass

    assert why_not_compiled(model, minibp.MSE(), Lion(0.1)) == (
        "it has no compiled version of the optimizer Lion (the compiled engines run SGD, Adam, "
        "AdamW)")
    assert "MyAdam" in why_not_compiled(model, minibp.MSE(), MyAdam())
    reason = why_not_compiled(model, minibp.BinaryCrossEntropy(from_logits=False))
    assert reason.startswith("it has no compiled version of BinaryCrossEntropy(from_logits=False)")
    assert choose_engine("auto", model, minibp.BinaryCrossEntropy(from_logits=False)) == "numpy"
    with pytest.raises(ValueError, match="from_logits=False"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)) * 0.5, loss=minibp.BinaryCrossEntropy(False),
                  optimizer=minibp.SGD(), engine="numba")


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
