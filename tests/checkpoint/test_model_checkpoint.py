"""ModelCheckpoint saves the best epoch's model (or every epoch's), from every engine.

Reference: a callback written here that copies the weights at every epoch's end; the file
must hold the copy of the epoch with the lowest val_loss in History.
"""

import numpy as np
import pytest

import minibp


class Recorder(minibp.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([p.value.copy() for p in self.model.parameters()])


def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_the_file_holds_the_best_epoch(tmp_path, engine):
    X, y = problem()
    model = minibp.mlp([4, 8, 2], "tanh", None, seed=0)
    saver, recorder = minibp.ModelCheckpoint(tmp_path / "best.npz"), Recorder()
    history = model.fit(X, y, loss="xent", optimizer=minibp.SGD(2.0), epochs=25,
                        validation_split=0.3, seed=0, verbose=0, engine=engine,
                        callbacks=[recorder, saver])
    best = int(np.argmin(history["val_loss"]))
    assert saver.best_epoch == best and saver.best == history["val_loss"][best]
    assert best < 24, "lr 2.0 should overfit before the end: pick a run where it does"
    loaded = minibp.load(tmp_path / "best.npz")
    for p, kept in zip(loaded.parameters(), recorder.weights[best]):
        assert np.array_equal(p.value, kept)
    assert type(loaded.loss) is minibp.SoftmaxCrossEntropy


def test_every_epoch_with_a_formatted_path(tmp_path):
    X, y = problem()
    model = minibp.mlp([4, 3, 2], seed=0)
    saver = minibp.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{loss:.4f}.npz"),
                                   save_best_only=False, save_optimizer=True)
    history = model.fit(X, y, loss="xent", optimizer="adam", epochs=3, verbose=0,
                        callbacks=[saver])
    names = [f"m-{e + 1:02d}-{loss:.4f}.npz" for e, loss in enumerate(history["loss"])]
    assert [p.rsplit("/", 1)[1] for p in saver.saved] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    last = minibp.load(saver.saved[-1])
    assert minibp.load_optimizer(saver.saved[-1], last).steps == 3 * 2  # 60 rows, batch 32


def test_an_unlogged_monitor_is_named(tmp_path):
    X, y = problem()
    with pytest.raises(ValueError, match=r"ModelCheckpoint: monitor must name a logged "
                       r"quantity, got 'val_loss'; this fit logs \['loss'\]"):
        minibp.mlp([4, 2], seed=0).fit(X, y, loss="xent", optimizer="sgd", verbose=0,
                                      callbacks=[minibp.ModelCheckpoint(tmp_path / "m.npz")])
