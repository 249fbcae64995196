"""Standardizer: scale each feature to mean 0 and standard deviation 1, as scikit-learn's
StandardScaler does, and remember how, so predictions see the same scaling as training."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from minibp.errors import check_finite, expect_shape, shown


class Standardizer:
    """Z = (X - mean_) / scale_, column by column.

    fit learns mean_ (features,) and scale_ (features,), the population standard deviation
    (ddof=0, as scikit-learn). A constant column gets scale 1, so it maps to 0 rather than
    to a division by zero; "constant" as scikit-learn judges it, allowing for the rounding
    in the variance of n equal floats.

    Shapes: X (samples, features) -> Z (samples, features), float64.
    """

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X) -> Standardizer:
        """Learn mean_ and scale_ from X (samples, features); returns self."""
        X = _matrix(X, "Standardizer.fit")
        mean = X.mean(axis=0)
        var = X.var(axis=0)
        n = X.shape[0]
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2   # sklearn's test
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, np.sqrt(var))
        return self

    def transform(self, X) -> np.ndarray:
        """(X - mean_) / scale_; X (samples, features) -> (samples, features)."""
        mean, scale = self._fitted("transform")
        X = _matrix(X, "Standardizer.transform", len(mean))
        return (X - mean) / scale

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """Z * scale_ + mean_, undoing transform; (samples, features) -> (samples, features)."""
        mean, scale = self._fitted("inverse_transform")
        Z = _matrix(Z, "Standardizer.inverse_transform", len(mean))
        return Z * scale + mean

    # -- saving ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, list[float]]:
        """{"mean": [...], "scale": [...]}, plain lists of floats, for a JSON file."""
        mean, scale = self._fitted("to_dict")
        return {"mean": mean.tolist(), "scale": scale.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping) -> Standardizer:
        """A fitted Standardizer from to_dict's dictionary."""
        return cls._restored(d, "Standardizer.from_dict")

    def state(self) -> dict[str, np.ndarray]:
        """{"mean": array, "scale": array}, copies, for numpy.savez."""
        mean, scale = self._fitted("state")
        return {"mean": mean.copy(), "scale": scale.copy()}

    @classmethod
    def from_state(cls, arrays: Mapping) -> Standardizer:
        """A fitted Standardizer from state()'s arrays, or an np.load of a file holding them."""
        return cls._restored(arrays, "Standardizer.from_state")

    def __repr__(self) -> str:
        if self.mean_ is None:
            return "Standardizer(not fitted)"
        return f"Standardizer({len(self.mean_)} features)"

    @classmethod
    def _restored(cls, saved: Mapping, who: str) -> Standardizer:
        if not isinstance(saved, Mapping) and not hasattr(saved, "files"):
            raise TypeError(f"{who}: the saved state must be a mapping with 'mean' and "
                            f"'scale', got {shown(saved)}")
        missing = [key for key in ("mean", "scale") if key not in saved]
        if missing:
            raise ValueError(f"{who}: the saved state must have 'mean' and 'scale', "
                             f"missing {missing}")
        mean = np.asarray(saved["mean"], dtype=np.float64)
        scale = np.asarray(saved["scale"], dtype=np.float64)
        if mean.ndim != 1 or scale.shape != mean.shape:
            raise ValueError(f"{who}: mean and scale must be vectors of one length, got "
                             f"shapes {mean.shape} and {scale.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(f"{who}: mean must be finite and scale finite and positive, got "
                             f"mean {mean.tolist()}, scale {scale.tolist()}")
        restored = cls()
        restored.mean_, restored.scale_ = mean, scale
        return restored

    def _fitted(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError(f"Standardizer.{method} called before fit: there is no mean "
                               "or scale yet; call fit(X_train) first")
        return self.mean_, self.scale_


def _matrix(X, who: str, features: int | None = None) -> np.ndarray:
    """X as float64 (samples, features), at least one row, finite."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{who}: X must hold numbers, got dtype {X.dtype}")
    hint = " (for one sample use X.reshape(1, -1))" if X.ndim == 1 else ""
    expect_shape(X, ("samples", "features" if features is None else features), "X", who, hint)
    if X.shape[0] == 0:
        raise ValueError(f"{who}: X must have at least one sample, got shape {X.shape}")
    X = X.astype(np.float64)
    check_finite(X, "X", who)
    return X
