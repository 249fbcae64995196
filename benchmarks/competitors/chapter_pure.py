"""The chapter's per-neuron pure Python, its algorithm as printed, for timing.

NeuralNetwork / NeuronLayer / Neuron and their methods are the chapter's (math.exp sigmoid,
deltas for every neuron first, then output weights, then hidden weights). Two changes, both
needed to do exactly the workload's work: each neuron keeps its own bias (the chapter shares
one per layer, which is the same while biases are frozen, as in W1), and a layer whose biases
learn (W2) also takes bias -= lr * delta, next to its weight updates.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.competitors import Runner


class Neuron:
    def __init__(self, bias):
        self.bias = bias
        self.weights = []

    def calculate_output(self, inputs):
        self.inputs = inputs
        self.output = self.squash(self.calculate_total_net_input())
        return self.output

    def calculate_total_net_input(self):
        total = 0
        for i in range(len(self.inputs)):
            total += self.inputs[i] * self.weights[i]
        return total + self.bias

    def squash(self, total_net_input):
        return 1 / (1 + math.exp(-total_net_input))

    def calculate_pd_error_wrt_total_net_input(self, target_output):
        return (self.calculate_pd_error_wrt_output(target_output)
                * self.calculate_pd_total_net_input_wrt_input())

    def calculate_pd_error_wrt_output(self, target_output):
        return -(target_output - self.output)

    def calculate_pd_total_net_input_wrt_input(self):
        return self.output * (1 - self.output)

    def calculate_pd_total_net_input_wrt_weight(self, index):
        return self.inputs[index]


class NeuronLayer:
    def __init__(self, W, b, train_bias):
        self.train_bias = train_bias
        self.neurons = []
        for j in range(len(W)):
            neuron = Neuron(float(b[j]))
            neuron.weights = [float(w) for w in W[j]]
            self.neurons.append(neuron)

    def feed_forward(self, inputs):
        outputs = []
        for neuron in self.neurons:
            outputs.append(neuron.calculate_output(inputs))
        return outputs


class NeuralNetwork:
    def __init__(self, hidden_layer, output_layer, learning_rate):
        self.LEARNING_RATE = learning_rate
        self.hidden_layer = hidden_layer
        self.output_layer = output_layer

    def feed_forward(self, inputs):
        hidden_layer_outputs = self.hidden_layer.feed_forward(inputs)
        return self.output_layer.feed_forward(hidden_layer_outputs)

    def train(self, training_inputs, training_outputs):
        self.feed_forward(training_inputs)
        outputs, hiddens = self.output_layer.neurons, self.hidden_layer.neurons

        # 1. dE/dnet of each output neuron
        pd_errors_wrt_output_neuron_total_net_input = [0] * len(outputs)
        for o in range(len(outputs)):
            pd_errors_wrt_output_neuron_total_net_input[o] = (
                outputs[o].calculate_pd_error_wrt_total_net_input(training_outputs[o]))

        # 2. dE/dnet of each hidden neuron
        pd_errors_wrt_hidden_neuron_total_net_input = [0] * len(hiddens)
        for h in range(len(hiddens)):
            d_error_wrt_hidden_neuron_output = 0
            for o in range(len(outputs)):
                d_error_wrt_hidden_neuron_output += (
                    pd_errors_wrt_output_neuron_total_net_input[o] * outputs[o].weights[h])
            pd_errors_wrt_hidden_neuron_total_net_input[h] = (
                d_error_wrt_hidden_neuron_output
                * hiddens[h].calculate_pd_total_net_input_wrt_input())

        # 3. and 4. update the output layer, then the hidden layer
        self._update(self.output_layer, pd_errors_wrt_output_neuron_total_net_input)
        self._update(self.hidden_layer, pd_errors_wrt_hidden_neuron_total_net_input)

    def _update(self, layer, pd_errors_wrt_total_net_input):
        for n, neuron in enumerate(layer.neurons):
            for w in range(len(neuron.weights)):
                pd_error_wrt_weight = (pd_errors_wrt_total_net_input[n]
                                       * neuron.calculate_pd_total_net_input_wrt_weight(w))
                neuron.weights[w] -= self.LEARNING_RATE * pd_error_wrt_weight
            if layer.train_bias:
                neuron.bias -= self.LEARNING_RATE * pd_errors_wrt_total_net_input[n]


def build_network(workload) -> NeuralNetwork:
    hidden, output = workload.layers
    return NeuralNetwork(NeuronLayer(hidden.W, hidden.b, hidden.train_bias),
                         NeuronLayer(output.W, output.b, output.train_bias), workload.lr)


def train(network, inputs, targets, epochs, shuffle, seed) -> None:
    """Every epoch, one network.train per sample, in order or in rng.permutation(n) order."""
    rng = np.random.default_rng(seed) if shuffle else None
    n = len(inputs)
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else range(n)
        for i in order:
            network.train(inputs[i], targets[i])


def network_weights(network) -> list[np.ndarray]:
    result = []
    for layer in (network.hidden_layer, network.output_layer):
        result.append(np.array([neuron.weights for neuron in layer.neurons]))
        result.append(np.array([neuron.bias for neuron in layer.neurons]))
    return result


def prepare(workload) -> Runner:
    inputs, targets = workload.X.tolist(), workload.Y.tolist()
    state = {}

    def reset():
        state["network"] = build_network(workload)

    def run():
        train(state["network"], inputs, targets, workload.epochs, workload.shuffle,
              workload.seed)

    return Runner(reset, run, lambda: network_weights(state["network"]))
