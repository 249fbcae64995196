"""minibp.datasets.idx: read_idx and write_idx.

References: IDX files built byte by byte in the test with struct, from the format's
description (yann.lecun.com/exdb/mnist), never by write_idx; malformed files likewise.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from minibp.datasets import DataFileError, read_idx, write_idx

# type code -> (struct format of one value, numpy dtype, values to store)
TYPES = {
    0x08: ("B", np.uint8, [0, 1, 127, 128, 254, 255]),
    0x09: ("b", np.int8, [-128, -1, 0, 1, 2, 127]),
    0x0B: ("h", np.int16, [-32768, -2, 0, 1, 300, 32767]),
    0x0C: ("i", np.int32, [-(2**31), -70000, 0, 1, 70000, 2**31 - 1]),
    0x0D: ("f", np.float32, [-1.5, 0.0, 0.25, 3.0, 1e-3, 65504.0]),
    0x0E: ("d", np.float64, [-1.5, 0.1, 1 / 3, 1e300, -1e-300, 2.0]),
}


def idx_bytes(code: int, shape: tuple, values: list, value_format: str) -> bytes:
    """An IDX file: 00 00, the type code, the rank, big-endian uint32 sizes, big-endian data."""
    header = struct.pack(">BBBB", 0, 0, code, len(shape))
    header += struct.pack(f">{len(shape)}I", *shape)
    return header + struct.pack(f">{len(values)}{value_format}", *values)


def written(tmp_path, content: bytes, name: str = "data.idx"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("code", sorted(TYPES), ids=lambda c: f"0x{c:02X}")
def test_each_type_reads_in_native_byte_order(tmp_path, code):
    value_format, dtype, values = TYPES[code]
    path = written(tmp_path, idx_bytes(code, (2, 3), values, value_format))
    array = read_idx(path)
    assert array.shape == (2, 3) and array.dtype == np.dtype(dtype)
    assert array.dtype.isnative and array.flags.writeable
    expected = np.array(values, dtype=dtype).reshape(2, 3)
    assert array.tolist() == expected.tolist()


def test_an_mnist_like_image_file_reads_row_by_row(tmp_path):
    pixels = list(range(2 * 3 * 4))                      # two 3x4 "images"
    path = written(tmp_path, idx_bytes(0x08, (2, 3, 4), pixels, "B"))
    images = read_idx(str(path))                           # a str path works too
    assert images.shape == (2, 3, 4) and images[1, 2, 3] == 23 and images[0, 1, 0] == 4


def test_gzip_is_found_by_its_magic_bytes_not_by_the_name(tmp_path):
    content = idx_bytes(0x0B, (3,), [-1, 2, 513], "h")
    renamed = written(tmp_path, gzip.compress(content), "labels.idx")      # gzip, no .gz
    plain = written(tmp_path, content, "labels.idx.gz")                    # .gz, no gzip
    assert read_idx(renamed).tolist() == read_idx(plain).tolist() == [-1, 2, 513]


@pytest.mark.parametrize("code", sorted(TYPES), ids=lambda c: f"0x{c:02X}")
@pytest.mark.parametrize("name", ["out.idx", "out.idx.gz"])
def test_write_idx_writes_the_bytes_built_by_hand(tmp_path, code, name):
    value_format, dtype, values = TYPES[code]
    array = np.array(values, dtype=dtype).reshape(3, 2)
    path = tmp_path / name
    write_idx(path, array)
    content = path.read_bytes()
    if name.endswith(".gz"):
        content = gzip.decompress(content)
    assert content == idx_bytes(code, (3, 2), values, value_format)
    assert np.array_equal(read_idx(path), array)


@pytest.mark.parametrize("shape", [(1,), (0, 5), (2, 3, 4), (1, 1, 1, 7)])
def test_shapes_round_trip(tmp_path, shape):
    array = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    write_idx(tmp_path / "a.idx", array)
    back = read_idx(tmp_path / "a.idx")
    assert back.shape == shape and back.dtype == np.int32 and np.array_equal(back, array)


def test_a_non_native_array_is_written_big_endian_all_the_same(tmp_path):
    array = np.array([1, 256], dtype="<i2")
    write_idx(tmp_path / "a.idx", array)
    assert (tmp_path / "a.idx").read_bytes()[-4:] == b"\x00\x01\x01\x00"


GOOD = idx_bytes(0x08, (2, 2), [1, 2, 3, 4], "B")


@pytest.mark.parametrize("content, problem", [
    (b"\x00\x00", "too short for an IDX header: needs at least 4 bytes, got 2"),
    (b"\x01\x00" + GOOD[2:], "not an IDX file: its magic number must start with two zero "
     "bytes, got 01 00 08 02"),
    (b"\x00\x00\x0a\x01" + GOOD[4:], "unknown IDX type code 0x0A; the known codes are 0x08 "
     "(ubyte), 0x09 (sbyte), 0x0B (short), 0x0C (int), 0x0D (float), 0x0E (double)"),
    (b"\x00\x00\x08\x00\x01\x02", "the IDX header gives 0 dimensions; an array needs at "
     "least 1"),
    (GOOD[:9], "truncated header: 2 dimensions need 12 header bytes, got 9"),
    (GOOD[:-1], "truncated: shape (2, 2) of ubyte needs 4 data bytes after the 12-byte "
     "header, got 3"),
    (GOOD + b"\x00\x00", "2 extra bytes after the data: shape (2, 2) of ubyte needs 4 bytes "
     "after the 12-byte header, got 6"),
    # mtime=0: gzip's header holds a time, and this parameter is part of the test's id, which
    # pytest-xdist's workers must collect alike (a second apart, they did not)
    (gzip.compress(GOOD, mtime=0)[:-12], "truncated gzip stream: the file ends before gzip's "
     "end-of-stream marker; download it again"),
])
def test_malformed_files_are_refused_with_the_path_and_the_fault(tmp_path, content, problem):
    path = written(tmp_path, content)
    with pytest.raises(DataFileError) as caught:
        read_idx(path)
    assert str(caught.value) == f"{path}: {problem}"
    assert isinstance(caught.value, ValueError)


def test_a_corrupt_gzip_stream_is_refused(tmp_path):
    content = bytearray(gzip.compress(GOOD))
    content[-8] ^= 0xFF                                   # break the CRC
    with pytest.raises(DataFileError, match="corrupt gzip stream"):
        read_idx(written(tmp_path, bytes(content)))


@pytest.mark.parametrize("array, error, message", [
    (np.zeros(3, dtype=np.int64), TypeError, "write_idx: array dtype must be one of uint8, "
     "int8, int16, int32, float32, float64, got int64; convert it with astype"),
    (np.zeros(3, dtype=bool), TypeError, "write_idx: array dtype must be one of uint8, "
     "int8, int16, int32, float32, float64, got bool; convert it with astype"),
    (np.float64(1.0), ValueError, "write_idx: array must have at least one dimension, got a "
     "scalar; use array.reshape(1)"),
])
def test_write_idx_refuses_what_idx_cannot_hold(tmp_path, array, error, message):
    with pytest.raises(error) as caught:
        write_idx(tmp_path / "a.idx", array)
    assert str(caught.value) == message


def test_a_path_of_the_wrong_kind_is_refused():
    with pytest.raises(TypeError, match=r"read_idx: path must be a str or os.PathLike, got 3"):
        read_idx(3)
