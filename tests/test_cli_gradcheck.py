"""`minibp gradcheck`: the report on stdout, and exit status 0 passed, 1 a gradient is wrong,
2 bad arguments (argparse's usage and one error line), 3 any other error.

The reference for 1 is a model with a known mistake put in place of the one the command builds.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import minibp
from minibp.cli import main


class SignFlip(minibp.Dense):
    """dW with the wrong sign."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW *= -1.0
        return dX


def run(capsys, *args):
    status = main(["gradcheck", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("mode", ["full", "sample", "fast"])
@pytest.mark.parametrize("loss", ["squared", "mse", "xent"])
def test_the_issue_s_command_passes_and_prints_the_report(capsys, loss, mode):
    status, out, err = run(capsys, "--layers", "4,8,3", "--activation", "sigmoid", "--loss",
                           loss, "--batch", "5", "--mode", mode, "--seed", "0")
    assert (status, err) == (0, "")
    assert "gradcheck PASSED" in out and f"mode {mode}" in out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("model[", "input"))]
    assert rows == ["model[0].W", "model[0].b", "model[1].W", "model[1].b", "input"]
    output = "linear" if loss == "xent" else "sigmoid"
    assert f"mlp 4-8-3 (sigmoid, output {output}, float64)" in out


def test_defaults_alone_build_a_4_8_3_sigmoid_model(capsys):
    status, out, _ = run(capsys)
    assert status == 0 and "mlp 4-8-3 (sigmoid" in out and "batch 5, seed 0" in out


def test_float32_is_checked_through_a_float64_copy_and_relu_passes(capsys):
    status, out, _ = run(capsys, "--dtype", "float32", "--activation", "relu", "--loss", "xent")
    assert status == 0 and "checked through a copy of float32" in out


def test_options_reach_the_check_and_the_sweep_is_printed(capsys):
    status, out, _ = run(capsys, "--mode", "sample", "--k", "2", "--eps", "1e-4", "--atol",
                         "1e-7", "--rtol", "1e-5", "--sweep")
    assert status == 0
    assert "eps 0.0001" in out and "<= 1e-07 + 1e-05 * |numeric|" in out
    assert "model[0].W  (8, 4)        2" in out  # k=2 coordinates
    assert "<- smallest" in out and "1e-10" in out


@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_engines_pass(capsys, engine):
    if "engine" not in inspect.signature(minibp.Sequential.gradients).parameters:
        pytest.skip("Sequential.gradients takes no engine= yet")
    status, out, _ = run(capsys, "--engine", engine, "--loss", "mse")
    assert status == 0 and f"engine {engine!r}" in out


def test_a_wrong_gradient_exits_1_naming_the_tensor(capsys, monkeypatch):
    def broken_mlp(sizes, activation, output, **kwargs):
        return minibp.Sequential(minibp.Dense(sizes[0], sizes[1], activation, seed=0),
                                 SignFlip(sizes[1], sizes[2], output, seed=1))

    monkeypatch.setattr("minibp.builders.mlp", broken_mlp)
    status, out, err = run(capsys)
    assert (status, err) == (1, "")
    assert "gradcheck FAILED" in out and "FAILED model[1].W at [" in out
    assert "culprit: model[1].W, which fails when checked on its own." in out


@pytest.mark.parametrize("args", [
    ["--layers", "4"], ["--layers", "4,x,3"], ["--layers", "4,0,3"], ["--batch", "0"],
    ["--mode", "exact"], ["--loss", "hinge"], ["--eps", "-1e-6"], ["--atol", "nan"],
    ["--activation", "swish"], ["--k", "1.5"],
])
def test_bad_arguments_exit_2_with_the_usage_and_one_error_line(capsys, args):
    with pytest.raises(SystemExit) as exited:
        main(["gradcheck", *args])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.startswith("usage: minibp gradcheck")
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0]
    assert errors[0].startswith("minibp gradcheck: error: ")


@pytest.mark.parametrize("loss", ["xent", "bce", "mse"])
def test_a_saved_model_is_checked_with_its_own_loss(capsys, tmp_path, loss):
    outputs = 1 if loss == "bce" else 3
    model = minibp.mlp([4, 6, outputs], "tanh", None, seed=3)
    model.loss = minibp.nn.get_loss(loss)
    model.save(tmp_path / "model.npz")
    status, out, err = run(capsys, str(tmp_path / "model.npz"), "--mode", "fast")
    assert (status, err) == (0, "")
    assert f"{tmp_path / 'model.npz'} (4-6-{outputs}), loss {model.loss!r}" in out
    assert "gradcheck PASSED" in out


def test_a_saved_model_with_a_wrong_gradient_exits_1(capsys, tmp_path, monkeypatch):
    minibp.mlp([3, 4, 2], seed=0).save(tmp_path / "model.npz")
    real_load = minibp.loading.load

    def load_broken(path):
        model = real_load(path)
        broken = SignFlip(4, 2, "sigmoid", W=model[1].W, b=model[1].b)
        return minibp.Sequential(model[0], broken)

    monkeypatch.setattr(minibp.loading, "load", load_broken)
    status, out, _ = run(capsys, str(tmp_path / "model.npz"))
    assert status == 1 and "FAILED model[1].W" in out


def test_a_missing_or_bad_model_file_exits_3_in_one_line(capsys, tmp_path):
    status, _, err = run(capsys, str(tmp_path / "nowhere.npz"))
    assert status == 3 and err == (f"minibp gradcheck: error: {tmp_path / 'nowhere.npz'}: No "
                                   "such file or directory\n")
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    status, _, err = run(capsys, str(tmp_path / "bad.npz"))
    assert status == 3 and err.count("\n") == 1
    assert err.startswith(f"minibp gradcheck: error: {tmp_path / 'bad.npz'}: not a readable")


def test_any_other_error_exits_3_in_one_line(capsys, monkeypatch):
    def failing_mlp(*args, **kwargs):
        raise RuntimeError("the builder broke")

    monkeypatch.setattr("minibp.builders.mlp", failing_mlp)
    status, _, err = run(capsys)
    assert (status, err) == (3, "minibp gradcheck: error: the builder broke\n")


def test_python_dash_m_minibp_exits_0_when_it_passes_and_2_for_bad_arguments():
    ok = subprocess.run([sys.executable, "-m", "minibp", "gradcheck", "--layers", "3,4,2",
                         "--batch", "3", "--mode", "fast"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "gradcheck PASSED" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "minibp", "gradcheck", "--layers", "3"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("usage: minibp gradcheck")
    assert bad.stderr.splitlines()[-1].startswith("minibp gradcheck: error: argument --layers")
