"""IDX files, the format MNIST ships in: read_idx and write_idx.

An IDX file is a header, then the values in C order, big-endian:

    bytes 0-1   0x00 0x00
    byte  2     the type code: 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     the number of dimensions, d >= 1
    then d big-endian uint32 sizes, then prod(sizes) values

Files are often gzipped (train-images-idx3-ubyte.gz); read_idx looks at the first two bytes
(gzip's 0x1f 0x8b), not at the name, so a renamed file still reads.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib

import numpy as np

from minibp.datasets.files import DataFileError, path_name

# type code -> (the file's big-endian dtype, the name the format gives it)
TYPES = {
    0x08: (np.dtype("u1"), "ubyte"),
    0x09: (np.dtype("i1"), "sbyte"),
    0x0B: (np.dtype(">i2"), "short"),
    0x0C: (np.dtype(">i4"), "int"),
    0x0D: (np.dtype(">f4"), "float"),
    0x0E: (np.dtype(">f8"), "double"),
}
# numpy kind and size -> type code, for write_idx
CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file, gzipped or not.

    Returns an array of the file's shape and type (uint8, int8, int16, int32, float32 or
    float64), in the machine's byte order. Raises DataFileError, naming the file, for a
    wrong magic number, an unknown type code, zero dimensions, a truncated header, stream
    or data, and bytes left over after the data.
    """
    name = path_name(path, "read_idx")
    data = _file_bytes(path, name)
    code, shape, start = _header(data, name)
    dtype, kind = TYPES[code]
    needed = math.prod(shape) * dtype.itemsize
    got = len(data) - start
    if got < needed:
        raise DataFileError(f"{name}: truncated: shape {shape} of {kind} needs {needed} data "
                            f"bytes after the {start}-byte header, got {got}")
    if got > needed:
        raise DataFileError(f"{name}: {got - needed} extra bytes after the data: shape "
                            f"{shape} of {kind} needs {needed} bytes after the {start}-byte "
                            f"header, got {got}")
    native = dtype.newbyteorder("=")
    if needed == 0:
        return np.zeros(shape, dtype=native)
    values = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=start)
    return values.astype(native).reshape(shape)


def write_idx(path, array) -> None:
    """Write array as an IDX file, gzipped when path ends with .gz.

    array: any shape with at least one dimension, of dtype uint8, int8, int16, int32,
    float32 or float64 (the types IDX has); convert others with astype first.
    """
    name = path_name(path, "write_idx")
    array = np.asarray(array)
    key = f"{array.dtype.kind}{array.dtype.itemsize}"
    if key not in CODES:
        raise TypeError(f"write_idx: array dtype must be one of uint8, int8, int16, int32, "
                        f"float32, float64, got {array.dtype}; convert it with astype")
    if array.ndim == 0:
        raise ValueError("write_idx: array must have at least one dimension, got a scalar; "
                         "use array.reshape(1)")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: every size must fit in 32 bits, got shape {array.shape}")
    code = CODES[key]
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    body = np.ascontiguousarray(array, dtype=TYPES[code][0]).tobytes()
    if name.endswith(".gz"):
        with gzip.GzipFile(name, "wb", mtime=0) as file:
            file.write(header + body)
    else:
        with open(name, "wb") as file:
            file.write(header + body)


def _file_bytes(path, name: str) -> bytes:
    """The file's bytes, gunzipped when they start with gzip's magic number."""
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise DataFileError(f"{name}: truncated gzip stream: the file ends before gzip's "
                            "end-of-stream marker; download it again") from error
    except (OSError, zlib.error) as error:
        raise DataFileError(f"{name}: corrupt gzip stream ({error})") from error


def _header(data: bytes, name: str) -> tuple[int, tuple[int, ...], int]:
    """(type code, shape, where the data starts), checked."""
    if len(data) < 4:
        raise DataFileError(f"{name}: too short for an IDX header: needs at least 4 bytes, "
                            f"got {len(data)}")
    if data[:2] != b"\x00\x00":
        raise DataFileError(f"{name}: not an IDX file: its magic number must start with two "
                            f"zero bytes, got {data[:4].hex(' ')}")
    code, ndim = data[2], data[3]
    if code not in TYPES:
        known = ", ".join(f"0x{c:02X} ({kind})" for c, (_, kind) in TYPES.items())
        raise DataFileError(f"{name}: unknown IDX type code 0x{code:02X}; the known codes are "
                            f"{known}")
    if ndim == 0:
        raise DataFileError(f"{name}: the IDX header gives 0 dimensions; an array needs at "
                            "least 1")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataFileError(f"{name}: truncated header: {ndim} dimensions need {start} header "
                            f"bytes, got {len(data)}")
    return code, struct.unpack(f">{ndim}I", data[4:start]), start
