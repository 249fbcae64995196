"""Sequential.to_onnx: a model as an ONNX graph that onnxruntime (or any runtime) can run.

The graph is what predict computes, op for op: per Dense layer one Gemm (Y = X @ W.T + b,
transB=1, so W is stored as it is, (out_features, in_features)) followed by its fused
activation (Sigmoid, Tanh or Relu; identity adds nothing), and per activation layer its op.
An optional head turns the outputs into predict_proba's probabilities (Softmax on the last
axis, or Sigmoid). The batch dimension is symbolic ("batch"); the tensors are float32 or
float64 as the layers are (a Cast goes in front of a Dense layer whose dtype differs from
the values reaching it). onnxruntime has double kernels for every op used here on CPU.

The graph is built with onnx.helper, checked with onnx.checker.check_model (full check,
with shape inference) and written atomically, like ``save``. onnx is imported only here,
on the first export: importing minibp never imports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minibp.checkpoint.atomic import write_atomically
from minibp.errors import expect_choice
from minibp.nn import Dense
from minibp.nn.activations import Identity, ReLU, Sigmoid, Tanh
from minibp.nn.cross_entropy import probability_link
from minibp.version import __version__

OPSET = 17          # ai.onnx opset: Gemm-13, Sigmoid-13, Tanh-13, Relu-14, Softmax-13, Cast-13
IR_VERSION = 8      # the lowest IR version that carries opset 17, so older runtimes read it
INPUT = "input"
OUTPUT = "output"                # head=None: the model's outputs, as predict gives them
PROBABILITIES = "probabilities"  # any head: predict_proba's values
BATCH = "batch"                  # the symbolic (dynamic) batch dimension
HEADS = ("softmax", "sigmoid", "proba")
INSTALL = "pip install 'minibp[onnx]'"

# The ONNX op of each activation minibp can export; registered activations of your own have
# no ONNX op we could check them against, so they are refused.
ACTIVATION_OPS = {"identity": None, "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
ACTIVATION_LAYERS = (Identity, Sigmoid, Tanh, ReLU)


def to_onnx(model, path, *, head: str | None = None) -> Path:
    """Write the model to exactly ``path`` as an ONNX graph, atomically like save; returns
    the path. Bound as the method Sequential.to_onnx(path, *, head=None).

    The graph (opset 17): a Gemm per Dense layer, then Sigmoid, Tanh or Relu; input "input"
    (batch, in_features), output "output" (batch, out_features), the batch dimension
    dynamic, float32 or float64 as the layers are. ``head``: None (predict's outputs),
    "softmax", "sigmoid", or "proba" (what predict_proba applies after the loss of the last
    fit); with a head the output is named "probabilities". A layer that is not Dense or an
    activation layer (Identity, Sigmoid, Tanh, ReLU), or a Dense layer with an activation
    of your own, is a TypeError naming it and its position, and nothing is written. Needs
    ``pip install 'minibp[onnx]'``; see docs/interop.md.
    """
    layers, loss = model.layers, model.loss
    onnx = _import_onnx()
    head_op = _head_op(head, loss)
    _check_exportable(layers)
    graph = _graph(onnx, layers, head_op, PROBABILITIES if head is not None else OUTPUT)
    proto = onnx.helper.make_model(graph, producer_name="minibp", producer_version=__version__,
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   ir_version=IR_VERSION, doc_string=_describe(layers))
    onnx.helper.set_model_props(proto, {"minibp_version": __version__,
                                        "head": head_op or "none",
                                        "layers": _describe(layers)})
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    return write_atomically(path, lambda file: _write_bytes(file, data))


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"to_onnx needs the onnx package, which is not installed: "
                          f"{INSTALL} (onnx and onnxruntime)") from error
    return onnx


def _write_bytes(file, data: bytes) -> None:
    """The serialized model into the temporary file (a function of its own so a test can
    cut the write short)."""
    file.write(data)


def _head_op(head, loss) -> str | None:
    """The op of the head: None, "Softmax" or "Sigmoid". "proba" follows the loss by the
    rule predict_proba follows (minibp.nn.cross_entropy.probability_link)."""
    if head is None:
        return None
    expect_choice(head, "head", "to_onnx", (*HEADS, None))
    link = probability_link(loss) if head == "proba" else head
    return {"softmax": "Softmax", "sigmoid": "Sigmoid", None: None}[link]


def _check_exportable(layers) -> None:
    """A TypeError for the first layer the graph cannot hold; each Dense's parameters must
    stand as predict would take them (shape, dtype, finite)."""
    for i, layer in enumerate(layers):
        if type(layer) is Dense:
            if layer.activation not in ACTIVATION_OPS:
                raise TypeError(
                    f"to_onnx: model[{i}] {layer!r} has the activation {layer.activation!r}, "
                    f"which has no ONNX op here; exportable activations: "
                    f"{', '.join(ACTIVATION_OPS)}")
            layer.check_parameters("to_onnx")
        elif type(layer) not in ACTIVATION_LAYERS:
            raise TypeError(
                f"to_onnx: model[{i}] is a {type(layer).__name__} ({layer!r}); an ONNX export "
                "holds Dense layers and the activation layers Identity, Sigmoid, Tanh and "
                "ReLU only")


def _graph(onnx, layers, head_op, output_name):
    """The GraphProto: nodes, initializers (W and b, named as model.parameters() names
    them), the input (batch, in_features) and the output (batch, out_features)."""
    helper = onnx.helper
    dense = [layer for layer in layers if type(layer) is Dense]
    dtype = dense[0].dtype if dense else np.dtype(np.float64)
    in_width = dense[0].in_features if dense else "features"
    out_width = dense[-1].out_features if dense else in_width
    nodes, initializers, current = [], [], INPUT
    for i, layer in enumerate(layers):
        if type(layer) is Dense:
            if layer.dtype != dtype:
                dtype = layer.dtype
                nodes.append(helper.make_node("Cast", [current], [f"model[{i}].X"],
                                              name=f"model[{i}].Cast",
                                              to=helper.np_dtype_to_tensor_dtype(dtype)))
                current = f"model[{i}].X"
            names = [f"model[{i}].W", f"model[{i}].b"]
            initializers += [onnx.numpy_helper.from_array(layer.W, names[0]),
                             onnx.numpy_helper.from_array(layer.b, names[1])]
            nodes.append(helper.make_node("Gemm", [current, *names], [f"model[{i}].Z"],
                                          name=f"model[{i}].Gemm", transB=1))
            current = f"model[{i}].Z"
        op = ACTIVATION_OPS[layer.activation if type(layer) is Dense else layer.name]
        if op is not None:
            nodes.append(helper.make_node(op, [current], [f"model[{i}].A"],
                                          name=f"model[{i}].{op}"))
            current = f"model[{i}].A"
    if head_op is not None:
        nodes.append(helper.make_node(head_op, [current], ["head"], name=f"head.{head_op}",
                                      **({"axis": -1} if head_op == "Softmax" else {})))
    if not nodes:  # identity layers only: the output is still a tensor of its own
        nodes.append(helper.make_node("Identity", [current], ["identity"], name="Identity"))
    nodes[-1].output[0] = output_name
    first = dense[0].dtype if dense else np.dtype(np.float64)
    inputs = [_value_info(onnx, INPUT, first, in_width)]
    outputs = [_value_info(onnx, output_name, dtype, out_width)]
    return helper.make_graph(nodes, "minibp.Sequential", inputs, outputs,
                             initializer=initializers)


def _value_info(onnx, name: str, dtype, width):
    return onnx.helper.make_tensor_value_info(
        name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), [BATCH, width])


def _describe(layers) -> str:
    return "Sequential(" + ", ".join(repr(layer) for layer in layers) + ")"
