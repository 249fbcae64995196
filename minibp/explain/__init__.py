"""See inside a model: the chapter's walk-through for any small network (``trace``), network
diagrams (``draw``) and training diagnostics (``Diagnostics``). docs/explain.md.

Every figure comes from the layers' own forward and backward, never from a second
implementation. The names load their module on first use, so ``import minibp`` stays light
(``draw`` and the diagnostics' plots import matplotlib only when they draw).
"""

from __future__ import annotations

import importlib

_WHERE = {"trace": "tracing", "Trace": "tracing", "draw": "drawing",
          "Diagnostics": "diagnostics"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'minibp.explain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"minibp.explain.{_WHERE[name]}"), name)
    globals()[name] = value  # found once; later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = ["trace", "Trace", "draw", "Diagnostics"]
