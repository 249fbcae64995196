"""`minibp demo`: the chapter's worked example, computed by the framework, then XOR.

Only the inputs, the initial weights and the figures the chapter prints are typed in here;
every value in the minibp column comes out of the public API.
"""

from __future__ import annotations

import numpy as np

from minibp.builders import mlp
from minibp.examples import chapter_data, chapter_network, xor_data
from minibp.nn import SquaredError
from minibp.optim import SGD

# What the chapter prints (in its figures and text), exactly as printed, to show beside
# minibp's values. A quantity missing here is one the chapter shows no figure for.
PRINTED = {
    "net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378",
    "net_o1": "1.105905967", "out_o1": "0.75136079", "out_o2": "0.772928465",
    "E_o1": "0.274811083", "E_o2": "0.023560026", "E_total": "0.298371109",
    "dE/dout_o1": "0.74136507", "dout_o1/dnet_o1": "0.186815602", "dnet_o1/dw5": "0.593269992",
    "dE/dw5": "0.082167041",
    "w5+": "0.35891648", "w6+": "0.408666186", "w7+": "0.511301270", "w8+": "0.561370121",
    "dE_o1/dout_h1": "0.055399425", "dE_o2/dout_h1": "-0.019049119",
    "dE/dout_h1": "0.036350306", "dout_h1/dnet_h1": "0.241300709", "dnet_h1/dw1": "0.05",
    "dE/dw1": "0.000438568",
    "w1+": "0.149780716", "w2+": "0.19956143", "w3+": "0.24975114", "w4+": "0.29950229",
    "E_total after 1 step": "0.291027924", "E_total after 10,000 steps": "0.000035085",
    "out_o1 after 10,000 steps": "0.015912196", "out_o2 after 10,000 steps": "0.984065734",
}

REMARKS = {
    "out_o1": "the text's 0.75136079 is a typo for 0.75136507",
    "E_total after 1 step": "the chapter's source rounded its intermediates",
    "E_total after 10,000 steps": "rounded intermediates, and a lost digit (0.0000351085)",
    "out_o1 after 10,000 steps": "rounded intermediates",
    "out_o2 after 10,000 steps": "rounded intermediates",
}

XOR_SEED = 0


def chapter_walkthrough() -> dict[str, float]:
    """Run the worked example step by step through minibp and return every named value."""
    model, (X, Y) = chapter_network(), chapter_data()
    hidden, output = model[0], model[1]
    terms = SquaredError(reduction="none")
    loss = SquaredError()

    v = {}
    model.forward(X)
    for j, name in enumerate(("h1", "h2")):
        v[f"net_{name}"], v[f"out_{name}"] = hidden.Z[0, j], hidden.A[0, j]
    for j, name in enumerate(("o1", "o2")):
        v[f"net_{name}"], v[f"out_{name}"] = output.Z[0, j], output.A[0, j]
    E = terms.forward(output.A, Y)
    v["E_o1"], v["E_o2"] = E[0, 0], E[0, 1]
    v["E_total"] = loss.forward(output.A, Y)

    # Backward, one layer at a time, as the chapter walks it.
    dE_dout = loss.backward()                       # dE/dout for o1, o2
    dE_dout_h = output.backward(dE_dout)            # dE/dout for h1, h2
    hidden.backward(dE_dout_h)
    v["dE/dout_o1"] = dE_dout[0, 0]
    v["dout_o1/dnet_o1"] = output.activation_derivative()[0, 0]
    v["dnet_o1/dw5"] = output.X[0, 0]               # = out_h1
    v["dE/dw5"] = output.dW[0, 0]
    v["dE_o1/dout_h1"] = output.dZ[0, 0] * output.W[0, 0]
    v["dE_o2/dout_h1"] = output.dZ[0, 1] * output.W[1, 0]
    v["dE/dout_h1"] = dE_dout_h[0, 0]
    v["dout_h1/dnet_h1"] = hidden.activation_derivative()[0, 0]
    v["dnet_h1/dw1"] = hidden.X[0, 0]               # = i1
    v["dE/dw1"] = hidden.dW[0, 0]

    SGD(lr=0.5).step(model.parameters())
    for k, (layer, row, col) in enumerate(_WEIGHT_PLACES, start=1):
        v[f"w{k}+"] = model[layer].W[row, col]
    v["E_total after 1 step"] = loss.forward(model.forward(X), Y)

    model.fit(X, Y, loss=loss, optimizer=SGD(lr=0.5), epochs=9_999, batch_size=1,
              shuffle=False)
    out = model.forward(X)
    v["E_total after 10,000 steps"] = loss.forward(out, Y)
    v["out_o1 after 10,000 steps"], v["out_o2 after 10,000 steps"] = out[0, 0], out[0, 1]
    return {name: float(value) for name, value in v.items()}


# w1..w8 as (layer, row, column): row j of W holds the weights into neuron j.
_WEIGHT_PLACES = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1),
                  (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)]


def chain_rule(v: dict[str, float]) -> dict[str, tuple[float, str]]:
    """The chapter's chain rule by hand, from the factors above, beside minibp's backward."""
    return {
        "dE/dw5": (v["dE/dout_o1"] * v["dout_o1/dnet_o1"] * v["dnet_o1/dw5"],
                   "product of the three factors above"),
        "dE/dout_h1": (v["dE_o1/dout_h1"] + v["dE_o2/dout_h1"], "sum of the two terms above"),
        "dE/dw1": (v["dE/dout_h1"] * v["dout_h1/dnet_h1"] * v["dnet_h1/dw1"],
                   "product of the three factors above"),
    }


def format_walkthrough(v: dict[str, float]) -> str:
    by_hand = chain_rule(v)
    lines = [f"{'quantity':<27}{'minibp (float64)':<24}{'chapter prints':<16}remark",
             "-" * 100]
    for name, value in v.items():
        remark = REMARKS.get(name, "")
        if name in by_hand:
            product, how = by_hand[name]
            remark = f"by hand, the {how}: {product!r}"
        lines.append(f"{name:<27}{value!r:<24}{PRINTED.get(name, '-'):<16}{remark}".rstrip())
    return "\n".join(lines)


def xor_predictions(seed: int = XOR_SEED) -> tuple[np.ndarray, float]:
    """Train the chapter's XOR network (2-5-1 sigmoid, weights and biases from [0, 1),
    lr 0.5, 10,000 single-sample steps as 2,500 shuffled epochs); return (predictions, loss)."""
    X, Y = xor_data()
    model = mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=seed)
    history = model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.5),
                        epochs=2_500, batch_size=1, shuffle=True, seed=seed)
    return model.predict(X), history.history["loss"][-1]


def main() -> int:
    print("The chapter's worked example: a 2-2-2 sigmoid network, one sample,")
    print("squared error, plain gradient descent with learning rate 0.5.")
    print("(10,000 steps run in minibp's compiled engine; the first run on a machine compiles")
    print(" it, which takes a few seconds, and later runs load it from numba's cache.)\n",
          flush=True)
    print(format_walkthrough(chapter_walkthrough()))
    print("\nXOR, 2-5-1 sigmoid network, 10,000 single-sample steps (seed "
          f"{XOR_SEED}):")
    pred, loss = xor_predictions()
    X, Y = xor_data()
    for x, y, p in zip(X, Y, pred):
        print(f"  {x[0]:.0f} xor {x[1]:.0f} = {y[0]:.0f}   minibp predicts {p[0]:.4f}")
    print(f"  squared error 1/2 * (target - out)^2, averaged over the last epoch: {loss:.3g}")
    return 0
