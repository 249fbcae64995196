"""The chapter's worked example, computed by minibp, against the float64 values of
../shared/CHAPTER.md (the chapter's own algorithm in exact float64 arithmetic), to 1e-12."""

import pytest
from chapter_values import GOLDEN  # tests/support, on pytest's path

import minibp
from minibp.demo import chapter_walkthrough
from minibp.examples import chapter_data, chapter_network

TOL = 1e-12


@pytest.fixture(scope="module")
def walkthrough():
    return chapter_walkthrough()


@pytest.mark.parametrize("name", GOLDEN)
def test_every_value_of_the_walkthrough(walkthrough, name):
    assert walkthrough[name] == pytest.approx(GOLDEN[name], rel=TOL, abs=TOL)


def test_factors_are_the_inputs_they_should_be(walkthrough):
    assert walkthrough["dnet_o1/dw5"] == walkthrough["out_h1"]
    assert walkthrough["dnet_h1/dw1"] == 0.05


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_ten_thousand_steps_on_each_engine(engine):
    model, (X, Y) = chapter_network(), chapter_data()
    loss = minibp.SquaredError()
    history = model.fit(X, Y, loss=loss, optimizer=minibp.SGD(lr=0.5), epochs=10_000,
                        batch_size=1, shuffle=False, engine=engine)
    losses = history.history["loss"]
    assert losses[0] == pytest.approx(GOLDEN["E_total"], rel=TOL)
    assert losses[1] == pytest.approx(GOLDEN["E_total after 1 step"], rel=TOL)
    out = model.predict(X, engine=engine)
    assert loss.forward(out, Y) == pytest.approx(GOLDEN["E_total after 10,000 steps"],
                                                 rel=1e-10, abs=TOL)
    assert out[0, 0] == pytest.approx(GOLDEN["out_o1 after 10,000 steps"], abs=TOL)
    assert out[0, 1] == pytest.approx(GOLDEN["out_o2 after 10,000 steps"], abs=TOL)
    # The chapter's biases are shared and never trained: ours are frozen and stay put.
    assert model[0].b.tolist() == [0.35, 0.35] and model[1].b.tolist() == [0.6, 0.6]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_first_gradients_on_each_engine(engine):
    model, (X, Y) = chapter_network(), chapter_data()
    grads = model.gradients(X, Y, minibp.SquaredError(), engine=engine)
    assert grads["model[1].W"][0, 0] == pytest.approx(GOLDEN["dE/dw5"], rel=TOL)
    assert grads["model[0].W"][0, 0] == pytest.approx(GOLDEN["dE/dw1"], rel=TOL)
