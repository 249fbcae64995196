"""The compiled engine: packs the layers into flat buffers and runs kernels.loop on them.

numba is imported on first use, never at ``import minibp``. Callers have already checked
that the layers can run here (minibp.engines.resolve); the kernels then trust them.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from minibp.engines import (
    cache_location,  # noqa: F401  (before the kernels: see it)
    specialize,
    update_settings,
)
from minibp.engines.capabilities import loss_code
from minibp.engines.checks import kernel_array
from minibp.engines.epochs import (
    INTERRUPTED,
    Chunk,
    Divergence,
    guess_seconds_per_epoch,
    one_step,
    steps_per_epoch,
    weightless_batch,
)
from minibp.engines.flat import IDLE, count_steps, training_arrays
from minibp.engines.kernels import loop  # numba: this module is imported only when it runs
from minibp.engines.numba_replay import FUSED_NOT_FINITE, OVERFLOW, Undo, replay

PREDICT_ROWS = 256  # rows per chunk when predicting
STEP_SECONDS = 5e-7  # a cautious guess of a step's fixed cost, for sizing chunks (epochs.py)
CALL_SECONDS = 0.1  # a compiled call's length at most (about): Ctrl-C waits for it
_NEVER_DRAWN = np.random.default_rng(0)  # the generic loop's Generator for unshuffled runs
_NO_WEIGHTS = np.empty(0)  # the kernels' "no sample weights": an empty float64 array
CHECKS_FINITE_PARAMETERS = True  # FlatModel.pull does, in one look (see engines.resolve)
_READY: set = set()  # (kernels, dtype, ...) compiled or loaded: Session.to_compile


class Session:
    """One fit's flat buffers and generator; run(epochs) trains that many more epochs in one
    compiled call, and sync() writes weights and the optimizer's state back. The buffers
    are taken from flat.IDLE and given back by close(); ``who`` names the caller in the
    errors they raise (a parameter found NaN when they are filled). A closed Session can
    begin() another run on data of the same shapes; one that ``holds_buffers`` keeps them
    between runs instead (minibp.engines.repeat: the next fit of the same arguments)."""

    def __init__(self, layers, X, Y, *, loss, optimizer, batch_size, shuffle, seed,
                 sample_weight=None, clip_norm=None, who="fit"):
        self.layers, self.rows, self.who = list(layers), min(batch_size, len(X)), who
        self.flat = IDLE.take(layers, self.rows, optimizer, who)
        self.n, self.batch_size, self.shuffle = len(X), batch_size, shuffle
        self.w = _NO_WEIGHTS if sample_weight is None else np.ascontiguousarray(
            sample_weight, dtype=np.float64)
        self.loss, self.loss_id = loss, loss_code(loss)
        self.optimizer, self.clip_norm = optimizer, clip_norm
        self.per_epoch = steps_per_epoch(self.n, batch_size)
        self.first_budget = max(1, int(CALL_SECONDS / guess_seconds_per_epoch(
            batch_size, batch_size, self.flat.macs_per_row, STEP_SECONDS)))
        self.undo = Undo(self)
        self.holds_buffers = False  # close gives them back to flat.IDLE
        self.begin(X, Y, seed, taken=True)

    def begin(self, X, Y, seed, taken: bool = False) -> None:
        """Start a run on X, Y from epoch 0: the buffers (held, or from flat.IDLE unless
        __init__ has just ``taken`` them) with the layers' weights and the optimizer's state
        pulled in, the data as the kernels read it (checked as the loss checks it)."""
        if self.holds_buffers:
            self.flat.pull(self.optimizer)
        elif not taken:
            self.flat = IDLE.take(self.layers, self.rows, self.optimizer, self.who)
        self.X, self.T = (a.ravel() for a in training_arrays(self.layers, X, Y, self.loss))
        # Unshuffled, nothing is drawn: skip making a generator (seed=None reads OS entropy,
        # about 20 us, a fifth of a fit's fixed cost) and hand the kernel a standing one.
        self.rng = np.random.default_rng(seed) if self.shuffle else _NEVER_DRAWN
        self.order = np.arange(self.n)
        self.report = np.zeros(3)
        self.resume = np.zeros(3)  # where a call that ran out of budget stopped mid-epoch
        self.epoch = 0  # epochs completed
        self.budget = self.first_budget
        self.synced = False  # the layers hold the latest weights; pull before training more
        self.stepped = False  # a step has run: the gradient buffer holds this fit's
        self._chosen = None  # (settings, kernels) to_compile chose, for the call after it

    def to_compile(self, evaluates: bool = False) -> list:
        """Calls compiling (or loading) what this fit runs that the process has not yet: the
        loop and, when the fit ``evaluates`` between epochs, predict's kernel, each run for no
        epoch or row (nothing changes); fit makes them before timing epochs, so compiling is
        not counted as training. The next compiled call reuses the settings and loop read
        here: call run right after (fit does, after every callback)."""
        settings, kernels = self._chosen = self._choose()  # the next call's: run comes next
        rng, dtype, pending = self._rng_for(kernels), self.flat.dtype, []
        key = (kernels, dtype, rng is None)
        if key not in _READY:
            pending.append(functools.partial(self._compile_loop, key, settings, rng))
        if evaluates and (loop, dtype) not in _READY:
            pending.append(self._compile_predict)
        return pending

    def _compile_loop(self, key: tuple, settings: np.ndarray, rng) -> None:
        flat, kernels = self.flat, key[0]
        update = (settings, *flat.state_rows, update_settings.NO_LRS)
        kernels.train_epochs((self.X, self.T, self.w), self.order, rng, self.shuffle,
                             self.batch_size, 0, 0, flat.net, flat.scratch, self.loss_id,
                             update, np.zeros(0), self.report, self.budget, self.resume)
        _READY.add(key)

    def _compile_predict(self) -> None:
        flat = self.flat
        loop.predict_rows(np.empty(0, flat.dtype), flat.params, flat.layout, flat.acts,
                          flat.rows, np.empty((0, flat.n_outputs), flat.dtype))
        _READY.add((loop, flat.dtype))

    def run(self, epochs: int, interrupt=None) -> Chunk:
        """Up to ``epochs`` epochs in compiled calls of about CALL_SECONDS each; a Ctrl-C
        is seen between calls, so even a long epoch stops soon, after a whole step."""
        if self.synced:  # a callback may have changed weights, frozen parts or lr since
            self.flat.pull(self.optimizer)
            self.synced = False
        losses = np.zeros(epochs)
        finished = 0
        while finished < epochs:
            done, stop = self._call(epochs - finished, losses[finished:])
            finished += done
            if stop is None and finished < epochs and interrupt is not None \
                    and interrupt.requested:
                stop = INTERRUPTED
            if stop is not None:
                return Chunk(losses[:finished], stop)
        return Chunk(losses)

    def _call(self, epochs: int, losses: np.ndarray):
        """One compiled call: at most self.budget steps of at most ``epochs`` epochs, from
        where the last call stopped. Returns (epochs completed, Divergence or None).

        An update that made a value non-finite (report 3), or a fused step that went wrong
        (report 4), has already changed the weights: the call is undone from the copy taken
        before it and replayed up to just before that step, which gives the weights of the
        last good step exactly (numba_replay)."""
        position = self._position()
        self.undo.save()
        started = time.perf_counter()
        finished = self._train(epochs, losses, self.budget, position)
        seconds = time.perf_counter() - started
        self.stepped = True
        overflow = False
        if self.report[0] in (OVERFLOW, FUSED_NOT_FINITE):
            finished, overflow = replay(self, functools.partial(self._train, epochs, losses),
                                        position)
        steps, stop = self._position() - position, None
        code, step, loss = self.report.tolist()  # (as Python numbers: one conversion)
        if code:
            stop = Divergence(int(step) + 1, self.epoch + 1, loss, overflow)
            steps = int(step) - position
        count_steps(self.optimizer, steps)
        if code == 2:
            raise weightless_batch(self.loss)
        self._resize_budget(steps, seconds)
        return finished, stop

    def _train(self, epochs: int, losses: np.ndarray, budget: int, position: int) -> int:
        """train_epochs from step ``position``, compiled for this structure where it can be
        (engines.specialize) and the generic loop's otherwise; returns the epochs it
        completed."""
        flat, optimizer = self.flat, self.optimizer
        chosen, self._chosen = self._chosen, None
        settings, kernels = chosen if chosen is not None else self._choose()
        update = (settings, *flat.state_rows, update_settings.lrs_ahead(
            optimizer, min(budget, epochs * self.per_epoch)))
        rng = self._rng_for(kernels)
        finished = kernels.train_epochs(
            (self.X, self.T, self.w), self.order, rng, self.shuffle, self.batch_size,
            epochs, position, flat.net, flat.scratch, self.loss_id, update, losses,
            self.report, budget, self.resume)
        self.epoch += finished
        return finished

    def _choose(self) -> tuple:
        """(settings, kernels) for the next call: the optimizer's settings now, and the loop
        compiled for them and this run's structure (specialize.kernels_of), else the
        generic one."""
        settings = update_settings.settings(self.optimizer, self.clip_norm)
        return settings, specialize.kernels_of(self.flat, settings, self.loss_id, self.shuffle,
                                               len(self.w) > 0, self.batch_size, self.n) or loop

    def _rng_for(self, kernels):
        """The generator train_epochs takes: None for a specialized unshuffled loop (see
        specialized.py)."""
        return self.rng if self.shuffle or kernels is loop else None

    def _position(self) -> int:
        """Steps taken in this fit so far: whole epochs, and the batches of the current one."""
        return self.epoch * self.per_epoch + int(self.resume[0]) // self.batch_size

    def _resize_budget(self, steps: int, seconds: float) -> None:
        """Steps per call for about CALL_SECONDS a call, growing at most 4x a call (the
        first call may have included compiling)."""
        if steps > 0 and seconds > 0:
            wanted = int(steps * CALL_SECONDS / seconds)
            self.budget = max(1, min(wanted, 4 * self.budget))

    def sync(self) -> None:
        """Write weights, gradients (once a step has made them) and the optimizer's state
        back into the layers and the optimizer, in place."""
        self.flat.push(self.optimizer, grads=self.stepped)
        self.synced = True

    def close(self) -> None:
        """sync, then leave the buffers for the next fit of these layers (flat.IDLE, unless
        held) and let go of the data."""
        self.sync()
        if not self.holds_buffers:
            IDLE.give_back(self.flat)
        self.X = self.T = None


def train_step(layers, X, Y, loss, optimizer) -> float:
    """One forward, backward and update on X, Y; the loss before the update."""
    return one_step(functools.partial(Session, who="train_step"), layers, X, Y, loss,
                    optimizer)


def gradients(layers, X, Y, loss) -> None:
    """One batch's gradients from the compiled kernels, written into the layers' dW and db."""
    rows = len(X)
    flat = IDLE.take(layers, rows, None, "gradients")
    try:
        X, T = (a.ravel() for a in training_arrays(layers, X, Y, loss))
        loop.batch_loss_and_gradients(X, 0, T, 0, _NO_WEIGHTS, 0, rows, flat.net, flat.acts,
                                      flat.deltas, loss_code(loss))
        flat.push(values=False)  # nothing trained: read-only parameters stay untouched
    finally:
        IDLE.give_back(flat)


def predict(layers, X, who: str = "predict") -> np.ndarray:
    """The layers' output for X (n, in), compiled, PREDICT_ROWS rows at a time; ``who``
    names the caller when a parameter is not finite."""
    flat = IDLE.take(layers, max(1, min(PREDICT_ROWS, len(X))), None, who)
    try:
        out = np.empty((len(X), flat.n_outputs), flat.dtype)
        X = kernel_array(X, flat.dtype).ravel()
        loop.predict_rows(X, flat.params, flat.layout, flat.acts, flat.rows, out)
    finally:
        IDLE.give_back(flat)
    return out
