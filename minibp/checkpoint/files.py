"""The file: an .npz of named arrays plus a JSON header stored as a string array.

``write(path, header, arrays)`` saves atomically (minibp.checkpoint.atomic); ``read(path)``
returns (header, arrays) after checking the container: an npz read with allow_pickle=False,
a header that parses, is minibp's and of a version this minibp reads, and arrays exactly as
the header lists them (names, shapes, dtypes), all finite. What the header describes (layers,
loss, optimizer) is checked by minibp.checkpoint.spec. Every failure is a CheckpointError
naming the path.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from minibp.checkpoint.atomic import write_atomically
from minibp.errors import CheckpointError

FORMAT = "minibp"
FORMAT_VERSION = 1
HEADER = "header"  # the array holding the JSON text
DTYPES = ("float32", "float64")


def write(path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Save header (JSON-able) and arrays to exactly path, atomically; header gains the
    format, its version and each array's shape and dtype."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **header,
              "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.name}
                         for name, a in arrays.items()}}
    text = np.array(json.dumps(header, allow_nan=False))
    return write_atomically(path, lambda file: np.savez(file, **{HEADER: text}, **arrays))


def read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of the file at path, checked as the module docstring says."""
    stored = _load_all(path)
    header = _header(stored.pop(HEADER, None), path)
    listed = header["arrays"]
    if set(listed) != set(stored):
        missing, extra = sorted(set(listed) - set(stored)), sorted(set(stored) - set(listed))
        raise CheckpointError(f"{path}: the arrays do not match the header (missing "
                              f"{missing or 'none'}, not listed {extra or 'none'})")
    for name, array in stored.items():
        _check_array(name, array, listed[name], path)
    return header, stored


def _load_all(path) -> dict[str, np.ndarray]:
    """Every array of the npz, read now (a truncated member fails here, not later)."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: not a minibp file (an .npy array, not an .npz "
                                  "archive)")
        with archive:
            return {name: archive[name] for name in archive.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError, CheckpointError):
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise CheckpointError(f"{path}: not a readable minibp file ({type(error).__name__}: "
                              f"{error})") from None


def _header(text, path) -> dict:
    if text is None:
        raise CheckpointError(f"{path}: no minibp header (an .npz, but not minibp's)")
    if text.shape != () or text.dtype.kind != "U":
        raise CheckpointError(f"{path}: the header must be one string, got an array of "
                              f"shape {text.shape} and dtype {text.dtype}")
    try:
        header = json.loads(str(text))
    except ValueError as error:
        raise CheckpointError(f"{path}: the header is not valid JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a minibp file (its header's format is "
                              f"{_field(header, 'format')}, expected {FORMAT!r})")
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: format_version must be a positive integer, got "
                              f"{version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written in format {version} by minibp {header.get('minibp_version')}; "
            f"this minibp reads format {FORMAT_VERSION}: upgrade minibp to load it")
    if not isinstance(header.get("arrays"), dict):
        raise CheckpointError(f"{path}: the header has no table of arrays")
    return header


def _check_array(name: str, array: np.ndarray, listed, path) -> None:
    if not isinstance(listed, dict):
        raise CheckpointError(f"{path}: the header's entry for {name} must be a table, got "
                              f"{listed!r}")
    if array.dtype.name not in DTYPES:
        raise CheckpointError(f"{path}: {name} must be float32 or float64, got {array.dtype}")
    if [array.dtype.name, list(array.shape)] != [listed.get("dtype"), listed.get("shape")]:
        raise CheckpointError(
            f"{path}: {name} is {array.dtype.name} of shape {tuple(array.shape)}, but the "
            f"header says {listed.get('dtype')} of shape {listed.get('shape')}")
    if not np.isfinite(array.sum()) and not np.isfinite(array).all():  # the sum: a fast pass
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise CheckpointError(f"{path}: {name} must be finite, got {bad} NaN or inf values")


def expect(condition: bool, path, what: str) -> None:
    """A CheckpointError "path: what" unless condition holds (the header checks' one form)."""
    if not condition:
        raise CheckpointError(f"{path}: {what}")


def _field(header, key: str):
    return repr(header.get(key)) if isinstance(header, dict) else f"a {type(header).__name__}"
