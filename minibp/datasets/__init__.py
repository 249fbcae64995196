"""Data to train on, and the steps between a file and fit.

- ``generators``: ``chapter()`` and ``xor()``, the chapter's data; ``make_moons``,
  ``make_spirals`` and ``make_blobs``, seeded 2-D (or n-D) classification sets.
- ``digits``: ``load_digits()``, scikit-learn's 8x8 digits scaled to [0, 1] (the ``data``
  extra).
- ``idx``: ``read_idx`` and ``write_idx``, MNIST's IDX format, gzipped or not.
- ``csv_files``: ``read_csv`` (into a ``CSVData``: X, y, feature_names, target_name) and
  ``write_csv``.
- ``preprocessing``: ``Standardizer``, scikit-learn's StandardScaler, savable as JSON lists
  or as arrays.
- ``split``: ``train_test_split``, seeded and stratified by class.
- ``files``: ``DataFileError``, what the readers raise for a file they cannot read.
- ``seeds``: the seed rule (an int, None or a Generator) the generators and splits share.

Generators return X float64 (n, features) and y int64 labels (n,), from
``numpy.random.default_rng(seed)``; seed is an int, None or a Generator.
"""

from minibp.datasets.csv_files import CSVData, read_csv, write_csv
from minibp.datasets.digits import load_digits
from minibp.datasets.files import DataFileError
from minibp.datasets.generators import chapter, make_blobs, make_moons, make_spirals, xor
from minibp.datasets.idx import read_idx, write_idx
from minibp.datasets.preprocessing import Standardizer
from minibp.datasets.split import train_test_split

__all__ = [
    "chapter", "xor", "make_moons", "make_spirals", "make_blobs", "load_digits", "read_idx",
    "write_idx", "DataFileError", "read_csv", "write_csv", "CSVData", "Standardizer",
    "train_test_split",
]
