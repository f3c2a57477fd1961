"""Hyperparameter search: spaces, strategies, scoring, results, built-in models."""
import json
import math
import sys

import numpy as np
import pytest

from fastnn import SGD, Adam, Dense, Sequential, tune


def blobs(n=240, seed=0):
    """Three Gaussian blobs in 4-D: an easy classification problem."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 4))).astype(np.float32), y


class Recorder:
    """A build_fn that records every configuration and model it builds."""

    def __init__(self):
        self.params, self.models = [], []

    def __call__(self, params):
        self.params.append(dict(params))
        model = Sequential([Dense(params.get("hidden", 8), activation="relu", input_shape=(4,)),
                            Dense(3, activation="softmax")], seed=0)
        opt = Adam(params["learning_rate"]) if params.get("optimizer") == "adam" else SGD(params["learning_rate"])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
        self.models.append(model)
        return model


def test_grid_search_trains_every_combination_once():
    x, y = blobs()
    build = Recorder()
    space = {"learning_rate": [0.01, 0.1, 0.3], "optimizer": {"choice": ["sgd", "adam"]}, "hidden": {"int": [4, 5]},
             "note": "fixed"}
    results = tune.grid_search(build, space, x, y, epochs=2, verbose=0)
    combos = {(p["learning_rate"], p["optimizer"], p["hidden"], p["note"]) for p in build.params}
    assert len(build.params) == 12 and len(combos) == 12 and len(results) == 12
    assert {c[0] for c in combos} == {0.01, 0.1, 0.3} and {c[2] for c in combos} == {4, 5}
    assert all(m.epoch == 2 for m in build.models)
    with pytest.raises(ValueError, match="dropout: grid_search needs a list of values"):
        tune.grid_search(build, {"learning_rate": [0.1], "dropout": {"uniform": [0, 0.5]}}, x, y, verbose=0)


def test_random_search_is_seeded_and_samples_within_bounds():
    x, y = blobs(120)
    space = {"learning_rate": {"log_uniform": [1e-3, 1e-1]}, "hidden": {"int": [2, 6]}, "optimizer": ["sgd", "adam"]}
    a, b, c = Recorder(), Recorder(), Recorder()
    tune.random_search(a, space, x, y, n_trials=5, epochs=1, seed=3, verbose=0)
    tune.random_search(b, space, x, y, n_trials=5, epochs=1, seed=3, verbose=0)
    tune.random_search(c, space, x, y, n_trials=5, epochs=1, seed=4, verbose=0)
    assert a.params == b.params and a.params != c.params

    s = tune.SearchSpace({"lr": {"log_uniform": [1e-4, 1e-1]}, "u": {"uniform": [-1, 3]}, "k": {"int": [1, 3]},
                          "c": {"choice": ["a", "b"]}})
    rng = np.random.default_rng(0)
    draws = [s.sample(rng) for _ in range(3000)]
    lr = np.array([d["lr"] for d in draws])
    u = np.array([d["u"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1 and u.min() >= -1 and u.max() <= 3
    # uniform in log space: each decade gets about a third (uniform in lr would give 0.1% to the first)
    decades = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr)
    np.testing.assert_allclose(decades, 1 / 3, atol=0.04)
    assert {d["k"] for d in draws} == {1, 2, 3} and all(isinstance(d["k"], int) for d in draws)
    assert {d["c"] for d in draws} == {"a", "b"}


def test_the_best_configuration_of_an_easy_problem_is_found():
    x, y = blobs()
    results = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05], "optimizer": ["sgd", "adam"]}, x, y,
                               epochs=5, verbose=0)
    assert results.best_params["learning_rate"] == 0.05
    assert results.best_score > 0.9 and results.metric == "accuracy" and results.mode == "max"
    assert [t.params["learning_rate"] for t in results.trials[-2:]] == [1e-6, 1e-6]  # tiny learning rates lose
    scores = [t.score for t in results.trials]
    assert scores == sorted(scores, reverse=True)

    by_loss = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05]}, x, y, epochs=5, metric="loss", verbose=0)
    assert by_loss.mode == "min" and by_loss.best_params["learning_rate"] == 0.05
    assert by_loss.trials[0].score < by_loss.trials[1].score


def test_results_table_best_params_and_retrain(capsys):
    x, y = blobs()
    results = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05], "hidden": [8, 16]}, x, y, epochs=4)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("trial 1/4: learning_rate=1e-06 hidden=8 -> accuracy ")
    text = results.table()
    assert capsys.readouterr().out.strip() == text.strip()
    rows = text.splitlines()
    assert rows[0].split() == ["rank", "learning_rate", "hidden", "accuracy", "epochs", "seconds"]
    assert rows[2].split()[:2] == ["1", "0.05"] and rows[2].split()[4] == "4" and len(rows) == 6
    assert results.table(max_rows=1, print_fn=None).splitlines()[-1] == "... 3 more"
    records = results.to_records()
    assert records[0]["accuracy"] == results.best_score and json.dumps(records)

    model = results.retrain_best(x, y)
    assert model.epoch == 4 and model.layers[0].units == results.best_params["hidden"]
    assert model.evaluate(x, y)[1] > 0.9
    assert results.retrain_best(x, y, epochs=2).epoch == 2


def test_k_fold_scores_are_the_mean_over_stratified_folds():
    y = np.array([0] * 30 + [1] * 12 + [2] * 6)
    folds = tune.stratified_folds(y, 3, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(48))
    for f in folds:
        assert np.bincount(y[f]).tolist() == [10, 4, 2]
    assert max(map(len, tune.stratified_folds(np.arange(10.5, 0, -1), 4))) - min(
        map(len, tune.stratified_folds(np.arange(10.5, 0, -1), 4))) <= 1  # regression targets: plain folds

    x, y = blobs(150)
    build = Recorder()
    results = tune.grid_search(build, {"learning_rate": [0.05]}, x, y, epochs=3, cv=3, verbose=0)
    trial = results.best
    assert len(build.models) == 3 and len(trial.fold_scores) == 3
    assert trial.score == pytest.approx(np.mean(trial.fold_scores))
    folds = tune.stratified_folds(y, 3, seed=0)
    for model, f in zip(build.models, folds):
        assert model.evaluate(x[f], y[f])[1] in trial.fold_scores  # each model scored on its own fold
    with pytest.raises(ValueError, match="cv: expected an int >= 2"):
        tune.grid_search(build, {"learning_rate": [0.05]}, x, y, cv=1, verbose=0)


def test_validation_data_is_used_when_given():
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    results = tune.grid_search(Recorder(), {"learning_rate": [0.05]}, x, y, epochs=3, validation_data=(xv, yv),
                               verbose=0)
    model = results.retrain_best(x, y, epochs=3)  # same seed, same data: the same model as the trial's
    assert results.best_score == model.evaluate(xv, yv)[1]


def test_hyperband_continues_the_best_with_more_epochs():
    plan = tune.hyperband_brackets(9, eta=3)
    assert plan == [(9, [1, 3, 9]), (5, [3, 9]), (3, [9])]
    x, y = blobs(150)
    build = Recorder()
    space = {"learning_rate": {"log_uniform": [1e-5, 0.3]}, "hidden": [4, 8]}
    results = tune.hyperband(build, space, x, y, max_epochs=9, eta=3, verbose=0, seed=1)
    assert len(results) == 17 and len(build.models) == 17
    steps_per_epoch = math.ceil(120 / 32)
    for trial, model in zip(sorted(results.trials, key=lambda t: t.number), build.models):
        assert model.epoch == trial.epochs
        assert model.optimizer.iterations == trial.epochs * steps_per_epoch  # continued, not restarted
    for b, (n, budgets) in enumerate(plan):
        trials = [t for t in results.trials if t.bracket == b]
        assert len(trials) == n
        for rung, epochs in enumerate(budgets[:-1]):
            here = [t for t in trials if len(t.history) > rung]
            promoted = {t.number for t in here if len(t.history) > rung + 1}
            assert len(promoted) == max(1, len(here) // 3)
            best = sorted(here, key=lambda t: -t.history[rung][1])[:len(promoted)]
            assert {t.history[rung][1] for t in best} == {t.history[rung][1] for t in here if t.number in promoted}
            assert all(t.history[rung][0] == epochs for t in here)
    finishers = [sum(t.epochs == 9 for t in results.trials if t.bracket == b) for b in range(3)]
    assert finishers == [1, 1, 3]  # 9 -> 3 -> 1, 5 -> 1, and 3 trained to 9 epochs straight away
    assert results.best.epochs == 9 and results.best_params["learning_rate"] > 1e-3

    halving = tune.successive_halving(Recorder(), space, x, y, n_trials=4, max_epochs=4, min_epochs=1, eta=2,
                                      verbose=0)
    assert sorted(t.epochs for t in halving.trials) == [1, 1, 2, 4]


def test_bad_spaces_name_the_parameter():
    cases = [({"lr": {"normal": [0, 1]}}, "lr: unknown distribution 'normal'"),
             ({"hidden": {"choice": []}}, "hidden: choice needs a non-empty list"),
             ({"hidden": []}, "hidden: expected at least one value"),
             ({"dropout": {"uniform": [0.5, 0.5]}}, r"dropout: uniform needs low < high"),
             ({"lr": {"log_uniform": [0.1, 0.01]}}, "lr: log_uniform needs low < high"),
             ({"lr": {"log_uniform": [0, 0.1]}}, "lr: log_uniform needs low > 0"),
             ({"k": {"int": [1.5, 3]}}, "k: int needs integer bounds"),
             ({"u": {"uniform": [0, "a"]}}, r"u: uniform needs \[low, high\] numbers"),
             ({"u": {"uniform": [0, 1], "int": [0, 1]}}, "u: expected one distribution"),
             ({}, "space: expected a non-empty dict")]
    for space, message in cases:
        with pytest.raises(ValueError, match=message):
            tune.SearchSpace(space)
    with pytest.raises(TypeError, match="f: expected a list of values"):
        tune.SearchSpace({"f": object()})
    x, y = blobs(60)
    with pytest.raises(ValueError, match="lr: unknown distribution"):
        tune.random_search(Recorder(), {"lr": {"gauss": [0, 1]}}, x, y, verbose=0)
    with pytest.raises(ValueError, match="n_trials: not an option of strategy 'grid'"):
        tune.search(Recorder(), {"learning_rate": [0.1]}, x, y, strategy="grid", n_trials=3)
    with pytest.raises(ValueError, match="strategy: expected one of"):
        tune.search(Recorder(), {"learning_rate": [0.1]}, x, y, strategy="annealing")
    with pytest.raises(ValueError, match="build_fn: the model it returns must be compiled"):
        tune.grid_search(lambda p: Sequential([Dense(3, input_shape=(4,))]), {"a": [1]}, x, y, verbose=0)


def test_space_from_yaml_and_json_files(tmp_path):
    spec = {"learning_rate": {"log_uniform": [1e-4, 1e-1]}, "hidden": {"choice": [[32], [64, 32]]}, "opt": ["sgd"]}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    assert tune.SearchSpace(tmp_path / "s.json").spec == spec
    pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text("learning_rate: {log_uniform: [1e-4, 1.0e-1]}\n"  # 1e-4: a float, not YAML 1.1's str
                                     "hidden: {choice: [[32], [64, 32]]}\nopt: [sgd]\n")
    assert tune.SearchSpace(str(tmp_path / "s.yaml")).spec == spec
    (tmp_path / "e.yaml").write_text("a: [1.5e2, 1.0e5, 2E-3, .5e1, 1e3]\n")  # every float form, dot or not
    assert tune.load_config(tmp_path / "e.yaml") == {"a": [150.0, 1e5, 2e-3, 5.0, 1000.0]}
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ValueError, match="invalid YAML"):
        tune.load_config(tmp_path / "bad.yaml")


def test_a_failing_trial_is_recorded_and_the_search_goes_on(capsys):
    x, y = blobs()
    build = Recorder()

    def fragile(params):
        if params["learning_rate"] == 0.2:
            raise RuntimeError("out of memory")
        return build(params)

    results = tune.grid_search(fragile, {"learning_rate": [0.05, 0.2, 0.1]}, x, y, epochs=2)
    assert len(results) == 3 and results.best.error is None
    failed = [t for t in results.trials if t.error]
    assert len(failed) == 1 and failed[0].error == "RuntimeError: out of memory" and math.isnan(failed[0].score)
    assert "learning_rate=0.2 -> failed: RuntimeError: out of memory" in capsys.readouterr().out
    halving = tune.successive_halving(fragile, {"learning_rate": [0.05, 0.2, 0.1]}, x, y, n_trials=6, max_epochs=3,
                                      eta=3, verbose=0, seed=1)
    assert any(t.error for t in halving.trials) and halving.best.error is None
    with pytest.raises(ValueError, match="bad setup"):  # every trial failing: the cause itself, not a result
        tune.grid_search(lambda p: (_ for _ in ()).throw(ValueError("bad setup")), {"a": [1, 2]}, x, y, verbose=0)


def test_trials_record_the_epochs_they_trained():
    """A callback that stops training early: the trial says how far it got, not the budget."""
    from fastnn import callbacks

    x, y = blobs()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # never improves: stops at epoch 1
    results = tune.grid_search(Recorder(), {"learning_rate": [0.05]}, x, y, epochs=10, verbose=0,
                               fit_kwargs={"callbacks": [stop]})
    assert results.best.epochs == 2


def test_diverged_trials_rank_last():
    x, y = blobs()
    for metric in ("loss", "accuracy"):
        results = tune.grid_search(Recorder(), {"learning_rate": [1e30, 0.05, 1e10]}, x, y, epochs=2, metric=metric,
                                   verbose=0)
        assert results.best_params["learning_rate"] == 0.05
        assert all(math.isnan(t.score) for t in results.trials[1:])  # NaN loss: no score, whatever argmax says


def test_bayesian_without_optuna_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    x, y = blobs(60)
    with pytest.raises(ImportError, match=r"pip install 'fastnn\[tune\]'"):
        tune.bayesian(Recorder(), {"learning_rate": {"log_uniform": [1e-3, 0.1]}}, x, y, n_trials=2, verbose=0)


def test_bayesian_search_with_optuna():
    pytest.importorskip("optuna")
    x, y = blobs()
    space = {"learning_rate": {"log_uniform": [1e-6, 0.1]}, "hidden": {"choice": [4, 16]},
             "optimizer": ["sgd", "adam"]}
    a, b = Recorder(), Recorder()
    results = tune.bayesian(a, space, x, y, n_trials=8, epochs=3, seed=0, verbose=0)
    tune.bayesian(b, space, x, y, n_trials=8, epochs=3, seed=0, verbose=0)
    assert len(results) == 8 and a.params[1:] == b.params[1:]  # [0] is the probe that sets the direction
    assert all(1e-6 <= p["learning_rate"] <= 0.1 and p["hidden"] in (4, 16) for p in a.params)
    assert results.best_score == max(t.score for t in results.trials)
    assert results.strategy == "bayesian"


def test_built_in_mlp_builder_reads_its_hyperparameters():
    build = tune.model_builder("mlp", (4,), 3, seed=0)
    model = build({"hidden": [8, 6], "optimizer": "nesterov", "learning_rate": 0.02, "l2": 1e-3})
    assert [l.units for l in model.layers] == [8, 6, 3]
    assert model.optimizer.nesterov and model.optimizer.learning_rate == 0.02
    assert model.layers[0].kernel_regularizer is not None
    assert type(build({"optimizer": "adamw"}).optimizer).__name__ == "AdamW"
    images = tune.model_builder("mlp", (2, 2, 1), 3)({"hidden": 5})
    assert type(images.layers[0]).__name__ == "Flatten" and images.layers[1].units == 5
    with pytest.raises(ValueError, match="hiden: not a hyperparameter of the mlp model"):
        build({"hiden": 8})
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        build({"optimizer": "lbfgs"})
    with pytest.raises(ValueError, match="hidden: expected a positive int or a list"):
        build({"hidden": [8, 0]})
    with pytest.raises(ValueError, match="model: expected one of"):
        tune.model_builder("rnn", (4,), 3)
    for name, lr in tune.OPTIMIZERS.items():
        assert tune.make_optimizer(name).current_learning_rate() == lr


def test_built_in_builders_with_optional_layers():
    import fastnn

    if not hasattr(fastnn, "Dropout"):
        pytest.skip("fastnn.Dropout is not in this build yet")
    mlp = tune.model_builder("mlp", (4,), 3)({"hidden": [8, 6], "dropout": 0.25})
    assert [type(l).__name__ for l in mlp.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    if not hasattr(fastnn, "Conv2D"):
        pytest.skip("fastnn.Conv2D is not in this build yet")
    cnn = tune.model_builder("cnn", (8, 8, 1), 10)({"filters": [4, 4, 4, 4], "dense": 16, "dropout": 0.1})
    names = [type(l).__name__ for l in cnn.layers]
    assert names.count("MaxPooling2D") == 3  # 8 -> 4 -> 2 -> 1, then no more pooling
    assert names[-4:] == ["Flatten", "Dense", "Dropout", "Dense"] and cnn.output_shape == (10,)
    with pytest.raises(ValueError, match="input_shape: the cnn model needs images"):
        tune.model_builder("cnn", (64,), 10)
