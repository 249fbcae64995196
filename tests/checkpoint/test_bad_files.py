"""Truncated, corrupted, hand-edited and foreign files: a CheckpointError naming the path and
the fault, never a pickle load, never a half-built model, never another exception.

The hand-edited files are written here from a good file's header and arrays, changed one
thing at a time, and sealed as minibp seals its files (files.write_npz), so the check that
refuses them is the one under test, not the checksum.
"""

import copy
import json
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib import format as npy

import minibp
from minibp.checkpoint import files


def good_model():
    model = minibp.mlp([3, 4, 2], "sigmoid", seed=0)
    model.loss = minibp.SoftmaxCrossEntropy()
    return model


@pytest.fixture
def good(tmp_path):
    model = good_model()
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


def rewrite(header, arrays, target):
    """A sealed file holding header and arrays, as minibp writes one."""
    with open(target, "w+b") as file:
        files.write_npz(file, {"header": np.array(json.dumps(header)), **arrays})
    return target


def refused(path, pattern):
    """Both loaders refuse the file with a CheckpointError "path: cause"; returns the text."""
    for load in (minibp.load, lambda p: minibp.mlp([3, 4, 2], seed=1).load_weights(p)):
        with pytest.raises(minibp.CheckpointError, match=pattern) as caught:
            load(path)
        text = str(caught.value)
        assert text.startswith(f"{path}: ") and len(text) > len(f"{path}: ") + 10
    return text


def test_the_good_file_loads(good):
    loaded = minibp.load(good)
    assert repr(loaded) == repr(minibp.mlp([3, 4, 2], "sigmoid"))
    header, _ = contents(good)
    with zipfile.ZipFile(good) as archive:
        assert archive.comment.startswith(b"minibp-sha256:") and len(archive.comment) == 78
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    assert header["checksum"] == "sha256"


# -- damaged files -------------------------------------------------------------------------
def test_an_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz", r"not a readable minibp file \(BadZipFile: File is not a "
            "zip file")


@pytest.mark.parametrize("keep", [1, 4, 30, 100, 1000, 0.5, 0.9, -79, -64, -1],
                         ids=lambda k: f"keep={k}")
def test_a_truncated_file(good, tmp_path, keep):
    data = good.read_bytes()
    keep = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    (tmp_path / "cut.npz").write_bytes(data[:keep])
    refused(tmp_path / "cut.npz", "not a readable minibp file|SHA-256")


def flip_positions(size):
    """The zip's first local header byte by byte, then every 37th byte, then the end (the
    central directory's last entry, the end records and the seal) byte by byte."""
    return sorted({*range(0, 64), *range(64, size - 200, 37), *range(size - 200, size)})


def test_a_flipped_bit_anywhere_is_caught(good, tmp_path):
    """Zip fields that nothing reads (timestamps, versions) are sealed by the SHA-256 too."""
    data = good.read_bytes()
    positions = flip_positions(len(data))
    assert len(positions) > 350
    flipped = tmp_path / "flip.npz"
    for position in positions:
        bad = bytearray(data)
        bad[position] ^= 1 << position % 8
        flipped.write_bytes(bytes(bad))
        with pytest.raises(minibp.CheckpointError) as caught:
            minibp.load(flipped)
        assert str(caught.value).startswith(f"{flipped}: ")


def test_a_flipped_bit_names_the_damage(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("model[0].W.npy")
    sealed = r"the file's SHA-256 must be [0-9a-f]{64} \(as written\), got [0-9a-f]{64}: it " \
             "was changed or damaged after minibp wrote it"
    for position in (12, info.header_offset + 200):  # a timestamp, a value of model[0].W
        flipped = bytearray(data)
        flipped[position] ^= 0x10
        (tmp_path / "flip.npz").write_bytes(bytes(flipped))
        refused(tmp_path / "flip.npz", sealed)
    header, arrays = contents(good)  # a file as minibp wrote them before sealing them
    del header["checksum"]
    np.savez(tmp_path / "old.npz", header=np.array(json.dumps(header)), **arrays)
    data = bytearray((tmp_path / "old.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "old.npz") as archive:
        info = archive.getinfo("model[0].W.npy")
    data[info.header_offset + 200] ^= 0x10
    (tmp_path / "old.npz").write_bytes(bytes(data))
    refused(tmp_path / "old.npz", r"Bad CRC-32 for file 'model\[0\].W.npy'")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path, seed):
    rng = np.random.default_rng(seed)
    data = rng.bytes(int(rng.integers(1, 5000)))
    if seed % 2:
        data = b"PK\x03\x04" + data  # looks like a zip at first
    (tmp_path / "noise.npz").write_bytes(data)
    refused(tmp_path / "noise.npz", "not a readable minibp file")


@pytest.mark.parametrize(("data", "pattern"), [
    (b"W = [[1, 2], [3, 4]]\n", r"BadZipFile: File is not a zip file"),
    (b"layers: Dense(3 -> 4)\nloss: xent\n" * 50, "BadZipFile"),
    (json.dumps({"format": "minibp", "layers": []}).encode(), "BadZipFile"),
    (pickle.dumps({"W": [1.0]}), "BadZipFile"),
], ids=["text", "long-text", "json", "pickle"])
def test_plain_text_and_other_foreign_files(tmp_path, data, pattern):
    (tmp_path / "foreign.npz").write_bytes(data)
    refused(tmp_path / "foreign.npz", "not a readable minibp file .*" + pattern)


def test_a_foreign_npz_and_an_npy(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.ones((2, 2)))
    refused(tmp_path / "other.npz", "no minibp header")
    np.save(tmp_path / "array.npy", np.ones(3))
    refused(tmp_path / "array.npy", r"not a minibp file \(an .npy array, not an .npz")


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        minibp.load(tmp_path / "nowhere.npz")


# -- never unpickled -------------------------------------------------------------------------
class WritesMarker:
    """Unpickling this writes the marker file."""

    def __init__(self, marker):
        self.marker = Path(marker)

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


@pytest.mark.parametrize("member", ["extra", "header", "model[0].W"])
def test_a_pickled_array_is_never_unpickled(good, tmp_path, member):
    header, arrays = contents(good)
    del header["checksum"]  # np.savez cannot seal: a file as minibp wrote them before
    marker, control = tmp_path / "unpickled.txt", tmp_path / "control.txt"
    arrays = {"header": np.array(json.dumps(header)), **arrays}
    np.savez(tmp_path / "evil.npz", **{**arrays, member: np.array([WritesMarker(marker)])})
    np.savez(tmp_path / "control.npz", payload=np.array([WritesMarker(control)]))
    np.load(tmp_path / "control.npz", allow_pickle=True)["payload"]
    assert control.read_text() == "unpickled", "the payload must work when unpickled"
    refused(tmp_path / "evil.npz", re.escape(member) + r" must hold numbers, got Python "
            r"objects \(dtype object\), which would have to be unpickled: minibp never unpickles")
    np.save(tmp_path / "evil.npy", np.array([WritesMarker(marker)]), allow_pickle=True)
    refused(tmp_path / "evil.npy", r"an .npy array, not an .npz")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(WritesMarker(marker)))
    refused(tmp_path / "evil.pkl", "BadZipFile")
    assert not marker.exists()


# -- the container -------------------------------------------------------------------------
def test_a_compressed_member_is_refused(good, tmp_path):
    header, arrays = contents(good)
    del header["checksum"]
    np.savez_compressed(tmp_path / "small.npz", header=np.array(json.dumps(header)), **arrays)
    refused(tmp_path / "small.npz", "header must be stored uncompressed and unencrypted")


def test_a_member_that_is_not_an_array_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
        archive.writestr("header", json.dumps({"format": "minibp"}))
    refused(tmp_path / "raw.npz", "every member must be a differently named .npy array, got "
            "'header'")
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
        archive.writestr("header.npy", b"{'format': 'minibp'}")
    refused(tmp_path / "raw.npz", r"not a readable minibp file \(ValueError: the magic string")


def test_an_array_claiming_more_bytes_than_the_file_holds_allocates_nothing(tmp_path):
    """An .npy header saying 10**12 float64s in a 200-byte member: refused from the header,
    never a MemoryError."""
    member = bytearray()
    with open(tmp_path / "tiny.npy", "w+b") as file:
        npy.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False,
                                          "shape": (10 ** 12,)})
        file.seek(0)
        member += file.read() + bytes(64)
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("header.npy", bytes(member))
    refused(tmp_path / "huge.npz", r"header must hold 8000000000000 bytes of data for shape "
            r"\(1000000000000,\) and dtype float64, got 64")


def test_members_overlapping_one_another_are_refused_before_any_is_read(tmp_path):
    """Two directory entries for one member: a small file claiming more bytes than it has
    (the way a zip bomb of stored members is built)."""
    with open(tmp_path / "one.npy", "w+b") as file:
        npy.write_array(file, np.array("x" * 5000))
        file.seek(0)
        member = file.read()
    with zipfile.ZipFile(tmp_path / "twice.npz", "w") as archive:
        archive.writestr("header.npy", member)
    data = (tmp_path / "twice.npz").read_bytes()
    end = data.rindex(b"PK\x05\x06")
    start = int.from_bytes(data[end + 16:end + 20], "little")
    directory = data[start:end]
    record = bytearray(data[end:])
    record[8:12] = (2).to_bytes(2, "little") * 2  # entries on this disk, entries in all
    record[12:16] = (2 * len(directory)).to_bytes(4, "little")
    (tmp_path / "twice.npz").write_bytes(data[:start] + directory * 2 + bytes(record))
    with zipfile.ZipFile(tmp_path / "twice.npz") as archive:
        assert [i.filename for i in archive.infolist()] == ["header.npy"] * 2
    refused(tmp_path / "twice.npz", r"the members must fit in the file \(\d+ bytes\), got "
            r"\d+ bytes in all: they overlap")


def test_big_endian_and_fortran_order_arrays_load_native_and_c_ordered(good, tmp_path):
    header, arrays = contents(good)
    arrays["model[0].W"] = np.asfortranarray(arrays["model[0].W"]).astype(">f8", order="F")
    path = rewrite(header, arrays, tmp_path / "foreign-order.npz")
    W = minibp.load(path)[0].W
    assert W.dtype == np.float64 and W.dtype.isnative and W.flags.c_contiguous
    assert W.flags.writeable and np.array_equal(W, minibp.load(good)[0].W)


def test_an_unsealed_file_loads_and_a_seal_promised_must_be_there(good, tmp_path):
    """Files without "checksum" in the header (written before minibp sealed them) load;
    one whose header promises a seal must carry it."""
    header, arrays = contents(good)
    np.savez(tmp_path / "sealed-not.npz", header=np.array(json.dumps(header)), **arrays)
    refused(tmp_path / "sealed-not.npz", r"the file must end with its SHA-256 "
            r"\(minibp-sha256:<64 hex digits>\), as its header says, got b''")
    del header["checksum"]
    np.savez(tmp_path / "old.npz", header=np.array(json.dumps(header)), **arrays)
    assert np.array_equal(minibp.load(tmp_path / "old.npz")[0].W, minibp.load(good)[0].W)
    header["checksum"] = "md5"
    refused(rewrite(header, arrays, tmp_path / "md5.npz"),
            "the header's checksum must be 'sha256', got 'md5'")


# -- hand-edited headers and arrays -----------------------------------------------------------
@pytest.mark.parametrize("version", [2, 99, 10 ** 30])
def test_a_newer_format_version_is_refused(good, tmp_path, version):
    header, arrays = contents(good)
    header.update(format_version=version, minibp_version="9.0")
    refused(rewrite(header, arrays, tmp_path / "newer.npz"),
            f"written in format {version} by minibp 9.0; this minibp reads format 1: "
            "upgrade minibp to load it")


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None, [1], {"v": 1}],
                         ids=repr)
def test_a_format_version_that_is_not_one_is_refused(good, tmp_path, version):
    header, arrays = contents(good)
    header["format_version"] = version
    text = refused(rewrite(header, arrays, tmp_path / "version.npz"),
                   "format_version must be a positive integer, got ")
    assert text.endswith(f"got {version!r}")
    del header["format_version"]
    refused(rewrite(header, arrays, tmp_path / "version.npz"),
            "format_version must be a positive integer, got None")


@pytest.mark.parametrize("kind", ["Conv2D", "os.system", "dense", "Sequential", None, 3,
                                  ["Dense"], {"type": "Dense"}], ids=repr)
def test_an_unknown_layer_type_is_refused(good, tmp_path, kind):
    header, arrays = contents(good)
    header["layers"][0]["type"] = kind
    text = refused(rewrite(header, arrays, tmp_path / "edited.npz"),
                   r"layer model\[0\]'s type must be 'Dense' or 'Activation' \(a minibp file "
                   r"holds no other layers\), got ")
    assert text.endswith(f"got {kind!r}")


@pytest.mark.parametrize(("edit", "pattern"), [
    (lambda h, a: h["layers"][1].update(in_features=5),
     r"model\[1\].W must be float64 of shape \(2, 5\), got float64 of shape \(2, 4\)"),
    (lambda h, a: a.update({"model[0].b": np.full(4, np.nan)}),
     r"model\[0\].b must be finite, got 4 NaN or inf values"),
    (lambda h, a: h.update(format="keras"), "its header's format is 'keras', expected 'minibp'"),
    (lambda h, a: h["layers"][0].update(dtype="int64"),
     r"model\[0\]'s dtype must be one of \['float32', 'float64'\], got 'int64'"),
    (lambda h, a: h["layers"][0].update(frozen=["W", "__class__"]),
     r"model\[0\]'s frozen must be a list of 'W' and 'b'"),
    (lambda h, a: h["layers"][0].update(frozen=[["W"]]),
     r"model\[0\]'s frozen must be a list of 'W' and 'b', got \[\['W'\]\]"),
    (lambda h, a: h["layers"][0].update(activation="eval"),
     r"activation 'eval' is not registered in this process"),
    (lambda h, a: h["layers"][0].update(in_features=10 ** 400),
     r"model\[0\].W must be float64 of shape \(4, 1000000"),
    (lambda h, a: h.update(loss={"type": "PickleLoss"}), "the loss must be one of"),
    (lambda h, a: h.update(loss={"type": ["MSE"]}), "the loss must be one of"),
    (lambda h, a: h["loss"].update(reduction={"mean": 1}), "the loss's reduction must be one of"),
    (lambda h, a: h["optimizer"].update(type="Lion"), "the optimizer must be one of"),
    (lambda h, a: h["optimizer"].update(type=["Adam"]), "the optimizer must be one of"),
    (lambda h, a: h["optimizer"]["settings"].update(betas=[0.9, 1.5]),
     r"the optimizer's settings are not valid \(Adam: betas\[1\] must be"),
    (lambda h, a: h["optimizer"]["settings"].update(eps=10 ** 400),
     r"the optimizer's settings are not valid \(int too large"),
    (lambda h, a: h["optimizer"].update(l2=10 ** 400), "the optimizer's l2 must be a number"),
    (lambda h, a: h["optimizer"].update(lr={"schedule": "StepDecay", "params": [0.1, 3]}),
     "the optimizer's lr schedule must be one of"),
    (lambda h, a: h["optimizer"].update(lr={"schedule": ["StepDecay"], "params": [0.1, 3, 1]}),
     "the optimizer's lr schedule must be one of"),
    (lambda h, a: h["optimizer"].update(lr={"schedule": "StepDecay", "params": [0.1, 0, 0.5]}),
     r"the optimizer's StepDecay is not valid \(StepDecay: step_size must be at least 1"),
    (lambda h, a: h["optimizer"].update(lr={"schedule": "ExponentialDecay",
                                            "params": [-0.1, 0.5]}),
     r"the optimizer's ExponentialDecay is not valid \(ExponentialDecay: lr must be"),
    (lambda h, a: a.pop("optimizer.model[0].W.exp_avg_sq"),
     r"the optimizer's state of model\[0\].W is incomplete \(1 of 2 arrays\)"),
    (lambda h, a: h["layers"].clear(), "the header's layers must be a non-empty list"),
    (lambda h, a: h.update(standardizer="mean"),
     "the header's standardizer must be a list of names, got 'mean'"),
], ids=["shape", "nan", "foreign-format", "dtype", "frozen", "frozen-unhashable",
        "activation", "huge-width", "loss", "loss-unhashable", "reduction-unhashable",
        "optimizer", "optimizer-unhashable", "optimizer-setting", "optimizer-huge-setting",
        "optimizer-huge-l2", "schedule-short", "schedule-unhashable", "schedule-refused",
        "exponential-refused", "optimizer-state", "empty", "standardizer"])
def test_hand_edited_headers_and_arrays(good, tmp_path, edit, pattern):
    header, arrays = contents(good)
    edit(header, arrays)
    header["arrays"] = {n: {"shape": list(a.shape), "dtype": a.dtype.name}
                        for n, a in arrays.items()}  # the table follows the arrays
    refused(rewrite(header, arrays, tmp_path / "edited.npz"), pattern)


def test_an_array_disagreeing_with_its_header_entry(good, tmp_path):
    header, arrays = contents(good)
    arrays["model[0].W"] = arrays["model[0].W"].astype(np.float32)
    refused(rewrite(header, arrays, tmp_path / "edited.npz"),
            r"model\[0\].W must be float64 of shape \[4, 3\] \(as the header says\), got "
            r"float32 of shape \[4, 3\]")


def test_every_array_problem_of_a_file_is_in_one_error(good, tmp_path):
    """Against the header's table: missing, unlisted, mis-shaped, wrong dtype, not finite."""
    header, arrays = contents(good)
    del arrays["model[1].b"], arrays["optimizer.model[0].b.exp_avg"]
    arrays["stowaway"] = np.zeros(2)
    arrays["model[0].W"] = np.zeros((4, 4))
    arrays["model[1].W"] = np.full((2, 4), np.inf)
    arrays["model[0].b"] = np.zeros(4, np.int64)
    text = refused(rewrite(header, arrays, tmp_path / "edited.npz"), "6 problems")
    for part in ["the arrays must be those the header describes, got 6 problems: ",
                 "missing ['model[1].b', 'optimizer.model[0].b.exp_avg']",
                 "not listed in the header ['stowaway']",
                 "model[0].W must be float64 of shape [4, 3] (as the header says), got "
                 "float64 of shape [4, 4]",
                 "model[1].W must be finite, got 8 NaN or inf values",
                 "model[0].b must be float32 or float64, got int64"]:
        assert part in text


def test_every_array_problem_against_the_layers_is_in_one_error(good, tmp_path):
    """With a table that agrees with the arrays: arrays the layers, the optimizer or the
    standardizer need and lack, or have another shape, and arrays nothing uses."""
    header, arrays = contents(good)
    del arrays["model[1].b"]
    arrays["model[0].W"] = np.zeros((4, 5))
    arrays["optimizer.model[1].W.exp_avg"] = np.zeros((3, 3))
    arrays["stowaway"] = np.zeros(2)
    arrays["optimizer.model[7].W.exp_avg"] = np.zeros(2)
    header["standardizer"] = ["mean", "scale"]
    arrays["standardizer.mean"] = np.zeros(3)
    header["arrays"] = {n: {"shape": list(a.shape), "dtype": a.dtype.name}
                        for n, a in arrays.items()}
    text = refused(rewrite(header, arrays, tmp_path / "edited.npz"), "6 problems")
    for part in ["missing ['model[1].b', 'standardizer.scale']",
                 "used by no layer, optimizer or standardizer ['optimizer.model[7].W.exp_avg', "
                 "'stowaway']",
                 "model[0].W must be float64 of shape (4, 3), got float64 of shape (4, 5)",
                 "optimizer.model[1].W.exp_avg must have the shape of model[1].W, (2, 4), got "
                 "(3, 3)"]:
        assert part in text


def test_load_weights_names_every_layer_that_differs(tmp_path):
    stored, model = minibp.mlp([3, 5, 2], seed=0), minibp.mlp([3, 6, 2], seed=0)
    stored.save(tmp_path / "m.npz")
    with pytest.raises(minibp.CheckpointError) as caught:
        model.load_weights(tmp_path / "m.npz")
    assert str(caught.value) == (
        f"{tmp_path / 'm.npz'}: the file must hold this model's architecture, got 2 layers "
        f"that differ: model[0] is {stored[0]!r} in the file, {model[0]!r} in the model; "
        f"model[1] is {stored[1]!r} in the file, {model[1]!r} in the model")


def test_load_optimizer_names_every_parameter_that_differs(tmp_path):
    minibp.mlp([2, 3, 1], seed=0).save(tmp_path / "m.npz", optimizer=minibp.Adam())
    with pytest.raises(minibp.CheckpointError) as caught:
        minibp.load_optimizer(tmp_path / "m.npz", minibp.mlp([2, 4, 1], seed=0))
    assert str(caught.value).count(" in the model, shape ") == 3  # W, b of model[0]; W of [1]


def test_the_header_records_versions_and_arrays(good):
    header, arrays = contents(good)
    assert header["format"] == "minibp" and header["format_version"] == files.FORMAT_VERSION
    assert header["minibp_version"] == minibp.__version__
    assert header["arrays"]["model[0].W"] == {"shape": [4, 3], "dtype": "float64"}
    assert header["loss"] == {"type": "SoftmaxCrossEntropy", "reduction": "mean"}
    assert sorted(arrays) == sorted(header["arrays"])


# -- fuzzing: nothing but a CheckpointError ever escapes ------------------------------------
FUZZ = settings(derandomize=True, max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


class Sample:
    """A folder to write in and the bytes of a good file there (shown short by hypothesis)."""

    def __init__(self, folder):
        model = good_model()
        scaler = minibp.datasets.Standardizer().fit(np.arange(12.0).reshape(4, 3))
        model.save(folder / "good.npz", optimizer=_trained_adam(model), standardizer=scaler)
        self.folder, self.data = folder, (folder / "good.npz").read_bytes()
        self.header, self.arrays = contents(folder / "good.npz")

    def __repr__(self):
        return f"Sample({self.folder / 'good.npz'})"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return Sample(tmp_path_factory.mktemp("fuzz"))


def every_loader(path, *, refuse):
    """minibp.load and load_weights each load path or raise a CheckpointError naming it (with
    refuse, both raise); what minibp.load loads, load_optimizer and load_standardizer load
    too, or refuse with a CheckpointError."""
    model = minibp.mlp([3, 4, 2], "sigmoid", seed=1)
    outcomes = [_outcome(load, path) for load in (minibp.load, model.load_weights)]
    event(f"minibp.load: {outcomes[0]}")
    if refuse or outcomes[0] == "refused":
        assert outcomes == ["refused", "refused"]
    if outcomes[0] == "loaded":
        _outcome(lambda p: minibp.load_optimizer(p, minibp.load(p)), path)
        _outcome(minibp.load_standardizer, path)


def _outcome(load, path) -> str:
    try:
        load(path)
    except minibp.CheckpointError as error:
        assert str(error).startswith(f"{path}: ")
        return "refused"
    return "loaded"


STARTS = [b"", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", npy.MAGIC_PREFIX + b"\x01\x00",
          b"\x80\x04\x95", b"{"]


@FUZZ
@given(start=st.sampled_from(STARTS), data=st.binary(max_size=3000))
def test_arbitrary_bytes_are_refused(sample, start, data):
    (sample.folder / "noise.npz").write_bytes(start + data)
    every_loader(sample.folder / "noise.npz", refuse=True)


@st.composite
def mutations(draw, original):
    """original with a few bytes flipped, set, deleted or inserted, or cut short or grown."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "delete", "insert", "cut", "append"]))
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "cut":
            del data[at:]
        else:
            data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@FUZZ
@given(data=st.data())
def test_mutations_of_a_good_file_are_refused(sample, data):
    """The seal makes every change refused, wherever it falls."""
    mutated = data.draw(mutations(sample.data))
    assume(mutated != sample.data)
    (sample.folder / "mutated.npz").write_bytes(mutated)
    every_loader(sample.folder / "mutated.npz", refuse=True)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["Dense", "Activation", "relu", "float32", "W", "b", "SGD", "Adam",
                       "StepDecay", "callable", "mean", "MSE", "sha256", "minibp"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=8)
ARRAYS = hnp.arrays(st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.bool_,
                                     np.complex128, np.dtype("U3"), np.dtype("M8[s]"),
                                     np.dtype(">f8")]),
                    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))


def edit_somewhere(draw, value):
    """value (a JSON tree) with one entry somewhere replaced, removed or added."""
    if isinstance(value, (dict, list)) and value and draw(st.integers(0, 4)):
        key = draw(st.sampled_from(sorted(value) if isinstance(value, dict)
                                   else range(len(value))))
        value[key] = edit_somewhere(draw, value[key])
        return value
    if isinstance(value, dict) and draw(st.booleans()):
        choice = draw(st.sampled_from([*sorted(value), "new"]))
        if choice in value and draw(st.booleans()):
            del value[choice]
        else:
            value[choice] = draw(JSON)
        return value
    return draw(JSON)


@FUZZ
@given(data=st.data())
def test_sealed_files_with_edited_headers_and_arrays_load_or_are_refused(sample, data):
    """Well-formed, sealed files whose header (any JSON, anywhere) or arrays (any dtype and
    shape, added, removed) were edited: loaded, or a CheckpointError."""
    header, arrays = copy.deepcopy(sample.header), dict(sample.arrays)
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            header = edit_somewhere(data.draw, header)
        else:
            name = data.draw(st.sampled_from([*sorted(arrays), "model[2].W", "stowaway"]))
            if name in arrays and data.draw(st.booleans()):
                del arrays[name]
            else:
                arrays[name] = data.draw(ARRAYS)
    if data.draw(st.booleans()) and isinstance(header, dict):  # the table follows the arrays
        header["arrays"] = {n: {"shape": list(a.shape), "dtype": a.dtype.name}
                            for n, a in arrays.items()}
    rewrite(header, arrays, sample.folder / "edited.npz")
    every_loader(sample.folder / "edited.npz", refuse=False)
