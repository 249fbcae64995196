"""Train a minibp model with torch DistributedDataParallel: two CPU processes, gloo backend.

    python docs/examples/ddp_train.py --out DIR [--port PORT]

The model is converted with minibp.torch.to_torch and wrapped in DDP in each process. Every
global batch of BATCH rows is split in two: rank r trains on its half. DDP averages the two
halves' gradients, so with a mean loss each update is single-process training's on the whole
batch (up to rounding). Rank 0 converts the trained network back with from_torch and writes
DIR/model.minibp (minibp.load reads it) and DIR/torch_predictions.npy (its outputs on X).
The parent then checks that against minibp trained in one process on the same batches.
tests/interop/test_torch_bridge.py runs this script.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import minibp
from minibp.torch import from_torch, to_torch

WORLD = 2                        # processes, one half of every batch each
EPOCHS, BATCH = 4, 16            # 128 rows: 8 global batches of 16 per epoch
LR, MOMENTUM = 0.05, 0.9


def problem():
    """The model and data, the same in every process (seeded): X (128, 4), Y (128, 3)."""
    rng = np.random.default_rng(0)
    model = minibp.mlp([4, 16, 8, 3], "tanh", seed=rng)
    X, Y = rng.normal(size=(128, 4)), rng.normal(size=(128, 3))
    return model, X, Y


def global_batches(X, Y):
    """The unshuffled global batches of BATCH rows."""
    for start in range(0, len(X), BATCH):
        yield X[start:start + BATCH], Y[start:start + BATCH]


def worker(rank: int, port: int, out: str) -> None:
    """One process: its half of every global batch, gradients averaged by DDP."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    try:
        model, X, Y = problem()
        net = DistributedDataParallel(to_torch(model))
        optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        half = BATCH // WORLD
        for _ in range(EPOCHS):
            for X_batch, Y_batch in global_batches(X, Y):
                mine = slice(rank * half, (rank + 1) * half)
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(net(torch.from_numpy(X_batch[mine])),
                                                    torch.from_numpy(Y_batch[mine]))
                loss.backward()  # DDP all-reduces (averages) the gradients here
                optimizer.step()
        if rank == 0:
            from_torch(net.module).save(Path(out) / "model.minibp")
            with torch.no_grad():
                np.save(Path(out) / "torch_predictions.npy",
                        net.module(torch.from_numpy(X)).numpy())
        dist.barrier()  # both ranks done before either tears the group down (a rank 1 that
        # went first aborted once in gloo, "terminate called without an active exception")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    """A port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the results")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    mp.spawn(worker, args=(args.port or free_port(), args.out), nprocs=WORLD)

    trained = minibp.load(Path(args.out) / "model.minibp")
    model, X, Y = problem()
    model.fit(X, Y, loss=minibp.MSE(), optimizer=minibp.SGD(LR, MOMENTUM), epochs=EPOCHS,
              batch_size=BATCH, shuffle=False, verbose=0)
    gap = np.max(np.abs(trained.predict(X) - model.predict(X)))
    print(f"DDP on {WORLD} processes vs minibp in one: predictions differ by at most {gap:.1e}")


if __name__ == "__main__":
    main()
