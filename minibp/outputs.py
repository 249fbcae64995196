"""Reading a model's outputs by the loss it was fit with: probabilities and class labels."""

from __future__ import annotations

import numpy as np

from minibp.nn import stable_sigmoid
from minibp.nn.cross_entropy import probability_link, softmax
from minibp.nn.losses import BinaryCrossEntropy


def on_logits(loss) -> bool:
    """Whether a single output is a logit (BCE on logits) rather than a probability."""
    return probability_link(loss) == "sigmoid"


def probabilities(out: np.ndarray, loss) -> np.ndarray:
    """softmax(out) after SoftmaxCrossEntropy, sigmoid(out) after BCE on logits, else out
    (minibp.nn.cross_entropy.probability_link, which the ONNX export's head follows too)."""
    link = probability_link(loss)
    if link == "softmax":
        return softmax(out)
    if link == "sigmoid":
        return stable_sigmoid(out)
    return out


def classes(out: np.ndarray, loss) -> np.ndarray:
    """Labels (n,) for one label per sample: argmax of several outputs; for one output, 1
    where it passes the threshold (0 on logits, 0.5 on probabilities). Multi-label outputs
    after BCE give (n, k) of 0/1."""
    if isinstance(loss, BinaryCrossEntropy) or out.shape[1] == 1:
        threshold = 0.0 if on_logits(loss) else 0.5
        passed = (out > threshold).astype(np.int64)
        return passed[:, 0] if out.shape[1] == 1 else passed
    return np.argmax(out, axis=1)
