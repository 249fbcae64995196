"""What every engine call checks before it reads a model: its parameters as they stand now,
the data's memory layout, and that nobody else is training the model.

resolve (minibp.engines) runs check_parameters on every call, so no kernel ever sees a
parameter of the wrong shape, dtype or layout, or a NaN written into one by hand.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np


def check_parameters(layers, who: str, finite: bool = True) -> None:
    """Each layer's own check_parameters (shape, dtype, contiguity and, when ``finite``,
    finiteness), when it has one: ShapeError, DTypeError or NonFiniteInputError naming the
    parameter."""
    for layer in layers:
        check = getattr(layer, "check_parameters", None)
        if check is not None:
            check(who) if finite else check(who, finite=False)


W_AND_B = ("W", "b")  # a Dense's parameter_names()


def check_writable(layers, who: str) -> None:
    """Training updates every parameter in place: a read-only one (a view made read-only,
    np.load(..., mmap_mode="r")) gets a ValueError naming it before any step, instead of
    each engine failing in its own words halfway."""
    for i, layer in enumerate(layers):
        names = getattr(layer, "parameter_names", None)
        if names is not None and names() == W_AND_B:  # a Dense: no records made (every fit)
            W, b = layer.W, layer.b
            if W.flags.writeable and b.flags.writeable:
                continue
            named = (("W", W), ("b", b))
        else:
            named = ((p.name, p.value) for p in getattr(layer, "parameters", list)())
        for name, value in named:
            if isinstance(value, np.ndarray) and not value.flags.writeable:
                raise ValueError(
                    f"{who}: model[{i}].{name} is read-only; training updates the "
                    f"parameters in place, so give the layer a writable copy "
                    f"(layer.{name} = np.array(layer.{name}))")


def warn_if_nothing_trains(layers, stacklevel: int = 3) -> None:
    """fit with every parameter frozen runs every epoch and changes nothing: say so (the
    warning points ``stacklevel`` frames up: at fit's caller). Layers with freezing
    (minibp's) are told by their frozen names, without making parameter records."""
    has_parameters = False
    for layer in layers:  # a loop, not any(...): this runs on every fit
        frozen, names = getattr(layer, "_frozen", None), getattr(layer, "parameter_names", None)
        if frozen is None or names is None:  # a layer of another kind: its records say
            records = layer.parameters()
            if not all(p.frozen for p in records):
                return
            has_parameters = has_parameters or bool(records)
            continue
        count = len(names())
        if len(frozen) < count:  # (frozen names are among the names: freeze checks them)
            return  # something of this layer trains
        has_parameters = has_parameters or count > 0
    if has_parameters:
        warnings.warn("fit: every parameter of this model is frozen, so training changes "
                      "nothing (only the loss is computed); unfreeze some (layer.unfreeze())",
                      UserWarning, stacklevel=stacklevel)


def kernel_array(values: np.ndarray, dtype) -> np.ndarray:
    """values as the kernels take data: C-contiguous, native byte order, ``dtype`` and
    writeable. Fortran-ordered, strided, reversed or big-endian arrays are copied; so are
    read-only ones (np.load(..., mmap_mode="r")), since numba compiles a read-only array
    as a type of its own: passing one as it is would compile the training loop again."""
    array = np.ascontiguousarray(values, dtype=dtype)
    return array if array.flags.writeable else array.copy()


_owners: dict = {}  # id(model) -> the _Exclusive of the run training it; never pickled


def exclusive(model, who: str):
    """``with exclusive(model, who):`` training of ``model`` by this thread only, for the
    duration: a second fit or train_step on it, from any thread, while one runs gets a
    RuntimeError saying so (two runs would interleave their updates and read each other's
    half-written weights)."""
    return _Exclusive(model, who)


class _Exclusive:
    """exclusive's context: a class, not a generator, since fit enters one on every call."""

    def __init__(self, model, who: str):
        self.key, self.who = id(model), who

    def __enter__(self):
        self.thread = threading.current_thread()
        owner = _owners.setdefault(self.key, self)  # atomic: no lock to take on every fit
        if owner is not self:  # another run, in another thread or (a callback) in this one
            raise RuntimeError(
                f"{self.who}: this model is already training (thread {owner.thread.name!r}); "
                "wait for that fit to end, or train a copy (copy.deepcopy(model)) in this "
                "thread")
        return self

    def __exit__(self, *exc) -> bool:
        del _owners[self.key]
        return False
