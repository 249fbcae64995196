"""What fit shows while it runs, on stdout.

verbose=0: nothing. verbose=1: on a terminal a live tqdm bar (epoch, loss, val_loss and
metrics); when stdout is not a terminal (a log file, a pipe, a notebook's captured output)
plain lines without control characters, each flushed as it is written: the first epoch,
about twenty spread over the run, and the last. verbose=2: one line per epoch. verbose="auto"
(the default): nothing for a fit that ends within AUTO_SECONDS, then as verbose=1, so the
chapter's millisecond fits print nothing and a long fit is never silent.

Before the first epoch a compiled engine compiles its kernels, or loads them from the cache
(Session.to_compile): seconds on a machine's first fit of a kind of model, then never again.
When that takes over NOTICE_SECONDS, any verbose but 0 says so in one line, and in one more
how long it took; then the clock of "auto" starts, so the epochs of a fit that trains in
milliseconds are not shown because its first compile was slow.
"""

from __future__ import annotations

import sys
import threading
import time

from minibp.errors import shown

VERBOSITIES = (0, 1, 2, "auto")
AUTO_SECONDS = 1.0
NOTICE_SECONDS = 1.0
PLAIN_LINES = 20


def check_verbose(verbose):
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if verbose not in VERBOSITIES:
        raise ValueError(f"fit: verbose must be one of 0, 1, 2, 'auto', got {shown(verbose)}")
    return verbose


def log_line(epoch: int, epochs: int, logs: dict, seconds: float) -> str:
    """'epoch 3/100 - loss: 0.2501 - val_loss: 0.2612 - accuracy: 0.75 - 0.012 s'."""
    values = " - ".join(f"{name}: {value:.6g}" for name, value in logs.items())
    return f"epoch {epoch + 1}/{epochs} - {values} - {seconds:.3g} s"


class Progress:
    """Receives every completed epoch's logs; shows what ``verbose`` asks for."""

    def __init__(self, verbose, epochs: int, stream=None):
        self.verbose = check_verbose(verbose)
        self.epochs = epochs
        self._given_stream = stream
        self.every = max(1, epochs // PLAIN_LINES)
        self.restart()

    def restart(self) -> None:
        """Show a new run of as many epochs, from its start (a fit run again: trainer)."""
        self.started = time.perf_counter()
        self.bar = None
        self.printed = set()  # epochs whose line was written
        self.stream = sys.stdout if self._given_stream is None else self._given_stream

    def compiling(self, engine: str) -> _CompileNotice:
        """``with progress.compiling("numba"): ...`` around the calls Session.to_compile
        gave: the notice described above, then the clock of "auto" restarted."""
        return _CompileNotice(self, engine)

    def chunk_done(self, first: int, losses, seconds_each: float, logs: dict) -> None:
        """Epochs first .. first + len(losses) - 1 are done; ``logs`` is the last one's (loss
        and, when computed, validation and metrics). No per-epoch Python unless shown."""
        mode = self._mode()
        if mode == 0 or len(losses) == 0:
            return
        last = first + len(losses) - 1
        if mode == 1 and _is_terminal(self.stream):
            self._bar_update(last, logs)
            return
        due = range(first, last + 1) if mode == 2 else self._plain_due(first, last)
        for epoch in due:
            shown_logs = logs if epoch == last else {"loss": float(losses[epoch - first])}
            self._print(log_line(epoch, self.epochs, shown_logs, seconds_each))
            self.printed.add(epoch)

    def close(self, last_epoch: int | None = None, logs: dict | None = None,
              seconds: float = 0.0) -> None:
        """At the end of fit: the last epoch's line if it was not shown, or the bar closed."""
        if self.bar is not None:
            self.bar.close()
        elif (self._mode() == 1 and last_epoch is not None and logs
              and last_epoch not in self.printed):
            self._print(log_line(last_epoch, self.epochs, logs, seconds))

    def _mode(self) -> int:
        if self.verbose != "auto":
            return self.verbose
        return 1 if time.perf_counter() - self.started > AUTO_SECONDS else 0

    def _plain_due(self, first: int, last: int) -> list[int]:
        """The first epoch, every self.every-th and the last, among first..last."""
        due = list(range(first + (-(first + 1)) % self.every, last + 1, self.every))
        due += [e for e in (0, self.epochs - 1) if first <= e <= last]
        return sorted(set(due))

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def _bar_update(self, epoch: int, logs: dict) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm  # a core dependency, imported only to draw a bar

            self.bar = tqdm(total=self.epochs, initial=epoch, unit="epoch", file=self.stream,
                            dynamic_ncols=True, leave=True)
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
        self.bar.update(epoch + 1 - self.bar.n)


class _CompileNotice:
    """Progress.compiling's context: a timer prints the notice if the block is still
    running after NOTICE_SECONDS (it runs in the timer's thread, printing only)."""

    def __init__(self, progress: Progress, engine: str):
        self.progress, self.engine, self.shown = progress, engine, False
        self.timer = None

    def __enter__(self):
        self.started = time.perf_counter()
        if self.progress.verbose != 0 and NOTICE_SECONDS is not None:  # None: never
            self.timer = threading.Timer(NOTICE_SECONDS, self._notice)
            self.timer.daemon = True
            self.timer.start()
        return self

    def _notice(self) -> None:
        self.shown = True
        self.progress._print(f"minibp: compiling the {self.engine} engine's kernels for this "
                             "model (once per machine, then cached) ...")

    def __exit__(self, *exc) -> bool:
        if self.timer is not None:
            self.timer.cancel()
            self.timer.join()  # a notice being printed is finished
        if self.shown and exc[0] is None:
            self.progress._print(f"minibp: compiled in {time.perf_counter() - self.started:.1f}"
                                 " s")
        self.progress.started = time.perf_counter()
        return False


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
