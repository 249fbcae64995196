"""minibp's exception classes."""

import math


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss or gradient norm, and stopped before applying that
    step's update, so the weights are those of the last finite step. ``step`` (1-based: the
    step whose update was refused), ``loss`` and ``lr`` say where it happened; fit also
    attaches the ``history`` of the epochs it completed."""

    def __init__(self, *, step: int, epoch: int, loss: float, lr: float):
        what = (f"loss is {loss}" if not math.isfinite(loss)
                else f"the gradient norm is not finite (loss {loss:.6g})")
        super().__init__(
            f"Training diverged at step {step} (epoch {epoch}): {what}, lr={lr}. "
            f"Step {step}'s update was not applied: the weights are those after step "
            f"{step - 1}. Try a smaller learning rate.")
        self.step = step
        self.loss = loss
        self.lr = lr
