"""Reading one .npy member of a minibp file: its header checked (no object dtypes: nothing is
ever unpickled; the data's size agrees with the member's) before anything is allocated.

``member_from_zip`` reads through zipfile, which checks the member's CRC-32 (files from
before minibp sealed them); ``member_from_memory`` copies the data straight out of the
file's bytes, already checked whole by the seal.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile

import numpy as np
from numpy.lib import format as npy

from minibp.errors import CheckpointError

_CHUNK = 1 << 20
_HEADER_BYTES = 1 << 16  # enough for any .npy header minibp or np.savez writes


def member_from_zip(archive, info: zipfile.ZipInfo, path) -> np.ndarray:
    """The .npy member's array (native byte order, C order, writable); its dtype and size are
    checked before anything is read or allocated, and nothing is ever unpickled."""
    with archive.open(info) as member:
        shape, fortran, dtype = _npy_header(member, info, path)
        nbytes = math.prod(shape) * dtype.itemsize
        data = bytearray(nbytes)  # filled chunk by chunk: no second copy of a big array
        view, done = memoryview(data), 0
        while done < nbytes:  # reading to the end checks the member's CRC-32
            chunk = member.read(min(nbytes - done, _CHUNK))
            expect(bool(chunk), path, f"{info.filename} must hold {nbytes} bytes, got {done}")
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
    return _as_stored(np.frombuffer(data, dtype) if nbytes else np.empty(0, dtype),
                      shape, fortran, dtype)


def _npy_header(member, info: zipfile.ZipInfo, path):
    """(shape, fortran, dtype) of the .npy member, its data's size checked against the
    member's, and object dtypes refused (they would have to be unpickled)."""
    name = info.filename.removesuffix(".npy")
    version = npy.read_magic(member)
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    expect(version in readers, path,
           f"{name} must be an .npy array of format 1.0 or 2.0, got {version}")
    shape, fortran, dtype = readers[version](member)
    expect(not dtype.hasobject, path,
           f"{name} must hold numbers, got Python objects (dtype {dtype}), which would "
           "have to be unpickled: minibp never unpickles")
    nbytes = math.prod(shape) * dtype.itemsize
    expect(member.tell() + nbytes == info.file_size, path,
           f"{name} must hold {nbytes} bytes of data for shape {shape} and dtype {dtype}, "
           f"got {info.file_size - member.tell()}")
    return shape, fortran, dtype


def _as_stored(flat: np.ndarray, shape, fortran: bool, dtype) -> np.ndarray:
    """The flat data as the stored array, in C order and native byte order."""
    array = flat.reshape(shape, order="F" if fortran else "C")
    if fortran or not dtype.isnative:
        array = np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))
    return array


def member_from_memory(blob: bytes, info: zipfile.ZipInfo, path) -> np.ndarray:
    """member_from_zip for a sealed file, from its bytes in memory: the member's data starts
    after its local header (30 bytes, then the name and the extra field)."""
    start = info.header_offset
    expect(blob[start:start + 4] == b"PK\x03\x04", path,
           f"{info.filename} must start with a zip local header at offset {start}")
    name_length, extra_length = struct.unpack("<HH", blob[start + 26:start + 30])
    start += 30 + name_length + extra_length
    member = io.BytesIO(blob[start:start + min(info.file_size, _HEADER_BYTES)])
    shape, fortran, dtype = _npy_header(member, info, path)
    flat = np.frombuffer(blob, dtype, math.prod(shape), start + member.tell()).copy()
    return _as_stored(flat, shape, fortran, dtype)

def expect(condition: bool, path, what: str) -> None:
    """A CheckpointError "path: what" unless condition holds (the header checks' one form)."""
    if not condition:
        raise CheckpointError(f"{path}: {what}")
