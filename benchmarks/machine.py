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
                    "NUMBA_CACHE_DIR", "NUMBA_DISABLE_JIT", "NUMBA_OPT", "NUMBA_CPU_NAME",
                    "NUMBA_CPU_FEATURES", "PYTHONDONTWRITEBYTECODE")
# The instruction sets the kernels' speed depends on (vector width, fused multiply-add), as
# /proc/cpuinfo names them, in the order reported; the machine's whole list goes to the JSON.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile")


# OpenBLAS's kernels that use AVX-512 (OPENBLAS_CORETYPE's names, in lower case).
AVX512_OPENBLAS_KERNELS = ("skylakex", "cooperlake", "sapphirerapids")


def openblas_forced_narrower(machine: dict) -> str | None:
    """A sentence when a run's ``machine`` (machine_info) had OpenBLAS forced to narrower
    kernels than the CPU has: OPENBLAS_CORETYPE naming a kernel without AVX-512 on a CPU
    with it (some machines set it because older OpenBLAS builds miscomputed or crashed on
    them). NumPy's products and the BLAS engine's then run slower than this CPU can, while
    JAX's (XLA's own) do not, so W3's and W4's ratios to JAX depend on it. None otherwise."""
    core, flags = machine["environment"].get("OPENBLAS_CORETYPE"), machine.get("cpu_flags")
    if not core or not flags or "avx512f" not in flags \
            or core.lower() in AVX512_OPENBLAS_KERNELS:
        return None
    return (f"OPENBLAS_CORETYPE={core} makes OpenBLAS run its {core} kernels on a CPU with "
            "AVX-512: NumPy's products and minibp's BLAS engine's are slower than this CPU's "
            "own kernels (1.5-1.6x on W3's and W4's shapes on an AMD EPYC Zen 5), JAX's "
            "(XLA's own) are not. To measure the CPU's own kernels, unset "
            "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for that command alone")


def _cpuinfo_text() -> str:
    """/proc/cpuinfo's text; empty where there is none (not Linux)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpuinfo_value(key: str, cpuinfo: str | None = None) -> str | None:
    """The value of the first line of /proc/cpuinfo (``cpuinfo``: that file's text) that
    starts with ``key``; None without such a line or file (not Linux)."""
    for line in (_cpuinfo_text() if cpuinfo is None else cpuinfo).splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return None


def cpu_model(cpuinfo: str | None = None) -> str:
    return _cpuinfo_value("model name", cpuinfo) or platform.processor() or "unknown"


def cpu_flags(cpuinfo: str | None = None) -> list[str] | None:
    """The first processor's flags in /proc/cpuinfo (``cpuinfo``: that file's text), None
    where there is none (not Linux)."""
    value = _cpuinfo_value("flags", cpuinfo)
    return None if value is None else value.split()


def simd_flags(flags: list[str] | None) -> list[str] | None:
    """The SIMD_FLAGS among ``flags``, in SIMD_FLAGS's order."""
    return None if flags is None else [name for name in SIMD_FLAGS if name in flags]


def llvm_cpu() -> str | None:
    """The CPU LLVM names this host, which numba compiles for unless NUMBA_CPU_NAME says
    otherwise (llvmlite's binding loads LLVM: a few tens of milliseconds, once)."""
    try:
        from llvmlite import binding
    except ImportError:
        return None
    return binding.get_host_cpu_name()


def cpu_line() -> str:
    """'model [simd flags]': the CPU as the standalone scripts print it beside figures."""
    cpuinfo = _cpuinfo_text()  # read once for both
    simd = simd_flags(cpu_flags(cpuinfo))
    return cpu_model(cpuinfo) + (f" [{' '.join(simd)}]" if simd else "")


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
        "cpu_flags": cpu_flags(),  # the report shows its simd_flags
        "llvm_cpu": llvm_cpu(),
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
