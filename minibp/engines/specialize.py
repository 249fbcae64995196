"""Training loops compiled for one model structure: the numba engine's fast path.

The generic loop (kernels/loop.py) reads each layer's sizes and activation from a table
and tests the loss, the optimizer and every option at run time, every step. Here a model's
structure (its layers' sizes and activations, the loss, the optimizer's family, which
options are on, whether anything is frozen, whether batches are single rows) becomes a
Python file of its own: the text of loop.py and shuffle.py, the structure as constants, and
the driver of kernels/specialized.py with straight-line layer calls pasted in (written by
minibp.engines.loop_source). numba
compiles it once (``cache=True``, machine code beside the file), and a new process loads it
from disk.

- The file's name is a hash of its text and of minibp's, numba's and Python's versions:
  any change to the kernels, the template or the tools makes a new file, never a stale
  kernel. Files live in ``cache_folder()``.
- numba never frees compiled code, so a process specializes at most MAX_PER_PROCESS
  structures; beyond them (or with MINIBP_SPECIALIZE=0) the numba engine runs the generic
  loop, which gives the same numbers (tests/engines/test_specialized.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, fields
from pathlib import Path

import numba
import numpy as np

from minibp.engines import cache_location, update_settings
from minibp.engines.flat import ACT
from minibp.engines.kernels import loop
from minibp.engines.loop_source import source
from minibp.version import __version__

MAX_PER_PROCESS = 8
MEMO_MAX = 64  # Structures a FlatModel remembers (a sweep over momenta adds some)
SMALL_LAYER = 256  # weights per layer up to which sizes are compiled in (see layer_facts)
ENABLED = os.environ.get("MINIBP_SPECIALIZE", "1") != "0"


@dataclass(frozen=True)
class Structure:
    """What the specialized loop fixes at compile time. layers: (n_in, n_out, w_off, b_off,
    activation code) per Dense layer; loss: a loop loss code; the rest say which of the
    driver's branches exist."""

    layers: tuple[tuple[int, int, int, int, int], ...]
    loss: int
    shuffled: bool
    weighted: bool
    with_l2: bool
    with_clip: bool
    with_adam: bool
    constant_schedule: bool
    all_trainable: bool
    single_row: bool = False
    rows_of_one: bool = True
    fused: bool = False
    sgd_terms: tuple[bool, bool, bool] = (False, False, False)  # fused: momentum, nesterov,
    #                                                              weight decay

    def __hash__(self) -> int:
        """The fields' hash, computed once: kernels_for looks a Structure up on every
        compiled call."""
        found = self.__dict__.get("_hash")
        if found is None:
            found = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", found)
        return found

    def constants(self) -> dict[str, object]:
        return {"SHUFFLED": self.shuffled, "WEIGHTED": self.weighted,
                "WITH_L2": self.with_l2, "WITH_CLIP": self.with_clip,
                "WITH_ADAM": self.with_adam, "CONSTANT_SCHEDULE": self.constant_schedule,
                "ALL_TRAINABLE": self.all_trainable, "SINGLE_ROW": self.single_row,
                "GATHERED": self.shuffled and not self.single_row,
                "ROWS_OF_ONE": self.rows_of_one, "LOSS_CODE": self.loss,
                "FUSED": self.fused, "SGD_MOMENTUM": self.sgd_terms[0],
                "SGD_NESTEROV": self.sgd_terms[1], "SGD_DECAY": self.sgd_terms[2]}


def layer_facts(flat) -> tuple[tuple, ...]:
    """Structure.layers of a FlatModel: (n_in, n_out, w_off, b_off, activation) per layer
    for a small model (every layer at most SMALL_LAYER weights), whose loops then unroll;
    for a larger one only the activations are fixed, (None, None, None, None, activation),
    and models of the same depth and activations share one compiled loop."""
    rows = [row[:ACT + 1] for row in flat.rows_of_layout]  # N_IN, N_OUT, W_OFF, B_OFF, ACT
    small = all(n_in * n_out <= SMALL_LAYER for n_in, n_out, *_ in rows)
    return tuple(tuple(row) if small else (None,) * 4 + (row[-1],) for row in rows)


def structure_of(layers, loss_id: int, settings: np.ndarray, *, shuffle: bool,
                 weighted: bool, all_trainable: bool, batch_size: int = 2,
                 n: int | None = None) -> Structure:
    """The Structure of one compiled call: layers from layer_facts, settings the kernels'
    settings vector (update_settings.settings), n the rows of the data (when given, a
    structure whose batches never have one row leaves the one-row backward out: 10-20% of
    a large structure's compile). Single rows fuse the update into the backward pass only
    when the sizes are compiled in: with run-time sizes (20-20-1 to 100-100-10) the fused
    step ran 1.1-1.2x the generic loop's time, the unfused one 0.84-0.99x
    (docs/performance.md)."""
    with_l2, with_clip = bool(settings[loop.L2] != 0.0), bool(settings[loop.CLIP_NORM] > 0.0)
    with_adam = bool(settings[loop.FAMILY] == loop.ADAM)
    sizes_fixed = layers[0][0] is not None  # layer_facts: a small structure
    fused = batch_size == 1 and sizes_fixed and not (with_adam or with_l2 or with_clip)
    terms = (settings[loop.MOMENTUM] != 0.0, settings[loop.MOMENTUM] != 0.0
             and settings[loop.NESTEROV] != 0.0, settings[loop.WEIGHT_DECAY] != 0.0)
    return Structure(
        layers, int(loss_id), bool(shuffle), bool(weighted), with_l2=with_l2,
        with_clip=with_clip, with_adam=with_adam,
        constant_schedule=bool(settings[loop.SCHEDULE] == loop.CONSTANT_LR),
        all_trainable=bool(all_trainable), single_row=batch_size == 1,
        rows_of_one=batch_size == 1 or n is None or n % batch_size == 1,
        fused=fused, sgd_terms=tuple(bool(t) for t in terms) if fused else (False,) * 3)


def kernels_of(flat, settings: np.ndarray, loss_id: int, shuffle: bool, weighted: bool,
               batch_size: int, n: int):
    """kernels_for the Structure of a run of ``flat`` (a FlatModel) with these settings and
    options: remembered in flat.memo (the FlatModel outlives the fit, flat.IDLE) by what it
    is made of, the hyperparameters (settings before the lr and step counter, which change
    as a fit runs) and the run's options. Building one cost more than the rest of a
    one-step fit's call, and the same object is found in _LOADED by its hash, computed
    once."""
    all_trainable = len(flat.blocks) == 2 * len(flat.layers)
    key = (settings[:update_settings.PER_RUN].tobytes(), loss_id, shuffle, weighted,
           batch_size, n % batch_size == 1, all_trainable)
    structure = flat.memo.get(key)
    if structure is None:
        structure = structure_of(layer_facts(flat), loss_id, settings, shuffle=shuffle,
                                 weighted=weighted, batch_size=batch_size, n=n,
                                 all_trainable=all_trainable)
        if len(flat.memo) < MEMO_MAX:
            flat.memo[key] = structure
    return kernels_for(structure)


def cache_folder() -> Path:
    """``loops`` in MINIBP_CACHE_DIR (which must be writable), else in minibp's folder of
    the user's cache (XDG_CACHE_HOME or ~/.cache) when that can be written, else in a
    per-user folder of the temporary directory (cache_location.fallback_folder)."""
    chosen = os.environ.get("MINIBP_CACHE_DIR")
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(chosen or os.path.join(home, "minibp")) / "loops"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    if chosen:
        raise OSError(f"minibp: MINIBP_CACHE_DIR={chosen} cannot hold compiled loops (not "
                      "writable)")
    path = Path(cache_location.fallback_folder("cache")) / "loops"
    path.mkdir(exist_ok=True)
    return path


_LOADED: dict[Structure, object] = {}
_LOADING = threading.Lock()


def kernels_for(structure: Structure):
    """The module whose train_epochs is compiled for ``structure``, or None when this
    process has specialized MAX_PER_PROCESS structures already (or specializing is off)."""
    if not ENABLED:
        return None
    module = _LOADED.get(structure)
    if module is not None or len(_LOADED) >= MAX_PER_PROCESS:
        return module
    with _LOADING:  # two threads fitting new models: one writes and imports at a time
        if structure not in _LOADED and len(_LOADED) < MAX_PER_PROCESS:
            _LOADED[structure] = import_source(source(structure))
        return _LOADED.get(structure)


def import_source(source_text: str, prefix: str = "loop"):
    """The module of source_text, from the file kernel_file names (written first when
    missing or not ours), so numba's cache beside it serves every process."""
    path, text = kernel_file(source_text, prefix)
    if not path.exists() or path.read_text() != text:  # missing, or not ours
        _write_atomically(path, text)
    return _import(path, f"minibp_{path.stem}")


def kernel_file(source_text: str, prefix: str = "loop") -> tuple[Path, str]:
    """(path, text) of the file holding source_text: its name a hash of the text and of
    the versions of minibp, numba and Python, which head the text."""
    python = " ".join(sys.version.split())
    versions = f"# minibp {__version__}, numba {numba.__version__}, python {python}"
    text = f"{versions}\n{source_text}"
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    return cache_folder() / f"{prefix}_{key}.py", text


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside path, then rename: readers see all or nothing."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
