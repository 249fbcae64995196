"""Saving and loading the 784-256-128-10 model, against np.savez + fsync and np.load.

    python benchmarks/saving.py [--repeats 21] [--write-docs]

The model is minibp.mlp([784, 256, 128, 10], "sigmoid", None, seed=0), in float64 and in
float32 (235,146 parameters: 1.9 MB and 0.9 MB). minibp's side: model.save(path), which
writes a temporary file beside path (np.savez of the arrays and a JSON header), flushes and
fsyncs it, renames it over path and fsyncs the folder; and minibp.load(path), which reads
the file once, checks its SHA-256 seal, copies every .npy member out of those bytes (never a
pickle, never np.load) and checks the header, names, shapes, dtypes and finiteness before
building the model. NumPy's side, on the same arrays (the model's
parameters by name, without the header): np.savez to an open file, then f.flush() and
os.fsync(f.fileno()); and np.load of that file read whole into a dict of arrays. Both files
live in one tempfile.TemporaryDirectory, so on one filesystem.

One process. Two untimed warm-up rounds; then rounds, each timing the two saves and then the
two loads, forward on even rounds and backward on odd ones. Ratios are minibp's median over
NumPy's, and the median of the per-round ratios (paired). The issue's target: each below 2x.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import harness, report, standalone
from benchmarks.standalone import iqr_ms, med, paired, yes_no

SIZES = [784, 256, 128, 10]
TARGET = 2.0
WARM_UP_ROUNDS = 2


def numpy_save(path: Path, arrays: dict) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)
        file.flush()
        os.fsync(file.fileno())


def numpy_load(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def operations(model, arrays: dict, folder: Path) -> dict:
    """The four timed calls, as pairs: (minibp's, NumPy's) for save and for load."""
    import minibp

    ours, theirs = folder / "model.npz", folder / "arrays.npz"
    return {"save": {"minibp": lambda: model.save(ours),
                     "numpy": lambda: numpy_save(theirs, arrays)},
            "load": {"minibp": lambda: minibp.load(ours),
                     "numpy": lambda: numpy_load(theirs)}}


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def check_same(arrays: dict, loaded_model, loaded_arrays: dict) -> None:
    """Both loads give back exactly the saved arrays (or the benchmark is wrong)."""
    for p in loaded_model.parameters():
        if p.value.dtype != arrays[p.name].dtype or not np.array_equal(p.value,
                                                                      arrays[p.name]):
            raise RuntimeError(f"minibp.load gave back another {p.name}")
    if set(loaded_arrays) != set(arrays) or not all(
            np.array_equal(loaded_arrays[k], arrays[k]) for k in arrays):
        raise RuntimeError("np.load gave back other arrays")


def measure_dtype(dtype, repeats: int) -> dict:
    import minibp

    model = minibp.mlp(SIZES, "sigmoid", None, seed=0, dtype=dtype)
    arrays = {p.name: p.value for p in model.parameters()}
    samples = {kind: {"minibp": [], "numpy": []} for kind in ("save", "load")}
    with tempfile.TemporaryDirectory(prefix="minibp-bench-saving-") as folder:
        ops = operations(model, arrays, Path(folder))
        for r in range(WARM_UP_ROUNDS + repeats):
            loaded = {}
            for kind in ("save", "load"):
                for who in harness.round_order(["minibp", "numpy"], r):
                    seconds, loaded[who] = timed(ops[kind][who])
                    if r >= WARM_UP_ROUNDS:
                        samples[kind][who].append(seconds)
            check_same(arrays, loaded["minibp"], loaded["numpy"])
        sizes = {who: os.path.getsize(Path(folder) / name)
                 for who, name in (("minibp", "model.npz"), ("numpy", "arrays.npz"))}
    standalone.log(f"{np.dtype(dtype).name}: done")
    return {"dtype": np.dtype(dtype).name, "parameters": sum(a.size for a in arrays.values()),
            "bytes": sizes, "samples_s": samples, "folder": folder}


def rows_of(found: dict) -> tuple[list[list[str]], list[list[str]]]:
    """Table rows and target rows of one dtype."""
    rows, targets = [], []
    what = {"save": ("model.save(path)", "np.savez + flush + fsync"),
            "load": ("minibp.load(path)", "np.load, every array read")}
    for kind in ("save", "load"):
        ours, theirs = found["samples_s"][kind]["minibp"], found["samples_s"][kind]["numpy"]
        ratio, pair = med(ours) / med(theirs), paired(ours, theirs)
        rows.append([found["dtype"], kind, report.ms(med(ours)), iqr_ms(ours),
                     report.ms(med(theirs)), iqr_ms(theirs),
                     f"{report.multiple(ratio)} (paired {report.multiple(pair)})"])
        targets.append([f"{found['dtype']}: {what[kind][0]} / {what[kind][1]}",
                        f"< {TARGET:.0f}x", f"{report.multiple(ratio)} (paired "
                        f"{report.multiple(pair)})", yes_no(ratio < TARGET and pair < TARGET)])
    return rows, targets


def section(run, results: list[dict], repeats: int) -> str:
    rows, targets = [], []
    for found in results:
        more_rows, more_targets = rows_of(found)
        rows += more_rows
        targets += more_targets
    files = "; ".join(f"{f['dtype']}: {f['parameters']:,} parameters, minibp's file "
                      f"{f['bytes']['minibp']:,} bytes, NumPy's {f['bytes']['numpy']:,}"
                      for f in results)
    where = os.path.dirname(results[0]["folder"])
    return "\n\n".join([
        run.machine_text(),
        f"Files in a temporary folder under `{where}`. {files}. Medians of {repeats} rounds, "
        "alternating, after 2 untimed rounds.",
        report.table(["dtype", "operation", "minibp median (ms)", "minibp IQR (ms)",
                      "NumPy median (ms)", "NumPy IQR (ms)", "minibp / NumPy"], rows),
        report.table(["target", "wanted", "measured", "met"], targets),
    ])


def main(argv=None) -> int:
    args = standalone.parse(__doc__.split("\n")[0], "benchmarks/saving.py", 21, argv)
    run = standalone.Run(args.command)
    results = [measure_dtype(dtype, args.repeats) for dtype in (np.float64, np.float32)]
    raw = {"saving": [{k: v for k, v in found.items() if k != "folder"} for found in results]}
    run.finish("saving", section(run, results, args.repeats), args.write_docs, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
