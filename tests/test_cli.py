"""The minibp command: `minibp demo` prints the chapter's numbers computed by minibp."""

import subprocess
import sys

import pytest

import minibp
from minibp.cli import main


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


@pytest.mark.parametrize("command", [["demo"], ["train", "--data", "xor", "--epochs", "50"],
                                     ["gradcheck", "--mode", "fast"]])
def test_output_piped_into_head_is_not_an_error(command):
    """The reader leaves after one line: no traceback, no BrokenPipeError message."""
    shell = f"{sys.executable} -m minibp {' '.join(command)} | head -n 1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "" and len(done.stdout.splitlines()) == 1
