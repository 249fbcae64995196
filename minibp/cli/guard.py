"""How a `minibp` command ends: its exit status, its one-line errors, and a closed pipe.

0 done; 1 an error while running, said in one line ``WHO: error: ...`` on stderr (the
traceback instead with --debug); 2 a bad argument (argparse's usage line and one error line,
for a UsageError found after parsing too); 130 Ctrl-C. Output piped into a reader that leaves
early (``| head -1``) is not an error: what is written after it left is discarded, and the
command runs to its end (a model is still saved) and exits with the status it would have had.
benchmarks/run.py, behind `minibp bench`, ends the same way.
"""

from __future__ import annotations

import os
import sys

from minibp.cli.arguments import UsageError

INTERRUPTED = 130


def pipe_safe(work):
    """work() with stdout and stderr made ClosedPipeSafe, flushed and put back after."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ClosedPipeSafe(streams[0]), ClosedPipeSafe(streams[1])
    try:
        return work()
    except BrokenPipeError:  # from a write around the wrappers (say, to sys.stdout.buffer)
        ClosedPipeSafe(streams[0]).discard()
        return 0
    finally:  # a reader that left shows here at the latest, not at the interpreter's exit
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams


def reported(work, who: str, debug: bool = False, usage=None) -> int:
    """work()'s status, or the status of what it raised, said as the module docstring says;
    usage is the argparse parser whose error() reports a UsageError (it exits with 2)."""
    try:
        return work()
    except UsageError as error:
        if usage is None:
            raise
        usage.error(str(error))
    except KeyboardInterrupt:
        print(f"{who}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if debug:
            raise
        print(f"{who}: error: {one_line(error)}", file=sys.stderr)
        return 1


def one_line(error: BaseException) -> str:
    """The error's message on one line; a file's error names the file first."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


class ClosedPipeSafe:
    """A text stream that, once its reader has left (BrokenPipeError), points its file
    descriptor at os.devnull and carries on, so what is written after that is discarded."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self.discard()
            return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self.discard()

    def discard(self) -> None:
        try:
            descriptor = self._stream.fileno()
        except (AttributeError, OSError, ValueError):  # not backed by a file: drop it
            self._stream = open(os.devnull, "w")  # noqa: SIM115 - lives as long as we do
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)  # the stream's buffer, flushed at exit, goes there too
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)
