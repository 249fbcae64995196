"""Saving never leaves a half file: an exception or an interrupt mid-save keeps the old file
whole and removes the temporary one; a temporary file left by a killed process is removed by
the next save to that path (never one a live process is writing)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import minibp
from minibp.checkpoint import atomic


def saved(tmp_path, seed=0):
    model = minibp.mlp([3, 4, 2], seed=seed)
    model.save(tmp_path / "m.npz")
    return model


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["oserror", "ctrl-c"])
def test_a_save_cut_short_leaves_the_old_file_whole(tmp_path, monkeypatch, error):
    old = saved(tmp_path)
    before = (tmp_path / "m.npz").read_bytes()

    def half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise error

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(type(error)):
        minibp.mlp([3, 4, 2], seed=1).save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    monkeypatch.undo()
    assert np.array_equal(minibp.load(tmp_path / "m.npz")[0].W, old[0].W)


def test_a_killed_save_leaves_a_recognisable_file_that_the_next_save_removes(tmp_path):
    """A child process starts a save and is killed mid-write (os._exit in the writer)."""
    saved(tmp_path)
    script = (
        "import os, sys, numpy as np, minibp\n"
        "def die(file, **arrays):\n"
        "    file.write(b'PK partial'); file.flush(); os._exit(9)\n"
        "np.savez = die\n"
        "minibp.mlp([3, 4, 2], seed=1).save(sys.argv[1])\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.npz")])
    assert done.returncode == 9
    left = atomic.partials_of(tmp_path / "m.npz")
    assert len(left) == 1 and left[0].name.startswith(".m.npz.minibp-partial-")
    minibp.load(tmp_path / "m.npz")  # the old file is whole
    saved(tmp_path, seed=2)
    assert atomic.partials_of(tmp_path / "m.npz") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


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
