"""Every engine against torch.optim: 100 steps of SGD (momentum, Nesterov, weight decay), Adam
and AdamW training random networks, in float64.

Independent reference: PyTorch training a copy of the network (torch.nn.Linear layers given
our weights, which share their (out, in) layout) on the same batches, unshuffled, with
torch.nn.functional.mse_loss and torch's own optimizer. Weights and every epoch's mean loss
must agree to 1e-10 (relative to the largest value).
"""

import numpy as np
import pytest

import minibp
from minibp import SGD, Adam, AdamW

torch = pytest.importorskip("torch")

ENGINES = ["numpy", "numba", "blas"]
OPTIMIZERS = {  # ours, then torch's, same settings
    "momentum": (lambda: SGD(0.05, 0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "nesterov": (lambda: SGD(0.05, 0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "weight_decay": (lambda: SGD(0.05, 0.8, weight_decay=0.01),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, weight_decay=0.01)),
    "adam": (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_decay": (lambda: Adam(0.01, betas=(0.8, 0.99), weight_decay=0.02),
                   lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.02)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}
NETWORKS = [([4, 8, 3], 5, 50), ([3, 16, 9, 2], 10, 100)]  # (sizes, batch, n): 10 x 10 steps


def torch_twin(model):
    """torch Linear layers (tanh between) holding a copy of a float64 mlp's weights."""
    modules = []
    for i, layer in enumerate(model):
        linear = torch.nn.Linear(layer.in_features, layer.out_features).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W))
            linear.bias.copy_(torch.from_numpy(layer.b))
        modules += [linear] + ([torch.nn.Tanh()] if i < len(model) - 1 else [])
    return torch.nn.Sequential(*modules)


def torch_fit(net, optimizer, X, Y, epochs, batch):
    """The epochs' mean losses of torch training on the unshuffled batches."""
    losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch):
            optimizer.zero_grad()
            value = torch.nn.functional.mse_loss(net(torch.from_numpy(X[start:start + batch])),
                                                 torch.from_numpy(Y[start:start + batch]))
            value.backward()
            optimizer.step()
            total += value.item()
        losses.append(total / (len(X) // batch))
    return losses


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("sizes,batch,n", NETWORKS)
def test_100_steps_agree_with_torch(sizes, batch, n, name, engine):
    rng = np.random.default_rng(len(sizes) * 10 + n)
    model = minibp.mlp(sizes, "tanh", seed=rng)
    X, Y = rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))
    net = torch_twin(model)
    ours, theirs = OPTIMIZERS[name]
    epochs = 100 // (n // batch)
    history = model.fit(X, Y, loss=minibp.MSE(), optimizer=ours(), epochs=epochs,
                        batch_size=batch, shuffle=False, engine=engine, verbose=0)
    expected = torch_fit(net, theirs(net.parameters()), X, Y, epochs, batch)
    np.testing.assert_allclose(history["loss"], expected, rtol=1e-10)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model, linears):
        for mine, their in ((layer.W, linear.weight), (layer.b, linear.bias)):
            their = their.detach().numpy()
            assert np.max(np.abs(mine - their)) <= 1e-10 * np.max(np.abs(their))
