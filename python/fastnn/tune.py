"""Hyperparameter search: a declarative space, four strategies, one results table.

A search space maps each hyperparameter to its values::

    space = {
        "learning_rate": {"log_uniform": [1e-4, 1e-1]},   # uniform in log space
        "hidden": {"choice": [32, 64, 128]},              # one of these
        "dropout": {"uniform": [0.0, 0.5]},
        "layers": {"int": [1, 3]},                        # integers, both ends included
        "optimizer": ["sgd", "adam"],                     # a plain list: grid values (a choice when sampled)
        "activation": "relu",                             # a constant
    }

(the same as a dict in Python or in a YAML/JSON file). ``build_fn(params)``
returns a compiled model for one point of the space, and a strategy trains
and scores such models:

* ``grid_search``: every combination of the (discrete) values.
* ``random_search(n_trials, seed)``: independent samples.
* ``successive_halving`` and ``hyperband(max_epochs, eta=3)``: train many
  configurations for a few epochs, keep the best 1/eta, continue those for
  eta times more epochs (``model.fit`` resumes where it stopped), and so on;
  Hyperband runs several such brackets, from many short runs to few long ones.
* ``bayesian(n_trials)``: Optuna's TPE sampler (``pip install 'fastnn[tune]'``).

Scores come from a held-out validation split (stratified for class labels),
given validation data, or ``cv=k`` stratified folds (mean over the folds).
Each strategy returns ``SearchResults``: ``results.table()``,
``results.best_params``, ``results.best_score`` and ``results.retrain_best(x, y)``.

``model_builder('mlp'|'cnn', input_shape, num_classes)`` gives a ready
``build_fn`` for classifiers, used by ``fastnn tune CONFIG``.
"""
from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np

from .training.data import stratified_folds, stratified_mask

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int")
_TUNE_HINT = "pip install 'fastnn[tune]'"


# -- the search space -------------------------------------------------------------

def _plain(value):
    """numpy scalars to Python ones (for printing, JSON and Optuna)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


@dataclass
class Param:
    """One hyperparameter: ``kind`` is 'grid' (a list), 'constant', or one of ``DISTRIBUTIONS``."""

    name: str
    kind: str
    values: list = None  # grid, choice, constant
    low: float = None     # uniform, log_uniform, int
    high: float = None

    @classmethod
    def parse(cls, name, spec):
        """Validate one entry of a space; errors name the parameter."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"space: parameter names must be non-empty strings, got {name!r}")
        if isinstance(spec, (list, tuple)):
            if len(spec) == 0:
                raise ValueError(f"{name}: expected at least one value, got an empty list")
            return cls(name, "grid", values=[_plain(v) for v in spec])
        if isinstance(spec, dict):
            if len(spec) != 1:
                raise ValueError(f"{name}: expected one distribution such as {{'uniform': [low, high]}}, "
                                 f"got keys {sorted(spec)}")
            (kind, arg), = spec.items()
            if kind not in DISTRIBUTIONS:
                raise ValueError(f"{name}: unknown distribution {kind!r}; expected one of "
                                 f"{', '.join(DISTRIBUTIONS)} (or a list of values)")
            if kind == "choice":
                if not isinstance(arg, (list, tuple)) or len(arg) == 0:
                    raise ValueError(f"{name}: choice needs a non-empty list of values, got {arg!r}")
                return cls(name, "choice", values=[_plain(v) for v in arg])
            if not isinstance(arg, (list, tuple)) or len(arg) != 2 or not all(_is_number(v) for v in arg):
                raise ValueError(f"{name}: {kind} needs [low, high] numbers, got {arg!r}")
            low, high = (_plain(v) for v in arg)
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"{name}: {kind} bounds must be finite, got {arg!r}")
            if not low < high:
                raise ValueError(f"{name}: {kind} needs low < high, got [{low}, {high}]")
            if kind == "log_uniform" and low <= 0:
                raise ValueError(f"{name}: log_uniform needs low > 0, got {low}")
            if kind == "int":
                if not all(float(v).is_integer() for v in (low, high)):
                    raise ValueError(f"{name}: int needs integer bounds, got {arg!r}")
                low, high = int(low), int(high)
            return cls(name, kind, low=low, high=high)
        if spec is None or isinstance(spec, (str, bool)) or _is_number(spec):
            return cls(name, "constant", values=[_plain(spec)])
        raise TypeError(f"{name}: expected a list of values, a {{distribution: arguments}} dict or a constant, "
                        f"got {type(spec).__name__}")

    def sample(self, rng):
        """One random value: uniform over values or range (log_uniform: uniform in log space)."""
        if self.kind in ("grid", "choice", "constant"):
            return self.values[int(rng.integers(len(self.values)))]
        if self.kind == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return int(rng.integers(self.low, self.high + 1))

    def grid_values(self):
        """Every value, for grid search; continuous ranges have none."""
        if self.kind == "int":
            return list(range(self.low, self.high + 1))
        if self.values is None:
            raise ValueError(f"{self.name}: grid_search needs a list of values, got a {self.kind} range "
                             f"[{self.low}, {self.high}]; use random_search, hyperband or bayesian, or list values")
        return self.values

    def suggest(self, trial):
        """The value Optuna's ``trial`` proposes."""
        if self.kind == "constant":
            return self.values[0]
        if self.kind in ("grid", "choice"):
            if all(v is None or isinstance(v, (bool, int, float, str)) for v in self.values):
                return trial.suggest_categorical(self.name, self.values)
            index = trial.suggest_categorical(self.name, list(range(len(self.values))))
            return self.values[index]
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high)
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log_uniform")


class SearchSpace:
    """A validated search space (see the module docstring for the format).

    Args:
        space: dict of name -> list of values, ``{distribution: args}`` or constant;
            or a path to a YAML/JSON file holding such a dict.
    """

    def __init__(self, space):
        if isinstance(space, SearchSpace):
            space = space.spec
        if isinstance(space, (str, os.PathLike)):
            space = load_config(space)
        if not isinstance(space, dict) or not space:
            raise ValueError(f"space: expected a non-empty dict of parameter -> values or distribution, got {space!r}")
        self.spec = dict(space)
        self.params = [Param.parse(name, spec) for name, spec in space.items()]

    def __repr__(self):
        return f"SearchSpace({self.spec!r})"

    @property
    def names(self):
        """Parameter names, in declaration order."""
        return [p.name for p in self.params]

    def sample(self, rng):
        """One random configuration (a dict), drawn with ``rng``."""
        return {p.name: p.sample(rng) for p in self.params}

    def grid(self):
        """Every combination of the parameters' values, the last parameter varying fastest."""
        values = [p.grid_values() for p in self.params]
        return [dict(zip(self.names, combo)) for combo in itertools.product(*values)]

    def suggest(self, trial):
        """A configuration proposed by an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}


def _yaml_loader(yaml):
    """PyYAML's safe loader, also reading ``1e-4`` and ``1.5e2`` as floats (YAML 1.1 wants a
    dot and a signed exponent, ``1.0e-4``, and would otherwise hand a search space strings)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?([0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+$"),
                                 list("-+.0123456789"))
    return Loader


def load_config(path):
    """Read a YAML (``.yaml``/``.yml``, needs PyYAML) or JSON file into a dict."""
    path = os.fspath(path)
    with open(path) as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"reading {path} needs PyYAML: {_TUNE_HINT} (or write the file as JSON)") from None
        try:
            data = yaml.load(text, Loader=_yaml_loader(yaml))
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: invalid YAML: {e}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


# -- validation splits and folds ----------------------------------------------------

def _validation_indices(y, fraction, seed):
    """A stratified (for class labels) random validation subset of size about ``fraction``."""
    return np.flatnonzero(stratified_mask(y, fraction, np.random.default_rng(seed)))


# -- trials and results ----------------------------------------------------------------

@dataclass
class Trial:
    """One evaluated configuration.

    ``score`` is the validation metric after ``epochs`` epochs (mean over folds
    with cv), ``fold_scores`` the per-fold values, ``history`` the
    (epochs, score) pairs at each budget it was trained to (successive
    halving / Hyperband), ``bracket`` its Hyperband bracket, ``error`` the
    exception that ended it, if one did (the search goes on; its score is NaN).
    """

    number: int
    params: dict
    score: float = float("nan")
    epochs: int = 0
    fold_scores: list = field(default_factory=list)
    seconds: float = 0.0
    history: list = field(default_factory=list)
    bracket: int = None
    error: str = None  # why the trial failed (its score is then NaN)


class SearchResults:
    """What a search found: every trial, ranked by score.

    Attributes: ``trials`` (best first), ``metric``, ``mode`` ('max' or 'min'),
    ``strategy``, ``best``, ``best_params``, ``best_score``.
    """

    def __init__(self, trials, metric, mode, strategy, space, build_fn, batch_size, fit_kwargs):
        self.metric, self.mode, self.strategy, self.space = metric, mode, strategy, space
        self._build_fn, self._batch_size, self._fit_kwargs = build_fn, batch_size, fit_kwargs
        sign = -1.0 if mode == "max" else 1.0
        # NaN scores (diverged runs) rank last; among equal scores, the longer-trained first.
        self.trials = sorted(trials, key=lambda t: (math.isnan(t.score), sign * t.score if not math.isnan(t.score)
                                                    else 0.0, -t.epochs, t.number))

    def __len__(self):
        return len(self.trials)

    def __repr__(self):
        return (f"SearchResults({self.strategy}, {len(self.trials)} trials, best {self.metric} "
                f"{self.best_score:.4g} with {self.best_params})")

    @property
    def best(self):
        """The best trial."""
        return self.trials[0]

    @property
    def best_params(self):
        """The best configuration (a dict)."""
        return dict(self.best.params)

    @property
    def best_score(self):
        """The best configuration's validation score."""
        return self.best.score

    def to_records(self):
        """One dict per trial, best first: its parameters, score, epochs, seconds (for pandas or JSON)."""
        return [{**t.params, self.metric: t.score, "epochs": t.epochs, "seconds": round(t.seconds, 3),
                 "trial": t.number} for t in self.trials]

    def table(self, max_rows=None, print_fn=print):
        """Print (and return) the trials as a table, best first: rank, parameters, score, epochs, time."""
        names = self.space.names
        folds = any(len(t.fold_scores) > 1 for t in self.trials)
        header = ["rank", *names, self.metric] + (["± folds"] if folds else []) + ["epochs", "seconds"]
        rows = []
        for rank, t in enumerate(self.trials[:max_rows], 1):
            row = [str(rank), *(_fmt(t.params.get(n)) for n in names), _fmt(t.score)]
            if folds:
                row.append(_fmt(float(np.std(t.fold_scores))) if len(t.fold_scores) > 1 else "")
            rows.append(row + [str(t.epochs), f"{t.seconds:.2f}"])
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
        line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
        lines = [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
        if max_rows is not None and len(self.trials) > max_rows:
            lines.append(f"... {len(self.trials) - max_rows} more")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def retrain_best(self, x, y, epochs=None, batch_size=None, verbose=0, **fit_kwargs):
        """A fresh model with the best parameters, trained on all of (x, y).

        ``epochs`` defaults to the epochs the best trial was trained for;
        ``batch_size`` to the search's (or the ``batch_size`` hyperparameter).
        """
        params = self.best_params
        model = _build(self._build_fn, params)
        epochs = self.best.epochs if epochs is None else epochs
        batch_size = batch_size or params.get("batch_size", self._batch_size)
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, **{**self._fit_kwargs, **fit_kwargs})
        return model


def _fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _build(build_fn, params):
    model = build_fn(dict(params))
    if not hasattr(model, "fit") or not hasattr(model, "evaluate"):
        raise TypeError(f"build_fn: expected it to return a model, got {type(model).__name__}")
    if getattr(model, "loss", None) is None:
        raise ValueError("build_fn: the model it returns must be compiled (call model.compile(...))")
    return model


# -- training and scoring ------------------------------------------------------------

class _Evaluator:
    """Trains the models of configurations and scores them on the validation part(s)."""

    def __init__(self, build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                 fit_kwargs):
        if not callable(build_fn):
            raise TypeError(f"build_fn: expected a callable params -> compiled model, got {type(build_fn).__name__}")
        self.first_error = None  # of a failed trial, raised if every trial fails
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
        if len(x) < 2:
            raise ValueError(f"x: expected at least 2 samples, got {len(x)}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        given = sum(v is not None for v in (validation_data, cv))
        if given > 1:
            raise ValueError("validation_data, cv: give one of them, not both")
        if cv is not None:
            folds = stratified_folds(y, cv, seed)
            everything = np.arange(len(y))
            self.splits = [(np.setdiff1d(everything, f), f) for f in folds]
            self.parts = [(x[tr], y[tr], x[va], y[va]) for tr, va in self.splits]
        elif validation_data is not None:
            x_val, y_val = validation_data
            self.parts = [(x, y, np.asarray(x_val), np.asarray(y_val))]
        else:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split: expected a fraction in (0, 1), got {validation_split!r}")
            val = _validation_indices(y, validation_split, seed)
            train = np.setdiff1d(np.arange(len(y)), val)
            self.parts = [(x[train], y[train], x[val], y[val])]
        if metric is not None and metric not in ("accuracy", "loss"):
            raise ValueError(f"metric: expected 'accuracy' or 'loss', got {metric!r}")
        self.build_fn, self.batch_size, self.metric = build_fn, int(batch_size), metric
        self.verbose, self.fit_kwargs = verbose, dict(fit_kwargs or {})
        self.mode = None if metric is None else ("max" if metric == "accuracy" else "min")

    def resolve_metric(self, model):
        """Default metric: accuracy when the model tracks it, else loss."""
        if self.metric is None:
            self.metric = "accuracy" if "accuracy" in getattr(model, "metrics", []) else "loss"
            self.mode = "max" if self.metric == "accuracy" else "min"
        elif self.metric == "accuracy" and "accuracy" not in getattr(model, "metrics", []):
            raise ValueError("metric: 'accuracy' needs models compiled with metrics=['accuracy']")

    def start(self, params):
        """Fresh models (one per fold) for a configuration."""
        models = [_build(self.build_fn, params) for _ in self.parts]
        self.resolve_metric(models[0])
        return models

    def train(self, trial, models, epochs):
        """Continue the trial's models to ``epochs`` epochs in total and score them."""
        t0 = time.perf_counter()
        batch_size = int(trial.params.get("batch_size", self.batch_size))
        scores = []
        for model, (x_tr, y_tr, x_va, y_va) in zip(models, self.parts):
            model.fit(x_tr, y_tr, epochs=epochs, initial_epoch=model.epoch, batch_size=batch_size, verbose=0,
                      **self.fit_kwargs)
            logs = model.evaluate(x_va, y_va, verbose=0, return_dict=True)
            # A diverged model (NaN loss) still gets some accuracy from argmax: score it NaN instead.
            scores.append(float(logs[self.metric]) if math.isfinite(logs["loss"]) else float("nan"))
        trial.fold_scores = scores
        trial.score = float(np.mean(scores)) if all(math.isfinite(s) for s in scores) else float("nan")
        trial.epochs = min(model.epoch for model in models)  # a callback may have stopped training early
        trial.seconds += time.perf_counter() - t0
        trial.history.append((epochs, trial.score))

    def report(self, trial, total, prefix=""):
        if self.verbose:
            params = " ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
            folds = f" (±{np.std(trial.fold_scores):.3g} over {len(trial.fold_scores)} folds)" \
                if len(trial.fold_scores) > 1 else ""
            result = f"failed: {trial.error}" if trial.error else f"{self.metric} {_fmt(trial.score)}{folds}"
            print(f"{prefix}trial {trial.number + 1}/{total}: {params} -> {result} "
                  f"[{trial.epochs} epochs, {trial.seconds:.2f}s]", flush=True)

    def attempt(self, trial, step):
        """Run ``step()`` for ``trial``; an exception fails that trial only (recorded, score NaN)."""
        try:
            return step()
        except Exception as e:  # one bad configuration must not end the search and lose the others
            trial.error, trial.score = f"{type(e).__name__}: {e}", float("nan")
            self.first_error = self.first_error or e
            return None

    def run(self, number, params, epochs, total):
        """Train one configuration from scratch for ``epochs`` epochs; returns its Trial."""
        trial = Trial(number, dict(params))
        self.attempt(trial, lambda: self.train(trial, self.start(params), epochs))
        self.report(trial, total)
        return trial


def _check_epochs(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _results(trials, evaluator, strategy, space, build_fn):
    if trials and all(t.error for t in trials):
        raise evaluator.first_error  # nothing to report: the cause is likely the setup, not one configuration
    return SearchResults(trials, evaluator.metric, evaluator.mode, strategy, space, build_fn,
                         evaluator.batch_size, evaluator.fit_kwargs)


_COMMON_DOC = """
    Common arguments:
        build_fn: ``build_fn(params) -> compiled model`` for one configuration
            (a ``batch_size`` hyperparameter, if any, sets fit's batch size).
        space: dict (or ``SearchSpace``, or YAML/JSON path) of hyperparameters.
        x, y: the data to search on (the test set stays out of it).
        batch_size: fit's batch size.
        validation_split: fraction held out for scoring (stratified for class labels).
        validation_data: (x_val, y_val) to score on instead.
        cv: k for stratified k-fold scoring (mean over the folds; k models per configuration).
        metric: 'accuracy' (higher is better) or 'loss' (lower is better);
            default accuracy if the models track it.
        seed: seeds the split/folds and the sampling.
        verbose: 1 prints one line per trial, 0 nothing.
        fit_kwargs: more arguments for ``model.fit`` (e.g. callbacks).

    A trial whose model fails to build or train is recorded as failed
    (``Trial.error``, score NaN, ranked last) and the search goes on; if every
    trial fails, the first trial's exception is raised.
"""


def grid_search(build_fn, space, x, y, epochs=10, batch_size=32, validation_split=0.2, validation_data=None, cv=None,
                metric=None, seed=0, verbose=1, fit_kwargs=None):
    """Train every combination of the space's values for ``epochs`` epochs; returns ``SearchResults``.

    Continuous distributions have no grid: list their values instead.
    """
    space = SearchSpace(space)
    configs = space.grid()
    epochs = _check_epochs("epochs", epochs)
    ev = _Evaluator(build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                    fit_kwargs)
    trials = [ev.run(i, params, epochs, len(configs)) for i, params in enumerate(configs)]
    return _results(trials, ev, "grid", space, build_fn)


def random_search(build_fn, space, x, y, n_trials=10, epochs=10, batch_size=32, validation_split=0.2,
                  validation_data=None, cv=None, metric=None, seed=0, verbose=1, fit_kwargs=None):
    """Train ``n_trials`` configurations drawn at random (seeded) for ``epochs`` epochs each."""
    space = SearchSpace(space)
    n_trials = _check_epochs("n_trials", n_trials)
    epochs = _check_epochs("epochs", epochs)
    ev = _Evaluator(build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                    fit_kwargs)
    rng = np.random.default_rng([seed, 2])
    configs = [space.sample(rng) for _ in range(n_trials)]
    trials = [ev.run(i, params, epochs, n_trials) for i, params in enumerate(configs)]
    return _results(trials, ev, "random", space, build_fn)


def _halving_budgets(min_epochs, max_epochs, eta):
    """Epoch budgets of the rungs: max_epochs / eta^s, ..., max_epochs / eta, max_epochs."""
    s = 0
    while min_epochs * eta ** (s + 1) <= max_epochs:
        s += 1
    return [max(1, int(round(max_epochs / eta ** (s - i)))) for i in range(s + 1)]


def _successive_halving(ev, configs, budgets, eta, first_number, total, bracket, label):
    """Train ``configs`` at each budget, keeping the best 1/eta for the next; returns all trials."""
    trials, alive = [], []
    for i, params in enumerate(configs):
        trial = Trial(first_number + i, dict(params), bracket=bracket)
        trials.append(trial)
        models = ev.attempt(trial, lambda: ev.start(params))
        if models is not None:
            alive.append((trial, models))
        else:
            ev.report(trial, total, label)
    for rung, epochs in enumerate(budgets):
        for trial, models in alive:
            ev.attempt(trial, lambda: ev.train(trial, models, epochs))
            ev.report(trial, total, f"{label}rung {rung + 1}/{len(budgets)} ")
        alive = [(t, m) for t, m in alive if not t.error]
        if rung + 1 < len(budgets):
            keep = max(1, len(alive) // eta)
            sign = 1.0 if ev.mode == "max" else -1.0
            alive.sort(key=lambda tm: -sign * tm[0].score if math.isfinite(tm[0].score) else math.inf)
            alive = alive[:keep]
    return trials


def successive_halving(build_fn, space, x, y, n_trials=27, max_epochs=27, min_epochs=1, eta=3, batch_size=32,
                       validation_split=0.2, validation_data=None, cv=None, metric=None, seed=0, verbose=1,
                       fit_kwargs=None):
    """Successive halving: ``n_trials`` random configurations trained for ``min_epochs``,
    the best 1/eta continued to eta times the epochs, ..., the last ones to ``max_epochs``."""
    space = SearchSpace(space)
    n_trials = _check_epochs("n_trials", n_trials)
    eta, min_epochs, max_epochs = _check_budget(eta, min_epochs, max_epochs)
    ev = _Evaluator(build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                    fit_kwargs)
    rng = np.random.default_rng([seed, 2])
    configs = [space.sample(rng) for _ in range(n_trials)]
    trials = _successive_halving(ev, configs, _halving_budgets(min_epochs, max_epochs, eta), eta, 0, n_trials, 0, "")
    return _results(trials, ev, "successive_halving", space, build_fn)


def _check_budget(eta, min_epochs, max_epochs):
    if not isinstance(eta, (int, np.integer)) or isinstance(eta, bool) or eta < 2:
        raise ValueError(f"eta: expected an int >= 2, got {eta!r}")
    min_epochs = _check_epochs("min_epochs", min_epochs)
    max_epochs = _check_epochs("max_epochs", max_epochs)
    if min_epochs > max_epochs:
        raise ValueError(f"min_epochs: expected <= max_epochs ({max_epochs}), got {min_epochs}")
    return int(eta), min_epochs, max_epochs


def hyperband_brackets(max_epochs, eta=3, min_epochs=1):
    """Hyperband's plan (Li et al., 2018): per bracket, (number of configurations, epoch budgets
    of its rungs), from the most exploratory bracket (many configurations, short first rung)
    to plain training of a few configurations for ``max_epochs``."""
    eta, min_epochs, max_epochs = _check_budget(eta, min_epochs, max_epochs)
    s_max = len(_halving_budgets(min_epochs, max_epochs, eta)) - 1
    plan = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s))
        budgets = [max(1, int(round(max_epochs / eta ** (s - i)))) for i in range(s + 1)]
        plan.append((n, budgets))
    return plan


def hyperband(build_fn, space, x, y, max_epochs=27, eta=3, min_epochs=1, batch_size=32, validation_split=0.2,
              validation_data=None, cv=None, metric=None, seed=0, verbose=1, fit_kwargs=None):
    """Hyperband: successive halving in several brackets (see ``hyperband_brackets``).

    In each rung every surviving configuration continues training (``fit``
    resumes from the epochs it has) up to the rung's budget; the best 1/eta go
    on to the next rung. A configuration's row in the table shows its score at
    the most epochs it reached.
    """
    space = SearchSpace(space)
    plan = hyperband_brackets(max_epochs, eta, min_epochs)
    ev = _Evaluator(build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                    fit_kwargs)
    rng = np.random.default_rng([seed, 2])
    total = sum(n for n, _ in plan)
    trials = []
    for b, (n, budgets) in enumerate(plan):
        configs = [space.sample(rng) for _ in range(n)]
        trials += _successive_halving(ev, configs, budgets, int(eta), len(trials), total, b,
                                      f"bracket {b + 1}/{len(plan)} ")
    return _results(trials, ev, "hyperband", space, build_fn)


def bayesian(build_fn, space, x, y, n_trials=20, epochs=10, batch_size=32, validation_split=0.2,
             validation_data=None, cv=None, metric=None, seed=0, verbose=1, fit_kwargs=None):
    """Model-based search with Optuna's TPE sampler (seeded): each trial's configuration is
    proposed from the scores of the previous ones. Needs ``pip install 'fastnn[tune]'``."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"bayesian() needs Optuna: {_TUNE_HINT}") from None
    space = SearchSpace(space)
    n_trials = _check_epochs("n_trials", n_trials)
    epochs = _check_epochs("epochs", epochs)
    ev = _Evaluator(build_fn, x, y, batch_size, validation_split, validation_data, cv, metric, seed, verbose,
                    fit_kwargs)
    ev.resolve_metric(_build(build_fn, space.sample(np.random.default_rng([seed, 2]))))  # the study's direction
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if ev.mode == "max" else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    trials = []

    def objective(optuna_trial):
        trial = ev.run(len(trials), space.suggest(optuna_trial), epochs, n_trials)
        trials.append(trial)
        return trial.score

    study.optimize(objective, n_trials=n_trials)
    return _results(trials, ev, "bayesian", space, build_fn)


for _f in (grid_search, random_search, successive_halving, hyperband, bayesian):
    _f.__doc__ += _COMMON_DOC
del _f

STRATEGIES = {"grid": grid_search, "random": random_search, "successive_halving": successive_halving,
              "hyperband": hyperband, "bayesian": bayesian}


def search(build_fn, space, x, y, strategy="random", **options):
    """Run the strategy named ``strategy`` (see ``STRATEGIES``) with ``options``;
    an option that strategy does not take is a ValueError naming it."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    fn = STRATEGIES[strategy]
    accepted = set(inspect.signature(fn).parameters) - {"build_fn", "space", "x", "y"}
    for key in options:
        if key not in accepted:
            raise ValueError(f"{key}: not an option of strategy {strategy!r}; it takes {', '.join(sorted(accepted))}")
    return fn(build_fn, space, x, y, **options)


# -- built-in models ----------------------------------------------------------------------

#: Optimizer names understood by ``make_optimizer`` and the default learning rate of each.
OPTIMIZERS = {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adagrad": 0.05, "adadelta": 1.0,
              "rmsprop": 0.001, "adam": 0.002, "adamw": 0.002}


def make_optimizer(name, learning_rate=None, momentum=0.9, weight_decay=0.004):
    """An optimizer from a short name: sgd, momentum, nesterov (SGD with (Nesterov) momentum),
    adagrad, adadelta, rmsprop, adam, adamw. ``learning_rate=None`` takes ``OPTIMIZERS[name]``."""
    from . import optimizers

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")
    lr = OPTIMIZERS[name] if learning_rate is None else float(learning_rate)
    if name == "sgd":
        return optimizers.SGD(lr)
    if name in ("momentum", "nesterov"):
        return optimizers.SGD(lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "adamw":
        return optimizers.AdamW(lr, weight_decay=weight_decay)
    return {"adagrad": optimizers.Adagrad, "adadelta": optimizers.Adadelta, "rmsprop": optimizers.RMSprop,
            "adam": optimizers.Adam}[name](lr)


_COMMON_KEYS = {"optimizer": "adam", "learning_rate": None, "momentum": 0.9, "weight_decay": 0.004,
                "activation": "relu", "dropout": 0.0, "batch_norm": False, "l2": 0.0, "batch_size": None}
MODEL_KEYS = {
    "mlp": {**_COMMON_KEYS, "hidden": [128, 64]},
    "cnn": {**_COMMON_KEYS, "filters": [32, 64], "kernel_size": 3, "dense": 64},
}


def _layer(name):
    """A layer class that may not exist in every fastnn version (Conv2D, Dropout, ...)."""
    import fastnn

    cls = getattr(fastnn, name, None)
    if cls is None:
        raise ImportError(f"this fastnn has no {name} layer (fastnn {fastnn.__version__})")
    return cls


def _widths(name, value):
    widths = [value] if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if not isinstance(widths, (list, tuple)) or not all(
            isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"{name}: expected a positive int or a list of them, got {value!r}")
    return [int(w) for w in widths]


def model_builder(kind, input_shape, num_classes, seed=0, device="cpu"):
    """A ``build_fn(params)`` for a classifier, keyed by hyperparameters (``MODEL_KEYS[kind]`` with defaults):

    * ``'mlp'``: Flatten if needed, then Dense layers of ``hidden`` units (an int or a list),
      then a softmax layer.
    * ``'cnn'``: per entry of ``filters`` a Conv2D(filters, kernel_size, padding='same') and a
      2x2 MaxPooling2D (while the image is at least 2x2), then Flatten, Dense(``dense``) unless 0,
      then softmax.

    Both take ``activation``, ``dropout`` (after each hidden Dense), ``batch_norm`` (after each
    hidden layer), ``l2`` (kernel regularization), ``optimizer`` (see ``make_optimizer``),
    ``learning_rate``, ``momentum``, ``weight_decay``; ``batch_size`` is left to fit. Models
    use sparse categorical cross-entropy and track accuracy. Unknown keys are a ValueError.
    """
    if kind not in MODEL_KEYS:
        raise ValueError(f"model: expected one of {', '.join(MODEL_KEYS)}, got {kind!r}")
    input_shape = tuple(int(s) for s in input_shape)
    if kind == "cnn" and len(input_shape) != 3:
        raise ValueError(f"input_shape: the cnn model needs images (H, W, C), got {input_shape}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes: expected an int >= 2, got {num_classes!r}")
    defaults = MODEL_KEYS[kind]

    def build_fn(params):
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ValueError(f"{unknown[0]}: not a hyperparameter of the {kind} model; expected some of "
                             f"{', '.join(defaults)}")
        p = {**defaults, **params}
        return _build_classifier(kind, p, input_shape, int(num_classes), seed, device)

    build_fn.kind = kind
    return build_fn


def _build_classifier(kind, p, input_shape, num_classes, seed, device):
    from . import regularizers
    from .layers import Dense, Flatten
    from .models import Sequential

    if not 0 <= p["dropout"] < 1:
        raise ValueError(f"dropout: expected a rate in [0, 1), got {p['dropout']!r}")
    init = "he_uniform" if p["activation"] in ("relu", "leaky_relu", "swish") else "glorot_uniform"
    reg = regularizers.l2(p["l2"]) if p["l2"] else None

    def extras():
        out = []
        if p["batch_norm"]:
            out.append(_layer("BatchNormalization")())
        if p["dropout"]:
            out.append(_layer("Dropout")(p["dropout"]))
        return out

    layers = []
    if kind == "mlp":
        if len(input_shape) > 1:
            layers.append(Flatten(input_shape=input_shape))
        for i, units in enumerate(_widths("hidden", p["hidden"])):
            first = {"input_shape": input_shape} if i == 0 and len(input_shape) == 1 else {}
            layers += [Dense(units, activation=p["activation"], kernel_initializer=init, kernel_regularizer=reg,
                             **first), *extras()]
    else:
        Conv2D, MaxPooling2D = _layer("Conv2D"), _layer("MaxPooling2D")
        h, w = input_shape[:2]
        for i, filters in enumerate(_widths("filters", p["filters"])):
            first = {"input_shape": input_shape} if i == 0 else {}
            layers.append(Conv2D(filters, p["kernel_size"], activation=p["activation"], padding="same", **first))
            if p["batch_norm"]:
                layers.append(_layer("BatchNormalization")())
            if h >= 2 and w >= 2:
                layers.append(MaxPooling2D(2))
                h, w = h // 2, w // 2
        layers.append(Flatten())
        if p["dense"]:
            layers += [Dense(int(p["dense"]), activation=p["activation"], kernel_initializer=init,
                             kernel_regularizer=reg), *extras()]
        elif p["dropout"]:
            layers.append(_layer("Dropout")(p["dropout"]))
    layers.append(Dense(num_classes, activation="softmax", kernel_regularizer=reg))
    model = Sequential(layers, device=device, seed=seed)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=make_optimizer(p["optimizer"], p["learning_rate"], p["momentum"], p["weight_decay"]),
                  metrics=["accuracy"])
    return model
