"""Truncated, corrupted, hand-edited and foreign files: a CheckpointError naming the path and
the fault, never a pickle load, never a half-built model.

The hand-edited files are written here with np.savez from a good file's header and arrays,
changed one thing at a time.
"""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import minibp
from minibp.checkpoint import files


@pytest.fixture
def good(tmp_path):
    model = minibp.mlp([3, 4, 2], "sigmoid", seed=0)
    model.loss = minibp.SoftmaxCrossEntropy()
    path = tmp_path / "good.npz"
    model.save(path, optimizer=_trained_adam(model))
    return path


def _trained_adam(model):
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    optimizer = minibp.Adam(0.01)
    model.fit(X, y, loss="xent", optimizer=optimizer, epochs=1, verbose=0, engine="numpy")
    return optimizer


def contents(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop("header"))), arrays


def rewrite(path, header, arrays, target):
    np.savez(target, header=np.array(json.dumps(header)), **arrays)
    return target


def refused(path, pattern):
    for load in (minibp.load, lambda p: minibp.mlp([3, 4, 2], seed=1).load_weights(p)):
        with pytest.raises(minibp.CheckpointError, match=pattern) as caught:
            load(path)
        assert str(path) in str(caught.value)


def test_the_good_file_loads(good):
    assert repr(minibp.load(good)) == repr(minibp.mlp([3, 4, 2], "sigmoid"))


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_a_truncated_file(good, tmp_path, fraction):
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    refused(cut, "not a readable minibp file")


def test_every_flipped_byte_in_the_arrays_is_caught(good, tmp_path):
    """A bit flip in a stored array fails the zip member's CRC-32."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("model[0].W.npy")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 128, start + info.compress_size, 7):  # past the npy header
        bad = bytearray(data)
        bad[offset] ^= 0x10
        (tmp_path / "flip.npz").write_bytes(bytes(bad))
        with pytest.raises(minibp.CheckpointError, match="not a readable minibp file"):
            minibp.load(tmp_path / "flip.npz")


def test_a_pickled_array_is_never_unpickled(good, tmp_path):
    header, arrays = contents(good)

    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("a pickle was loaded",))

    evil = io.BytesIO()
    np.savez(evil, header=np.array(json.dumps(header)), **arrays,
             extra=np.array([Boom()], dtype=object))
    (tmp_path / "evil.npz").write_bytes(evil.getvalue())
    refused(tmp_path / "evil.npz", "Object arrays cannot be loaded when allow_pickle=False")


def test_a_header_naming_something_to_import_builds_nothing(good, tmp_path):
    header, arrays = contents(good)
    header["layers"][0]["type"] = "os.system"
    path = rewrite(good, header, arrays, tmp_path / "edited.npz")
    refused(path, r"layer model\[0\] has type 'os.system'; a minibp file holds 'Dense' and "
            "'Activation' only")


@pytest.mark.parametrize(("edit", "pattern"), [
    (lambda h, a: h["layers"][1].update(in_features=5),
     r"model\[1\].W must be float64 of shape \(2, 5\), got float64 of shape \(2, 4\)"),
    (lambda h, a: a.update({"model[0].b": np.full(4, np.nan)}),
     r"model\[0\].b must be finite, got 4 NaN or inf values"),
    (lambda h, a: a.pop("model[1].b"), r"missing \['model\[1\].b'\]"),
    (lambda h, a: a.update(stowaway=np.zeros(2)), r"not listed \['stowaway'\]"),
    (lambda h, a: h.update(format_version=2, minibp_version="9.0"),
     "written in format 2 by minibp 9.0; this minibp reads format 1: upgrade minibp"),
    (lambda h, a: h.update(format="keras"), "its header's format is 'keras', expected 'minibp'"),
    (lambda h, a: h["layers"][0].update(dtype="int64"),
     r"model\[0\]'s dtype must be one of \['float32', 'float64'\], got 'int64'"),
    (lambda h, a: h["layers"][0].update(frozen=["W", "__class__"]),
     r"model\[0\]'s frozen must be a list of 'W' and 'b'"),
    (lambda h, a: h["layers"][0].update(activation="eval"),
     r"activation 'eval' is not registered in this process"),
    (lambda h, a: h.update(loss={"type": "PickleLoss"}), "the loss must be one of"),
    (lambda h, a: h["optimizer"].update(type="Lion"), "the optimizer must be one of"),
    (lambda h, a: h["optimizer"]["settings"].update(betas=[0.9, 1.5]),
     r"the optimizer's settings are not valid \(Adam: betas\[1\] must be"),
    (lambda h, a: a.pop("optimizer.model[0].W.exp_avg_sq"),
     r"the optimizer's state of model\[0\].W is incomplete \(1 of 2 arrays\)"),
    (lambda h, a: h["layers"].clear(), "the header's layers must be a non-empty list"),
], ids=["shape", "nan", "missing", "extra", "newer", "foreign-format", "dtype", "frozen",
        "activation", "loss", "optimizer", "optimizer-setting", "optimizer-state", "empty"])
def test_hand_edited_headers_and_arrays(good, tmp_path, edit, pattern):
    header, arrays = contents(good)
    edit(header, arrays)
    if "missing" not in pattern and "not listed" not in pattern:  # the table follows the arrays
        header["arrays"] = {n: {"shape": list(a.shape), "dtype": a.dtype.name}
                            for n, a in arrays.items()}
    refused(rewrite(good, header, arrays, tmp_path / "edited.npz"), pattern)


def test_an_array_disagreeing_with_its_header_entry(good, tmp_path):
    header, arrays = contents(good)
    arrays["model[0].W"] = arrays["model[0].W"].astype(np.float32)
    path = rewrite(good, header, arrays, tmp_path / "edited.npz")
    refused(path, r"model\[0\].W is float32 of shape \(4, 3\), but the header says float64 "
            r"of shape \[4, 3\]")


@pytest.mark.parametrize(("name", "data", "pattern"), [
    ("empty.npz", b"", "not a readable minibp file"),
    ("text.npz", b"W = [[1, 2], [3, 4]]\n", "not a readable minibp file"),
    ("pickle.npz", pickle.dumps({"W": [1.0]}), "not a readable minibp file"),
])
def test_foreign_files(tmp_path, name, data, pattern):
    (tmp_path / name).write_bytes(data)
    refused(tmp_path / name, pattern)


def test_a_foreign_npz_and_an_npy(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.ones((2, 2)))
    refused(tmp_path / "other.npz", "no minibp header")
    np.save(tmp_path / "array.npy", np.ones(3))
    refused(tmp_path / "array.npy", r"not a minibp file \(an .npy array, not an .npz")


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        minibp.load(tmp_path / "nowhere.npz")


def test_the_header_records_versions_and_arrays(good):
    header, arrays = contents(good)
    assert header["format"] == "minibp" and header["format_version"] == files.FORMAT_VERSION
    assert header["minibp_version"] == minibp.__version__
    assert header["arrays"]["model[0].W"] == {"shape": [4, 3], "dtype": "float64"}
    assert header["loss"] == {"type": "SoftmaxCrossEntropy", "reduction": "mean"}
    assert sorted(arrays) == sorted(header["arrays"])
