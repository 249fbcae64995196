"""minibp's exception classes."""


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss or gradient; the weights of the last finite step
    were kept. ``step`` (0-based count of updates applied before it), ``loss`` and ``lr`` say
    where it happened."""

    def __init__(self, message: str, *, step: int, loss: float, lr: float):
        super().__init__(message)
        self.step = step
        self.loss = loss
        self.lr = lr
