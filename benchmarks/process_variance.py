"""Why the same compiled loop runs at different speeds in different processes.

W1 (the chapter's 2-2-2 sigmoid network, 10,000 single-sample SGD steps at lr 0.5,
unshuffled) is timed in many fresh processes, the kinds (``--kinds``) interleaved in each:

- ``specialized``: ``model.fit`` on the numba engine, running the loop compiled for the
  model's structure (minibp.engines.specialize);
- ``generic``: the same fit on the generic loop (kernels/loop.py, as MINIBP_SPECIALIZE=0);
- ``floor``: the hand-written loop of benchmarks/competitors/numba_floor.py, called directly;
- ``locked``, ``unlocked``: two controls in C (built with ``cc`` on first use): 10,000
  "steps" of 10 locked increments and decrements (what numba's reference counting does)
  among stores, and the same with plain increments. Not by default (``--kinds all``).

Each child process warms every kind up, then times ``--repeats`` rounds (the order of the
kinds rotates every round), each call by wall clock (perf_counter) and by the thread's CPU
time (thread_time, which leaves out the time the thread was preempted), and reports the
addresses of the flat buffers and of the compiled code, the CPU each call ended on, its
context switches, the machine's steal time and which code it ran. The parent runs the
children one after another and prints, per kind, the median over processes of their
medians, the slowest/fastest process, the same for each process's fastest call and for CPU
time, how the processes' medians correlate between kinds, and how a fit's CPU time
correlates with its buffers' addresses modulo 64 and 4096.

    python benchmarks/process_variance.py --processes 20
    python benchmarks/process_variance.py --processes 20 --kinds all   # with the C controls
    python benchmarks/process_variance.py --processes 6 --env NUMBA_OPT=1
    python benchmarks/process_variance.py --processes 6 --env NUMBA_CPU_NAME=generic
    python benchmarks/process_variance.py --processes 12 --pin 0 1   # children pinned in turn
    python benchmarks/process_variance.py --code /tmp/code-a    # machine code of one process
    python benchmarks/process_variance.py --instructions 2      # instruction counts, callgrind

A run with NUMBA_ settings gets a numba cache folder of its own (numba's cache key has the
CPU name and features but not NUMBA_OPT). ``--code DIR`` writes the specialized
train_epochs' machine code as this process runs it (the bytes at its entry point,
disassembled by objdump), the object code numba loaded and their hashes, so two processes,
or a freshly compiled one and a cache-loaded one (NUMBA_CACHE_DIR and MINIBP_CACHE_DIR
pointing at an empty folder), can be diffed. ``--instructions N`` runs each kind in N
children under ``valgrind --tool=callgrind``, counting only inside compiled calls (numba's
call_cfunc), the mean of 3 fits; it sets NUMBA_CPU_NAME=generic unless --env says otherwise,
since valgrind emulates no AVX-512 and shows LLVM another CPU (so no cache entry would
match). The kernel gives this VM no hardware counters (``perf stat -e instructions``: not
supported), hence callgrind.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("specialized", "generic", "floor")
STEPS = 10_000
FITS = 2  # fits counted after the warm-up one under callgrind


LOCK_SOURCE = r"""
/* The specialized loop's pattern without its arithmetic: per step, 10 locked increments and
   10 locked decrements (numba's NRT_incref/NRT_decref) among stores; "unlocked" is the same
   with plain increments. */
#define STEP(INC, DEC) for (long k = 0; k < steps; k++) { for (int j = 0; j < 10; j++) { \
    INC; buf[j] = buf[j] * 0.999 + 1e-3; DEC; } s += buf[3]; }
double locked(long steps, volatile long *ref, double *buf) { double s = 0.0;
    STEP(__atomic_fetch_add(ref, 1, __ATOMIC_RELAXED), __atomic_fetch_sub(ref, 1,
         __ATOMIC_RELAXED)) return s; }
double unlocked(long steps, volatile long *ref, double *buf) { double s = 0.0;
    STEP(*ref += 1, *ref -= 1) return s; }
"""


def _lock_library():
    """LOCK_SOURCE compiled by the C compiler into a temporary folder, loaded by ctypes."""
    folder = Path(tempfile.mkdtemp(prefix="process-variance-"))
    (folder / "lock.c").write_text(LOCK_SOURCE)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(folder / "lock.so"),
                    str(folder / "lock.c")], check=True)
    library = ctypes.CDLL(str(folder / "lock.so"))
    for name in ("locked", "unlocked"):
        getattr(library, name).restype = ctypes.c_double
        getattr(library, name).argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    return library


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def _since(started: tuple[float, float]) -> tuple[float, float]:
    """Wall and thread CPU seconds since _clocks() gave ``started``. The CPU time leaves out
    the time the thread waited while another task ran (its preemptions)."""
    wall, cpu = _clocks()
    return wall - started[0], cpu - started[1]


def _cpu_now() -> int:
    """The CPU this thread last ran on (field 39 of /proc/thread-self/stat)."""
    with open("/proc/thread-self/stat") as file:
        return int(file.read().rsplit(")", 1)[1].split()[36])


def _proc_stat() -> list[int]:
    """The machine's cpu line of /proc/stat: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as file:
        return [int(v) for v in file.readline().split()[1:9]]


def _address_facts(array) -> dict[str, int]:
    address = array.ctypes.data
    return {"mod64": address % 64, "mod4096": address % 4096}


def _code_address(dispatcher) -> int:
    """Where the (only) compiled overload of a numba dispatcher starts in memory."""
    cres = next(iter(dispatcher.overloads.values()))
    return cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)


class Kinds:
    """The kinds of run (W1 three ways, the two C controls), prepared once per process."""

    def __init__(self):
        import numpy as np

        import minibp
        from benchmarks.competitors import numba_floor
        from minibp.engines import numba_engine, specialize

        self.np, self.minibp, self.specialize = np, minibp, specialize
        self.X, self.Y = minibp.examples.chapter_data()
        self.floor = numba_floor.train_two_layer
        self.buffers: list[dict] = []
        self.locks = None
        original = numba_engine.Session._train
        buffers = self.buffers

        def recording(session, *args):  # note where this fit's flat buffers live
            flat = session.flat
            buffers.append({name: _address_facts(a) for name, a in (
                ("params", flat.params), ("grads", flat.grads), ("acts", flat.acts),
                ("deltas", flat.deltas), ("X", session.X), ("T", session.T))})
            return original(session, *args)

        numba_engine.Session._train = recording

    def run(self, kind: str) -> tuple[float, float]:
        """One run of ``kind``: (wall seconds, this thread's CPU seconds)."""
        if kind in ("locked", "unlocked"):
            if self.locks is None:
                self.locks = _lock_library()
            ref, buf = self.np.zeros(1, self.np.int64), self.np.ones(16)
            started = _clocks()
            getattr(self.locks, kind)(STEPS, ref.ctypes.data, buf.ctypes.data)
            return _since(started)
        model = self.minibp.examples.chapter_network()
        if kind == "floor":
            hidden, output = model[0], model[1]
            args = (self.X, self.Y, hidden.W.copy(), hidden.b.copy(), output.W.copy(),
                    output.b.copy(), "b" not in hidden._frozen, "b" not in output._frozen,
                    0.5, STEPS, False, self.np.random.default_rng(0))
            started = _clocks()
            self.floor(*args)
            return _since(started)
        self.specialize.ENABLED = kind == "specialized"
        started = _clocks()
        model.fit(self.X, self.Y, loss="squared", optimizer=self.minibp.SGD(0.5), epochs=STEPS,
                  batch_size=1, shuffle=False, verbose=0)
        return _since(started)

    def version(self) -> str:
        """Which code this process ran: the specialized loop's file (its name is a hash of
        its text) and a hash of the floor's source. Others may edit the tree during a run."""
        from benchmarks.competitors import numba_floor

        modules = list(self.specialize._LOADED.values())
        floor = hashlib.sha256(Path(numba_floor.__file__).read_bytes()).hexdigest()[:8]
        return f"{Path(modules[0].__file__).stem if modules else '-'} floor {floor}"

    def code_addresses(self) -> dict[str, int]:
        from minibp.engines.kernels import loop

        modules = list(self.specialize._LOADED.values())
        dispatchers = {"generic": loop.train_epochs, "floor": self.floor}
        if modules:
            dispatchers["specialized"] = modules[0].train_epochs
        return {kind: _code_address(d) for kind, d in dispatchers.items() if d.overloads}


def child(repeats: int, kinds: tuple[str, ...], pin: int | None = None) -> dict:
    """One process's measurements, as a dict (printed as JSON by the parent's child); with
    ``pin``, the process runs on that CPU only."""
    import resource

    if pin is not None:
        os.sched_setaffinity(0, {pin})

    runner = Kinds()
    for kind in kinds:  # compile or load from the cache, then one untimed run
        runner.run(kind)
        runner.run(kind)
    runner.buffers.clear()
    stat0, usage0 = _proc_stat(), resource.getrusage(resource.RUSAGE_SELF)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu_times: dict[str, list[float]] = {kind: [] for kind in kinds}
    on_cpu: dict[str, list[int]] = {kind: [] for kind in kinds}
    fit_buffers = []
    for r in range(repeats):
        for i in range(len(kinds)):
            kind = kinds[(r + i) % len(kinds)]
            seconds, cpu = runner.run(kind)
            cpu_times[kind].append(cpu)
            on_cpu[kind].append(_cpu_now())
            times[kind].append(seconds)
            if kind in ("specialized", "generic"):
                fit_buffers.append((kind, cpu, runner.buffers[-1]))
    stat1, usage1 = _proc_stat(), resource.getrusage(resource.RUSAGE_SELF)
    ticks = [b - a for a, b in zip(stat0, stat1)]
    return {
        "pid": os.getpid(), "version": runner.version(), "times": times,
        "cpu_times": cpu_times, "on_cpu": on_cpu,
        "code": {k: {"mod64": v % 64, "mod4096": v % 4096}
                 for k, v in runner.code_addresses().items()},
        "fits": fit_buffers,
        "steal_share": ticks[7] / max(1, sum(ticks)),
        "busy_share": 1 - (ticks[3] + ticks[4]) / max(1, sum(ticks)),
        "involuntary_switches": usage1.ru_nivcsw - usage0.ru_nivcsw,
    }


def dump_code(folder: Path) -> None:
    """The specialized train_epochs' machine code as this process runs it: the object code's
    hash and an objdump of the bytes at its entry point."""
    from numba.core import codegen

    captured: dict[str, bytes] = {}
    original = codegen.CodeLibrary._set_compiled_object

    def capture(self, value):  # the object code a cache load hands to LLVM
        captured[self.name] = value
        return original(self, value)

    codegen.CodeLibrary._set_compiled_object = capture
    runner = Kinds()
    runner.run("specialized")
    module = next(iter(runner.specialize._LOADED.values()))
    cres = next(iter(module.train_epochs.overloads.values()))
    library = cres.library
    obj = captured.get(library.name) or library._compiled_object
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "object.o").write_bytes(obj)
    symbols = subprocess.run(["nm", "-S", str(folder / "object.o")], capture_output=True,
                             text=True).stdout
    name = cres.fndesc.llvm_func_name
    size = next(int(line.split()[1], 16) for line in symbols.splitlines()
                if line.endswith(" " + name))
    address = library.get_pointer_to_function(name)
    (folder / "memory.bin").write_bytes(ctypes.string_at(address, size))
    listing = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64",
                              "--no-show-raw-insn", str(folder / "memory.bin")],
                             capture_output=True, text=True).stdout
    (folder / "memory.s").write_text(listing)
    facts = {"source": "cache" if name in str(captured) or captured else "fresh compile",
             "object_sha256": hashlib.sha256(obj).hexdigest(), "function_bytes": size,
             "entry_mod64": address % 64, "entry_mod4096": address % 4096,
             "memory_sha256": hashlib.sha256(ctypes.string_at(address, size)).hexdigest()}
    (folder / "facts.json").write_text(json.dumps(facts, indent=1))
    print(json.dumps(facts, indent=1))


def count(kind: str, fits: int) -> None:
    """Run ``fits`` fits of one kind after a warm-up, for callgrind's counting."""
    runner = Kinds()
    runner.run(kind)
    for _ in range(fits):
        runner.run(kind)


def _child_command(args: list[str]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _environment(extra: list[str]) -> dict[str, str]:
    """The children's environment. numba's cache index is keyed by the CPU name and features
    but not by NUMBA_OPT, so a run with NUMBA_ settings of its own gets a cache folder of its
    own (unless NUMBA_CACHE_DIR is among them): it compiles afresh, never loads -O3 code."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    settings = dict(item.split("=", 1) for item in extra)
    env.update(settings)
    numba_settings = sorted(f"{k}={v}" for k, v in settings.items() if k.startswith("NUMBA_"))
    if numba_settings and "NUMBA_CACHE_DIR" not in settings:
        key = hashlib.sha256(" ".join(numba_settings).encode()).hexdigest()[:12]
        env["NUMBA_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"process-variance-{key}")
    return env


def instructions(processes: int, kinds: tuple[str, ...], extra: list[str]) -> dict:
    """Instructions per fit inside compiled calls, per kind and process, from callgrind:
    each child runs 1 + FITS fits, all inside numba's call_cfunc (compiling happens outside
    it), so the count over 1 + FITS is the mean per fit. Prints where the first process's
    instructions went (callgrind_annotate)."""
    env = _environment(["NUMBA_CPU_NAME=generic", *extra])
    for kind in kinds:  # compile natively first: under valgrind it would take minutes
        subprocess.run(_child_command(["--count", kind, "--fits", "0"]), env=env, check=True)
    found: dict[str, list[float]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as folder:
        for p in range(processes):
            for kind in kinds:
                out = Path(folder) / f"cg.{p}.{kind}"
                subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                                "--collect-atstart=no", "--toggle-collect=call_cfunc*"]
                               + _child_command(["--count", kind, "--fits", str(FITS)]),
                               env=env, check=True, capture_output=True)
                total = int(re.search(r"^summary: (\d+)", out.read_text(), re.M).group(1))
                found[kind].append(total / (1 + FITS))
                print(f"process {p}: {kind}: {found[kind][-1]:,.0f} instructions per fit",
                      flush=True)
                if p == 0:
                    annotated = subprocess.run(["callgrind_annotate", str(out)],
                                               capture_output=True, text=True).stdout
                    rows = [line for line in annotated.splitlines() if "%)" in line]
                    print("\n".join("    " + line.strip() for line in rows[1:7]), flush=True)
    return found


def _correlation(xs: list[float], ys: list[float]) -> float:
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return float("nan")
    return statistics.correlation(xs, ys)


def summarize(results: list[dict], kinds: tuple[str, ...]) -> None:
    print(f"\n{len(results)} processes; per-process medians of W1 ({STEPS:,} steps), ms; "
          "cpu/wall: thread CPU time over wall time; min: each process's fastest call; "
          "cpu: median over processes of their median CPU time")
    print(f"{'kind':12} {'median':>8} {'fastest':>8} {'slowest':>8} {'slow/fast':>9} "
          f"{'in-process spread':>18} {'cpu/wall':>9} {'min: median':>12} {'slow/fast':>9} "
          f"{'cpu: median':>12} {'slow/fast':>9}")
    medians = {kind: [statistics.median(r["times"][kind]) * 1e3 for r in results]
               for kind in kinds}
    minima = {kind: [min(r["times"][kind]) * 1e3 for r in results] for kind in kinds}
    cpu = {kind: [statistics.median(r["cpu_times"][kind]) * 1e3 for r in results]
           for kind in kinds}
    for kind in kinds:
        values = medians[kind]
        inner = statistics.median(
            (max(r["times"][kind]) - min(r["times"][kind])) / statistics.median(r["times"][kind])
            for r in results)
        on_cpu = statistics.median(c / w for r in results
                                   for c, w in zip(r["cpu_times"][kind], r["times"][kind]))
        print(f"{kind:12} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f} "
              f"{max(values) / min(values):9.2f} {inner:17.0%} {on_cpu:9.0%} "
              f"{statistics.median(minima[kind]):12.3f} "
              f"{max(minima[kind]) / min(minima[kind]):9.2f} "
              f"{statistics.median(cpu[kind]):12.3f} {max(cpu[kind]) / min(cpu[kind]):9.2f}")
    print("\nper process (ms): " + ", ".join(kinds) + "; steal, machine busy, involuntary "
          "switches; code entry mod 4096 (specialized)")
    for i, r in enumerate(results):
        row = "  ".join(f"{medians[k][i]:7.3f}" for k in kinds)
        print(f"  {i:2d}  {row}   steal {r['steal_share']:.1%}  busy {r['busy_share']:.0%}  "
              f"nivcsw {r['involuntary_switches']:4d}  code {r['code'].get('specialized')}")
    if len(kinds) > 1:
        print("\ncorrelation of processes' medians between kinds:")
        for a in kinds:
            for b in kinds:
                if a < b:
                    print(f"  {a} vs {b}: {_correlation(medians[a], medians[b]):+.2f}")
    print("\ncorrelation of a fit's CPU time with its buffers' addresses (fits pooled):")
    for kind in ("specialized", "generic"):
        fits = [(s, b) for r in results for k, s, b in r["fits"] if k == kind]
        if not fits:
            continue
        cells = []
        for name in ("params", "grads", "acts", "deltas", "X"):
            for modulus in ("mod64", "mod4096"):
                r = _correlation([b[name][modulus] for _, b in fits], [s for s, _ in fits])
                cells.append(f"{name} {modulus} {r:+.2f}")
        print(f"  {kind}: " + "; ".join(cells))
    print("\nmedian ms of the calls that ran (ended) on each CPU, and how many:")
    for kind in kinds:
        by_cpu: dict[int, list[float]] = {}
        for r in results:
            for seconds, where in zip(r["cpu_times"][kind], r.get("on_cpu", {}).get(kind, [])):
                by_cpu.setdefault(where, []).append(seconds * 1e3)
        print(f"  {kind}: " + "; ".join(f"cpu {c}: {statistics.median(v):.3f} ({len(v)})"
                                        for c, v in sorted(by_cpu.items())))
    versions: dict[str, int] = {}
    for r in results:
        versions[r.get("version", "?")] = versions.get(r.get("version", "?"), 0) + 1
    print("\ncode run (specialized loop file, floor source hash): processes", versions)
    if len(versions) > 1:
        print("WARNING: the processes did not all run the same code (the tree changed)")
    entries = {kind: sorted({r["code"][kind]["mod4096"] for r in results if kind in r["code"]})
               for kind in kinds}
    print("\ncode entry addresses modulo 4096 seen:", entries)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per process")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in every child (e.g. NUMBA_OPT=1); may repeat")
    parser.add_argument("--json", type=Path, help="write every process's measurements here")
    parser.add_argument("--code", type=Path, metavar="DIR", help="dump this process's code")
    parser.add_argument("--instructions", type=int, metavar="N",
                        help="count instructions per fit in N processes under callgrind")
    parser.add_argument("--pin", type=int, nargs="*", metavar="CPU",
                        help="pin the children to these CPUs in turn (e.g. --pin 0 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", help=argparse.SUPPRESS)
    parser.add_argument("--fits", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.kinds == "all":
        args.kinds = ",".join(KINDS + ("locked", "unlocked"))
    kinds = tuple(args.kinds.split(","))
    if args.child:
        print(json.dumps(child(args.repeats, kinds, args.pin[0] if args.pin else None)))
        return
    if args.count:
        count(args.count, args.fits)
        return
    if args.code:
        dump_code(args.code)
        return
    if args.instructions:
        found = instructions(args.instructions, kinds, args.env)
        for kind, values in found.items():
            print(f"{kind}: {', '.join(f'{v:,.0f}' for v in values)} instructions per fit "
                  f"({values[0] / STEPS:.1f} per step)")
        return
    env = _environment(args.env)
    print(f"W1, {args.processes} fresh processes x {args.repeats} rounds of {', '.join(kinds)}"
          + (f"; env {' '.join(args.env)}" if args.env else ""), flush=True)
    subprocess.run(_child_command(["--child", "--repeats", "1", "--kinds", args.kinds]),
                   env=env, check=True, capture_output=True)  # compile into the caches first
    results = []
    for p in range(args.processes):
        pin = ["--pin", str(args.pin[p % len(args.pin)])] if args.pin else []
        done = subprocess.run(_child_command(["--child", "--repeats", str(args.repeats),
                                              "--kinds", args.kinds, *pin]),
                              env=env, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  process {p + 1}/{args.processes}: " + ", ".join(
            f"{k} {statistics.median(results[-1]['times'][k]) * 1e3:.3f} ms" for k in kinds),
            flush=True)
    if args.json:
        args.json.write_text(json.dumps(results))
    summarize(results, kinds)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # benchmarks.competitors, when run as a script
    main()
