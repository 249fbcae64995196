"""Saving never leaves a half file: an exception or an interrupt mid-save keeps the old file
whole and removes the temporary one; a process killed (SIGKILL) mid-save leaves the old file
loadable, and the next save to that path removes the temporary file it left (never one a
live process is writing).

Reference: the old file's bytes and the old model's arrays, taken before the failed save.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minibp
from minibp.checkpoint import atomic, files


def saved(tmp_path, seed=0):
    model = minibp.mlp([3, 4, 2], seed=seed)
    model.save(tmp_path / "m.npz")
    return model


def same_parameters(a, b):
    return all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(), b.parameters()))


class FailsHalfway:
    """The temporary file, raising error once half of limit bytes have been written."""

    def __init__(self, file, limit, error):
        self.file, self.limit, self.error, self.written = file, limit, error, 0

    def write(self, data):
        data = memoryview(data).cast("B")
        if self.written + len(data) > self.limit // 2:
            self.file.write(data[: self.limit // 2 - self.written])
            self.file.flush()
            self.at_failure = os.path.getsize(self.file.name)
            raise self.error
        self.written += len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["oserror", "ctrl-c"])
def test_a_save_cut_short_halfway_leaves_the_old_file_whole(tmp_path, monkeypatch, error):
    old = saved(tmp_path)
    before = (tmp_path / "m.npz").read_bytes()
    new = minibp.mlp([3, 40, 2], seed=1)
    size = len(new.save(tmp_path / "measure.npz").read_bytes())
    (tmp_path / "measure.npz").unlink()
    real, wrappers = files.write_npz, []

    def halfway(file, arrays):
        wrappers.append(FailsHalfway(file, size, error))
        real(wrappers[-1], arrays)

    monkeypatch.setattr(files, "write_npz", halfway)
    with pytest.raises(type(error)):
        new.save(tmp_path / "m.npz")
    assert wrappers[0].at_failure > size // 3 > 500  # the temporary file was half written
    assert (tmp_path / "m.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    monkeypatch.undo()
    assert same_parameters(minibp.load(tmp_path / "m.npz"), old)


# The child saves a model of 16 MB, the writes slowed to 1 MB per 50 ms, so it is certainly
# mid-write when killed: about 1 s of writing is left once 2 MB are on disk.
SLOW_SAVE = """
import sys, time
import minibp
from minibp.checkpoint import files

class Slow:
    def __init__(self, file):
        self.file = file
    def write(self, data):
        data = memoryview(data).cast("B")
        for start in range(0, len(data), 1 << 20):
            self.file.write(data[start:start + (1 << 20)])
            self.file.flush()
            time.sleep(0.05)
        return len(data)
    def __getattr__(self, name):
        return getattr(self.file, name)

real = files.write_npz
files.write_npz = lambda file, arrays: real(Slow(file), arrays)
minibp.mlp([1000, 1000, 1000], seed=1).save(sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_save_killed_mid_write_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "m.npz"
    old = saved(tmp_path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path)])
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 2 << 20 for p in atomic.partials_of(path)):
            assert child.poll() is None, f"the save ended ({child.returncode}) before the kill"
            assert time.monotonic() < deadline, "the save never started writing"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    left = atomic.partials_of(path)
    assert [p.name.split("-")[:3] for p in left] == [[".m.npz.minibp", "partial", str(child.pid)]]
    assert 2 << 20 < left[0].stat().st_size < 16 << 20  # cut short mid-write
    assert path.read_bytes() == before
    assert same_parameters(minibp.load(path), old)
    with pytest.raises(minibp.CheckpointError, match="not a readable minibp file"):
        minibp.load(left[0])  # the half-written file itself is refused
    newer = saved(tmp_path, seed=2)
    assert atomic.partials_of(path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert same_parameters(minibp.load(path), newer)


def test_a_live_process_s_temporary_file_is_left_alone(tmp_path):
    live = tmp_path / f".m.npz{atomic.PARTIAL}{os.getppid()}-abcd1234"
    live.write_bytes(b"being written")
    other = tmp_path / f".other.npz{atomic.PARTIAL}999999999-abcd1234"
    other.write_bytes(b"another path's")
    saved(tmp_path)
    assert live.exists() and other.exists()


def test_names_with_glob_characters(tmp_path):
    path = tmp_path / "run[1]*.npz"
    minibp.mlp([2, 2], seed=0).save(path)
    stale = tmp_path / f".run[1]*.npz{atomic.PARTIAL}999999999-0000"
    stale.write_bytes(b"x")
    minibp.mlp([2, 2], seed=0).save(path)
    assert not stale.exists() and path.is_file()
