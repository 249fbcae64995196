"""Start-up: importing minibp loads no numba and compiles nothing; compiled kernels are
cached on disk and reused by the next process, also from a read-only package folder.

Each check runs in a fresh interpreter, since this test process has numba loaded already.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minibp

PACKAGE_DIR = Path(minibp.__file__).parent

TRAIN_AND_REPORT = """
import os
os.environ["MINIBP_SPECIALIZE"] = "0"  # the generic loop (test_specialized.py: the others)
import minibp
from minibp.engines.kernels import loop
model = minibp.examples.chapter_network()
X, Y = minibp.examples.chapter_data()
model.fit(X, Y, loss=minibp.SquaredError(), optimizer=minibp.SGD(0.5), epochs=3,
          batch_size=1, shuffle=False, engine="numba", verbose=0)
stats = loop.train_epochs.stats
print(len(stats.cache_hits), len(stats.cache_misses))
"""


def run_python(code, env=None, **kwargs):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=600, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_minibp_does_not_import_numba():
    code = ("import sys, minibp; m = minibp.mlp([2, 2]); "
            "m.fit([[0.0, 1.0]], [[1.0, 0.0]], loss=minibp.MSE(), optimizer=minibp.SGD(), "
            "engine='numpy'); m.predict([[1.0, 1.0]], engine='numpy'); "
            "print('numba' in sys.modules, 'minibp.engines.kernels.loop' in sys.modules)")
    assert run_python(code) == "False False"


def test_a_second_process_loads_the_kernels_from_the_cache(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    hits, misses = map(int, run_python(TRAIN_AND_REPORT, env).split())
    assert (hits, misses) == (0, 1)
    hits, misses = map(int, run_python(TRAIN_AND_REPORT, env).split())
    assert (hits, misses) == (1, 0)


def can_mount_read_only(tmp_path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    command = f"mount --bind {probe} {probe} && mount -o remount,bind,ro {probe}"
    return (shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "sh", "-c", command], capture_output=True).returncode == 0)


def test_a_read_only_package_folder_falls_back_to_a_user_cache(tmp_path):
    """A copy of minibp on a read-only mount: numba must cache in the user's folder."""
    if not can_mount_read_only(tmp_path):
        pytest.skip("needs 'unshare -m' and bind mounts (root) to make a read-only folder")
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "minibp", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    script = tmp_path / "train.py"
    script.write_text(TRAIN_AND_REPORT)
    command = (f"mount --bind {site} {site} && mount -o remount,bind,ro {site} && "
               f"{sys.executable} {script}")
    for expected in ["0 1", "1 0"]:
        result = subprocess.run(["unshare", "-m", "sh", "-c", command], env=env,
                                capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected
    assert not list(site.rglob("*.nbi"))
    assert list(home.rglob("*.nbi"))
