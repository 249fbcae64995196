"""`minibp train` and `minibp predict`: the datasets' recipes, the checks of --layers against
the data, CSV files in and out, the saved standardizer, and the exit codes.

References: the same training written with the library in the test (the command line must
give the same numbers), the issue's digits target (97%), and files the tests write.
"""

import numpy as np
import pytest

import minibp
from minibp import datasets
from minibp.cli import main


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def metrics(out: str) -> dict[str, dict[str, float]]:
    """{"train": {"loss": ..., "accuracy": ...}, "test": ...} from the printed lines."""
    found = {}
    for line in out.splitlines():
        part, _, rest = line.partition(": ")
        if part in ("train", "val", "test"):
            found[part] = {k: float(v) for k, v in (item.split() for item in rest.split(", "))}
    return found


def test_digits_reaches_97_percent_with_the_recipe_and_saves(capsys, tmp_path):
    pytest.importorskip("sklearn")
    status, out, err = run(capsys, "train", "--data", "digits", "--verbose", "0",
                           "--save", str(tmp_path / "digits.npz"))
    assert (status, err) == (0, "")
    assert "digits (1797 rows: 1348 train, 449 test); mlp 64-64-10 (relu), loss xent" in out
    assert metrics(out)["test"]["accuracy"] >= 0.97
    # the same training written with the library gives the same figures
    X, y = datasets.load_digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.25, seed=0)
    model = minibp.mlp([64, 64, 10], "relu", None, seed=0)
    model.fit(X_train, y_train, loss="xent", optimizer=minibp.Adam(0.01), epochs=30,
              batch_size=32, seed=0, verbose=0)
    saved = minibp.load(tmp_path / "digits.npz")
    assert np.array_equal(saved.predict(X_test), model.predict(X_test))
    accuracy = model.evaluate(X_test, y_test, metrics=["accuracy"])["accuracy"]
    assert metrics(out)["test"]["accuracy"] == pytest.approx(accuracy, abs=5e-7)


def test_the_chapter_trains_the_chapter_s_network(capsys):
    status, out, _ = run(capsys, "train", "--data", "chapter", "--verbose", "0")
    assert status == 0 and "mlp 2-2-2 (sigmoid), loss squared, SGD(lr=0.5)" in out
    assert metrics(out)["train"]["loss"] == pytest.approx(3.510187782978859e-05, rel=1e-5)


@pytest.mark.parametrize("data", ["moons", "spirals", "xor"])
def test_the_small_datasets_learn(capsys, data):
    status, out, _ = run(capsys, "train", "--data", data, "--verbose", "0", "--val", "0.2"
                         if data != "xor" else "0")
    assert status == 0
    assert metrics(out)["train"]["accuracy"] >= 0.95
    if data != "xor":
        assert metrics(out)["test"]["accuracy"] >= 0.9 and "val" in metrics(out)


def test_patience_stops_early_and_plot_draws(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    status, out, _ = run(capsys, "train", "--data", "moons", "--val", "0.2", "--patience", "2",
                         "--epochs", "500", "--lr", "0.05", "--verbose", "0", "--plot",
                         str(tmp_path / "curves.png"))
    assert status == 0 and "epochs: early_stopping" in out
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "moons", "--layers", "3,8,2"],
     "argument --layers: 3,8,2 starts with 3 inputs, but moons has 2 features"),
    (["--data", "moons", "--layers", "2,8,3"],
     "argument --layers: 2,8,3 ends with 3 outputs, but moons with loss xent needs 2 (classes)"),
    (["--data", "moons", "--loss", "bce", "--layers", "2,8,2"],
     "argument --layers: 2,8,2 ends with 2 outputs, but moons with loss bce needs 1 (outputs)"),
    (["--data", "xor", "--loss", "xent"],
     "argument --loss: xent needs class labels (whole numbers >= 0), and xor's targets are not"),
    (["--data", "iris"], "argument --data: expected one of digits, moons, spirals, xor, "
     "chapter or a CSV file, got 'iris' (no such dataset or file)"),
    (["--data", "xor", "--val", "1.5"], "argument --val: expected a fraction in [0, 1), got"),
    (["--data", "xor", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
])
def test_bad_arguments_exit_2_with_the_usage_and_one_error_line(capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        main(["train", *args, "--verbose", "0"])
    out, err = capsys.readouterr()
    assert exited.value.code == 2
    assert err.startswith("usage: minibp train")
    assert err.splitlines()[-1].startswith(f"minibp train: error: {message}")


def write(path, text):
    path.write_text(text)
    return str(path)


def test_a_csv_trains_standardized_and_predict_applies_the_saved_standardizer(capsys,
                                                                              tmp_path):
    X, y = datasets.make_blobs(150, centers=3, std=0.5, seed=1)
    X = X * [1000.0, 0.001]  # wildly different scales: the standardizer matters
    table = np.column_stack([X, y])
    datasets.write_csv(tmp_path / "train.csv", table, header=["a", "b", "label"])
    status, out, _ = run(capsys, "train", "--data", str(tmp_path / "train.csv"), "--epochs",
                         "60", "--verbose", "0", "--save", str(tmp_path / "m.npz"))
    assert status == 0 and metrics(out)["train"]["accuracy"] >= 0.95
    scaler = minibp.load_standardizer(tmp_path / "m.npz")
    assert np.allclose(scaler.mean_, X.mean(axis=0)) and np.allclose(scaler.scale_, X.std(0))
    datasets.write_csv(tmp_path / "features.csv", X[:7])
    status, out, _ = run(capsys, "predict", str(tmp_path / "m.npz"), str(tmp_path /
                                                                         "features.csv"))
    model = minibp.load(tmp_path / "m.npz")
    expected = model.predict_classes(scaler.transform(X[:7]))
    assert status == 0 and out == "".join(f"{c}\n" for c in expected)
    status, out, _ = run(capsys, "predict", str(tmp_path / "m.npz"),
                         str(tmp_path / "features.csv"), "--proba", "--output",
                         str(tmp_path / "p.csv"))
    proba = datasets.read_csv(tmp_path / "p.csv").X
    assert status == 0 and out == ""
    assert np.array_equal(proba, model.predict_proba(scaler.transform(X[:7])))


def test_a_csv_with_a_named_numeric_target_is_a_regression(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = X[:, 0] * 0.5 + np.sin(X[:, 1]) + 0.25
    datasets.write_csv(tmp_path / "r.csv", np.column_stack([y, X]), header=["y", "x1", "x2"])
    status, out, _ = run(capsys, "train", "--data", str(tmp_path / "r.csv"), "--target", "y",
                         "--epochs", "100", "--verbose", "0")
    assert status == 0 and "loss mse" in out
    assert metrics(out)["train"]["loss"] < 0.01


def test_runtime_errors_are_one_line_exit_1_and_debug_shows_the_traceback(capsys, tmp_path):
    bad = write(tmp_path / "bad.csv", "a,b,label\n1,2,0\n3,x,1\n")
    status, out, err = run(capsys, "train", "--data", bad, "--verbose", "0")
    assert status == 1
    assert err == f"minibp: error: {bad}: row 3, column 2 ('b'): 'x' is not a number\n"
    with pytest.raises(minibp.datasets.DataFileError):
        main(["train", "--data", bad, "--debug"])


def test_predict_names_a_width_mismatch_and_a_bad_model_file(capsys, tmp_path):
    minibp.mlp([3, 4, 2], seed=0).save(tmp_path / "m.npz")
    features = write(tmp_path / "f.csv", "1,2\n3,4\n")
    status, _, err = run(capsys, "predict", str(tmp_path / "m.npz"), features)
    assert status == 1 and err.startswith("minibp: error: ") and err.count("\n") == 1
    assert "3" in err and "2" in err
    status, _, err = run(capsys, "predict", features, features)
    assert status == 1 and err.startswith(f"minibp: error: {features}: not a readable")
