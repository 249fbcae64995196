"""The PyTorch bridge: a minibp Sequential as a torch.nn.Sequential and back, and an
optimizer's state with it, so training can move between the two and scale out with
torch.nn.parallel.DistributedDataParallel (docs/interop.md).

    to_torch(model) -> torch.nn.Sequential         Dense -> Linear (+ Sigmoid/Tanh/ReLU)
    from_torch(module) -> minibp.Sequential          Linear (+ activation) -> Dense
    to_torch_optimizer(optimizer, model, module)     SGD/Adam/AdamW with their state
    from_torch_optimizer(optimizer, module, model)   and back

Values are copied both ways (the two models share no memory); requires_grad=False maps to a
frozen parameter and back. Needs the extra: pip install 'minibp[torch]'. Importing minibp
never imports this module (torch is optional and slow to import).
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (the real PyTorch: imports are absolute)
except ImportError as error:
    raise ImportError("minibp.torch needs PyTorch, which could not be imported "
                      f"({error}); install it with: pip install 'minibp[torch]'") from error

from minibp.torch.modules import from_torch, to_torch
from minibp.torch.optimizers import from_torch_optimizer, to_torch_optimizer

__all__ = ["to_torch", "from_torch", "to_torch_optimizer", "from_torch_optimizer"]
