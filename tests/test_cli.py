"""The fastnn command line, called in-process through fastnn.cli.main."""
import json
import re
import time
from pathlib import Path

import pytest

import fastnn
from fastnn import cli, load_model, zoo
from test_datasets import write_set

pytest.importorskip("sklearn")  # the digits data ship with scikit-learn


def accuracy(out):
    return float(re.search(r"test accuracy:? ([0-9.]+)", out).group(1))


def test_default_train_reaches_97_percent_on_digits_in_under_a_minute(capsys):
    t0 = time.perf_counter()
    assert cli.main(["train"]) == 0
    seconds = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert out.startswith("training a 64-128-64-10 MLP") and "Epoch 30/30" in out
    assert accuracy(out) >= 0.97 and seconds < 60


def test_train_saves_a_checkpoint_that_reproduces_the_accuracy(tmp_path, capsys):
    ckpt = tmp_path / "model.safetensors"
    assert cli.main(["train", "--optimizer", "momentum", "--lr", "0.05", "--epochs", "3", "--batch-size", "64",
                     "--seed", "1", "--verbose", "0", "--output", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "momentum lr 0.05, batch 64, 3 epochs" in out and "Epoch" not in out
    model = load_model(ckpt)
    assert model.epoch == 3 and model.optimizer.learning_rate == 0.05 and model.optimizer.momentum == 0.9
    _, (x_test, y_test) = fastnn.datasets.digits(seed=1)
    assert model.evaluate(x_test, y_test)[1] == pytest.approx(accuracy(out), abs=1e-4)


@pytest.mark.parametrize("optimizer", list(zoo.OPTIMIZERS))
def test_every_optimizer_trains(optimizer, capsys):
    assert cli.main(["train", "--optimizer", optimizer, "--epochs", "2", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert f"{optimizer} lr {zoo.OPTIMIZERS[optimizer]:g}," in out
    assert accuracy(out) > 0.5


def test_plot_and_validation_split(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    assert cli.main(["train", "--epochs", "2", "--verbose", "2", "--validation-split", "0.2", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "val_accuracy" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_augmented_training(capsys):
    assert cli.main(["train", "--epochs", "2", "--augment-shift", "1", "--augment-rotate", "10", "--verbose", "1"]) == 0
    out = capsys.readouterr().out
    assert "a 8x8x1-128-64-10 MLP" in out and "Epoch 2/2: " in out and accuracy(out) > 0.3


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_datasets_from_a_directory(tmp_path, capsys, name):
    write_set(tmp_path, n_train=40, n_test=10, gz=name == "mnist")
    assert cli.main(["train", "--dataset", f"{name}:{tmp_path}", "--epochs", "1", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "a 784-128-64-10 MLP" in out and "(40 train / 10 test)" in out
    assert 0 <= accuracy(out) <= 1


def test_missing_data_and_bad_options_are_reported(tmp_path, capsys):
    assert cli.main(["train", "--dataset", f"mnist:{tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastnn train: error: MNIST: missing train-images-idx3-ubyte") and str(tmp_path) in err
    assert cli.main(["train", "--dataset", "cifar10"]) == 1
    assert "dataset: expected 'digits'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--model", "rnn"])
    with pytest.raises(SystemExit):
        cli.main(["train", "--optimizer", "lbfgs"])


def test_cnn_trains_on_digits_images(capsys):
    if not hasattr(fastnn, "Conv2D"):
        pytest.skip("fastnn.Conv2D is not in this build yet")
    assert cli.main(["train", "--model", "cnn", "--epochs", "1", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "a CNN conv32-pool-conv64-pool-dense64-dense10" in out and accuracy(out) > 0.5


def test_tune_from_a_json_file(tmp_path, capsys):
    config = {"dataset": "digits", "model": "mlp", "strategy": "grid", "epochs": 3, "seed": 0,
              "space": {"learning_rate": [1e-5, 0.01], "hidden": [[32]]}, "scoring": {"validation_split": 0.25}}
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config))
    ckpt = tmp_path / "best.safetensors"
    assert cli.main(["tune", str(path), "--output", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert out.count("trial ") == 2 and "rank  learning_rate  hidden  accuracy  epochs  seconds" in out
    assert 'best parameters: {"learning_rate": 0.01, "hidden": [32]}' in out
    assert accuracy(out) > 0.8 and load_model(ckpt).epoch == 3


def test_tune_from_a_yaml_file_with_hyperband_and_folds(tmp_path, capsys):
    pytest.importorskip("yaml")
    path = tmp_path / "search.yaml"
    path.write_text("strategy: hyperband\nmax_epochs: 3\neta: 3\nretrain: false\nscoring: {cv: 2, metric: loss}\n"
                    "space:\n  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}\n  hidden: {choice: [16, 32]}\n")
    assert cli.main(["tune", str(path), "--verbose", "0", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "hyperband search over learning_rate, hidden" in out and "trial " not in out
    assert "± folds" in out and "best validation loss" in out and "test accuracy" not in out
    assert re.search(r"\.\.\. \d+ more", out)


def test_tune_config_errors_name_the_key(tmp_path, capsys):
    path = tmp_path / "c.json"
    for config, message in (({"space": {"lr": [1]}, "epoch": 3}, "epoch: unknown key"),
                            ({"epochs": 3}, "space: "),
                            ({"space": {"learning_rate": [0.1]}, "strategy": "grid", "n_trials": 3},
                             "n_trials: not an option of strategy 'grid'"),
                            ({"space": {"learning_rate": {"normal": [0, 1]}}}, "learning_rate: unknown distribution"),
                            ({"space": {"learning_rate": [0.1]}, "scoring": {"folds": 3}}, "scoring: expected")):
        path.write_text(json.dumps(config))
        assert cli.main(["tune", str(path)]) == 1
        assert message in capsys.readouterr().err
    path.write_text(json.dumps({"space": {"lr_typo": [0.1]}, "strategy": "grid", "epochs": 1}))
    assert cli.main(["tune", str(path), "--verbose", "0"]) == 1
    assert "lr_typo: not a hyperparameter of the mlp model" in capsys.readouterr().err
    for config, message in (({"space": {"learning_rate": [0.1]}, "model": ["mlp"]}, "model: expected a name"),
                            ({"space": {"learning_rate": [0.1]}, "seed": -1}, "seed: expected an int >= 0"),
                            ({"space": {"learning_rate": [0.1]}, "retrain": "no"}, "retrain: expected true or false")):
        path.write_text(json.dumps(config))
        assert cli.main(["tune", str(path)]) == 1
        assert message in capsys.readouterr().err
    assert cli.main(["tune", str(tmp_path)]) == 1  # a directory: an OSError, reported in one line
    assert capsys.readouterr().err.startswith("fastnn tune: error: ")
    path.write_text(json.dumps({"space": {"learning_rate": [0.1]}, "strategy": "hyperband", "sampler": "grid"}))
    assert cli.main(["tune", str(path)]) == 1
    assert "sampler: expected one of random, tpe, got 'grid'" in capsys.readouterr().err
    path.write_text(json.dumps({"space": {"learning_rate": [0.1]}, "epochs": 1, "n_trials": 2, "retrain": False}))
    for argv, message in ((["--study", "s"], "--study: names a study in a --storage; give --storage too"),
                          (["--storage", "nosuchdb://x"], "--storage: cannot open 'nosuchdb://x'"),
                          (["--storage", str(tmp_path / "no" / "s.log")], "--storage: cannot open")):
        assert cli.main(["tune", str(path), *argv]) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith(f"fastnn tune: error: {message}") and "trial" not in captured.out
    db = f"sqlite:///{tmp_path}/s.db"
    assert cli.main(["tune", str(path), "--storage", db, "--study", "s", "--verbose", "0"]) == 0
    path.write_text(json.dumps({"space": {"learning_rate": [0.1]}, "epochs": 1, "strategy": "grid"}))
    assert cli.main(["tune", str(path), "--storage", db, "--study", "s"]) == 1
    assert "fastnn tune: error: --study: study 's' in this storage is a random search" in capsys.readouterr().err


def test_bad_output_paths_and_options_fail_before_any_training(tmp_path, capsys):
    for argv in (["train", "--output", str(tmp_path / "missing" / "m.safetensors")], ["train", "--output", str(tmp_path)],
                 ["train", "--seed", "-1"]):
        assert cli.main(argv) == 1
        captured = capsys.readouterr()
        assert "Epoch" not in captured.out and captured.err.startswith("fastnn train: error: ")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"space": {"learning_rate": [0.1]}}))
    assert cli.main(["tune", str(path), "--top", "-1"]) == 1
    assert "--top: expected an int >= 0" in capsys.readouterr().err


def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fastnn {fastnn.__version__}") and "backends: " in out
    if fastnn._native._cuda is not None:  # built with nvcc (CI): the cupy wheel to install is named
        major = fastnn.backend.cuda_version()[0]
        assert f"its cupy: cupy-cuda{major}x (pip install '.[cuda{major}]'" in out


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_tune_config_runs(capsys):
    assert cli.main(["tune", str(EXAMPLES / "tune_digits.yaml"), "--verbose", "0", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "hyperband search over learning_rate, hidden, optimizer, l2" in out and accuracy(out) > 0.9
    assert re.search(r"seconds +state\n", out) and "17 trials, this run" in out and "... 12 more" in out


def test_tune_with_a_storage_continues_the_study(tmp_path, capsys):
    """The second example's command, in one process: rerunning it trains nothing more."""
    config = tmp_path / "grid.yaml"
    config.write_text((EXAMPLES / "tune_parallel.yaml").read_text().replace("epochs: 5", "epochs: 1"))
    journal = tmp_path / "search.log"
    assert cli.main(["tune", str(config), "--storage", str(journal)]) == 0
    out = capsys.readouterr().out
    assert out.count("trial ") == 12 and f"12 trials (study 'grid' in {journal})" in out
    assert "test accuracy" not in out  # retrain: false
    assert cli.main(["tune", str(config), "--storage", str(journal), "--study", "grid", "--verbose", "1"]) == 0
    out = capsys.readouterr().out
    assert "trial " not in out.split("12 trials")[0] and "best parameters" in out  # nothing left to train


def test_ctrl_c_prints_the_finished_trials_and_where_they_are(tmp_path, capsys, monkeypatch):
    builder = fastnn.zoo.model_builder

    def interrupted_at_the_third_trial(*args, **kwargs):
        build, calls = builder(*args, **kwargs), []

        def build_fn(params):
            calls.append(params)
            if len(calls) == 4:  # the probe, two trials, then Ctrl-C
                raise KeyboardInterrupt
            return build(params)
        return build_fn

    monkeypatch.setattr(fastnn.zoo, "model_builder", interrupted_at_the_third_trial)
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"strategy": "grid", "epochs": 1, "space": {"learning_rate": [1e-3, 3e-3, 1e-2]}}))
    journal = tmp_path / "search.log"
    assert cli.main(["tune", str(path), "--storage", str(journal), "--verbose", "0"]) == 130
    captured = capsys.readouterr()
    assert f"interrupted: 2 finished trials kept in study 'grid' of {journal}" in captured.err
    assert "2 trials (study 'grid'" in captured.out and "best parameters" in captured.out
    assert "test accuracy" not in captured.out  # no retraining after an interruption
    monkeypatch.setattr(fastnn.zoo, "model_builder", builder)
    assert cli.main(["tune", str(path), "--storage", str(journal), "--verbose", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("trial ") == 1 and "3 trials (study 'grid'" in out and accuracy(out) > 0.3  # the third, retried
