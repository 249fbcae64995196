"""scikit-learn estimators over minibp: MLPClassifier and MLPRegressor.

Drop-in for ``sklearn.neural_network``'s classes of the same names where they overlap (the
same constructor arguments, fitted attributes and convergence rule; docs/interop.md lists
the differences), trained by minibp's Sequential.fit. Needs the ``sklearn`` extra:
``pip install 'minibp[sklearn]'``.

- ``base``: what both estimators share: the fit loop over Sequential.fit, partial_fit,
  warm_start, the fitted attributes.
- ``settings``: the constructor arguments, checked at fit time and mapped to minibp's.
- ``convergence``: scikit-learn's tol / n_iter_no_change rule as a minibp callback.
- ``classifier`` and ``regressor``: the two estimators.
"""

try:
    import sklearn  # noqa: F401
    from sklearn.utils.validation import validate_data  # noqa: F401  (scikit-learn >= 1.6)
except ImportError as error:
    raise ImportError(
        "minibp.sklearn needs scikit-learn 1.9 (the sklearn extra): "
        "pip install 'minibp[sklearn]'") from error

from minibp.sklearn.classifier import MLPClassifier
from minibp.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
