"""Pretend an optional package is not installed: what a test of "the clear error naming the
extra" needs, without uninstalling anything."""

import builtins


def block_imports(monkeypatch, prefix: str) -> None:
    """Make every import of a module whose name starts with ``prefix`` raise ImportError, for
    the rest of the test (monkeypatch undoes it)."""
    real_import = builtins.__import__

    def refusing(name, *args, **kwargs):
        if name.startswith(prefix):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refusing)
