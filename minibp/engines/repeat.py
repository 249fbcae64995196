"""fit called again with the same arguments: the chapter's loop of ``fit(epochs=1)``, a
notebook cell run again, one's own loop over epochs. The fit's fixed cost is most of a
one-step fit's time; this module lets the fourth and later identical calls skip the part of
it that only the arguments decide.

From its second fit on, a model remembers its last plain fit (Seen: the argument objects,
the ids of X and Y).
A fit is plain on the numba engine, with the loss and optimizer given as objects, no
validation, metrics, callbacks or sample_weight, X a float array and Y an array. When a
plain fit's arguments are the very same objects as the last one's (``is``, one comparison
each), the model keeps its loop (KeptRun: the trainer's loop, with its Plan, its Session
and the Session's buffers, and X and Y by weak reference: the model never keeps the data
alive). The next call with the same objects restarts that loop instead of making one:
fit's argument checks, the engine's choice and the buffers' layout are not worked out
again. The run itself (History, progress, divergence, Ctrl-C) is trainer.run's, as for
any fit.

Whatever can change in place between two calls with the same objects is checked again on
every call, by the functions a first fit uses (so with the same errors): X and Y (NaN or
infinity; the loss's check of the targets), every parameter (shape, dtype, layout,
writable; finite when pulled), the optimizer's hyperparameters, learning rate and step
count, and which parameters are frozen (read before each compiled call, as always). When
the model's layers, a layer's sizes, activation or dtype, one of the loss's settings, or
the shape or dtype of X or Y differ from the kept run's, the call runs as a first fit.

A KeptRun holds the run's buffers (a small model's: the numba engine runs only small
steps) as long as the model keeps it; pickling and copying a model leave it out. The
figures are in docs/performance.md ("Fixed cost").
"""

from __future__ import annotations

import operator
import weakref

import numpy as np

from minibp.engines import AUTO_NUMBA_MAX_MACS_COMPILED, engine_name, trainer
from minibp.engines.checks import (
    check_parameters,
    check_writable,
    exclusive,
    warn_if_nothing_trains,
)
from minibp.engines.flat import IDLE
from minibp.errors import check_training_data, is_finite

_NEVER_FIT = object()  # what a model's _kept_run is before its first fit


class Seen:
    """What a model remembers of its last plain fit, to tell the next call with the same
    objects: fit's ``arguments`` (X and Y aside) and the ids of X and Y. A hint, never
    trusted: the call it matches keeps its loop as a KeptRun, which holds X and Y by weak
    reference and so tells them for sure. A model's first fit leaves not even this (None),
    so fitting many models once each costs nothing here."""

    __slots__ = ("arguments", "ids")

    def __init__(self, arguments: tuple, X, Y):
        self.arguments, self.ids = arguments, (id(X), id(Y))

    def matches(self, X, Y, arguments: tuple) -> bool:
        """fit called, most likely, with the same objects as this one."""
        return (self.ids == (id(X), id(Y))
                and all(map(operator.is_, arguments, self.arguments)))


class KeptRun:
    """A plain fit's loop (trainer: its Session, Plan and options) and what a later call
    must match to run it again: the same argument objects, X and Y (held by weak reference,
    so the model never keeps the data alive) of the same shapes and dtypes, the layers and
    the key its held buffers were made for (flat.IDLE), the loss's settings."""

    def __init__(self, loop, arguments: tuple, X, Y):
        self.loop, self.arguments = loop, arguments
        self.X, self.Y = weakref.ref(X), weakref.ref(Y)
        loop.session.holds_buffers = True  # they serve this model's runs from now on
        self.shapes = (X.shape, Y.shape, X.dtype, Y.dtype)
        self.floats = (X.dtype.kind in "fc", Y.dtype.kind in "fc")  # what can hold NaN
        self.loss_settings = operator.attrgetter("reduction", *loop.loss._settings())
        self.loss_values = self.loss_settings(loop.loss)

    def matches(self, X, Y, arguments: tuple) -> bool:
        """fit called with the same objects as the kept run."""
        return (self.X() is X and self.Y() is Y
                and all(map(operator.is_, arguments, self.arguments)))

    def still_fits(self, model, X, Y) -> bool:
        """Nothing that decided the kept run's layout changed in place: the layers, each
        one's sizes, activation and dtype (the buffers' key), the shapes of X and Y, the
        loss's settings, and X and Y: their shapes and dtypes (changed in place, as
        ``X.shape = ...`` can)."""
        session = self.loop.session
        return ((X.shape, Y.shape, X.dtype, Y.dtype) == self.shapes
                and model.layers == session.layers
                and self.loss_settings(session.loss) == self.loss_values
                and IDLE.key(session.layers, session.rows, session.optimizer)
                == session.flat.idle_key)

    def run(self, X, Y):
        """The kept fit again, on X and Y (checked by kept_run): a History."""
        loop, model = self.loop, self.loop.model
        with exclusive(model, "fit"):  # no other run on the model (nor on these buffers)
            model.loss, model.optimizer = loop.loss, loop.optimizer
            loop.restart(X, Y)
            return trainer.run(loop)


def kept_run(model, X, Y, arguments: tuple) -> KeptRun | None:
    """The model's kept run when this fit (X, Y and the rest of its ``arguments``) can run
    it again, its data and parameters checked as a first fit checks them; None when it
    cannot (the call then runs as a first fit)."""
    kept = model.__dict__.get("_kept_run")
    if type(kept) is not KeptRun or not kept.matches(X, Y, arguments):
        return None
    if not kept.still_fits(model, X, Y):
        model._kept_run = None
        return None
    x_float, y_float = kept.floats  # the same dtypes as the first run's (still_fits)
    if (x_float and not is_finite(X)) or (y_float and not is_finite(Y)):
        check_training_data(X, Y)  # raises, naming the array and the first bad row
    check_parameters(model.layers, "fit", finite=False)  # finiteness: when pulled
    check_writable(model.layers, "fit")
    warn_if_nothing_trains(model.layers, stacklevel=4)  # fit's caller: fit, kept_run, here
    return kept


def keep(model, given: tuple, arguments: tuple, engine, X, Y, loss, optimizer, plan):
    """The loop for this fit (of X, Y as checked, from the ``given`` X and Y). When it is
    a plain fit and not the model's first, the model remembers it (Seen), and keeps the
    loop for the next call (KeptRun) when the one before was this same call and ran on the
    numba engine."""
    loop = trainer.loop_for(model, engine, X, Y, loss, optimizer, plan)
    before, (X_given, Y_given) = model.__dict__.get("_kept_run", _NEVER_FIT), given
    if before is _NEVER_FIT:  # a first fit: remembered from the second (many models are
        model._kept_run = None  # fit once each: a sweep, a benchmark's fresh samples)
    elif not _plain(X_given, Y_given, arguments, loss, optimizer, plan):
        model._kept_run = None
    elif (before is not None and before.matches(X_given, Y_given, arguments)
          and _small_on_numba(loop.session, engine, arguments[-1])):
        model._kept_run = KeptRun(loop, arguments, X_given, Y_given)
    else:
        model._kept_run = Seen(arguments, X_given, Y_given)
    return loop


def _plain(X_given, Y_given, arguments: tuple, loss, optimizer, plan) -> bool:
    """A fit kept_run can repeat: X a float array and Y an array as given (a list is
    converted afresh each call, and may change in place unseen; ints go through float64 in
    resolve), a loss and an optimizer given as objects (a name makes a new one each call),
    nothing per epoch and no sample weights (arrays that could change in place unseen)."""
    return (type(X_given) is np.ndarray and type(Y_given) is np.ndarray
            and X_given.dtype.kind == "f" and arguments[0] is loss
            and arguments[1] is optimizer and plan.sample_weight is None
            and plan.validation is None and not plan.metrics and not plan.callbacks)


def _small_on_numba(session, engine, engine_asked: str) -> bool:
    """The numba engine, and chosen whatever is frozen: asked for, or "auto" with steps of
    at most engines.AUTO_NUMBA_MAX_MACS_COMPILED multiply-adds (above it, up to
    AUTO_NUMBA_MAX_MACS, frozen parameters can hand a fit to the BLAS engine)."""
    return engine_name(engine) == "numba" and (
        engine_asked == "numba"
        or session.rows * session.flat.macs_per_row <= AUTO_NUMBA_MAX_MACS_COMPILED)


def without_kept(state: dict) -> dict:
    """A model's __dict__ for pickling and copying: without its Seen or KeptRun (buffers and
    weak references to data, which the next fits make again)."""
    state = state.copy()
    state.pop("_kept_run", None)
    return state
