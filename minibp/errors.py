"""minibp's exceptions, and the one validation step every public entry point goes through.

Every message has one form, so a user learns to read it once:

    Who: name must be <what was expected>, got <what came>[; what to do].

"Who" is the call or object that refused (``fit``, ``Dense(3 -> 2) at model[0]``, ``SGD``).
TypeError for a wrong kind of value, ValueError for a wrong value or shape, and the classes
below (each a subclass of the builtin a peer library raises, so ``except ValueError`` keeps
working) where a user may want to tell the cases apart; docs/errors.md lists them. This
module imports nothing from the rest of minibp, so every part of it may use these checks.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss or gradient norm, or an update that would make a
    weight (or the optimizer's state) infinite (``overflow``), and stopped before applying
    that step's update, so the weights are those of the last finite step. ``step`` (1-based:
    the step whose update was refused), ``epoch`` (1-based), ``loss`` and ``lr`` say where
    it happened; fit also attaches the ``history`` of the epochs it completed."""

    def __init__(self, *, step: int, epoch: int, loss: float, lr: float,
                 overflow: bool = False):
        if overflow:
            what = ("its update would make a weight or the optimizer's state infinite or "
                    f"NaN (loss {loss:.6g})")
        elif not math.isfinite(loss):
            what = f"loss is {loss}"
        else:
            what = f"the gradient norm is not finite (loss {loss:.6g})"
        super().__init__(
            f"Training diverged at step {step} (epoch {epoch}): {what}, lr={lr}. "
            f"Step {step}'s update was not applied: the weights are those after step "
            f"{step - 1}. Try a smaller learning rate.")
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.lr = lr
        self.overflow = overflow


class UpdateOverflowError(FloatingPointError):
    """An optimizer's step would have made a parameter or its state infinite or NaN (finite
    gradients, but too large a step for the dtype). Optimizer.step raises it after putting
    every value back as it was; fit reports it as a TrainingDivergedError (overflow=True)."""


class ShapeError(ValueError):
    """An array of the wrong shape or number of dimensions: data, targets, a parameter set
    by hand, a gradient handed to backward. The message names the array, the shape expected
    and the shape that came."""


class NonFiniteInputError(ValueError):
    """NaN or infinity where minibp needs finite numbers (data, targets, sample weights,
    parameters set by hand). The message names the array, the kind (NaN or inf), how many,
    and the first row."""


class DTypeError(TypeError, ValueError):
    """An array whose dtype minibp cannot compute with: object, complex, strings, dates,
    structured records, or a parameter that is not float32/float64. A TypeError (a wrong
    kind of value) and a ValueError (what NumPy raises for such arrays) at once."""


class CheckpointError(ValueError):
    """A saved minibp file that cannot be read as one: truncated, corrupted, hand-edited,
    written by a newer minibp, or not minibp's at all. The message names the path and what
    is wrong; nothing was built from the file."""


# -- scalars and choices ----------------------------------------------------------------------
def shown(value) -> str:
    """How a received value is quoted: its repr (cut short), then its type unless a string."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if isinstance(value, str) or value is None else f"{text} ({type(value).__name__})"


def expect_int(value, name: str, who: str, *, least: int | None = None) -> int:
    """value as a Python int (bools refused), at least ``least`` when given."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int, got {shown(value)}")
    if least is not None and value < least:
        raise ValueError(f"{who}: {name} must be at least {least}, got {value}")
    return int(value)


def is_number(value) -> bool:
    """A real number as the checks take one: a Python int or float, or NumPy's, not a bool."""
    return type(value) is float or (not isinstance(value, bool) and isinstance(
        value, (int, float, np.integer, np.floating)))


def expect_number(value, name: str, who: str, *, least: float | None = None,
                  above: float | None = None, below: float | None = None) -> float:
    """value as a finite float: >= least, > above and < below, each when given."""
    if type(value) is not float:  # a Python float as it is (fit's fixed cost, #12)
        if not is_number(value):
            raise TypeError(f"{who}: {name} must be a number, got {shown(value)}")
        value = float(value)
    if (math.isfinite(value) and (least is None or value >= least)
            and (above is None or value > above) and (below is None or value < below)):
        return value
    bounds = [f">= {least:g}" if least is not None else "",
              f"> {above:g}" if above is not None else "",
              f"< {below:g}" if below is not None else ""]
    wanted = " and ".join(b for b in bounds if b)
    raise ValueError(f"{who}: {name} must be a finite number{' ' + wanted if wanted else ''}, "
                     f"got {value}")


def expect_choice(value, name: str, who: str, choices) -> str:
    """value if it is one of ``choices`` (strings); the message lists them all."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{who}: {name} must be one of {listed}, got {shown(value)}")
    return value


def expect_float_dtype(dtype, who: str) -> np.dtype:
    """float32 or float64 as a numpy dtype."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        got = shown(dtype) if resolved is None else str(resolved)
        raise DTypeError(f"{who}: dtype must be float32 or float64, got {got}")
    return resolved


def expect_shape(array, shape: tuple, name: str, who: str, hint: str = "") -> None:
    """Refuse an array whose shape differs from ``shape``, whose entries are sizes or names
    of free sizes (``("batch", 3)`` is any number of rows of 3)."""
    got = np.shape(array)
    if len(got) == len(shape):
        for wanted, size in zip(shape, got):  # a plain loop: this runs on every predict
            if wanted != size and not isinstance(wanted, str):
                break
        else:
            return
    text = "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")
    raise ShapeError(f"{who}: {name} must have shape {text}, got {got}{hint}")


# -- data ---------------------------------------------------------------------------------------
def one_sample_hint(X) -> str:
    return " (for one sample use X.reshape(1, -1))" if np.ndim(X) == 1 else ""


def check_training_data(X, Y, who: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """X as a 2-D array of numbers with at least one row, and Y with as many rows, both
    finite."""
    X = check_samples(X, who)
    if X.shape[0] == 0:
        raise ShapeError(f"{who}: X must have at least one sample, got shape {X.shape}")
    Y = as_numeric(Y, "Y", who)
    if Y.ndim == 0 or Y.shape[0] != X.shape[0]:
        raise ShapeError(f"{who}: Y must have one row per sample of X ({X.shape[0]}), "
                         f"got shape {Y.shape}")
    check_finite(Y, "Y", who)
    return X, Y


def check_samples(X, who: str, name: str = "X") -> np.ndarray:
    """X as a finite 2-D array of numbers (any number of rows, even none): what every entry
    point that reads data (fit, predict, evaluate, gradients) checks first."""
    X = as_numeric(X, name, who)
    if X.ndim != 2:
        raise ShapeError(f"{who}: {name} must have shape (samples, features), got {X.shape}"
                         f"{one_sample_hint(X)}")
    check_finite(X, name, who)
    return X


# dtype kinds: bool, signed and unsigned int, float compute as they are (cast to the model's
# float); object arrays are converted to float64 when every element is a real number.
NUMERIC_KINDS = "biuf"
_NOTHING = object()
KIND_NAMES = {"c": "complex numbers", "U": "strings", "S": "bytes", "M": "dates (datetime64)",
              "m": "durations (timedelta64)", "V": "structured records", "O": "objects"}


def as_numeric(values, name: str, who: str) -> np.ndarray:
    """values as an array of bools, ints or floats, or DTypeError naming what came: complex
    numbers (whose imaginary part would be lost), strings, dates, records, or objects that are
    not all real numbers."""
    array = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = array.dtype.kind
    if kind in NUMERIC_KINDS:
        return array
    if kind == "O":
        first = next((v for v in array.ravel() if isinstance(v, (str, bytes)) or v is None
                      or not np.isscalar(v) or isinstance(v, complex)), _NOTHING)
        if first is _NOTHING:
            try:
                return array.astype(np.float64)
            except (TypeError, ValueError):
                first = next(iter(array.ravel()), None)
        raise DTypeError(f"{who}: {name} must hold numbers, got an object array holding "
                         f"{shown(first)}")
    raise DTypeError(f"{who}: {name} must hold real numbers (bool, int or float), got "
                     f"{KIND_NAMES.get(kind, 'dtype')} (dtype {array.dtype}); convert it, "
                     f"e.g. {name}.astype(float) or its .real, first")


SMALL = 4096  # check_finite: up to this many values, np.isfinite(values).all() is cheaper
TINY = 24  # and up to this many, Python's math.isfinite over a list of them (no ufunc call)
PARALLEL_VALUES = 1 << 21  # all_finite sums this many values or more on several threads
SUM_THREADS = 4


def all_finite(values: np.ndarray) -> bool:
    """No NaN or infinity in values: one sum, no temporaries (the ndarray method, cheaper than
    np.sum on small arrays), and an elementwise look only when the sum is not finite (NaN,
    infinity, or an overflow of finite values). Call it under np.errstate(over="ignore",
    invalid="ignore") as check_finite does, or the sum may warn."""
    return bool(np.isfinite(_total(values))) or bool(np.isfinite(values).all())


def _total(values: np.ndarray):
    """values.sum(), from PARALLEL_VALUES values on in blocks of rows summed at once on up to
    SUM_THREADS threads (NumPy's sum lets go of the GIL): a large X's check reads memory
    faster so (W4's 376 MB: 24 ms on one thread, 13 on two). No order of summing changes
    whether the total is finite; an overflow falls back to the elementwise look."""
    count = min(SUM_THREADS, _cpus(), values.size // PARALLEL_VALUES, len(values))
    if count < 2:
        return values.sum()
    sums = [None] * count

    def add(k):
        with np.errstate(over="ignore", invalid="ignore"):  # a thread's own (contextvars)
            sums[k] = values[len(values) * k // count:len(values) * (k + 1) // count].sum()

    helpers = [threading.Thread(target=add, args=(k,), daemon=True) for k in range(1, count)]
    for helper in helpers:
        helper.start()
    add(0)
    for helper in helpers:
        helper.join()
    return values.sum() if any(total is None for total in sums) else sum(sums)  # one failed


def _cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


def is_finite(values: np.ndarray) -> bool:
    """No NaN or infinity in a float (or complex) array, by the cheaper look for its size."""
    if values.size <= TINY and values.dtype.char in "efd":  # fit's one sample, a tiny model
        return all(map(math.isfinite, values.ravel().tolist()))  # (float16-64 as floats)
    if values.size <= SMALL:  # one elementwise look: cheaper than entering np.errstate
        return bool(np.isfinite(values).all())
    with np.errstate(over="ignore", invalid="ignore"):
        return all_finite(values)


def check_finite(values: np.ndarray, name: str, who: str) -> None:
    """Refuse NaN and infinity in data: training on them only looks like divergence.
    NonFiniteInputError names the array, how many of each kind, and the first row."""
    if values.dtype.kind not in "fc" or values.size == 0 or is_finite(values):
        return
    bad = ~np.isfinite(values)
    if bad.any():  # else the sum only overflowed: the data is fine
        where = np.argwhere(bad)[0]
        at = f"row {int(where[0])}" if values.ndim else "it"
        nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        what = " and ".join(f"{count} {kind} value{'s' if count > 1 else ''}"
                            for count, kind in ((nan, "NaN"), (inf, "infinite")) if count)
        raise NonFiniteInputError(f"{who}: {name} must be finite, got {what} (the first at "
                                  f"{at}); clean or impute them first")
