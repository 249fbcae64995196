"""The chapter's per-neuron algorithm as plain loops, generalized: the tests' reference.

Written the way the chapter writes it (NeuralNetwork / NeuronLayer / Neuron, one neuron and one
weight at a time, Python floats and the ``math`` module), but for any list of widths, any
activation per layer, per-neuron biases (trainable or frozen per layer), three losses, minibatches
and SGD with momentum. It shares no code with minibp.

numpy appears only at the boundary: arrays are turned into lists of floats on the way in, and
``fit`` draws its sample order from ``numpy.random.default_rng(seed).permutation`` so that it
visits the samples in the same order as ``minibp.Sequential.fit``. No arithmetic uses numpy.

Math, for one sample with outputs out_k (the last layer's activations) and target t:
    squared_error  E = 1/2 * sum_k (out_k - t_k)**2           dE/dout_k = out_k - t_k
    mse            E = 1/m * sum_k (out_k - t_k)**2           dE/dout_k = 2 * (out_k - t_k) / m
    softmax_xent   E = logsumexp(out) - out[label]            dE/dout_k = p_k - [k == label]
A batch's loss and gradient are the means over its samples of these. The chapter's delta of
neuron j is dE/dnet_j = dE/dout_j * dout_j/dnet_j; then dE/dw_ji = delta_j * input_i and
dE/db_j = delta_j. SGD in PyTorch's convention: v = mu * v + g; w -= lr * v (v starts at 0).
"""

from __future__ import annotations

import math

import numpy as np

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
LOSSES = ("squared_error", "mse", "softmax_xent")


# -- activations ------------------------------------------------------------------------------
def squash(activation: str, net: float) -> float:
    """out = f(net) for one neuron."""
    if activation == "identity":
        return net
    if activation == "sigmoid":  # only ever exp of a non-positive number: no OverflowError
        if net >= 0:
            return 1.0 / (1.0 + math.exp(-net))
        e = math.exp(net)
        return e / (1.0 + e)
    if activation == "tanh":
        return math.tanh(net)
    if activation == "relu":
        return net if net > 0 else 0.0
    raise ValueError(f"reference: unknown activation {activation!r}")


def dout_dnet(activation: str, net: float, out: float) -> float:
    """f'(net), the chapter's dout/dnet; relu's derivative at exactly 0 is taken as 0."""
    if activation == "identity":
        return 1.0
    if activation == "sigmoid":
        return out * (1.0 - out)
    if activation == "tanh":
        return 1.0 - out * out
    if activation == "relu":
        return 1.0 if net > 0 else 0.0
    raise ValueError(f"reference: unknown activation {activation!r}")


# -- losses of one sample ---------------------------------------------------------------------
def sample_loss(loss: str, outputs: list[float], target) -> float:
    """E of one sample; target is a list of floats, or an int label for softmax_xent."""
    if loss == "squared_error":
        return sum(0.5 * (out - t) ** 2 for out, t in zip(outputs, target, strict=True))
    if loss == "mse":
        return sum((out - t) ** 2 for out, t in zip(outputs, target, strict=True)) / len(outputs)
    if loss == "softmax_xent":
        top = max(outputs)
        log_sum_exp = top + math.log(sum(math.exp(z - top) for z in outputs))
        return log_sum_exp - outputs[target]
    raise ValueError(f"reference: unknown loss {loss!r}")


def sample_loss_gradient(loss: str, outputs: list[float], target) -> list[float]:
    """dE/dout_k of one sample, for every output k."""
    if loss == "squared_error":
        return [out - t for out, t in zip(outputs, target, strict=True)]
    if loss == "mse":
        return [2.0 * (out - t) / len(outputs) for out, t in zip(outputs, target, strict=True)]
    if loss == "softmax_xent":
        top = max(outputs)
        exps = [math.exp(z - top) for z in outputs]
        total = sum(exps)
        return [e / total - (1.0 if k == target else 0.0) for k, e in enumerate(exps)]
    raise ValueError(f"reference: unknown loss {loss!r}")


# -- the network, neuron by neuron ------------------------------------------------------------
class Neuron:
    """Weights into one neuron, its bias, what the last forward saw, and its training state."""

    def __init__(self, weights, bias):
        self.weights = [float(w) for w in weights]
        self.bias = float(bias)
        self.inputs: list[float] = []
        self.net = self.output = 0.0
        self.grad_weights = [0.0] * len(self.weights)
        self.grad_bias = 0.0
        self.velocity_weights = [0.0] * len(self.weights)
        self.velocity_bias = 0.0

    def calculate_output(self, inputs: list[float], activation: str) -> float:
        self.inputs = inputs
        total = 0.0
        for i in range(len(inputs)):
            total += inputs[i] * self.weights[i]
        self.net = total + self.bias
        self.output = squash(activation, self.net)
        return self.output


class NeuronLayer:
    """A list of neurons sharing one activation; the biases of a layer can be frozen."""

    def __init__(self, weights, biases, activation: str = "sigmoid", bias_frozen: bool = False):
        if activation not in ACTIVATIONS:
            raise ValueError(f"reference: unknown activation {activation!r}")
        self.neurons = [Neuron(row, b) for row, b in zip(weights, biases, strict=True)]
        self.activation = activation
        self.bias_frozen = bias_frozen

    def feed_forward(self, inputs: list[float]) -> list[float]:
        return [neuron.calculate_output(inputs, self.activation) for neuron in self.neurons]


class NeuralNetwork:
    """Layers in order, a loss, and SGD (lr, momentum) over minibatches."""

    def __init__(self, layers: list[NeuronLayer], loss: str = "squared_error",
                 lr: float = 0.5, momentum: float = 0.0):
        if loss not in LOSSES:
            raise ValueError(f"reference: unknown loss {loss!r}")
        self.layers = layers
        self.loss = loss
        self.lr = lr
        self.momentum = momentum

    def feed_forward(self, inputs: list[float]) -> list[float]:
        for layer in self.layers:
            inputs = layer.feed_forward(inputs)
        return inputs

    def batch_loss(self, samples) -> float:
        """Mean over (inputs, target) samples of E, without training."""
        total = 0.0
        for inputs, target in samples:
            total += sample_loss(self.loss, self.feed_forward(inputs), target)
        return total / len(samples)

    def compute_gradients(self, samples) -> float:
        """Leave the batch-mean dE/dw, dE/db in every neuron; return the batch's mean loss."""
        for layer in self.layers:
            for neuron in layer.neurons:
                neuron.grad_weights = [0.0] * len(neuron.weights)
                neuron.grad_bias = 0.0
        total = 0.0
        for inputs, target in samples:
            outputs = self.feed_forward(inputs)
            total += sample_loss(self.loss, outputs, target)
            self._accumulate(sample_loss_gradient(self.loss, outputs, target))
        for layer in self.layers:
            for neuron in layer.neurons:
                for i in range(len(neuron.weights)):
                    neuron.grad_weights[i] /= len(samples)
                neuron.grad_bias /= len(samples)
        return total / len(samples)

    def _accumulate(self, d_error_wrt_outputs: list[float]) -> None:
        """Backpropagate one sample's dE/dout through every layer, adding to the gradients."""
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            deltas = []  # the chapter's dE/dnet, one per neuron of this layer
            for j, neuron in enumerate(layer.neurons):
                derivative = dout_dnet(layer.activation, neuron.net, neuron.output)
                deltas.append(d_error_wrt_outputs[j] * derivative)
            for j, neuron in enumerate(layer.neurons):
                for i in range(len(neuron.weights)):
                    neuron.grad_weights[i] += deltas[j] * neuron.inputs[i]
                neuron.grad_bias += deltas[j]
            # dE/dout_i of the layer below = sum over neurons j here of delta_j * w_ji
            d_error_wrt_outputs = [0.0] * len(layer.neurons[0].weights)
            for i in range(len(d_error_wrt_outputs)):
                for j, neuron in enumerate(layer.neurons):
                    d_error_wrt_outputs[i] += deltas[j] * neuron.weights[i]

    def update(self) -> None:
        """One SGD step from the stored gradients: v = mu * v + g; w -= lr * v."""
        for layer in self.layers:
            for neuron in layer.neurons:
                for i in range(len(neuron.weights)):
                    neuron.velocity_weights[i] = (self.momentum * neuron.velocity_weights[i]
                                                  + neuron.grad_weights[i])
                    neuron.weights[i] -= self.lr * neuron.velocity_weights[i]
                if not layer.bias_frozen:
                    neuron.velocity_bias = self.momentum * neuron.velocity_bias + neuron.grad_bias
                    neuron.bias -= self.lr * neuron.velocity_bias

    def train_batch(self, samples) -> float:
        """One gradient step on a batch; returns its mean loss before the update."""
        value = self.compute_gradients(samples)
        self.update()
        return value

    def parameters(self) -> list[tuple[list[list[float]], list[float]]]:
        """(weights rows, biases) per layer: row j holds the weights into neuron j."""
        return [([list(n.weights) for n in layer.neurons], [n.bias for n in layer.neurons])
                for layer in self.layers]


# -- the boundary and the training loop -------------------------------------------------------
def build(weights, biases, activations, *, loss: str = "squared_error", lr: float = 0.5,
          momentum: float = 0.0, frozen_biases=()) -> NeuralNetwork:
    """A network from per-layer weight matrices (rows = neurons) and bias vectors.

    Arrays are converted to lists of floats here; frozen_biases lists layer indices.
    """
    layers = [
        NeuronLayer([[float(w) for w in row] for row in W], [float(v) for v in b], activation,
                    bias_frozen=index in frozen_biases)
        for index, (W, b, activation) in enumerate(zip(weights, biases, activations, strict=True))
    ]
    return NeuralNetwork(layers, loss=loss, lr=lr, momentum=momentum)


def samples_of(network: NeuralNetwork, X, Y) -> list[tuple[list[float], object]]:
    """Rows of X and Y as (inputs, target): target a list of floats, or an int label."""
    samples = []
    for x, y in zip(X, Y, strict=True):
        inputs = [float(v) for v in x]
        target = int(y) if network.loss == "softmax_xent" else [float(v) for v in y]
        samples.append((inputs, target))
    return samples


def fit(network: NeuralNetwork, X, Y, *, epochs: int, batch_size: int, shuffle: bool = True,
        seed=None) -> list[float]:
    """Minibatch epochs under minibp.Sequential.fit's contract; returns the per-epoch losses.

    One numpy.random.default_rng(seed) made at the start; each epoch's order is
    rng.permutation(n) when shuffling (else 0..n-1); batches in order, the last may be short.
    An epoch's loss is the sample-weighted mean of its batches' losses before their updates.
    """
    samples = samples_of(network, X, Y)
    n = len(samples)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = [int(i) for i in rng.permutation(n)] if shuffle else list(range(n))
        total = 0.0
        for start in range(0, n, batch_size):
            batch = [samples[i] for i in order[start:start + batch_size]]
            total += network.train_batch(batch) * len(batch)
        history.append(total / n)
    return history
