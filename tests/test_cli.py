"""The minibp command: `minibp demo` prints the chapter's numbers computed by minibp; every
command's exit status: 2 and one line for a bad argument, 1 and one line for an error while
running (130 for Ctrl-C), and a reader that leaves early (`| head -1`) is not an error."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minibp
from benchmarks import run as bench_run
from minibp.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_prints_the_walkthrough_and_xor(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # minibp's value beside the figure the chapter prints, on one line
    assert any(line.split()[:3] == ["out_o1", "0.7513650695523157", "0.75136079"]
               for line in out.splitlines())
    assert "3.510187782978859e-05" in out          # E_total after 10,000 steps
    assert "0.29102777369359933" in out            # E_total after 1 step
    for x, y in [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]:
        assert f"{x} xor {y} = {int(x) ^ int(y)}" in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "usage: minibp" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "minibp", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert "demo" in result.stdout


def test_bench_passes_its_options_to_the_harness_and_names_itself(capfd):
    assert main(["bench", "--help"]) == 0
    assert capfd.readouterr().out.startswith("usage: minibp bench [-h] [--workloads")


@pytest.mark.parametrize("command", ["demo", "train", "predict", "gradcheck"])
def test_every_subcommand_s_help_names_itself(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: minibp {command} ")


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == f"minibp {minibp.__version__}\n"


@pytest.mark.parametrize(("argv", "flag", "value"), [
    (["train", "--data", "xor", "--seed", "-1"], "--seed", "-1"),
    (["train", "--data", "xor", "--epochs", "0"], "--epochs", "0"),
    (["train", "--data", "xor", "--epochs", "-5"], "--epochs", "-5"),
    (["train", "--data", "xor", "--lr", "nan"], "--lr", "nan"),
    (["train", "--data", "xor", "--lr", "inf"], "--lr", "inf"),
    (["train", "--data", "xor", "--batch", "abc"], "--batch", "abc"),
    (["train", "--data", "xor", "--engine", "warp"], "--engine", "warp"),
    (["train", "--data", "xor", "--layers", "2,,1"], "--layers", "2,,1"),
    (["train", "--data", "xor", "--patience", "-1"], "--patience", "-1"),
    (["train", "--data", "xor", "--bogus", "1"], "--bogus", "1"),
    (["predict", "m.npz", "f.csv", "--batch", "0"], "--batch", "0"),
    (["predict", "m.npz", "f.csv", "--batch", "abc"], "--batch", "abc"),
    (["gradcheck", "--seed", "-1"], "--seed", "-1"),
    (["gradcheck", "--batch", "abc"], "--batch", "abc"),
    (["gradcheck", "--engine", "warp"], "--engine", "warp"),
    (["gradcheck", "--eps", "nan"], "--eps", "nan"),
    (["gradcheck", "--layers", "4;8;3"], "--layers", "4;8;3"),
    (["demo", "--seed", "1"], "--seed", "1"),
])
def test_a_bad_argument_exits_2_with_the_usage_and_one_line_naming_it(capsys, argv, flag,
                                                                      value):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.startswith(f"usage: minibp {argv[0]} ")
    last = err.splitlines()[-1]
    assert last.startswith(f"minibp {argv[0]}: error: ") and flag in last and value in last
    assert sum("error" in line for line in err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "flag", "value"), [
    (["--repeats", "0"], "--repeats", "0"), (["--steps", "-1"], "--steps", "-1"),
    (["--samples", "abc"], "--samples", "abc"), (["--processes", "0"], "--processes", "0"),
    (["--pause", "nan"], "--pause", "nan"), (["--min-sample", "-1"], "--min-sample", "-1"),
    (["--workloads", "W9"], "--workloads", "W9"), (["--competitors", "nope"], "--competitors",
                                                   "nope"), (["--bogus"], "--bogus", ""),
])
def test_a_bad_bench_argument_exits_2_the_same_way(capsys, monkeypatch, argv, flag, value):
    monkeypatch.setenv("MINIBP_BENCH_PROG", "minibp bench")  # as `minibp bench` runs it
    with pytest.raises(SystemExit) as exited:
        bench_run.main(argv)
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert exited.value.code == 2 and err.startswith("usage: minibp bench ")
    assert last.startswith("minibp bench: error: ") and flag in last and value in last


def test_bench_runtime_errors_are_one_line_exit_1_and_debug_shows_the_traceback(capfd,
                                                                                tmp_path):
    missing = tmp_path / "missing.json"
    assert main(["bench", "--from-json", str(missing)]) == 1  # through benchmarks/run.py
    assert capfd.readouterr() == ("", f"minibp: error: --from-json: expected a results file "
                                  f"that benchmarks/run.py wrote, got {missing} (No such file "
                                  "or directory)\n")
    assert main(["--debug", "bench", "--summarize", str(missing)]) == 1
    err = capfd.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1].startswith("ValueError: --summarize")
    (tmp_path / "not.json").write_text("{}")
    assert bench_run.main(["--from-json", str(tmp_path / "not.json")]) == 1
    assert capfd.readouterr().err.endswith("(no 'workloads' in it)\n")


def test_runtime_errors_of_predict_and_demo_are_one_line_exit_1(capsys, tmp_path,
                                                                monkeypatch):
    minibp.mlp([2, 3, 1], seed=0).save(tmp_path / "m.npz")
    missing = tmp_path / "missing.csv"
    for argv, name in [([str(tmp_path / "m.npz"), str(missing)], missing),
                       ([str(tmp_path / "gone.npz"), str(missing)], tmp_path / "gone.npz")]:
        assert main(["predict", *argv]) == 1
        assert capsys.readouterr() == ("", f"minibp: error: {name}: No such file or directory\n")

    def broken():
        raise RuntimeError("demo: expected the chapter's numbers,\ngot none")

    monkeypatch.setattr("minibp.demo.main", broken)
    assert main(["demo"]) == 1
    assert capsys.readouterr().err == ("minibp: error: demo: expected the chapter's numbers, "
                                       "got none\n")
    with pytest.raises(RuntimeError):
        main(["demo", "--debug"])

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr("minibp.demo.main", interrupted)
    assert main(["demo"]) == 130 and capsys.readouterr().err == "minibp: interrupted\n"


PIPED = {  # command: its argv, and whether also to close the pipe before reading anything
    "train": (["train", "--data", "xor", "--epochs", "2000", "--verbose", "2", "--engine",
               "numpy", "--save", "x.npz"], False),
    "predict": (["predict", "m.npz", "rows.csv", "--proba"], False),
    "gradcheck": (["gradcheck", "--mode", "fast", "--sweep"], True),
    "demo": (["demo"], False),
    "bench": (["bench", "--from-json", "results.json"], False),
    "help": (["--help"], True),
    "train --help": (["train", "--help"], False),
}


def test_output_piped_into_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    """Each command's stdout is a pipe; the reader closes it after one line (or before any)
    while the command still writes (train prints 2,000 lines, predict 5,000 rows). Exit 0, no
    "Broken pipe", no traceback; the rest of the output is discarded, the work is done (the
    model saved). The commands run side by side, each in a folder of its own."""
    minibp.mlp([2, 4, 2], seed=0).save(tmp_path / "m.npz")
    np.savetxt(tmp_path / "rows.csv", np.random.default_rng(0).normal(size=(5000, 2)),
               delimiter=",")
    shutil.copy(ROOT / "benchmarks" / "results" / "latest.json", tmp_path / "results.json")
    started = {}
    for name, (argv, also_unread) in PIPED.items():
        for lines in (1, 0) if also_unread else (1,):
            folder = tmp_path / f"{name.replace(' ', '_')}-{lines}"
            folder.mkdir()
            for file in ("m.npz", "rows.csv", "results.json"):
                shutil.copy(tmp_path / file, folder / file)
            started[name, lines] = folder, subprocess.Popen(
                [sys.executable, "-m", "minibp", *argv], cwd=folder, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    for (name, lines), (folder, process) in started.items():
        first = process.stdout.readline() if lines else None
        process.stdout.close()
        err = process.stderr.read()
        assert process.wait(timeout=120) == 0, (name, err)
        assert "Traceback" not in err and "Broken pipe" not in err, (name, err)
        assert first is None or first.strip(), name
        if name == "train":
            assert err == "" and minibp.load(folder / "x.npz") is not None
        if name == "bench":  # it says what it wrote, on stderr, and writes it back
            assert json.loads((folder / "results.json").read_text())["workloads"]
