"""`minibp explain`: prints a trace of a random or given network; bad flags exit 2 with the
usage line and one error line naming the flag and the value (as tests/test_cli.py asks of
every command)."""

from __future__ import annotations

import pytest

from minibp.cli import main


def test_explain_prints_the_trace_in_the_chapter_s_notation(capsys):
    argv = ["explain", "--layers", "2,3,2", "--activation", "sigmoid", "--seed", "0",
            "--sample", "0.05,0.1", "--target", "0.01,0.99"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("minibp explain: mlp 2-3-2 (sigmoid, output sigmoid), seed 0\n")
    assert "Inputs i1 = 0.05, i2 = 0.1; targets 0.01, 0.99" in out
    for name in ["net_h3 = w5*i1 + w6*i2 + b_h3 = ", "E_total = E_o1 + E_o2 = ",
                 "dE/dw12 = dE/dout_o2 * dout_o2/dnet_o2 * dnet_o2/dw12 = "]:
        assert name in out
    assert "Update" not in out and "w1+" not in out
    assert main(argv) == 0 and capsys.readouterr().out == out  # the seed fixes everything


def test_lr_adds_the_update_and_markdown_gives_tables(capsys):
    assert main(["explain", "--lr", "0.5", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "#### Update: SGD(lr=0.5)" in out and "| `w8+` |" in out
    assert "| quantity | = | value | note |" in out


@pytest.mark.parametrize("loss", ["mse", "xent", "bce"])
def test_every_loss_traces(capsys, loss):
    assert main(["explain", "--layers", "3,4,2", "--loss", loss, "--activation", "tanh"]) == 0
    out = capsys.readouterr().out
    assert "(tanh, output linear)" in out if loss != "mse" else "(tanh, output tanh)" in out
    assert "dE/dw1 = " in out


def test_a_large_network_is_named_by_layer_and_index(capsys):
    assert main(["explain", "--layers", "6,5,3", "--seed", "2", "--all"]) == 0
    out = capsys.readouterr().out
    assert "dE/dmodel[1].W[0, 2] = " in out and "w1" not in out


@pytest.mark.parametrize(("argv", "flag", "value"), [
    (["--layers", "2;3"], "--layers", "2;3"),
    (["--sample", "0.1"], "--sample", "0.1"),
    (["--sample", "0.1,x"], "--sample", "0.1,x"),
    (["--sample", "nan,1"], "--sample", "nan,1"),
    (["--target", "0.5,0.5,0.5"], "--target", "0.5,0.5,0.5"),
    (["--loss", "xent", "--target", "5"], "--target", "5"),
    (["--loss", "bce", "--target", "0.5,2"], "--target", "0.5,2"),
    (["--lr", "-1"], "--lr", "-1"),
    (["--activation", "swish"], "--activation", "swish"),
    (["--loss", "hinge"], "--loss", "hinge"),
    (["--seed", "-1"], "--seed", "-1"),
])
def test_a_bad_flag_exits_2_with_the_usage_and_one_line_naming_it(capsys, argv, flag, value):
    with pytest.raises(SystemExit) as exited:
        main(["explain", *argv])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.startswith("usage: minibp explain ")
    last = err.splitlines()[-1]
    assert last.startswith("minibp explain: error: ") and flag in last and value in last


def test_help_names_the_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["explain", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: minibp explain ")
