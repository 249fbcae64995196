"""The seed rule every generator and split follows."""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_int, shown


def as_rng(seed, who: str) -> np.random.Generator:
    """A Generator from seed: an int >= 0, None (fresh entropy from the OS) or a Generator,
    used as it is, so a caller can thread one stream through several calls."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{who}: seed must be an int, None or a numpy.random.Generator, "
                        f"got {shown(seed)}")
    return np.random.default_rng(expect_int(seed, "seed", who, least=0))
