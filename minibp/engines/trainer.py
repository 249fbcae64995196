"""The training loop every engine shares: chunks of epochs, validation, metrics, callbacks,
progress, divergence and Ctrl-C.

Sequential.fit checks its arguments, then calls run(). The engine's Session does the steps;
everything between epochs happens here, the same for every engine.

Callbacks get Keras' hooks and two optional ones, called (when a callback has them) after
set_model and before on_train_begin: ``set_data(X, Y)``, the training rows as fit trains on
them (after validation_split), and ``set_history(history)``, the History fit fills and
returns, for callbacks that record figures of their own (minibp.explain.Diagnostics).
"""

from __future__ import annotations

import signal
import threading

try:  # the C module under signal: signal.signal's enum conversions cost ~25 us a fit
    import _signal as raw_signal
except ImportError:  # not CPython
    raw_signal = signal
import time
from dataclasses import dataclass, field

import numpy as np

from minibp.engines import engine_name, macs_per_step
from minibp.engines.epochs import INTERRUPTED, ChunkPlanner, Divergence, guess_seconds_per_epoch
from minibp.engines.evaluation import evaluate
from minibp.engines.progress import Progress
from minibp.history import History

SIGINT = int(signal.SIGINT)


@dataclass
class Plan:
    """Everything fit was asked to do, checked."""

    epochs: int
    batch_size: int
    shuffle: bool
    seed: object
    sample_weight: np.ndarray | None = None
    clip_norm: float | None = None
    on_divergence: str = "raise"
    verbose: object = "auto"
    metrics: list = field(default_factory=list)          # (name, function)
    callbacks: list = field(default_factory=list)
    validation: tuple | None = None                      # (X, Y, sample_weight or None)

    def options(self) -> dict:
        """fit's options in use, as engines.resolve takes them."""
        return {"sample_weight": self.sample_weight is not None,
                "clip_norm": self.clip_norm is not None}


class InterruptGuard:
    """While fit runs in the main thread, Ctrl-C sets ``requested`` instead of raising
    wherever Python happens to be, so that the engines stop after a whole step; a second
    Ctrl-C raises at once. Elsewhere (another thread) it does nothing."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = raw_signal.signal(SIGINT, self._handle)
            except ValueError:  # signals unavailable here (an embedded interpreter)
                self._previous = None
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            raw_signal.signal(SIGINT, self._previous)
        return False


def run(loop: _Loop) -> History:
    """Train the loop's model on its data with its engine (loop_for: new, or restarted by
    minibp.engines.repeat); see Sequential.fit for the contract."""
    with InterruptGuard() as interrupt:
        try:
            loop.train(interrupt)
        finally:
            loop.close()
        for callback in loop.plan.callbacks:
            _call(callback, "on_train_end", loop.last[1])
    return loop.history


def loop_for(model, engine, X, Y, loss, optimizer, plan: Plan) -> _Loop:
    """A new loop, with the engine's Session, for a fit of model.layers on X, Y."""
    session = engine.Session(model.layers, X, Y, loss=loss, optimizer=optimizer,
                             batch_size=plan.batch_size, shuffle=plan.shuffle, seed=plan.seed,
                             sample_weight=plan.sample_weight, clip_norm=plan.clip_norm)
    return _Loop(model, engine, session, X, Y, loss, optimizer, plan)


class _Loop:
    """One fit's run: chunks of epochs on the engine's Session, with History, progress and
    callbacks. restart() runs the same fit again on data of the same shapes."""

    def __init__(self, model, engine, session, X, Y, loss, optimizer, plan: Plan):
        self.model, self.engine, self.session = model, engine, session
        self.loss, self.optimizer, self.plan = loss, optimizer, plan
        self.per_epoch = bool(plan.callbacks or plan.validation or plan.metrics)
        self.seconds_per_epoch = guess_seconds_per_epoch(
            len(X), plan.batch_size, macs_per_step(model, 1), engine.STEP_SECONDS)
        self.progress = Progress(plan.verbose, plan.epochs)
        self._start(X, Y)

    def restart(self, X, Y) -> None:
        """Begin the session again on X, Y (as checked for the first run: the same shapes)."""
        self.session.begin(X, Y, self.plan.seed)
        self.progress.restart()
        self._start(X, Y)

    def _start(self, X, Y) -> None:
        self.X, self.Y = X, Y
        self.history = History()
        self.planner = ChunkPlanner(self.per_epoch, self.seconds_per_epoch)
        self.last = (None, {}, 0.0)  # the last completed epoch, its logs, its seconds

    def close(self) -> None:
        """The run's end: the session's buffers written back and given up, the progress
        closed, the data let go."""
        self.session.close()
        self.progress.close(*self.last)
        self.X = self.Y = None

    def train(self, interrupt) -> None:
        model, plan = self.model, self.plan
        model.stop_training = False
        for callback in plan.callbacks:
            _call(callback, "set_model", model)
            _call(callback, "set_data", self.X, self.Y)     # optional, see the module's doc
            _call(callback, "set_history", self.history)
            _call(callback, "on_train_begin", {})
        done, compiled = 0, False
        while done < plan.epochs and not model.stop_training:
            size = self.planner.next_size(plan.epochs - done)
            if self.per_epoch:
                for callback in plan.callbacks:
                    _call(callback, "on_epoch_begin", done, {})
            if not compiled:  # right before the first run: see Session.to_compile
                self._compile()
                compiled = True
            started = time.perf_counter()
            chunk = self.session.run(size, interrupt)
            seconds = time.perf_counter() - started
            done = self._record(done, chunk.losses, seconds)
            self._stop_if(chunk.stop, interrupt)
            if done < plan.epochs:  # the next chunk's size (none after the last)
                self.planner.took(seconds, len(chunk.losses))
        if model.stop_training and self.history.stopped_reason is None:
            reasons = [getattr(c, "stop_reason", None) for c in plan.callbacks
                       if getattr(c, "stopped_epoch", None) is not None]
            self.history.stopped_reason = next((r for r in reasons if r), "callback")

    def _compile(self) -> None:
        """Compile (or load from the cache) what the engine will run, before any epoch is
        timed (Session.to_compile), under Progress.compiling's notice."""
        pending = self.session.to_compile(evaluates=bool(self.plan.validation
                                                         or self.plan.metrics))
        if pending:
            with self.progress.compiling(engine_name(self.engine)):
                for compile_ in pending:
                    compile_()

    def _record(self, first: int, losses: np.ndarray, seconds: float) -> int:
        """History, progress and callbacks for the epochs a chunk completed."""
        count = len(losses)
        if count == 0:
            return first
        each = seconds / count
        logs, columns = {"loss": float(losses[-1])}, {}
        if self.per_epoch:
            self.session.sync()  # the layers hold this epoch's weights: evaluate, callbacks
            logs.update(self._epoch_logs())
            columns = {k: [v] for k, v in logs.items() if k != "loss"}
        self.history.extend(range(first, first + count), seconds=each, loss=losses,
                            **columns)  # one number for even times: a list of 10,000 cost 27 us
        self.progress.chunk_done(first, losses, each, logs)
        self.last = (first + count - 1, logs, each)
        if self.per_epoch:
            for callback in self.plan.callbacks:
                _call(callback, "on_epoch_end", first, logs)
        return first + count

    def _epoch_logs(self) -> dict:
        """Metrics on the training data, then loss and metrics on the validation data, each
        computed after the epoch with the weights it ended with."""
        plan, logs = self.plan, {}
        if plan.metrics:
            found = evaluate(self.model, self.engine, self.X, self.Y, None, plan.metrics,
                             plan.sample_weight, last_loss=self.loss, who="fit")
            logs.update(found)
        if plan.validation is not None:
            Xv, Yv, wv = plan.validation
            found = evaluate(self.model, self.engine, Xv, Yv, self.loss, plan.metrics, wv,
                             last_loss=self.loss, who="fit")
            logs.update({f"val_{name}": value for name, value in found.items()})
        return logs

    def _stop_if(self, stop, interrupt) -> None:
        if isinstance(stop, Divergence):
            self.history.stopped_reason = "diverged"
            if self.plan.on_divergence == "raise":
                error = stop.error(_lr(self.optimizer))
                error.history = self.history
                raise error
            self.model.stop_training = True
        elif stop == INTERRUPTED or interrupt.requested:
            self.history.stopped_reason = "interrupted"
            error = KeyboardInterrupt("fit was interrupted; the weights are those after the "
                                      "last whole step, and .history holds the epochs done")
            error.history = self.history
            raise error


def _lr(optimizer) -> float:
    current = getattr(optimizer, "current_lr", None)
    return current() if current is not None else optimizer.lr


def _call(callback, hook: str, *args) -> None:
    method = getattr(callback, hook, None)
    if method is not None:
        method(*args)
