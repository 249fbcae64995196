"""CSV files of numbers, in and out: read_csv and write_csv, for the command line.

A file holds rows of numbers, all of one width, optionally under one header row of names.
Every cell must be a finite number; a cell that is not is refused with the file, the line
and the column named, so it can be found and fixed in an editor.
"""

from __future__ import annotations

import csv
import math
from typing import NamedTuple

import numpy as np

from minibp.datasets.files import DataFileError, path_name
from minibp.errors import shown


class CSVData(NamedTuple):
    """What read_csv found. X (n, k) float64 features; y (n,) float64 target, or None;
    feature_names, k names (the header's, else "column 1", "column 2", ... by position in
    the file); target_name, the target column's name, or None."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None


def read_csv(path, *, target=None, header="auto") -> CSVData:
    """Read a CSV file of numbers into features and, optionally, a target column.

    target: None (every column is a feature), a column name (needs a header), or a 0-based
    column index (negative counts from the end: -1 is the last column).
    header: "auto" (the first row is a header when any of its cells is not a number), True
    or False. Blank lines are skipped; row numbers in messages are lines of the file.
    """
    name = path_name(path, "read_csv")
    if not (header is True or header is False or header == "auto"):
        raise ValueError(f"read_csv: header must be 'auto', True or False, got {shown(header)}")
    rows = _rows(path)
    if not rows:
        raise DataFileError(f"{name}: the file is empty; expected rows of numbers, "
                            "optionally under a header row")
    names = _header_names(rows[0][1], header)
    body = rows if names is None else rows[1:]
    if not body:
        raise DataFileError(f"{name}: no data rows after the header (row {rows[0][0]})")
    width = len(rows[0][1])
    _check_widths(rows, width, name)
    column = _target_column(target, names, width, name)
    values = _numbers(body, names, name)
    labels = names if names is not None else [f"column {j + 1}" for j in range(width)]
    features = [j for j in range(width) if j != column]
    if not features:
        raise DataFileError(f"{name}: no feature columns: the only column is the target")
    if column is None:
        return CSVData(values, None, labels, None)
    return CSVData(values[:, features], values[:, column], [labels[j] for j in features],
                   labels[column])


def write_csv(path, array, header=None) -> None:
    """Write a 2-D array as CSV rows, under a header row when ``header`` (k names) is given.

    Floats are written as repr writes them, the shortest text that reads back to the same
    float64, so read_csv returns exactly the values written; integer arrays as integers.
    """
    name = path_name(path, "write_csv")
    array = np.asarray(array)
    if array.dtype.kind not in "iuf" or array.ndim != 2:
        raise ValueError(f"write_csv: array must be 2-D of integers or floats, got shape "
                         f"{array.shape} of {array.dtype}"
                         + ("; for one column use array.reshape(-1, 1)" if array.ndim == 1
                            else ""))
    _check_writable_values(array)
    if header is not None:
        header = _checked_header(header, array.shape[1])
    convert = int if array.dtype.kind in "iu" else lambda value: repr(float(value))
    with open(name, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows([convert(value) for value in row] for row in array.tolist())


def _rows(path) -> list[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank row; a UTF-8 byte-order mark is dropped."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        return [(reader.line_num, cells) for cells in reader if cells]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _header_names(cells: list[str], header) -> list[str] | None:
    """The first row's cells as names when it is a header, else None."""
    if header == "auto":
        header = any(_number(cell) is None for cell in cells)
    return [cell.strip() for cell in cells] if header else None


def _check_widths(rows: list[tuple[int, list[str]]], width: int, name: str) -> None:
    first = rows[0][0]
    for line, cells in rows:
        if len(cells) != width:
            raise DataFileError(f"{name}: row {line} has {len(cells)} cells, expected "
                                f"{width} like row {first}")


def _target_column(target, names: list[str] | None, width: int, name: str) -> int | None:
    """The target's 0-based column, or None for no target."""
    if target is None:
        return None
    if isinstance(target, str):
        if names is None:
            raise DataFileError(f"{name}: target {target!r} names a column, but the file has "
                                "no header row; give the column's 0-based index instead")
        found = [j for j, column in enumerate(names) if column == target]
        if len(found) != 1:
            columns = ", ".join(repr(column) for column in names)
            what = "is not a column" if not found else f"names {len(found)} columns"
            raise DataFileError(f"{name}: target {target!r} {what}; the columns are {columns}")
        return found[0]
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"read_csv: target must be None, a column name or a column index, "
                        f"got {shown(target)}")
    if not -width <= target < width:
        raise DataFileError(f"{name}: target must be a column index in [{-width}, "
                            f"{width - 1}] (the file has {width} columns), got {target}")
    return int(target) % width


def _numbers(body: list[tuple[int, list[str]]], names: list[str] | None,
             name: str) -> np.ndarray:
    """The data rows as float64 (n, width); the first bad cell is refused by line and column."""
    values = np.empty((len(body), len(body[0][1])))
    for i, (line, cells) in enumerate(body):
        for j, cell in enumerate(cells):
            value = _number(cell)
            if value is None or not math.isfinite(value):
                where = f" ({names[j]!r})" if names is not None else ""
                what = "is not a number" if value is None else "is not finite"
                raise DataFileError(f"{name}: row {line}, column {j + 1}{where}: {cell!r} "
                                    f"{what}")
            values[i, j] = value
    return values


def _check_writable_values(array: np.ndarray) -> None:
    """Refuse NaN and infinity: read_csv would refuse them when reading the file back."""
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = ~np.isfinite(array)
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"write_csv: array must be finite (read_csv refuses NaN and "
                         f"infinity), got {int(bad.sum())} non-finite values (first at row "
                         f"{row}, column {column})")


def _checked_header(header, width: int) -> list[str]:
    names = list(header) if not isinstance(header, str) else None
    if names is None or len(names) != width or not all(isinstance(n, str) for n in names):
        raise ValueError(f"write_csv: header must be a list of {width} strings, one per "
                         f"column, got {shown(header)}")
    return names
