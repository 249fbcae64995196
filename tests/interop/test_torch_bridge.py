"""minibp.torch: Sequential <-> torch.nn.Sequential, optimizers with their state, and DDP.

Independent reference: PyTorch itself. Outputs, input gradients and parameter gradients of
a converted model must match torch's autograd to 1e-12 (float64), both directions, and a
model trained part of the way in one library and the rest in the other must end where one
that stayed would (torch.optim's own SGD, Adam and AdamW; 1e-10). The DDP test runs
docs/examples/ddp_train.py in two processes over gloo and compares it with one process.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minibp
from minibp import SGD, Adam, AdamW

torch = pytest.importorskip("torch")
from minibp.torch import (  # noqa: E402  (after the skip: needs torch)
    from_torch,
    from_torch_optimizer,
    to_torch,
    to_torch_optimizer,
)

ROOT = Path(__file__).resolve().parents[2]
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu"]
TORCH_ACTIVATION = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}


def close(mine, theirs, tol):
    """max |mine - theirs| <= tol * max(1, max |theirs|); theirs may be a tensor."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert mine.shape == theirs.shape
    gap = np.max(np.abs(mine - theirs))
    assert gap <= tol * max(1.0, np.max(np.abs(theirs))), f"differ by {gap:.2e}"


def random_minibp(depth, seed):
    """Dense layers with random activations (one lone activation layer), float64."""
    rng = np.random.default_rng(seed)
    widths = rng.integers(1, 9, size=depth + 1)
    layers = [minibp.Dense(int(a), int(b), ACTIVATIONS[rng.integers(4)], seed=rng)
              for a, b in zip(widths[:-1], widths[1:])]
    layers[0].b[...] = rng.normal(size=layers[0].b.shape)
    layers.insert(1, [minibp.Sigmoid, minibp.Tanh, minibp.ReLU, minibp.Identity][seed % 4]())
    return minibp.Sequential(layers), rng


def random_torch(depth, seed):
    """Linear layers (some without bias) each followed by a random activation, float64."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    widths = rng.integers(1, 9, size=depth + 1)
    modules = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        modules.append(torch.nn.Linear(int(a), int(b), bias=i % 2 == 0, dtype=torch.float64))
        name = ACTIVATIONS[rng.integers(4)]
        modules += [TORCH_ACTIVATION[name]()] if name != "identity" else []
    return torch.nn.Sequential(*modules), rng


def compare_forward_backward(model, net, rng, tol=1e-12):
    """Outputs, dX and every parameter gradient under a random upstream gradient."""
    X = rng.normal(size=(7, model[0].in_features))
    A = model.forward(X)
    G = rng.normal(size=A.shape)
    dX = model.backward(G)
    X_t = torch.from_numpy(X).requires_grad_(True)
    A_t = net(X_t)
    A_t.backward(torch.from_numpy(G))
    close(A, A_t, tol)
    close(dX, X_t.grad, tol)
    tensors = [t for m in net if isinstance(m, torch.nn.Linear) for t in (m.weight, m.bias)]
    for p, tensor in zip(model.parameters(), tensors):
        if tensor is not None and tensor.requires_grad:
            close(p.grad, tensor.grad, tol)


# -- the mapping -------------------------------------------------------------------------
def test_to_torch_maps_each_layer_and_keeps_dtype():
    model = minibp.Sequential(minibp.Dense(3, 4, "relu", seed=0), minibp.Dense(4, 4, seed=1),
                              minibp.Tanh(), minibp.Identity(), minibp.Dense(4, 2, "sigmoid"))
    net = to_torch(model)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "Tanh", "Identity",
                                               "Linear", "Sigmoid"]
    assert {p.dtype for p in net.parameters()} == {torch.float64}
    assert {p.dtype for p in to_torch(model.astype(np.float32)).parameters()} == {torch.float32}
    back = from_torch(net)  # a Linear's activation is fused into its Dense, wherever it was
    assert [repr(layer) for layer in back] == ["Dense(3 -> 4, relu)", "Dense(4 -> 4, tanh)",
                                               "Identity()", "Dense(4 -> 2, sigmoid)"]


def test_values_are_copied_not_shared():
    model = minibp.examples.chapter_network()
    net = to_torch(model)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert model[0].W[0, 0] == 0.15
    back = from_torch(net)
    back[0].W[...] = 0.0
    assert net[0].weight[0, 0].item() == 1.15


def test_requires_grad_false_is_frozen_and_back():
    model = minibp.examples.chapter_network()  # biases frozen
    net = to_torch(model)
    assert [p.requires_grad for p in net.parameters()] == [True, False, True, False]
    net[2].weight.requires_grad_(False)
    assert [p.frozen for p in from_torch(net).parameters()] == [False, True, True, True]


def test_linear_without_bias_is_a_frozen_zero_bias():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False, dtype=torch.float64))
    model = from_torch(net)
    assert model[0].b.tolist() == [0.0, 0.0] and model.parameters()[1].frozen
    X, Y = np.ones((4, 3)), np.zeros((4, 2))
    model.fit(X, Y, loss="mse", optimizer=AdamW(0.1, weight_decay=0.5), epochs=3, verbose=0)
    assert model[0].b.tolist() == [0.0, 0.0]


def test_to_torch_leaves_torchs_generator_alone():
    state = torch.random.get_rng_state()
    to_torch(minibp.mlp([5, 40, 3], "tanh", seed=0))
    assert torch.equal(state, torch.random.get_rng_state())


class Doubler(minibp.Layer):
    def forward(self, X):
        return 2 * X


@pytest.mark.parametrize("module,index", [
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()), 1),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(dim=1)), 1),
    (torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2))), 0),
    (torch.nn.Sequential(torch.nn.Tanh(), torch.nn.LeakyReLU()), 1),
    (torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.LazyLinear(2)), 2),
])
def test_from_torch_refuses_the_rest_naming_index_and_repr(module, index):
    with pytest.raises(TypeError, match=r"from_torch: cannot convert module \[\d\]") as error:
        from_torch(module)
    assert f"[{index}] {' '.join(repr(module[index]).split())}"[:60] in str(error.value)


def test_from_torch_refuses_half_precision_and_non_modules():
    with pytest.raises(minibp.DTypeError, match=r"module \[0\].*float16"):
        from_torch(torch.nn.Linear(2, 2).half())
    with pytest.raises(TypeError, match="Conv1d"):
        from_torch(torch.nn.Conv1d(1, 1, 1))


def test_to_torch_refuses_custom_layers_and_activations(monkeypatch):
    with pytest.raises(TypeError, match=r"to_torch: cannot convert model\[1\] .*Doubler"):
        to_torch(minibp.Sequential(minibp.Dense(2, 2), Doubler()))

    class Square(minibp.ActivationLayer):
        name = "square"
        function = staticmethod(np.square)

    monkeypatch.setitem(minibp.nn.activations.ACTIVATIONS, "square", Square)
    with pytest.raises(TypeError, match=r"model\[0\] Dense\(2 -> 2, square\).*'square'"):
        to_torch(minibp.Sequential(minibp.Dense(2, 2, "square")))


# -- exactness: outputs and gradients ------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(4))
def test_minibp_to_torch_agrees_to_1e_12(depth, seed):
    model, rng = random_minibp(depth, seed)
    compare_forward_backward(model, to_torch(model), rng)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(4))
def test_torch_to_minibp_agrees_to_1e_12(depth, seed):
    net, rng = random_torch(depth, seed)
    compare_forward_backward(from_torch(net), net, rng)


def test_the_chapter_network_agrees_both_ways():
    model = minibp.examples.chapter_network()
    compare_forward_backward(model, to_torch(model), np.random.default_rng(0))
    net = to_torch(model)
    compare_forward_backward(from_torch(net), net, np.random.default_rng(1))


# -- training continues across the bridge --------------------------------------------------
OPTIMIZERS = {  # minibp's, torch's with the same settings
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (lambda: SGD(0.05, 0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "nesterov_decay": (lambda: SGD(0.05, 0.8, nesterov=True, weight_decay=0.01),
                       lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                                 weight_decay=0.01)),
    "adam": (lambda: Adam(0.01, betas=(0.8, 0.99), weight_decay=0.02),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.02)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}
BATCH, EPOCHS = 5, 4  # 20 rows: 4 steps an epoch, EPOCHS in each library


def problem(name):
    """(model, X, Y): the chapter's network on its one sample, or a random tanh network."""
    if name == "chapter":
        return (minibp.examples.chapter_network(), *minibp.examples.chapter_data())
    rng = np.random.default_rng(7)
    model = minibp.mlp([3, 6, 5, 2], "tanh", "sigmoid", seed=rng)
    return model, rng.normal(size=(20, 3)), rng.random(size=(20, 2))


def fit_minibp(model, optimizer, X, Y, engine="numpy"):
    model.fit(X, Y, loss=minibp.MSE(), optimizer=optimizer, epochs=EPOCHS, batch_size=BATCH,
              shuffle=False, verbose=0, engine=engine)


def fit_torch(net, optimizer, X, Y):
    """What fit does, in torch: EPOCHS passes over the unshuffled batches, mean loss."""
    for _ in range(EPOCHS):
        for start in range(0, len(X), BATCH):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(net(torch.from_numpy(X[start:start + BATCH])),
                                         torch.from_numpy(Y[start:start + BATCH])).backward()
            optimizer.step()


def weights_close(model, net, tol=1e-10):
    """Every parameter, and the predictions on random inputs, to tol."""
    for p, q in zip(model.parameters(), from_torch(net).parameters(), strict=True):
        close(p.value, q.value, tol)
    X = np.random.default_rng(3).normal(size=(6, model[0].in_features))
    with torch.no_grad():
        close(model.predict(X, engine="numpy"), net(torch.from_numpy(X)), tol)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("network", ["random", "chapter"])
def test_minibp_then_torch_equals_minibp_throughout(network, name):
    ours, _ = OPTIMIZERS[name]
    stayed, X, Y = problem(network)
    optimizer = ours()
    fit_minibp(stayed, optimizer, X, Y)
    fit_minibp(stayed, optimizer, X, Y)

    moved, _, _ = problem(network)
    optimizer = ours()
    fit_minibp(moved, optimizer, X, Y)
    net = to_torch(moved)
    fit_torch(net, to_torch_optimizer(optimizer, moved, net), X, Y)
    weights_close(stayed, net)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("network", ["random", "chapter"])
def test_torch_then_minibp_equals_torch_throughout(network, name):
    _, theirs = OPTIMIZERS[name]
    model, X, Y = problem(network)
    stayed = to_torch(model)
    optimizer = theirs(stayed.parameters())
    fit_torch(stayed, optimizer, X, Y)
    fit_torch(stayed, optimizer, X, Y)

    net = to_torch(model)
    optimizer = theirs(net.parameters())
    fit_torch(net, optimizer, X, Y)
    moved = from_torch(net)
    fit_minibp(moved, from_torch_optimizer(optimizer, net, moved), X, Y)
    weights_close(moved, stayed)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_the_compiled_engines_state_crosses_too(name):
    ours, _ = OPTIMIZERS[name]
    stayed, X, Y = problem("random")
    optimizer = ours()
    fit_minibp(stayed, optimizer, X, Y, engine="numba")
    fit_minibp(stayed, optimizer, X, Y, engine="numba")
    moved, _, _ = problem("random")
    optimizer = ours()
    fit_minibp(moved, optimizer, X, Y, engine="blas")
    net = to_torch(moved)
    fit_torch(net, to_torch_optimizer(optimizer, moved, net), X, Y)
    weights_close(stayed, net)


def test_without_its_state_torch_would_take_another_path():
    """The state matters: a fresh torch optimizer after minibp's momentum ends elsewhere."""
    stayed, X, Y = problem("random")
    optimizer = SGD(0.05, 0.9)
    fit_minibp(stayed, optimizer, X, Y)
    fit_minibp(stayed, optimizer, X, Y)
    moved, _, _ = problem("random")
    fit_minibp(moved, SGD(0.05, 0.9), X, Y)
    net = to_torch(moved)
    fit_torch(net, torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9), X, Y)
    with pytest.raises(AssertionError, match="differ by"):
        weights_close(stayed, net)


# -- what the optimizer bridge refuses -----------------------------------------------------
def test_to_torch_optimizer_refuses_what_torch_lacks():
    model = minibp.mlp([2, 3, 1], seed=0)
    net = to_torch(model)
    with pytest.raises(ValueError, match="schedule"):
        to_torch_optimizer(SGD(minibp.optim.StepDecay(0.1, 10, 0.5)), model, net)
    with pytest.raises(ValueError, match="l2=0.1"):
        to_torch_optimizer(SGD(0.1, l2=0.1), model, net)
    with pytest.raises(ValueError, match="1 Dense layers, torch_module 2 Linear"):
        to_torch_optimizer(SGD(0.1), minibp.mlp([2, 1]), net)
    with pytest.raises(ValueError, match=r"model\[0\].W has shape \(3, 2\)"):
        to_torch_optimizer(SGD(0.1), model, to_torch(minibp.mlp([2, 4, 1])))


@pytest.mark.parametrize("make,match", [
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1), "dampening=0.1"),
    (lambda p: torch.optim.SGD(p, lr=0.1, maximize=True), "maximize=True"),
    (lambda p: torch.optim.Adam(p, amsgrad=True), "amsgrad=True"),
    (lambda p: torch.optim.RMSprop(p), "SGD, Adam and AdamW only, got RMSprop"),
    (lambda p: torch.optim.SGD([{"params": p[:2]}, {"params": p[2:], "lr": 1.0}], lr=0.1),
     "2 parameter groups"),
    (lambda p: torch.optim.SGD(p[:3], lr=0.1), r"does not hold model\[1\].b"),
])
def test_from_torch_optimizer_refuses_what_minibp_lacks(make, match):
    net = to_torch(minibp.mlp([2, 3, 1], seed=0))
    with pytest.raises((TypeError, ValueError), match=match):
        from_torch_optimizer(make(list(net.parameters())), net, from_torch(net))


def test_adam_step_counts_must_agree():
    """torch counts Adam's steps per parameter, minibp once for all: unequal counts refused."""
    model, X, Y = problem("random")
    net = to_torch(model)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    net[0].weight.requires_grad_(False)
    fit_torch(net, optimizer, X, Y)
    net[0].weight.requires_grad_(True)
    fit_torch(net, optimizer, X, Y)
    with pytest.raises(ValueError, match="different steps per parameter"):
        from_torch_optimizer(optimizer, net, from_torch(net))


# -- optional, and only on demand ----------------------------------------------------------
def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_without_torch_the_import_error_names_the_extra():
    result = run_python("import sys; sys.modules['torch'] = None; import minibp.torch")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "pip install 'minibp[torch]'" in result.stderr


def test_importing_minibp_does_not_import_torch():
    result = run_python("import sys, minibp; print('torch' in sys.modules, "
                        "'minibp.torch' in sys.modules)")
    assert result.stdout.split() == ["False", "False"], result.stderr


# -- scaling out: DistributedDataParallel over gloo, two processes -------------------------
def test_ddp_on_two_processes_equals_one(tmp_path):
    """docs/examples/ddp_train.py: two ranks, half of each global batch each, over
    127.0.0.1; the result must equal one process on the whole batches (minibp and torch)."""
    script = ROOT / "docs" / "examples" / "ddp_train.py"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if sys.platform.startswith("linux"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    for _ in range(2):  # a second try if another process took the free port meanwhile
        result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                                capture_output=True, text=True, env=env, timeout=120)
        if "address already in use" not in result.stderr.lower():
            break
    assert result.returncode == 0, result.stderr[-3000:]
    assert "predictions differ by at most" in result.stdout
    ddp = minibp.load(tmp_path / "model.minibp")

    spec = importlib.util.spec_from_file_location("ddp_train", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    model, X, Y = example.problem()
    net = to_torch(model)
    model.fit(X, Y, loss=minibp.MSE(), optimizer=SGD(example.LR, example.MOMENTUM),
              epochs=example.EPOCHS, batch_size=example.BATCH, shuffle=False, verbose=0,
              engine="numpy")
    optimizer = torch.optim.SGD(net.parameters(), lr=example.LR, momentum=example.MOMENTUM)
    for _ in range(example.EPOCHS):
        for X_batch, Y_batch in example.global_batches(X, Y):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(net(torch.from_numpy(X_batch)),
                                         torch.from_numpy(Y_batch)).backward()
            optimizer.step()
    weights_close(model, to_torch(ddp), tol=1e-12)
    weights_close(ddp, net, tol=1e-12)
    close(ddp.predict(X), np.load(tmp_path / "torch_predictions.npy"), 1e-12)
