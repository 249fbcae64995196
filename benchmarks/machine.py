"""What machine and software a benchmark ran on, read without importing the heavy packages."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("minibp", "numpy", "numba", "llvmlite", "torch", "jax", "jaxlib", "threadpoolctl")
THREAD_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "NUMBA_CACHE_DIR", "NUMBA_DISABLE_JIT", "PYTHONDONTWRITEBYTECODE")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit(repo: Path) -> str | None:
    """The commit the harness ran at, with "+dirty" when the work tree has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def machine_info(repo: Path) -> dict:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions(),
        "environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "commit": git_commit(repo),
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine while it measured."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe_threads(threads: dict | None) -> str:
    """One line from a worker's threads_info(): its pools, numba's and torch's threads."""
    if not threads:
        return "-"
    parts = []
    for pool in threads.get("pools", []):
        detail = ", ".join(str(pool[k]) for k in ("version", "threading_layer", "architecture")
                           if pool.get(k)) or pool.get("prefix") or "?"
        parts.append(f"{pool['internal_api']} ({detail}) x{pool['num_threads']}")
    if "threadpoolctl" in threads:
        parts.append(f"threadpoolctl {threads['threadpoolctl']}")
    if "numba_num_threads" in threads:
        parts.append(f"numba x{threads['numba_num_threads']}")
    if "torch_num_threads" in threads:
        parts.append(f"torch x{threads['torch_num_threads']} "
                     f"(interop x{threads['torch_num_interop_threads']})")
    return "; ".join(parts) or "-"
