"""`minibp demo`: the chapter's worked example, computed by the framework, then XOR.

Only the inputs, the initial weights and the figures the chapter prints are typed in here;
every value in the minibp column comes out of the public API: the walk-through is
minibp.explain.trace of the chapter's network (the same trace `minibp explain` prints), so
the demo and the library cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from minibp.builders import mlp
from minibp.examples import chapter_data, chapter_network, xor_data
from minibp.explain.tracing import Trace, trace
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


# The quantities the chapter walks through, in its order, as the trace names them.
WALKED = [
    "net_h1", "out_h1", "net_h2", "out_h2", "net_o1", "out_o1", "net_o2", "out_o2",
    "E_o1", "E_o2", "E_total",
    "dE/dout_o1", "dout_o1/dnet_o1", "dnet_o1/dw5", "dE/dw5",
    "dE_o1/dout_h1", "dE_o2/dout_h1", "dE/dout_h1", "dout_h1/dnet_h1", "dnet_h1/dw1", "dE/dw1",
    "w1+", "w2+", "w3+", "w4+", "w5+", "w6+", "w7+", "w8+",
]


def chapter_trace() -> Trace:
    """The worked example's one forward, backward and update, traced by minibp.explain."""
    X, Y = chapter_data()
    return trace(chapter_network(), X, Y, SquaredError(), SGD(lr=0.5))


def chapter_walkthrough() -> dict[str, float]:
    """The worked example through minibp: the trace's values the chapter names, then the
    loss after one step and after 10,000 (a fit of the chapter's network)."""
    traced = chapter_trace().values()
    v = {name: traced[name] for name in WALKED}
    v["E_total after 1 step"] = traced["E_total+"]

    model, (X, Y) = chapter_network(), chapter_data()
    loss = SquaredError()
    model.fit(X, Y, loss=loss, optimizer=SGD(lr=0.5), epochs=10_000, batch_size=1,
              shuffle=False)
    out = model.forward(X)
    v["E_total after 10,000 steps"] = loss.forward(out, Y)
    v["out_o1 after 10,000 steps"], v["out_o2 after 10,000 steps"] = out[0, 0], out[0, 1]
    return {name: float(value) for name, value in v.items()}


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
