"""The chapter's worked example, computed by minibp, against the float64 values of
../shared/CHAPTER.md (the chapter's own algorithm in exact float64 arithmetic), to 1e-12."""

import pytest

import minibp
from minibp.demo import chapter_walkthrough
from minibp.examples import chapter_data, chapter_network

TOL = 1e-12

# CHAPTER.md, "Values computed in float64 by the chapter's own algorithm".
GOLDEN = {
    "net_h1": 0.3775, "out_h1": 0.5932699921071872,
    "net_h2": 0.39249999999999996, "out_h2": 0.596884378259767,
    "net_o1": 1.10590596705977, "out_o1": 0.7513650695523157,
    "net_o2": 1.2249214040964653, "out_o2": 0.7729284653214625,
    "E_o1": 0.274811083176155, "E_o2": 0.023560025583847746, "E_total": 0.2983711087600027,
    "dE/dout_o1": 0.7413650695523157, "dout_o1/dnet_o1": 0.18681560180895948,
    "dE/dw5": 0.08216704056423078,
    "w5+": 0.35891647971788465, "w6+": 0.4086661860762334,
    "w7+": 0.5113012702387375, "w8+": 0.5613701211079891,
    "dE/dout_h1": 0.036350306393144675, "dout_h1/dnet_h1": 0.24130070857232525,
    "dE/dw1": 0.00043856773447434674,
    "w1+": 0.1497807161327628, "w2+": 0.19956143226552567,
    "w3+": 0.24975114363236958, "w4+": 0.29950228726473915,
    "E_total after 1 step": 0.29102777369359933,
    "E_total after 10,000 steps": 3.510187782978859e-05,
    "out_o1 after 10,000 steps": 0.01591362044355068,
    "out_o2 after 10,000 steps": 0.9840642735146238,
}


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
