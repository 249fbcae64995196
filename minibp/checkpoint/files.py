"""The file: an .npz of named arrays plus a JSON header stored as a string array, sealed by
the SHA-256 of the whole file.

``write(path, header, arrays)`` saves atomically (minibp.checkpoint.atomic) an npz as
np.savez writes one (uncompressed .npy members), whose zip comment is ``minibp-sha256:``
and the hex SHA-256 of every byte before those 64 digits. ``load(path)`` returns (header,
arrays) after checking the container: a zip of uncompressed .npy members, each read without
ever unpickling and only once its size agrees with the file's; a header that parses, is
minibp's and of a version this minibp reads; the seal, checked first whenever the file has
one, and required when the header says so (files written before minibp sealed them have
none, and still load). ``array_problems``
lists every way the arrays differ from the header's table of them. What the header
describes (layers, loss, optimizer) is checked by minibp.checkpoint.spec. Every failure is a
CheckpointError naming the path.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from minibp.checkpoint.atomic import write_atomically
from minibp.checkpoint.members import expect, member_from_memory, member_from_zip
from minibp.errors import CheckpointError

FORMAT = "minibp"
FORMAT_VERSION = 1
HEADER = "header"  # the array holding the JSON text
DTYPES = ("float32", "float64")
CHECKSUM = "sha256"
SEAL = b"minibp-sha256:"  # the zip comment: this, then the file's SHA-256 as 64 hex digits
DIGITS = 64
_CHUNK = 1 << 20
_HEADER_BYTES = 1 << 16  # enough for any .npy header minibp or np.savez writes


# -- writing -------------------------------------------------------------------------------
def write(path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Save header (JSON-able) and arrays to exactly path, atomically; header gains the
    format, its version, the checksum's kind and each array's shape and dtype."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "checksum": CHECKSUM,
              **header, "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.name}
                                   for name, a in arrays.items()}}
    text = np.array(json.dumps(header, allow_nan=False))
    return write_atomically(path, lambda file: write_npz(file, {HEADER: text, **arrays}))


def write_npz(file, arrays: dict[str, np.ndarray]) -> None:
    """The npz np.savez writes, to file (open for reading and writing), then sealed."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                npy.write_array(member, np.asanyarray(array), allow_pickle=False)
        archive.comment = SEAL + b"0" * DIGITS  # a placeholder, for the digest below
    end = file.seek(0, os.SEEK_END)
    digest = _digest(file, end - DIGITS)
    file.seek(end - DIGITS)
    file.write(digest.encode("ascii"))


def _digest(file, size: int) -> str:
    """The hex SHA-256 of file's first size bytes."""
    file.seek(0)
    sha = hashlib.sha256()
    while size > 0:
        chunk = file.read(min(size, _CHUNK))
        if not chunk:
            break
        sha.update(chunk)
        size -= len(chunk)
    return sha.hexdigest()


# -- reading -------------------------------------------------------------------------------
def load(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of the file at path, the container checked as the module docstring
    says (the arrays are not yet compared with the header: array_problems)."""
    with open(path, "rb") as file:  # a missing file stays FileNotFoundError
        try:
            return _load(file, path)
        except CheckpointError:
            raise
        except Exception as error:  # whatever the zip and .npy parsers make of bad bytes
            raise CheckpointError(f"{path}: not a readable minibp file "
                                  f"({type(error).__name__}: {error})") from None


def _load(file, path) -> tuple[dict, dict[str, np.ndarray]]:
    blob = file.read()  # one read: the seal is checked and the arrays copied from memory
    if blob.startswith(npy.MAGIC_PREFIX):
        raise CheckpointError(f"{path}: not a minibp file (an .npy array, not an .npz "
                              "archive)")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        sealed = _check_seal(blob, archive.comment, path)
        members = _members(archive, len(blob), path)
        if HEADER not in members:
            raise CheckpointError(f"{path}: no minibp header (an .npz, but not minibp's)")
        # sealed, every byte is already checked: the members are read straight from memory;
        # a file from before the seal goes through zipfile, which checks each CRC-32
        read = (lambda info: member_from_memory(blob, info, path)) if sealed else \
            (lambda info: member_from_zip(archive, info, path))
        header = _header(read(members.pop(HEADER)), path)
        kind = header.get("checksum")  # None: written before minibp sealed its files
        expect(kind in (None, CHECKSUM), path,
               f"the header's checksum must be {CHECKSUM!r}, got {kind!r}")
        expect(sealed or kind is None, path, f"the file must end with its SHA-256 "
               f"({SEAL.decode()}<64 hex digits>), as its header says, got "
               f"{archive.comment[:80]!r}")
        return header, {name: read(info) for name, info in members.items()}


def _members(archive, size: int, path) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, each an uncompressed .npy lying inside the file,
    all together no larger than it (members nested in one another could make a small file
    expand to a huge one)."""
    members = {}
    total = sum(info.compress_size for info in archive.infolist())
    expect(total <= size, path, f"the members must fit in the file ({size} bytes), got "
           f"{total} bytes in all: they overlap")
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        expect(info.filename.endswith(".npy") and name not in members, path,
               f"every member must be a differently named .npy array, got {info.filename!r}")
        expect(info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1, path,
               f"{name} must be stored uncompressed and unencrypted (as minibp and np.savez "
               f"write it), got compression method {info.compress_type}, flags "
               f"{info.flag_bits:#x}")
        expect(info.file_size == info.compress_size
               and info.header_offset + info.compress_size <= size, path,
               f"{name} must lie inside the file ({size} bytes), got {info.file_size} bytes "
               f"at offset {info.header_offset}")
        members[name] = info
    return members


def _header(text: np.ndarray, path) -> dict:
    if text.shape != () or text.dtype.kind != "U":
        raise CheckpointError(f"{path}: the header must be one string, got an array of "
                              f"shape {text.shape} and dtype {text.dtype}")
    try:
        header = json.loads(str(text))
    except (ValueError, RecursionError) as error:
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


def _check_seal(blob: bytes, comment: bytes, path) -> bool:
    """Whether the file is sealed, after checking its SHA-256 against the seal's."""
    if not comment.startswith(SEAL):
        return False
    stored = comment[len(SEAL):].decode("ascii", "replace")
    expect(len(comment) == len(SEAL) + DIGITS and blob.endswith(comment), path,
           f"the file must end with its SHA-256 ({SEAL.decode()}<64 hex digits>), got "
           f"{comment[:80]!r}")
    actual = hashlib.sha256(memoryview(blob)[:len(blob) - DIGITS]).hexdigest()
    expect(actual == stored, path, f"the file's SHA-256 must be {stored} (as written), got "
           f"{actual}: it was changed or damaged after minibp wrote it")
    return True


# -- the arrays against the header's table ---------------------------------------------------
def array_problems(listed: dict, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """{array name: what is wrong} for every array the header's table lists that is missing,
    every array it does not list, and every array that differs from its entry or is not
    finite float32 or float64 (the messages "missing" and "not listed" name a group)."""
    problems = {name: "missing" for name in listed if name not in arrays}
    for name, array in arrays.items():
        entry = listed.get(name)
        if name not in listed:
            problems[name] = "not listed"
        elif not isinstance(entry, dict):
            problems[name] = f"the header's entry for {name} must be a table, got {entry!r}"
        elif array.dtype.name not in DTYPES:
            problems[name] = f"{name} must be float32 or float64, got {array.dtype}"
        elif [array.dtype.name, list(array.shape)] != [entry.get("dtype"), entry.get("shape")]:
            problems[name] = (f"{name} must be {entry.get('dtype')} of shape "
                              f"{entry.get('shape')} (as the header says), got "
                              f"{array.dtype.name} of shape {list(array.shape)}")
        elif not _finite(array):
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            problems[name] = f"{name} must be finite, got {bad} NaN or inf values"
    return problems


def _finite(array: np.ndarray) -> bool:
    with np.errstate(all="ignore"):  # the sum first: one fast pass, which only inf, NaN or
        return bool(np.isfinite(array.sum()) or np.isfinite(array).all())  # overflow fails




def _field(header, key: str):
    return repr(header.get(key)) if isinstance(header, dict) else f"a {type(header).__name__}"
