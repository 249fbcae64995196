"""What a trace holds: one record per neuron, per parameter and per layer, and their names.

A *neuron* is row j of a Dense layer's W together with the activation layers that follow
that Dense (if any): its net input is the Dense's Z[0, j], its output the A[0, j] of the last
of those layers. Values are plain Python floats, read from the layers after their own
forward and backward.

Two notations (``notation_for`` picks one):

- "chapter", for networks small enough to read (at most 2 Dense layers, every width at most
  4): inputs i1, i2, hidden neurons h1, h2, outputs o1, o2, weights w1, w2, ... numbered row by
  row through the layers as the chapter numbers them, biases b_h1, b_o1 (minibp's biases are
  per neuron; the chapter's shared b1, b2 are b_h1 = b_h2 and b_o1 = b_o2), net_h1, out_h1,
  E_o1, dE/dw5, w5+.
- "index", for anything larger: neuron j of the Dense at model[i] is model[i][j]; its net is
  model[i].Z[0, j], its output model[i].A[0, j], a weight model[i].W[j, k], a bias
  model[i].b[j], the loss's terms E[0, j].
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHAPTER_MAX_DENSE = 2   # hidden and output layer, as in the chapter
CHAPTER_MAX_WIDTH = 4   # 4-4-4 gives w1..w32: still readable as a list of names


@dataclass
class NeuronTrace:
    """One neuron at the traced sample.

    dE_dout is the gradient backward brought to the neuron's output; dout_dnet is
    activation_derivative()[0, j] (times the derivative of each activation layer after the
    Dense); dE_dnet is backward's dZ[0, j], the chapter's delta. ``loss`` is the loss's own
    term for an output neuron (reduction "none"), None inside the network or when the loss
    has one term per sample (softmax cross-entropy). ``terms`` (hidden neurons only) are
    dE_ok/dout = dE/dnet_ok * w_kj over the next layer's neurons k.
    """

    name: str
    net_name: str
    out_name: str
    net: float
    out: float
    dE_dout: float  # noqa: N815 - the chapter's dE/dout, as dZ is its dE/dnet
    dout_dnet: float
    dE_dnet: float  # noqa: N815 - likewise
    loss_name: str | None = None
    loss: float | None = None
    terms: list[float] | None = None


@dataclass
class ParameterTrace:
    """One weight or bias: it feeds ``neuron`` (an index into its layer's neurons).

    dnet_dparam is the input the weight multiplies (the layer's X[0, k]), 1.0 for a bias;
    ``gradient`` is what backward wrote (dW[j, k] or db[j]); ``updated`` the value after the
    optimizer's step, None without an optimizer.
    """

    name: str
    place: str
    neuron: int
    source: str | None
    value: float
    dnet_dparam: float
    gradient: float
    frozen: bool = False
    updated: float | None = None

    @property
    def is_weight(self) -> bool:
        return self.source is not None


@dataclass
class LayerTrace:
    """One Dense layer and the activation layers after it: its neurons, then its weights
    row by row (W[0, 0], W[0, 1], ...), then its biases."""

    position: str
    description: str
    activation: str
    neurons: list[NeuronTrace] = field(default_factory=list)
    parameters: list[ParameterTrace] = field(default_factory=list)

    def weight(self, j: int, k: int) -> ParameterTrace:
        """The weight from input k into neuron j."""
        inputs = sum(p.is_weight for p in self.parameters) // len(self.neurons)
        return self.parameters[j * inputs + k]


def notation_for(widths: list[int]) -> str:
    """ "chapter" when the network is small enough to read by name, else "index"."""
    small = len(widths) - 1 <= CHAPTER_MAX_DENSE and max(widths) <= CHAPTER_MAX_WIDTH
    return "chapter" if small else "index"


class Names:
    """The names of every traced quantity in one notation.

    ``dense`` holds the model positions of the Dense layers, ``last`` the position of the
    last layer of each one's neuron (the Dense itself, or an activation layer after it).
    """

    def __init__(self, notation: str, dense: list[int], last: list[int]):
        self.notation, self.dense, self.last = notation, dense, last
        self._letters = "ho" if len(dense) == 2 else "o"

    @property
    def chapter(self) -> bool:
        return self.notation == "chapter"

    def input(self, k: int) -> str:
        return f"i{k + 1}" if self.chapter else f"x[0, {k}]"

    def neuron(self, s: int, j: int) -> str:
        return f"{self._letters[s]}{j + 1}" if self.chapter else f"model[{self.dense[s]}][{j}]"

    def net(self, s: int, j: int) -> str:
        return f"net_{self.neuron(s, j)}" if self.chapter else f"model[{self.dense[s]}].Z[0, {j}]"

    def out(self, s: int, j: int) -> str:
        return f"out_{self.neuron(s, j)}" if self.chapter else f"model[{self.last[s]}].A[0, {j}]"

    def loss(self, j: int) -> str:
        return f"E_{self.neuron(len(self.dense) - 1, j)}" if self.chapter else f"E[0, {j}]"

    def weight(self, s: int, j: int, k: int, number: int) -> str:
        """``number`` counts the weights before this one, through the layers, row by row."""
        return f"w{number + 1}" if self.chapter else self.weight_place(s, j, k)

    def weight_place(self, s: int, j: int, k: int) -> str:
        return f"model[{self.dense[s]}].W[{j}, {k}]"

    def bias(self, s: int, j: int) -> str:
        return f"b_{self.neuron(s, j)}" if self.chapter else self.bias_place(s, j)

    def bias_place(self, s: int, j: int) -> str:
        return f"model[{self.dense[s]}].b[{j}]"

    def source(self, s: int, k: int) -> str:
        """What weight k of layer s multiplies: an input, or the previous layer's output."""
        return self.input(k) if s == 0 else self.out(s - 1, k)


def term_name(next_neuron: NeuronTrace, neuron: NeuronTrace) -> str:
    """The part of dE/dout of ``neuron`` that flows through ``next_neuron``: dE_o1/dout_h1."""
    return f"dE_{next_neuron.name}/d{neuron.out_name}"
