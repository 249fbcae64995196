"""Startup costs, each measured in fresh processes: `import minibp`, and numba's disk cache.

Import: the median over fresh processes of the time `import minibp` takes inside the process
(raw, nothing subtracted), beside `import numpy` alone and the whole `python -c` wall time.
These processes run without PYTHONDONTWRITEBYTECODE, as a user's do: a first, discarded one
writes minibp's bytecode cache (an installed package has it from installation).
Cache: two processes share one NUMBA_CACHE_DIR that starts empty; each imports minibp and
makes its first compiled fits. The first compiles and writes the cache; the second should
load it (numba's own cache hit and miss counters say whether it did).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import REPO

TIMED_IMPORT = ("import time; t = time.perf_counter(); import {module}; "
                "t = time.perf_counter() - t; import sys, json; "
                "print(json.dumps({{'seconds': t, 'numba': 'numba' in sys.modules}}))")

CACHE_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import minibp
t1 = time.perf_counter()
from minibp import SGD, SquaredError, examples, mlp
result = {"import_s": t1 - t0, "numba_after_import": "numba" in sys.modules}
def fit(model, X, Y, **kw):
    start = time.perf_counter()
    model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.5), batch_size=1,
              engine="numba", **kw)
    return time.perf_counter() - start
try:
    X, Y = examples.chapter_data()
    result["first_fit_W1_s"] = fit(examples.chapter_network(), X, Y, epochs=10, shuffle=False)
    result["second_fit_W1_s"] = fit(examples.chapter_network(), X, Y, epochs=10, shuffle=False)
    X, Y = examples.xor_data()
    xor = mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=0)
    result["first_fit_W2_s"] = fit(xor, X, Y, epochs=10, shuffle=True, seed=0)
except TypeError as error:
    result["unavailable"] = f"TypeError: {error}"
from numba.core.registry import CPUDispatcher
hits = misses = 0
for name, module in list(sys.modules.items()):
    if name == "minibp" or name.startswith(("minibp.", "minibp_loop_")):
        for obj in list(vars(module).values()):
            if isinstance(obj, CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
result.update(cache_hits=hits, cache_misses=misses)
print(json.dumps(result))
"""


def _python(code: str, env: dict | None = None, *flags: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter, from a neutral directory, bytecode cache allowed."""
    environment = dict(os.environ if env is None else env)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPATH"] = os.pathsep.join(
        [p for p in (environment.get("PYTHONPATH"), str(REPO)) if p])
    return subprocess.run([sys.executable, *flags, "-c", code], cwd=tempfile.gettempdir(),
                          env=environment, text=True, capture_output=True, check=True)


def _last_json(completed: subprocess.CompletedProcess) -> dict:
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _wall(code: str) -> float:
    start = time.perf_counter()
    _python(code)
    return time.perf_counter() - start


def import_times(repeats: int = 9) -> dict:
    """Medians over fresh processes, the kinds interleaved so a busy spell hits them all alike;
    one discarded process first writes minibp's bytecode cache."""
    _python("import minibp")
    samples = {name: [] for name in ("minibp", "numpy", "numba", "process", "bare")}
    numba_imported = False
    for _ in range(repeats):
        first = _last_json(_python(TIMED_IMPORT.format(module="minibp")))
        numba_imported |= first["numba"]
        samples["minibp"].append(first["seconds"])
        for module in ("numpy", "numba"):
            samples[module].append(_last_json(_python(
                TIMED_IMPORT.format(module=module)))["seconds"])
        samples["process"].append(_wall("import minibp"))
        samples["bare"].append(_wall("pass"))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "repeats": repeats,
        "import_minibp_s": median["minibp"],
        "import_minibp_samples_s": samples["minibp"],
        "imports_numba": numba_imported,
        "pythondontwritebytecode_here": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "import_numpy_s": median["numpy"],
        "import_numba_s": median["numba"],
        "process_import_minibp_s": median["process"],
        "process_bare_python_s": median["bare"],
        "importtime": importtime_profile(),
    }


def importtime_profile(count: int = 5) -> dict:
    """`python -X importtime -c "import minibp"`: minibp's and numpy's cumulative times
    and the modules with the largest self time (one process, so only indicative)."""
    stderr = _python("import minibp", None, "-X", "importtime").stderr
    rows = []
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        rows.append({"module": parts[2].strip(), "self_ms": int(parts[0]) / 1000,
                     "cumulative_ms": int(parts[1]) / 1000})
    cumulative = {row["module"]: row["cumulative_ms"] for row in rows}
    return {"minibp_cumulative_ms": cumulative.get("minibp"),
            "numpy_cumulative_ms": cumulative.get("numpy"),
            "top_self": sorted(rows, key=lambda row: -row["self_ms"])[:count]}


def cache_reuse() -> dict:
    """Two processes, one numba cache directory (empty before the first)."""
    with tempfile.TemporaryDirectory(prefix="minibp-cache-") as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        first = _last_json(_python(CACHE_PROBE, env))
        first["cache_files_after"] = _count_files(cache_dir)
        second = _last_json(_python(CACHE_PROBE, env))
        second["cache_files_after"] = _count_files(cache_dir)
    return {"first_process": first, "second_process": second}


def _count_files(directory: str) -> int:
    return sum(1 for path in Path(directory).rglob("*") if path.is_file())


def measure(repeats: int = 9, log=print) -> dict:
    log("startup: import time in fresh processes ...")
    imports = import_times(repeats)
    log("startup: numba cache reuse across two processes ...")
    return {"import": imports, "cache": cache_reuse()}
