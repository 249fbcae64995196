"""minibp.datasets.csv_files: read_csv, write_csv and CSVData.

References: files typed into the test as text and their values read off by eye; exact
round trips of awkward floats; every message written out in full.
"""

from __future__ import annotations

import numpy as np
import pytest

from minibp.datasets import CSVData, DataFileError, read_csv, write_csv

IRIS = """sepal_length,sepal_width,petal_width,species
5.1,3.5,0.2,0
7.0,3.2,1.4,1
6.3,3.3,2.5,2
"""


def written(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_header_and_a_target_by_name(tmp_path):
    data = read_csv(written(tmp_path, IRIS), target="species")
    assert isinstance(data, CSVData)
    assert data.X.tolist() == [[5.1, 3.5, 0.2], [7.0, 3.2, 1.4], [6.3, 3.3, 2.5]]
    assert data.X.dtype == np.float64 and data.y.tolist() == [0.0, 1.0, 2.0]
    assert data.feature_names == ["sepal_length", "sepal_width", "petal_width"]
    assert data.target_name == "species"


def test_a_target_in_the_middle_by_negative_index(tmp_path):
    X, y, names, target = read_csv(written(tmp_path, IRIS), target=-2)
    assert y.tolist() == [0.2, 1.4, 2.5] and target == "petal_width"
    assert names == ["sepal_length", "sepal_width", "species"]
    assert X[:, 2].tolist() == [0.0, 1.0, 2.0]


def test_without_a_target_every_column_is_a_feature(tmp_path):
    data = read_csv(written(tmp_path, IRIS))
    assert data.X.shape == (3, 4) and data.y is None and data.target_name is None


def test_a_file_of_numbers_only_has_no_header_and_positional_names(tmp_path):
    data = read_csv(written(tmp_path, "1,2,3\n4,5,6\n"), target=0)
    assert data.X.tolist() == [[2.0, 3.0], [5.0, 6.0]] and data.y.tolist() == [1.0, 4.0]
    assert data.feature_names == ["column 2", "column 3"] and data.target_name == "column 1"


def test_header_true_takes_a_numeric_first_row_as_names(tmp_path):
    data = read_csv(written(tmp_path, "1,2\n3,4\n"), header=True)
    assert data.feature_names == ["1", "2"] and data.X.tolist() == [[3.0, 4.0]]


def test_blank_lines_are_skipped_and_a_byte_order_mark_dropped(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfa, b\n\n1, 2\n\n3,4\n")
    data = read_csv(path)
    assert data.feature_names == ["a", "b"] and data.X.tolist() == [[1.0, 2.0], [3.0, 4.0]]


BAD_CELLS = [
    ("a,b,c\n1,2,3\n4,5,6\n7,abc,9\n", "row 4, column 2 ('b'): 'abc' is not a number"),
    ("a,b,c\n1,2,3\n\n\n4,5,\n", "row 5, column 3 ('c'): '' is not a number"),
    ("1,2\n3,nan\n", "row 2, column 2: 'nan' is not finite"),
    ("a,b\n1,-inf\n", "row 2, column 2 ('b'): '-inf' is not finite"),
    ("a,b\n1,2,3\n", "row 2 has 3 cells, expected 2 like row 1"),
    ("1,2\n3,4\n5\n", "row 3 has 1 cells, expected 2 like row 1"),
    ("", "the file is empty; expected rows of numbers, optionally under a header row"),
    ("\n\n", "the file is empty; expected rows of numbers, optionally under a header row"),
    ("a,b\n", "no data rows after the header (row 1)"),
]


@pytest.mark.parametrize("text, problem", BAD_CELLS)
def test_bad_files_are_refused_by_row_and_column(tmp_path, text, problem):
    path = written(tmp_path, text)
    with pytest.raises(DataFileError) as caught:
        read_csv(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_header_false_reads_a_text_first_row_as_bad_data(tmp_path):
    path = written(tmp_path, IRIS)
    with pytest.raises(DataFileError) as caught:
        read_csv(path, header=False)
    assert str(caught.value) == f"{path}: row 1, column 1: 'sepal_length' is not a number"


@pytest.mark.parametrize("text, target, problem", [
    (IRIS, "colour", "target 'colour' is not a column; the columns are 'sepal_length', "
     "'sepal_width', 'petal_width', 'species'"),
    ("a,a\n1,2\n", "a", "target 'a' names 2 columns; the columns are 'a', 'a'"),
    ("1,2\n", "species", "target 'species' names a column, but the file has no header row; "
     "give the column's 0-based index instead"),
    (IRIS, 4, "target must be a column index in [-4, 3] (the file has 4 columns), got 4"),
    (IRIS, -5, "target must be a column index in [-4, 3] (the file has 4 columns), got -5"),
    ("y\n1\n", "y", "no feature columns: the only column is the target"),
])
def test_bad_targets_are_refused(tmp_path, text, target, problem):
    path = written(tmp_path, text)
    with pytest.raises(DataFileError) as caught:
        read_csv(path, target=target)
    assert str(caught.value) == f"{path}: {problem}"


def test_arguments_of_the_wrong_kind_are_refused(tmp_path):
    path = written(tmp_path, IRIS)
    with pytest.raises(TypeError) as caught:
        read_csv(path, target=True)
    assert str(caught.value) == ("read_csv: target must be None, a column name or a column "
                                 "index, got True (bool)")
    with pytest.raises(ValueError) as caught:
        read_csv(path, header="yes")
    assert str(caught.value) == "read_csv: header must be 'auto', True or False, got 'yes'"


# -- writing ----------------------------------------------------------------------------------
def test_floats_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    awkward = [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, 123456789.123456789, -2.5]
    array = np.concatenate([rng.normal(size=(4, 7)) * 10.0 ** rng.integers(-8, 8, (4, 7)),
                            [awkward]])
    write_csv(tmp_path / "out.csv", array, header=[f"x{j}" for j in range(7)])
    data = read_csv(tmp_path / "out.csv")
    assert data.feature_names == [f"x{j}" for j in range(7)]
    assert data.X.tobytes() == array.tobytes()               # bit for bit, -0.0 included


def test_float32_values_come_back_as_the_same_numbers(tmp_path):
    array = np.array([[0.1, 1e-8], [3.4e38, -7.25]], dtype=np.float32)
    write_csv(tmp_path / "out.csv", array)
    assert np.array_equal(read_csv(tmp_path / "out.csv").X, array.astype(np.float64))


def test_integers_are_written_as_integers(tmp_path):
    write_csv(tmp_path / "out.csv", np.array([[1, -2], [30, 4]]), header=["a", "b,c"])
    assert (tmp_path / "out.csv").read_text() == 'a,"b,c"\n1,-2\n30,4\n'


@pytest.mark.parametrize("array, header, message", [
    (np.array([[1.0, np.nan]]), None, "write_csv: array must be finite (read_csv refuses NaN "
     "and infinity), got 1 non-finite values (first at row 0, column 1)"),
    (np.array([1.0, 2.0]), None, "write_csv: array must be 2-D of integers or floats, got "
     "shape (2,) of float64; for one column use array.reshape(-1, 1)"),
    (np.array([["a"]]), None, "write_csv: array must be 2-D of integers or floats, got "
     "shape (1, 1) of <U1"),
    (np.zeros((1, 2)), ["a"], "write_csv: header must be a list of 2 strings, one per "
     "column, got ['a'] (list)"),
    (np.zeros((1, 2)), "ab", "write_csv: header must be a list of 2 strings, one per "
     "column, got 'ab'"),
])
def test_write_csv_refuses_what_read_csv_could_not_read_back(tmp_path, array, header, message):
    with pytest.raises(ValueError) as caught:
        write_csv(tmp_path / "out.csv", array, header=header)
    assert str(caught.value) == message
