"""Same seed, same bits: a fit repeated in one process, and in another process, gives
bit-identical weights, optimizer state and History losses on every engine.

Independent reference: the fit itself, run again (in this process, and in a fresh
interpreter that loads the compiled kernels from numba's cache), compared byte for byte.
"""

import subprocess
import sys

import numpy as np
import pytest

ENGINES = ["numpy", "numba", "blas"]

FIT = '''
import numpy as np
import minibp
from minibp.optim import CosineDecay


def fingerprint(engine):
    """Hex of the bytes of weights, optimizer state and losses of two fits on ``engine``."""
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(37, 3)), rng.uniform(0.1, 0.9, size=(37, 2))
    w = rng.uniform(0.0, 2.0, size=37)
    parts = []
    for optimizer, options in (
            (minibp.AdamW(0.01, l2=0.01), dict(sample_weight=w, clip_norm=0.5, seed=9)),
            (minibp.SGD(CosineDecay(0.1, 40), 0.9, nesterov=True), dict(seed=3))):
        model = minibp.mlp([3, 8, 2], "tanh", "sigmoid", seed=5)
        history = model.fit(X, Y, loss=minibp.MSE(), optimizer=optimizer, epochs=4,
                            batch_size=6, shuffle=True, engine=engine, verbose=0, **options)
        parts.append(np.asarray(history["loss"]).tobytes())
        for p in model.parameters():
            parts.append(p.value.tobytes())
            parts += [a.tobytes() for a in optimizer.state(p).values()]
    return b"".join(parts).hex()
'''


def fingerprint(engine: str) -> str:
    scope = {}
    exec(FIT, scope)
    return scope["fingerprint"](engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_fit_gives_the_same_bits_here_and_in_another_process(engine):
    here = fingerprint(engine)
    assert fingerprint(engine) == here
    code = FIT + f"\nprint(fingerprint({engine!r}))\n"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=600)
    assert there.returncode == 0, there.stderr
    assert there.stdout.strip() == here
    losses = np.frombuffer(bytes.fromhex(here[:64]))  # the first fit's 4 epoch losses
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
