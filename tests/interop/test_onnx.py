"""Sequential.to_onnx: the exported graph, run by onnxruntime, gives minibp's predict and
predict_proba; it is a valid ONNX model with the documented names, opset and dtypes; layers
it cannot hold are refused by name; the write is atomic; onnx is optional.

References: onnxruntime (an independent implementation of every op), the chapter's printed
forward pass (out_o1 = 0.75136507, out_o2 = 0.772928465), onnx.checker, and the old file's
bytes taken before a failed export.
"""

import subprocess
import sys

import numpy as np
import pytest

import minibp
from minibp import outputs
from minibp.checkpoint import atomic, onnx_export
from minibp.nn.activations import ACTIVATIONS, ActivationLayer, get_activation

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# of the largest output magnitude: float32 sums round at about 6e-8 each, float64 at 1e-16
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: X})[0]


def assert_close(got, expected, dtype):
    assert got.dtype == expected.dtype == dtype and got.shape == expected.shape
    scale = max(np.abs(expected).max(), np.finfo(dtype).tiny)
    assert np.abs(got - expected).max() <= TOLERANCE[dtype] * scale


def random_model(widths, activations, dtype, seed):
    """Dense layers, some with fused activations and some followed by activation layers."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (into, out) in enumerate(zip(widths[:-1], widths[1:])):
        act = activations[i % len(activations)]
        fused = rng.random() < 0.5
        layers.append(minibp.Dense(into, out, act if fused else None, seed=rng,
                                   b=rng.normal(size=out)))
        if not fused:
            layers.append(get_activation(act)())
    return minibp.Sequential(layers).astype(dtype)


CASES = [([3, 1], ["sigmoid"]), ([5, 8, 2], ["tanh", "relu"]),
         ([7, 13, 9, 4], ["relu", "sigmoid", "identity"]),
         ([2, 16, 16, 16, 3], ["tanh", "relu", "sigmoid"]), ([10, 32, 1], ["identity"])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_random_models_give_predict(tmp_path, dtype, case):
    widths, activations = CASES[case]
    model = random_model(widths, activations, dtype, seed=case)
    X = np.random.default_rng(100 + case).normal(scale=2.0, size=(11, widths[0])).astype(dtype)
    path = model.to_onnx(tmp_path / "m.onnx")
    assert path == tmp_path / "m.onnx"
    assert_close(run(path, X), model.predict(X), dtype)
    assert_close(run(path, X[:1]), model.predict(X[:1]), dtype)  # the batch is dynamic


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("loss", [minibp.SoftmaxCrossEntropy(), minibp.BinaryCrossEntropy(),
                                  minibp.BinaryCrossEntropy(from_logits=False), minibp.MSE(),
                                  None], ids=["xent", "bce-logits", "bce-probs", "mse", "none"])
def test_the_proba_head_gives_predict_proba(tmp_path, dtype, loss):
    model = random_model([4, 6, 3], ["tanh"], dtype, seed=7)
    model.loss = loss
    X = np.random.default_rng(1).normal(size=(9, 4)).astype(dtype)
    assert_close(run(model.to_onnx(tmp_path / "p.onnx", head="proba"), X),
                 model.predict_proba(X), dtype)


def test_proba_follows_the_loss_of_the_last_fit(tmp_path):
    X, y = minibp.datasets.make_moons(60, noise=0.2, seed=0)
    model = minibp.mlp([2, 8, 2], "tanh", None, seed=0)
    model.fit(X, y, loss="xent", optimizer=minibp.Adam(0.01), epochs=3, seed=0, verbose=0)
    path = model.to_onnx(tmp_path / "moons.onnx", head="proba")
    probabilities = run(path, X)
    assert_close(probabilities, model.predict_proba(X), np.float64)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    heads = [n.op_type for n in onnx.load(path).graph.node][-1:]
    assert heads == ["Softmax"]


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_explicit_heads(tmp_path, head):
    model = random_model([3, 5, 4], ["relu"], np.float64, seed=3)
    X = np.random.default_rng(2).normal(size=(6, 3))
    loss = minibp.SoftmaxCrossEntropy() if head == "softmax" else minibp.BinaryCrossEntropy()
    expected = outputs.probabilities(model.predict(X), loss)
    assert_close(run(model.to_onnx(tmp_path / "h.onnx", head=head), X), expected, np.float64)


def test_the_chapter_network(tmp_path):
    model = minibp.examples.chapter_network()
    X, _ = minibp.examples.chapter_data()
    out = run(model.to_onnx(tmp_path / "chapter.onnx"), X)
    assert np.allclose(out, [[0.75136507, 0.772928465]], atol=5e-9, rtol=0)  # the chapter's
    assert_close(out, model.predict(X), np.float64)
    assert_close(run(tmp_path / "chapter.onnx", X.astype(np.float64)),
                 model.predict(X), np.float64)


def test_the_graph_names_opset_dtypes_and_metadata(tmp_path):
    model = minibp.Sequential(minibp.Dense(3, 4, "relu", seed=0), minibp.Identity(),
                              minibp.Dense(4, 2, seed=1), minibp.Tanh()).astype(np.float32)
    proto = onnx.load(model.to_onnx(tmp_path / "g.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    graph = proto.graph
    assert [n.op_type for n in graph.node] == ["Gemm", "Relu", "Gemm", "Tanh"]
    assert all(a.i == 1 for n in graph.node if n.op_type == "Gemm" for a in n.attribute
               if a.name == "transB")
    (inp,), (out,) = graph.input, graph.output
    assert (inp.name, out.name) == ("input", "output")
    for value, width in ((inp, 3), (out, 2)):
        dims = value.type.tensor_type.shape.dim
        assert [dims[0].dim_param, dims[1].dim_value] == ["batch", width]
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    assert (proto.producer_name, proto.producer_version) == ("minibp", minibp.__version__)
    assert {p.key: p.value for p in proto.metadata_props}["minibp_version"] == minibp.__version__
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    assert set(weights) == {p.name for p in model.parameters()}
    assert all(np.array_equal(weights[p.name], p.value) and weights[p.name].dtype == p.value.dtype
               for p in model.parameters())


def test_a_float64_model_exports_a_float64_graph_and_mixed_dtypes_cast(tmp_path):
    model = minibp.Sequential(minibp.Dense(3, 5, "sigmoid", seed=0),
                              minibp.Dense(5, 2, seed=1).astype(np.float32))
    proto = onnx.load(model.to_onnx(tmp_path / "mixed.onnx"))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Sigmoid", "Cast", "Gemm"]
    X = np.random.default_rng(0).normal(size=(4, 3))
    assert_close(run(tmp_path / "mixed.onnx", X), model.predict(X), np.float32)


def test_activation_layers_only_still_give_an_output(tmp_path):
    model = minibp.Sequential(minibp.Identity())
    X = np.random.default_rng(0).normal(size=(3, 2))
    assert np.array_equal(run(model.to_onnx(tmp_path / "i.onnx"), X), X)


class Scale(minibp.Layer):
    """A layer of the test's own: A = 2 * X."""

    def forward(self, X):
        return 2 * X

    def backward(self, dA):
        return 2 * dA

    def parameters(self):
        return []


class Swish(ActivationLayer):
    name = "swish_for_onnx_test"

    @staticmethod
    def function(Z):
        return Z * minibp.nn.stable_sigmoid(Z)


def test_other_layers_are_refused_by_name_and_position(tmp_path, monkeypatch):
    path = tmp_path / "refused.onnx"
    model = minibp.Sequential(minibp.Dense(2, 3, seed=0), minibp.Tanh(), Scale())
    with pytest.raises(TypeError, match=r"model\[2\] is a Scale"):
        model.to_onnx(path)
    monkeypatch.setitem(ACTIVATIONS, Swish.name, Swish)
    model = minibp.Sequential(minibp.Dense(2, 3, seed=0), minibp.Dense(3, 1, Swish.name))
    with pytest.raises(TypeError, match=r"model\[1\] Dense\(3 -> 1, swish_for_onnx_test\)"):
        model.to_onnx(path)
    with pytest.raises(TypeError, match=r"model\[0\] is a Swish"):
        minibp.Sequential(Swish(), minibp.Dense(2, 1)).to_onnx(path)
    assert not path.exists()


def test_bad_heads_and_non_finite_weights_are_refused(tmp_path):
    model = minibp.mlp([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="head must be one of"):
        model.to_onnx(tmp_path / "x.onnx", head="logits")
    model[0].W[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"to_onnx: model\[0\].W"):
        model.to_onnx(tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["oserror", "ctrl-c"])
def test_an_export_cut_short_leaves_the_old_file_whole(tmp_path, monkeypatch, error):
    path = minibp.mlp([3, 4, 2], seed=0).to_onnx(tmp_path / "m.onnx")
    before = path.read_bytes()
    written = []

    def halfway(file, data):
        file.write(data[: len(data) // 2])
        file.flush()
        written.append(atomic.partials_of(path))
        raise error

    monkeypatch.setattr(onnx_export, "_write_bytes", halfway)
    with pytest.raises(type(error)):
        minibp.mlp([3, 40, 2], seed=1).to_onnx(path)
    assert len(written[0]) == 1  # there was a half-written temporary file ...
    assert path.read_bytes() == before  # ... and the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_without_onnx_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'minibp\[onnx\]'"):
        minibp.mlp([2, 1], seed=0).to_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_importing_minibp_does_not_import_onnx():
    code = ("import sys, minibp; minibp.mlp([2, 3, 1], seed=0).predict([[0.0, 1.0]]); "
            "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
