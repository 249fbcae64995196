"""Losses: ``forward(pred, target, sample_weight=None) -> float`` and ``backward() -> dPred``.

- SquaredError: the chapter's E_total, 1/2 * sum of squares, mean over the batch.
- MSE: mean over all elements of the squares, as PyTorch's MSELoss.
- SoftmaxCrossEntropy and BinaryCrossEntropy (in ``cross_entropy``), on logits.

The protocol, the reductions ("mean", "sum", "none") and per-sample weights live in
``minibp.nn.loss``; every loss there shares one ``_terms`` function across the reductions.
SquaredError and MSE give one "none" term per element, shape (batch, outputs), so the
chapter's E_o1 and E_o2 are ``E[0, 0]`` and ``E[0, 1]``; SoftmaxCrossEntropy gives one per
sample. ``get_loss`` turns a short name into a loss.
"""

from __future__ import annotations

from minibp.errors import expect_choice, shown
from minibp.nn.cross_entropy import BinaryCrossEntropy, SoftmaxCrossEntropy
from minibp.nn.loss import REDUCTIONS, Loss

__all__ = ["Loss", "SquaredError", "MSE", "SoftmaxCrossEntropy", "BinaryCrossEntropy",
           "get_loss", "LOSS_NAMES", "REDUCTIONS"]


class SquaredError(Loss):
    """E = mean over the batch of 1/2 * sum over outputs of (pred - target)**2.

    For one sample this is the chapter's E_total. Shapes: pred, target (batch, outputs).
    """

    def _terms(self, pred, target):
        diff = pred - target
        return 0.5 * diff * diff, diff

    def _mean_divisor(self, terms) -> int:
        return terms.shape[0]


class MSE(Loss):
    """E = mean over all elements of (pred - target)**2, as PyTorch's MSELoss.

    Shapes: pred, target (batch, outputs).
    """

    def _terms(self, pred, target):
        diff = pred - target
        return diff * diff, 2.0 * diff


LOSS_NAMES = {
    "squared": SquaredError,
    "mse": MSE,
    "xent": SoftmaxCrossEntropy,
    "bce": BinaryCrossEntropy,
}


def get_loss(value, who: str = "get_loss"):
    """A loss from a name in LOSS_NAMES (a new instance with the defaults), or the loss itself.

    An instance of Loss, or any object with forward and backward methods, passes through.
    ``who`` names the caller in the messages (fit passes "fit").
    """
    if isinstance(value, str):
        return LOSS_NAMES[expect_choice(value, "loss", who, tuple(LOSS_NAMES))]()
    if isinstance(value, type):
        name = value.__name__
        raise TypeError(f"{who}: loss must be a loss, got the class {name}; pass an instance, "
                        f"e.g. {name}()")
    if isinstance(value, Loss) or _has_methods(value, "forward", "backward"):
        return value
    listed = ", ".join(repr(name) for name in LOSS_NAMES)
    raise TypeError(f"{who}: loss must be a Loss (an object with forward and backward) or one "
                    f"of {listed}, got {shown(value)}")


def _has_methods(value, *names: str) -> bool:
    return all(callable(getattr(value, name, None)) for name in names)
