"""One competitor in its own process: ``python -m benchmarks.worker``, driven over pipes.

The parent writes pickled requests to stdin and reads pickled replies from the original
stdout; anything the competitor prints goes to stderr, so it cannot corrupt a reply.
Requests: ("prepare", competitor_name, workload), ("time", runs), ("quit",).
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import time
import traceback


def threads_info() -> dict:
    """What this process computes with: BLAS and OpenMP pools, numba's and torch's threads."""
    info = {}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["threadpoolctl"] = "not installed"
    else:
        info["pools"] = [
            {key: pool.get(key) for key in ("user_api", "internal_api", "prefix", "version",
                                            "num_threads", "threading_layer", "architecture")}
            for pool in threadpool_info()
        ]
    if "numba" in sys.modules:
        import numba

        info["numba_num_threads"] = numba.config.NUMBA_NUM_THREADS
    if "torch" in sys.modules:
        import torch

        info["torch_num_threads"] = torch.get_num_threads()
        info["torch_num_interop_threads"] = torch.get_num_interop_threads()
    return info


def time_runs(runner, runs: int) -> dict:
    """Mean seconds of `runs` back-to-back trainings (each from the initial weights; the
    resets between them are not timed), and the final weights of the last one."""
    gc.collect()
    total = 0.0
    for _ in range(runs):
        runner.reset()
        start = time.perf_counter()
        runner.train()
        total += time.perf_counter() - start
    return {"seconds": total / runs, "weights": runner.weights()}


def handle(request, state) -> dict:
    kind = request[0]
    if kind == "prepare":
        from benchmarks.competitors import BY_NAME, UnavailableError

        try:
            state["runner"] = BY_NAME[request[1]].prepare(request[2])
        except UnavailableError as error:
            return {"ok": False, "reason": str(error)}
        return {"ok": True, "threads": threads_info()}
    if kind == "time":
        return {"ok": True, **time_runs(state["runner"], request[1])}
    raise ValueError(f"unknown request {kind!r}")


def reply_to(request, state) -> dict:
    """handle(), with any exception turned into a reply: the parent then reports this
    competitor as unavailable, with the reason, and the other competitors go on."""
    try:
        return handle(request, state)
    except Exception as error:
        return {"ok": False, "reason": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()}


def main() -> int:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                      # stray prints, even from C, go to stderr
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    state = {}
    while True:
        request = pickle.load(requests)
        if request[0] == "quit":
            return 0
        pickle.dump(reply_to(request, state), replies)
        replies.flush()


if __name__ == "__main__":
    sys.exit(main())
