"""Writing a file so that a reader only ever sees the old file or the whole new one.

The bytes go to a temporary file in the same folder (open for reading too, so the writer
can read back what it wrote), named ``.NAME.minibp-partial-PID-XXXX``, are flushed and
fsynced, and the temporary file is renamed over ``path`` with os.replace
(atomic on POSIX and Windows). An exception removes the temporary file; a process killed
mid-write leaves one behind, which the next save to the same path removes once no process
of that PID is running.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PARTIAL = ".minibp-partial-"
_WRITING: set[Path] = set()  # this process's temporary files being written (any thread)


def write_atomically(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call write(file) on a temporary file beside path (open for writing and reading),
    then put it at path; returns path."""
    path = Path(path)
    remove_stale_partials(path)
    partial = path.with_name(f".{path.name}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}")
    _WRITING.add(partial)
    try:
        with open(partial, "xb+") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        _WRITING.discard(partial)
    _sync_folder(path.parent)
    return path


def partials_of(path) -> list[Path]:
    """The temporary files saves to path have left in its folder."""
    path = Path(path)
    return sorted(path.parent.glob(f".{_escape(path.name)}{PARTIAL}*"))


def remove_stale_partials(path) -> None:
    """Remove the temporary files of saves to path whose process is gone."""
    for partial in partials_of(path):
        pid = partial.name.rsplit(PARTIAL, 1)[1].split("-", 1)[0]
        if partial not in _WRITING and pid.isdigit() and not _running(int(pid)):
            partial.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours, yet none of our saves is writing it: one was cut short
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or we cannot tell: leave its file alone
    return True


def _escape(name: str) -> str:
    """name with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _sync_folder(folder: Path) -> None:
    """fsync the folder, so the rename itself survives a power cut (POSIX; a no-op where
    folders cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
