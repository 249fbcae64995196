"""How long fit takes to end after Ctrl-C, on each engine and verbosity.

    python benchmarks/interrupt_latency.py [--repeats 5] [--write-docs]

Each engine and network runs in child processes of its own, one per way of showing progress:
verbose=0; verbose=1 with stdout not a terminal (/dev/null: plain lines); verbose=1 with
stdout a terminal (a pseudo-terminal the parent drains: the tqdm bar). A child builds its
data, warms the engine up (a short fit, so nothing is compiled while timed), times one epoch
(the verbose=0 child only), then `repeats` times: a new model, a line on stderr saying the
fit starts, and a fit long enough never to end by itself. The parent waits a delay drawn
from [0.5, 2] s and sends the child SIGINT, as a terminal's Ctrl-C does, from outside: a
signal sent from a thread of the child would wait for the GIL, which a compiled call holds.
The latency is from the signal to the child's `except KeyboardInterrupt`, both read on
time.monotonic() (CLOCK_MONOTONIC, one clock for every process of the machine). The child
also checks that the exception carries .history (a History, stopped_reason "interrupted")
and that every weight is finite. The issue's target: every latency under 0.5 s. A fit stops
only after a whole step (numpy, blas) or a whole compiled call (numba: at most about
CALL_SECONDS, 0.1 s, of steps, ending mid-epoch if need be), so that bounds the latency.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

TARGET_S = 0.5
MODES = {"0": (0, "devnull"), "1": (1, "devnull"), "1-tty": (1, "tty")}
MODE_LABELS = {"0": "0", "1": "1, stdout not a terminal", "1-tty": "1, stdout a terminal"}
# (engine, network, rows): the W3-like MLP on synthetic rows, or a 2-16-1 net on XOR-like data
CONFIGS = [("numpy", "784-256-128-10", 20_000), ("blas", "784-256-128-10", 20_000),
           ("numba", "2-16-1", 1_000), ("numba", "784-256-128-10", 2_000)]


# -- the child: python benchmarks/interrupt_latency.py --child '{...}' -------------------------
def workload(network: str, rows: int):
    """(X, y, a function making a fresh model, fit's arguments)."""
    import minibp

    rng = np.random.default_rng(0)
    if network == "2-16-1":
        X = rng.random((rows, 2))
        y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(np.float64)[:, None]
        return X, y, lambda: minibp.mlp([2, 16, 1], "tanh", "sigmoid", seed=0), {
            "loss": "mse", "optimizer": minibp.SGD(0.5), "batch_size": 32, "epochs": 10**7}
    X = rng.standard_normal((rows, 784))
    y = rng.integers(0, 10, rows)
    return X, y, lambda: minibp.mlp([784, 256, 128, 10], "sigmoid", None, seed=0), {
        "loss": "xent", "optimizer": minibp.SGD(0.01), "batch_size": 128, "epochs": 1_000}


def interrupted_fit(model, X, y, kwargs: dict) -> dict:
    """Tell the parent the fit starts, and run it until the parent's SIGINT ends it."""
    import minibp

    say("READY", time.monotonic())
    try:
        model.fit(X, y, **kwargs)
        return {"outcome": "fit returned before the signal"}
    except KeyboardInterrupt as error:
        caught = time.monotonic()
        history = getattr(error, "history", None)
    finite = all(bool(np.isfinite(p.value).all()) for p in model.parameters())
    return {"outcome": "interrupted", "caught": caught,
            "history": isinstance(history, minibp.History)
            and history.stopped_reason == "interrupted",
            "epochs_done": len(history.epoch) if history is not None else None,
            "finite": finite}


def say(kind: str, value) -> None:
    print(f"{kind} {json.dumps(value)}", file=sys.stderr, flush=True)


def child(spec: dict) -> None:
    X, y, make, kwargs = workload(spec["network"], spec["rows"])
    kwargs.update(engine=spec["engine"], verbose=spec["verbose"], seed=0)
    make().fit(X[:256], y[:256], **{**kwargs, "epochs": 2, "verbose": 0})  # compile, load
    if spec["time_epoch"]:
        started = time.perf_counter()
        make().fit(X, y, **{**kwargs, "epochs": 1, "verbose": 0})
        say("EPOCH", time.perf_counter() - started)
    for _ in range(spec["repeats"]):
        say("DONE", interrupted_fit(make(), X, y, kwargs))


# -- the parent ---------------------------------------------------------------------------------
def run_child(spec: dict) -> dict:
    """One child, its stdout /dev/null or a pseudo-terminal. It says on stderr when each fit
    starts; after the delay the parent sends SIGINT, noting time.monotonic() (one clock for
    every process: CLOCK_MONOTONIC), and the child answers with the time it caught it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    master = slave = None
    if spec["stdout"] == "tty":
        import pty

        master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL if slave is None else slave,
                               stderr=subprocess.PIPE, text=True)
    if slave is not None:
        os.close(slave)
        threading.Thread(target=_drain, args=(master,), daemon=True).start()
    delays = iter(np.random.default_rng(spec["seed"]).uniform(0.5, 2.0, spec["repeats"]))
    found, sent, other = {"epoch_s": None, "runs": []}, None, []
    for line in process.stderr:
        kind, _, value = line.partition(" ")
        if kind == "READY":
            ready = time.monotonic()
            time.sleep(next(delays))
            sent = time.monotonic()
            os.kill(process.pid, signal.SIGINT)
            found["runs"].append({"signal_after_s": sent - ready})
        elif kind == "DONE":
            done = json.loads(value)
            done["latency_s"] = done.pop("caught") - sent if "caught" in done else None
            found["runs"][-1].update(done)
        elif kind == "EPOCH":
            found["epoch_s"] = json.loads(value)
        else:
            other.append(line)
    if process.wait() != 0 or len(found["runs"]) != spec["repeats"]:
        raise RuntimeError(f"child {spec} failed ({process.returncode}):\n"
                           + "".join(other)[-2000:])
    if master is not None:
        os.close(master)
    return found


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:  # EIO once the child's side closes
        pass


def measure(repeats: int, log) -> list[dict]:
    rows = []
    for index, (engine, network, n) in enumerate(CONFIGS):
        epoch_s = None
        for m_index, (mode, (verbose, stdout)) in enumerate(MODES.items()):
            spec = {"engine": engine, "network": network, "rows": n, "verbose": verbose,
                    "stdout": stdout, "repeats": repeats, "seed": 100 * index + m_index,
                    "time_epoch": m_index == 0}
            found = run_child(spec)
            epoch_s = found["epoch_s"] if found["epoch_s"] is not None else epoch_s
            rows.append({**spec, "mode": mode, "epoch_s": epoch_s, "runs": found["runs"]})
            latencies = [r.get("latency_s", float("nan")) for r in found["runs"]]
            log(f"{engine} {network} verbose={mode}: max latency {max(latencies):.3f} s")
    return rows


def table(rows: list[dict]) -> tuple[str, bool]:
    from benchmarks import report

    lines, every = [], True
    for row in rows:
        runs = row["runs"]
        done = [r for r in runs if r["outcome"] == "interrupted"]
        latencies = [r["latency_s"] for r in done]
        ok = len(done) == len(runs) and max(latencies) < TARGET_S
        every &= ok
        lines.append([
            f"`{row['engine']}`", f"{row['network']}, {row['rows']:,} rows", MODE_LABELS[
                row["mode"]], report.secs(row["epoch_s"]), f"{len(done)}/{len(runs)}",
            report.ms(float(np.median(latencies))) if latencies else "-",
            report.ms(max(latencies)) if latencies else "-",
            f"{sum(r['history'] for r in done)}/{len(done)}",
            f"{sum(r['finite'] for r in done)}/{len(done)}", "yes" if ok else "**no**"])
    header = ["engine", "network, data", "verbose", "one epoch (s)", "interrupted",
              "latency median (ms)", "latency max (ms)", ".history", "weights finite",
              f"every latency < {TARGET_S} s"]
    return report.table(header, lines), every


def main(argv=None) -> int:
    from benchmarks import standalone

    args = standalone.parse(__doc__.split("\n")[0], "benchmarks/interrupt_latency.py", 5, argv)
    run = standalone.Run(args.command)
    rows = measure(args.repeats, standalone.log)
    text, every = table(rows)
    body = "\n\n".join([
        run.machine_text(),
        f"Each row: one child process, {args.repeats} interrupted fits after delays of 0.5 to "
        "2 s; latency from the signal to `except KeyboardInterrupt`.",
        text,
        f"Target (every fit ends within {TARGET_S} s of the signal, on every engine and "
        f"verbosity): {'met' if every else '**not met**'}.",
    ])
    run.finish("interrupt-latency", body, args.write_docs, {"interrupt_latency": rows})
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child(json.loads(sys.argv[2])))
    sys.exit(main())
