"""minibp.datasets as a package: the public names, and its docstring that lists them.

Reference: the list of names agreed for the package, typed in here.
"""

from __future__ import annotations

import subprocess
import sys

import minibp.datasets as datasets

PUBLIC = ["chapter", "xor", "make_moons", "make_spirals", "make_blobs", "load_digits",
          "read_idx", "write_idx", "DataFileError", "read_csv", "write_csv", "CSVData",
          "Standardizer", "train_test_split"]


def test_the_public_names_are_exported_and_documented():
    assert sorted(datasets.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(datasets, name) is not None
        assert f"``{name}" in datasets.__doc__, f"{name} is missing from the docstring"


def test_data_file_error_is_a_value_error():
    assert issubclass(datasets.DataFileError, ValueError)


def test_importing_it_does_not_load_scikit_learn():
    """scikit-learn is an extra, imported by load_digits when called, never at import."""
    code = "import sys, minibp.datasets; print('sklearn' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "False"
