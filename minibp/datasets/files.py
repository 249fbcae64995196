"""DataFileError, and how the readers take a path and name it in their messages."""

from __future__ import annotations

import os

from minibp.errors import shown


class DataFileError(ValueError):
    """A data file that cannot be read as what it claims to be. The message starts with the
    path and says what is wrong, and where: ``data.csv: row 7, column 3 ('petal_width'):
    'abc' is not a number``."""


def path_name(path, who: str) -> str:
    """path (a str or os.PathLike) as the text that messages quote."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{who}: path must be a str or os.PathLike, got {shown(path)}")
    return os.fspath(path)
