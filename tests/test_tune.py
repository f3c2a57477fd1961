"""Hyperparameter search on Optuna: spaces, strategies, scoring, results, storage, build functions."""
import json
import math
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")  # in the [test] extra: never skipped in CI

from fastnn import SGD, Adam, Dense, Sequential, callbacks, tune  # noqa: E402


def blobs(n=240, seed=0):
    """Three Gaussian blobs in 4-D: an easy classification problem."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 4))).astype(np.float32), y


def blob_model(hidden=8, learning_rate=0.05, optimizer="sgd"):
    model = Sequential([Dense(hidden, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")], seed=0)
    opt = Adam(learning_rate) if optimizer == "adam" else SGD(learning_rate)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    return model


class Recorder:
    """A build_fn(params) that records every configuration and model it builds
    (the first build of a search is its probe: a model built before any trial)."""

    def __init__(self):
        self.params, self.models = [], []

    def __call__(self, params):
        self.params.append(dict(params))
        self.models.append(blob_model(params.get("hidden", 8), params["learning_rate"], params.get("optimizer")))
        return self.models[-1]


def test_grid_search_trains_every_combination_once_in_a_seeded_order():
    x, y = blobs()
    build = Recorder()
    space = {"learning_rate": [0.01, 0.1, 0.3], "optimizer": {"choice": ["sgd", "adam"]}, "hidden": {"int": [4, 5]},
             "note": "fixed"}
    results = tune.grid_search(build, space, x, y, epochs=2, verbose=0)
    trained = build.params[1:]
    combos = {(p["learning_rate"], p["optimizer"], p["hidden"], p["note"]) for p in trained}
    assert len(trained) == 12 and len(combos) == 12 and len(results) == 12
    assert {c[0] for c in combos} == {0.01, 0.1, 0.3} and {c[2] for c in combos} == {4, 5}
    assert all(m.epoch == 2 for m in build.models[1:]) and build.models[0].epoch == 0
    assert isinstance(results.study.sampler, optuna.samplers.GridSampler)
    again, other = Recorder(), Recorder()
    tune.grid_search(again, space, x, y, epochs=1, verbose=0)
    tune.grid_search(other, space, x, y, epochs=1, verbose=0, seed=1)
    assert again.params == build.params and other.params != build.params  # the order is seeded
    with pytest.raises(ValueError, match="dropout: grid_search needs a list of values"):
        tune.grid_search(build, {"learning_rate": [0.1], "dropout": {"uniform": [0, 0.5]}}, x, y, verbose=0)


def test_random_search_is_seeded_and_maps_the_space_onto_optuna():
    x, y = blobs(120)
    space = {"learning_rate": {"log_uniform": [1e-3, 1e-1]}, "hidden": {"int": [2, 6]}, "optimizer": ["sgd", "adam"]}
    a, b, c = Recorder(), Recorder(), Recorder()
    results = tune.random_search(a, space, x, y, n_trials=5, epochs=1, seed=3, verbose=0)
    tune.random_search(b, space, x, y, n_trials=5, epochs=1, seed=3, verbose=0)
    tune.random_search(c, space, x, y, n_trials=5, epochs=1, seed=4, verbose=0)
    assert len(results) == 5 and a.params == b.params and a.params[1:] != c.params[1:]

    s = tune.SearchSpace({"lr": {"log_uniform": [1e-4, 1e-1]}, "u": {"uniform": [-1, 3]}, "k": {"int": [1, 3]},
                          "h": {"choice": [[32], [64, 32]]}, "c": "const"})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = [s.suggest(study.ask()) for _ in range(3000)]
    lr, u = np.array([d["lr"] for d in draws]), np.array([d["u"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1 and u.min() >= -1 and u.max() <= 3
    # uniform in log space: each decade gets about a third (uniform in lr would give 0.1% to the first)
    np.testing.assert_allclose(np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr), 1 / 3, atol=0.04)
    assert {d["k"] for d in draws} == {1, 2, 3} and all(isinstance(d["k"], int) for d in draws)
    assert {tuple(d["h"]) for d in draws} == {(32,), (64, 32)} and {d["c"] for d in draws} == {"const"}
    assert study.trials[0].params["h"] in ("[32]", "[64, 32]")  # lists reach Optuna as their JSON text
    assert s.decode(study.trials[0].params) == draws[0]


def test_the_best_configuration_of_an_easy_problem_is_found():
    x, y = blobs()
    results = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05], "optimizer": ["sgd", "adam"]}, x, y,
                               epochs=5, verbose=0)
    assert results.best_params["learning_rate"] == 0.05
    assert results.best_score > 0.9 and results.metric == "accuracy" and results.mode == "max"
    assert [t.params["learning_rate"] for t in results.trials[-2:]] == [1e-6, 1e-6]  # tiny learning rates lose
    scores = [t.score for t in results.trials]
    assert scores == sorted(scores, reverse=True)
    assert results.best.score == results.study.best_value

    by_loss = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05]}, x, y, epochs=5, metric="loss", verbose=0)
    assert by_loss.mode == "min" and by_loss.best_params["learning_rate"] == 0.05
    assert by_loss.trials[0].score < by_loss.trials[1].score and by_loss.study.direction.name == "MINIMIZE"


def test_results_table_best_params_and_retrain(capsys):
    x, y = blobs()
    results = tune.grid_search(Recorder(), {"learning_rate": [1e-6, 0.05], "hidden": [8, 16]}, x, y, epochs=4)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(re.match(r"trial \d/4: learning_rate=\S+ hidden=\d+ -> accuracy ", l)
                                   for l in lines)
    text = results.table()
    assert capsys.readouterr().out.strip() == text.strip()
    rows = text.splitlines()
    assert rows[0].split() == ["rank", "learning_rate", "hidden", "accuracy", "epochs", "seconds"]
    assert rows[2].split()[:2] == ["1", "0.05"] and rows[2].split()[4] == "4" and len(rows) == 6
    assert results.table(max_rows=1, print_fn=None).splitlines()[-1] == "... 3 more"
    records = results.to_records()
    assert records[0]["accuracy"] == results.best_score and records[0]["state"] == "complete" and json.dumps(records)

    model = results.retrain_best(x, y)
    assert model.epoch == 4 and model.layers[0].units == results.best_params["hidden"]
    assert model.evaluate(x, y)[1] > 0.9
    assert results.retrain_best(x, y, epochs=2).epoch == 2


def test_k_fold_scores_are_the_mean_over_stratified_folds():
    x, y = blobs(150)
    build = Recorder()
    results = tune.grid_search(build, {"learning_rate": [0.05]}, x, y, epochs=3, cv=3, verbose=0)
    trial = results.best
    folds = build.models[1:]
    assert len(folds) == 3 and len(trial.fold_scores) == 3 and all(m.epoch == 3 for m in folds)
    assert trial.score == pytest.approx(np.mean(trial.fold_scores))
    for model, f, score in zip(folds, tune.stratified_folds(y, 3, seed=0), trial.fold_scores):
        assert model.evaluate(x[f], y[f], verbose=0)[1] == score  # each model scored on its own fold
    assert [s for _, s in trial.history] == [pytest.approx(v) for v in results.study.trials[0].intermediate_values
                                               .values()] and len(trial.history) == 3
    with pytest.raises(ValueError, match="cv: expected an int >= 2"):
        tune.grid_search(build, {"learning_rate": [0.05]}, x, y, cv=1, verbose=0)


def test_validation_data_is_used_when_given():
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    results = tune.grid_search(Recorder(), {"learning_rate": [0.05]}, x, y, epochs=3, validation_data=(xv, yv),
                               verbose=0)
    model = results.retrain_best(x, y, epochs=3)  # same seed, same data: the same model as the trial's
    assert results.best_score == model.evaluate(xv, yv, verbose=0)[1]


SPACE = {"learning_rate": {"log_uniform": [1e-5, 0.3]}, "hidden": [4, 8]}


def test_hyperband_prunes_at_the_rungs_and_trains_each_model_once():
    x, y = blobs(150)
    build = Recorder()
    results = tune.hyperband(build, SPACE, x, y, max_epochs=9, eta=3, verbose=0, seed=1)
    assert tune.hyperband_trials(9, 3) == 17 and len(results) == 17 and len(build.models) == 18
    # the paper's plans: R = 81, eta = 3 has brackets of 81, 34, 15, 8 and 5 configurations
    assert [tune.hyperband_trials(81), tune.hyperband_trials(27), tune.hyperband_trials(8, 2)] == [143, 49, 22]
    assert tune.hyperband_trials(9, 3, min_epochs=9) == 1
    assert isinstance(results.study.pruner, optuna.pruners.HyperbandPruner)
    steps_per_epoch = math.ceil(120 / 32)
    by_number = sorted(results.trials, key=lambda t: t.number)
    for trial, model in zip(by_number, build.models[1:]):
        assert model.epoch == trial.epochs and model.optimizer.iterations == trial.epochs * steps_per_epoch
        assert [e for e, _ in trial.history] == list(range(1, trial.epochs + 1))
        assert (trial.state == "complete") == (trial.epochs == 9)
    pruned = [t for t in results.trials if t.state == "pruned"]
    assert pruned and {t.epochs for t in pruned} <= {1, 3}  # stopped at a rung: 1 or 3 epochs (eta = 3)
    assert results.best.state == "complete" and results.best.epochs == 9
    again = tune.hyperband(Recorder(), SPACE, x, y, max_epochs=9, eta=3, verbose=0, seed=1)
    assert [(t.number, t.state, t.epochs, t.score) for t in again.trials] == \
        [(t.number, t.state, t.epochs, t.score) for t in results.trials]  # seeded: the same search again


def test_successive_halving_and_the_median_pruner():
    x, y = blobs(150)
    halving = tune.successive_halving(Recorder(), SPACE, x, y, n_trials=9, max_epochs=9, min_epochs=1, eta=3,
                                      verbose=0, seed=2)
    assert len(halving) == 9 and isinstance(halving.study.pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert {t.epochs for t in halving.trials} <= {1, 3, 9} and any(t.state == "pruned" for t in halving.trials)
    assert halving.trials[0].epochs == 9  # the first trial has no rival at any rung
    assert sorted(t.epochs for t in halving.trials) == sorted(t.epochs for t in tune.successive_halving(
        Recorder(), SPACE, x, y, n_trials=9, max_epochs=9, eta=3, verbose=0, seed=2).trials)

    median = tune.random_search(Recorder(), SPACE, x, y, n_trials=12, epochs=4, pruner="median", verbose=0, seed=1)
    assert isinstance(median.study.pruner, optuna.pruners.MedianPruner)
    first_five = [t for t in median.trials if t.number < 5]
    assert all(t.state == "complete" for t in first_five)  # n_startup_trials=5: never pruned
    pruned = [t for t in median.trials if t.state == "pruned"]
    assert pruned and all(t.epochs < 4 for t in pruned)
    assert any(t.state == "complete" for t in median.trials if t.number >= 5)
    for t in pruned:  # stopped when its best so far is below the median of the finished trials at that epoch
        earlier = [u.history[t.epochs - 1][1] for u in median.trials if u.number < t.number and u.state == "complete"]
        assert max(s for _, s in t.history) < np.median(earlier)


def test_bayesian_search_is_seeded():
    x, y = blobs()
    space = {"learning_rate": {"log_uniform": [1e-6, 0.1]}, "hidden": {"choice": [4, 16]},
             "optimizer": ["sgd", "adam"]}
    a, b = Recorder(), Recorder()
    results = tune.bayesian(a, space, x, y, n_trials=12, epochs=2, seed=0, verbose=0)
    tune.bayesian(b, space, x, y, n_trials=12, epochs=2, seed=0, verbose=0)
    assert len(results) == 12 and a.params == b.params
    assert isinstance(results.study.sampler.inner, optuna.samplers.TPESampler)
    assert all(1e-6 <= p["learning_rate"] <= 0.1 and p["hidden"] in (4, 16) for p in a.params)
    assert results.best_score == max(t.score for t in results.trials) and results.strategy == "bayesian"


def test_both_build_function_styles_and_training_keys_in_the_space():
    x, y = blobs(160)
    built = []

    def keras_style(hidden=8, learning_rate=0.05, optimizer="sgd"):
        built.append((hidden, learning_rate, optimizer))
        return blob_model(hidden, learning_rate, optimizer)

    space = {"hidden": [4, 8], "learning_rate": [0.05], "epochs": [1, 3], "batch_size": [16]}
    results = tune.grid_search(keras_style, space, x, y, verbose=0)
    assert len(results) == 4 and {b[0] for b in built} == {4, 8}
    assert {(t.params["epochs"], t.epochs) for t in results.trials} == {(1, 1), (3, 3)}  # epochs honoured
    header = results.table(print_fn=None).splitlines()[0].split()
    assert header == ["rank", "hidden", "learning_rate", "batch_size", "accuracy", "epochs", "seconds"]
    model = results.retrain_best(x, y)  # batch_size 16 from the space: 10 steps per epoch on 160 samples
    assert model.optimizer.iterations == results.best.epochs * 10

    def var_kwargs(**params):
        built.append(params)
        return blob_model(**params)

    tune.random_search(var_kwargs, {"hidden": {"int": [2, 4]}, "learning_rate": 0.05}, x, y, n_trials=2, epochs=1,
                       verbose=0)
    assert set(built[-1]) == {"hidden", "learning_rate"}
    dict_style = Recorder()
    tune.grid_search(dict_style, {"learning_rate": [0.05], "batch_size": [8]}, x, y, epochs=1, verbose=0)
    assert dict_style.params[-1] == {"learning_rate": 0.05}  # training keys go to fit, not to build_fn(params)

    with pytest.raises(ValueError, match=r"dropout: not an argument of build_fn\(hidden=8"):
        tune.grid_search(keras_style, {"dropout": [0.1]}, x, y, verbose=0)
    with pytest.raises(TypeError, match="build_fn: expected build_fn"):
        tune.grid_search(lambda a, b: None, {"c": [1]}, x, y, verbose=0)
    with pytest.raises(ValueError, match="epochs: a training argument"):
        tune.SearchSpace({"epochs": {"uniform": [1, 5]}})


def test_bad_input_is_reported_before_any_training(tmp_path):
    x, y = blobs(60)
    build = Recorder()
    space = {"learning_rate": [0.1]}
    cases = [(dict(strategy="annealing"), "strategy: expected one of"),
             (dict(strategy="grid", n_trials=3), "n_trials: not an option of strategy 'grid'"),
             (dict(strategy="hyperband", sampler="cmaes"), "sampler: expected one of random, tpe"),
             (dict(strategy="random", pruner="patient"), "pruner: expected None or one of median"),
             (dict(strategy="random", storage="nosuchdb://x"), "storage: cannot open 'nosuchdb://x'"),
             (dict(strategy="random", storage=str(tmp_path / "missing" / "j.log"), study_name="s"),
              "storage: cannot open"),
             (dict(strategy="random", storage=f"sqlite:///{tmp_path}/s.db"), "study_name: a name is needed"),
             (dict(strategy="random", fit_kwargs={"epochs": 3}), "fit_kwargs: 'epochs' is set by the search"),
             (dict(strategy="random", metric="auc"), "metric: expected 'accuracy' or 'loss'"),
             (dict(strategy="hyperband", eta=1), "eta: expected an int >= 2")]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            tune.search(build, space, x, y, verbose=0, **options)
    with pytest.raises(ValueError, match="epochs: the pruner decides"):
        tune.hyperband(build, {"learning_rate": [0.1], "epochs": [3]}, x, y, verbose=0)
    with pytest.raises(ValueError, match="build_fn: the model it returns must be compiled"):
        tune.grid_search(lambda p: Sequential([Dense(3, input_shape=(4,))]), {"a": [1]}, x, y, verbose=0)
    db = f"sqlite:///{tmp_path}/search.db"
    tune.grid_search(build, space, x, y, epochs=1, verbose=0, storage=db, study_name="s")
    with pytest.raises(ValueError, match="metric: study 's' maximizes its score, but metric 'loss' must be minimized"):
        tune.grid_search(build, space, x, y, metric="loss", verbose=0, storage=db, study_name="s")
    with pytest.raises(ValueError, match="study_name: study 's' in this storage is a grid search"):
        tune.random_search(build, space, x, y, verbose=0, storage=db, study_name="s")
    assert all(m.epoch == 0 for m in build.models[2:])  # only probes were built: nothing trained


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
             ({"bn": [1, True]}, "bn: values 1 and True are the same value to Optuna"),
             ({}, "space: expected a non-empty dict")]
    for space, message in cases:
        with pytest.raises(ValueError, match=message):
            tune.SearchSpace(space)
    with pytest.raises(TypeError, match="f: expected a list of values"):
        tune.SearchSpace({"f": object()})


def test_space_from_yaml_and_json_files(tmp_path):
    spec = {"learning_rate": {"log_uniform": [1e-4, 1e-1]}, "hidden": {"choice": [[32], [64, 32]]}, "opt": ["sgd"]}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    assert tune.SearchSpace(tmp_path / "s.json").spec == spec
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
    assert failed[0].state == "failed" and results.trials[-1] is failed[0]
    assert results.to_records()[-1]["error"] == "RuntimeError: out of memory"
    captured = capsys.readouterr()
    assert "learning_rate=0.2 -> failed: RuntimeError: out of memory" in captured.out
    assert captured.err == ""  # Optuna's own log of the failure (a traceback) is kept quiet
    with pytest.raises(ValueError, match="bad setup"):  # every trial failing: the cause itself, not a result
        tune.grid_search(lambda p: (_ for _ in ()).throw(ValueError("bad setup")), {"a": [1, 2]}, x, y, verbose=0)


def test_trials_record_the_epochs_they_trained():
    """A callback that stops training early: the trial says how far it got, not the budget."""
    x, y = blobs()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # never improves: stops at epoch 2
    results = tune.grid_search(Recorder(), {"learning_rate": [0.05]}, x, y, epochs=10, verbose=0,
                               fit_kwargs={"callbacks": [stop]})
    assert results.best.epochs == 2


def test_diverged_trials_rank_last_and_stop_at_once():
    x, y = blobs()
    for metric in ("loss", "accuracy"):
        results = tune.grid_search(Recorder(), {"learning_rate": [1e30, 0.05, 1e10]}, x, y, epochs=4, metric=metric,
                                   verbose=0)
        assert results.best_params["learning_rate"] == 0.05
        assert all(math.isnan(t.score) and t.state == "failed" and t.epochs < 4 for t in results.trials[1:])


# -- storage: resume, interrupted and killed runs, several processes ---------------------------------------

def test_a_stored_study_continues_where_it_stopped(tmp_path):
    x, y = blobs(120)
    storage = f"sqlite:///{tmp_path}/search.db"
    first, second = Recorder(), Recorder()
    space = {"learning_rate": {"log_uniform": [1e-3, 0.1]}, "hidden": [4, 8]}
    tune.random_search(first, space, x, y, n_trials=3, epochs=1, verbose=0, storage=storage, study_name="r")
    results = tune.random_search(second, space, x, y, n_trials=5, epochs=1, verbose=0, storage=storage,
                                 study_name="r")
    assert len(first.models) == 4 and len(second.models) == 3  # a probe, then only the two trials missing
    assert len(results) == 5 and sorted(t.number for t in results.trials) == list(range(5))
    whole = Recorder()
    tune.random_search(whole, space, x, y, n_trials=5, epochs=1, verbose=0)
    assert whole.params[1:] == first.params[1:] + second.params[1:]  # per-trial seeds: the same five configurations
    journal = str(tmp_path / "search.log")
    grid = {"learning_rate": [0.01, 0.1], "hidden": [4, 8]}
    tune.grid_search(Recorder(), grid, x, y, epochs=1, verbose=0, storage=journal, study_name="g")
    again = Recorder()
    assert len(tune.grid_search(again, grid, x, y, epochs=1, verbose=0, storage=journal, study_name="g")) == 4
    assert len(again.models) == 1  # the grid was done: nothing trained


def test_ctrl_c_returns_the_finished_trials_and_the_rerun_retries_the_interrupted_one(tmp_path, capsys):
    x, y = blobs(120)
    storage = str(tmp_path / "search.log")
    build = Recorder()

    def interrupted_at_the_third(params):
        if len(build.params) == 3:
            build.params.append(params)
            raise KeyboardInterrupt
        return build(params)

    grid = {"learning_rate": [0.01, 0.02, 0.05, 0.1]}
    results = tune.grid_search(interrupted_at_the_third, grid, x, y, epochs=1, storage=storage, study_name="g")
    assert results.interrupted and len(results) == 2
    assert f"interrupted: 2 finished trials kept in study 'g' of {storage}" in capsys.readouterr().err
    rerun = Recorder()
    results = tune.grid_search(rerun, grid, x, y, epochs=1, verbose=0, storage=storage, study_name="g")
    assert not results.interrupted and len(results) == 4 and len(rerun.models) == 3  # probe + the two left
    assert sorted(t.params["learning_rate"] for t in results.trials) == grid["learning_rate"]


WORKER = """
import sys, time
import numpy as np
from fastnn import tune, Sequential, Dense, SGD

rng = np.random.default_rng(0)
centers = rng.standard_normal((3, 4)) * 3
y = rng.integers(0, 3, 120)
x = (centers[y] + rng.standard_normal((120, 4))).astype(np.float32)
storage, study, slow, pause = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])

def build(learning_rate, hidden):
    if learning_rate == slow:
        print("slow trial started", flush=True)
        time.sleep(60)
    time.sleep(pause)
    model = Sequential([Dense(hidden, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(learning_rate), metrics=["accuracy"])
    return model

tune.grid_search(build, {"learning_rate": [0.01, 0.02, 0.05, 0.1, 0.2, 0.3], "hidden": [4, 8]}, x, y, epochs=1,
                 verbose=0, storage=storage, study_name=study)
"""


def worker(tmp_path, storage, slow=-1.0, pause=0.0):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(tune.__file__)),
                                                        os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), storage, "grid", str(slow), str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def grid_trials(storage):
    study = optuna.load_study(study_name="grid", storage=tune.open_storage(storage))
    return study, [t for t in study.trials if t.state.name == "COMPLETE"]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_killed_run_keeps_its_finished_trials_and_the_rerun_retries_the_one_it_was_running(tmp_path, kind):
    storage = f"sqlite:///{tmp_path}/search.db" if kind == "sqlite" else str(tmp_path / "search.log")
    proc = worker(tmp_path, storage, slow=0.1)
    assert proc.stdout.readline() == "slow trial started\n"  # mid-trial: now kill it
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    study, done = grid_trials(storage)
    finished_before = {t.number for t in done}
    assert [t.state.name for t in study.trials].count("RUNNING") == 1
    rerun = worker(tmp_path, storage)
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
    study, done = grid_trials(storage)
    points = [(t.params["learning_rate"], t.params["hidden"]) for t in done]
    assert len(points) == 12 and len(set(points)) == 12  # the total reached, no grid point twice
    assert finished_before <= {t.number for t in done}  # the killed run's finished trials were kept
    killed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(killed) == 1 and killed[0].params["learning_rate"] == 0.1
    retry = [t for t in done if t.system_attrs.get("failed_trial") == killed[0].number]
    assert len(retry) == 1 and retry[0].params == killed[0].params


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_processes_split_one_grid_without_duplicates(tmp_path, kind):
    storage = f"sqlite:///{tmp_path}/search.db" if kind == "sqlite" else str(tmp_path / "search.log")
    if kind == "sqlite":  # create the tables once, so the two processes do not race to create them
        tune.open_storage(storage)
    procs = [worker(tmp_path, storage, pause=0.3) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    study, done = grid_trials(storage)
    points = [(t.params["learning_rate"], t.params["hidden"]) for t in done]
    assert len(points) == 12 and len(set(points)) == 12
    assert len({t.user_attrs["worker"] for t in done}) == 2  # both processes ran trials
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)


def test_without_optuna_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    x, y = blobs(60)
    with pytest.raises(ImportError, match=r"fastnn.tune needs Optuna: pip install 'fastnn\[tune\]'"):
        tune.random_search(Recorder(), {"learning_rate": [0.1]}, x, y, verbose=0)
