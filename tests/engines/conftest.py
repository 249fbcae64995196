"""Shared by the engine tests: train a model on the NumPy reference engine and its twin on
a compiled engine, then hold the two to each other (weights, History, the optimizer's step
count and state)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import minibp


class Twins:
    """The reference run and the compiled run of one fit, and the checks between them."""

    @staticmethod
    def problem(sizes, activation, output, n: int, seed: int, target: str = "rows"):
        """A random mlp and data for it: Y soft rows in (0.1, 0.9), or integer labels."""
        rng = np.random.default_rng(seed)
        model = minibp.mlp(sizes, activation, output, seed=rng)
        X = rng.normal(size=(n, sizes[0]))
        if target == "labels":
            return model, X, rng.integers(0, sizes[-1], size=n)
        return model, X, rng.uniform(0.1, 0.9, size=(n, sizes[-1]))

    @staticmethod
    def train(model, X, Y, engine: str, make_optimizer, **fit):
        """Fit a deep copy of model on NumPy and model itself on ``engine``, each with its
        own optimizer from make_optimizer(); returns ((model, optimizer, history) x 2),
        the reference first."""
        reference = copy.deepcopy(model)
        runs = []
        for m, name in ((reference, "numpy"), (model, engine)):
            optimizer = make_optimizer()
            history = m.fit(X, Y, optimizer=optimizer, engine=name, verbose=0, **fit)
            runs.append((m, optimizer, history))
        return runs

    @staticmethod
    def assert_agree(runs, rtol: float = 1e-10) -> None:
        """Weights, losses and step counts agree to rtol, and so does the optimizer's state
        of every trainable parameter; frozen parameters have none on either side."""
        (ref, ref_opt, ref_hist), (com, com_opt, com_hist) = runs
        np.testing.assert_allclose(com_hist["loss"], ref_hist["loss"], rtol=rtol)
        assert com_hist.epoch == ref_hist.epoch
        assert com_opt.steps == ref_opt.steps
        for p, q in zip(ref.parameters(), com.parameters()):
            scale = np.max(np.abs(p.value)) + 1e-300
            np.testing.assert_allclose(q.value, p.value, rtol=rtol, atol=rtol * scale,
                                       err_msg=p.name)
            if p.frozen:
                assert not ref_opt.has_state(p) and not com_opt.has_state(q), p.name
                continue
            for name in ref_opt.state_names:
                want, got = ref_opt.state(p)[name], com_opt.state(q)[name]
                np.testing.assert_allclose(got, want, rtol=rtol,
                                           atol=rtol * (np.max(np.abs(want)) + 1e-300),
                                           err_msg=f"{p.name} {name}")


@pytest.fixture
def twins():
    """Twins, for the engine agreement tests."""
    return Twins
