"""The searches: each is an Optuna study with a sampler and, for the budgeted ones, a pruner.

=====================  =========================  ===================================
strategy               sampler                    pruner
=====================  =========================  ===================================
grid_search            GridSampler                none
random_search          RandomSampler              none, or ``pruner='median'``
bayesian               TPESampler                 none, or ``pruner='median'``
successive_halving     RandomSampler (or TPE)     SuccessiveHalvingPruner
hyperband              RandomSampler (or TPE)     HyperbandPruner
=====================  =========================  ===================================

With ``storage`` (an RDB URL such as ``sqlite:///search.db`` or
``postgresql://...``, or a journal file path such as ``search.log``) and
``study_name``, the trials are kept there: rerunning the same search continues
it (a trial whose process died is marked failed and run again), several
processes or machines running it at once share the trials, and ``n_trials``
is the study's total. Ctrl-C returns the finished trials.
"""
from __future__ import annotations

import inspect
import math
import sys

import numpy as np

from .objective import Objective
from .results import SearchResults, Trial
from .space import SearchSpace
from .storage import describe, open_storage, optimize, optuna_module

SAMPLERS = ("random", "tpe")
PRUNERS = ("median",)


def _per_trial_seed(optuna, make, seed):
    """A sampler re-made with a seed from (seed, trial number) for every trial: repeatable in one
    process, and processes sharing a study draw different configurations (one seed would give
    every process the same sequence)."""

    class PerTrialSeed(optuna.samplers.BaseSampler):
        def __init__(self):
            self.inner = make(seed)

        def before_trial(self, study, trial):
            self.inner = make(int(np.random.SeedSequence([seed, trial.number]).generate_state(1)[0]))
            self.inner.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self.inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self.inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self.inner.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self.inner.after_trial(study, trial, state, values)

    return PerTrialSeed()


def _sampler(optuna, name, seed):
    if name not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {name!r}")
    make = {"random": lambda s: optuna.samplers.RandomSampler(seed=s),
            "tpe": lambda s: optuna.samplers.TPESampler(seed=s)}[name]
    return _per_trial_seed(optuna, make, seed)


def _median_pruner(optuna, pruner):
    if pruner is None:
        return None
    if pruner not in PRUNERS:
        raise ValueError(f"pruner: expected None or one of {', '.join(PRUNERS)}, got {pruner!r}")
    return optuna.pruners.MedianPruner(n_startup_trials=5)  # the first 5 trials run in full, to set a median


def _positive(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _run(strategy, build_fn, space, x, y, *, sampler, pruner, n_trials, epochs, batch_size, validation_split,
         validation_data, cv, metric, seed, verbose, fit_kwargs, storage, study_name):
    """Check everything, open (or continue) the study, run trials until it has ``n_trials``, read it back."""
    optuna = optuna_module()
    n_trials = _positive("n_trials", n_trials)
    objective = Objective(build_fn, space, x, y, epochs, batch_size, validation_split, validation_data, cv, seed,
                          fit_kwargs, pruner is not None, verbose, n_trials)
    storage = open_storage(storage)
    if storage is not None and (not isinstance(study_name, str) or not study_name):
        raise ValueError(f"study_name: a name is needed with storage, so that a rerun finds the study; "
                         f"got {study_name!r}")
    name = study_name or f"fastnn-{strategy}"  # a fixed name: Hyperband's brackets are a hash of it
    existing = None
    if storage is not None and name in optuna.study.get_all_study_names(storage):
        existing = optuna.load_study(study_name=name, storage=storage)
        kind = existing.user_attrs.get("fastnn")
        here = {"strategy": strategy, "space": space.fingerprint()}
        if kind is not None and {k: kind.get(k) for k in here} != here:
            raise ValueError(f"study_name: study {name!r} in this storage is a {kind.get('strategy')} search over "
                             f"{kind.get('space')}, not this {strategy} search over {here['space']}; "
                             "choose another study_name")
        metric = metric if metric is not None else (kind or {}).get("metric")
    metric, direction = objective.resolve_metric(metric)
    if existing is not None and existing.direction.name.lower() != direction:
        raise ValueError(f"metric: study {name!r} {existing.direction.name.lower()}s its score, but metric "
                         f"{metric!r} must be {direction}d; choose another study_name")
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                                pruner=pruner or optuna.pruners.NopPruner(), load_if_exists=True)
    if existing is None:
        study.set_user_attr("fastnn", {"strategy": strategy, "space": space.fingerprint(), "metric": metric})
    interrupted = optimize(optuna, study, objective, n_trials)
    trials = [Trial.from_optuna(t, space) for t in study.get_trials(deepcopy=False)
              if t.state.is_finished() and "skipped" not in t.user_attrs
              and (t.state.name != "FAIL" or "error" in t.user_attrs)]
    if objective.first_error is not None and all(t.error for t in trials):
        raise objective.first_error  # nothing to report: the cause is likely the setup, not one configuration
    if interrupted:
        where = "only in memory (pass storage= to keep them)" if storage is None else \
            f"in study {name!r} of {describe(storage)}"
        print(f"interrupted: {len(trials)} finished trials kept {where}; rerun the same search to continue",
              file=sys.stderr, flush=True)
    return SearchResults(trials, metric, strategy, space, objective.build, objective.batch_size,
                         fit_kwargs, study, interrupted)


_COMMON_DOC = """
    Common arguments:
        build_fn: returns a compiled model for one configuration, called as
            ``build_fn(params)`` (a dict) or Keras-style ``build_fn(**params)``
            / ``build_fn(optimizer="adam", dropout=0.2)`` (told apart by its signature).
            ``epochs`` and ``batch_size`` in the space are arguments of ``fit``.
        space: dict (or ``SearchSpace``, or YAML/JSON path) of hyperparameters.
        x, y: the data to search on (the test set stays out of it).
        batch_size: fit's batch size (unless the space has one).
        validation_split: fraction held out for scoring (stratified for class labels).
        validation_data: (x_val, y_val) to score on instead.
        cv: k for stratified k-fold scoring (mean over the folds; k models per configuration).
        metric: 'accuracy' (higher is better) or 'loss' (lower is better);
            default accuracy if the models track it.
        seed: seeds the split/folds and the sampling (per trial, so it repeats).
        verbose: 1 prints one line per trial, 0 nothing.
        fit_kwargs: more arguments for ``model.fit`` (e.g. callbacks).
        storage: None (in memory), an RDB URL (``sqlite:///search.db``) or a
            journal file path: keeps the trials, so a rerun continues the study
            and several processes can share it (see ``fastnn.tune.search``).
        study_name: the study's name in ``storage`` (needed with a storage).

    A trial whose model fails to build or train is recorded as failed
    (``Trial.error``, score NaN, ranked last) and the search goes on; if every
    trial fails, the first failure's exception is raised. Returns ``SearchResults``.
"""


def grid_search(build_fn, space, x, y, epochs=10, batch_size=32, validation_split=0.2, validation_data=None, cv=None,
                metric=None, seed=0, verbose=1, fit_kwargs=None, storage=None, study_name=None):
    """Train every combination of the space's values for ``epochs`` epochs (Optuna's GridSampler,
    in a seeded order). Continuous distributions have no grid: list their values instead."""
    optuna = optuna_module()
    space = SearchSpace(space)
    grid, size = space.grid()
    return _run("grid", build_fn, space, x, y, sampler=optuna.samplers.GridSampler(grid, seed=seed), pruner=None,
                n_trials=size, epochs=_positive("epochs", epochs), batch_size=batch_size,
                validation_split=validation_split, validation_data=validation_data, cv=cv, metric=metric, seed=seed,
                verbose=verbose, fit_kwargs=fit_kwargs, storage=storage, study_name=study_name)


def random_search(build_fn, space, x, y, n_trials=10, epochs=10, pruner=None, batch_size=32, validation_split=0.2,
                  validation_data=None, cv=None, metric=None, seed=0, verbose=1, fit_kwargs=None, storage=None,
                  study_name=None):
    """Train ``n_trials`` configurations drawn at random (Optuna's RandomSampler) for ``epochs``
    epochs each; ``pruner='median'`` stops a trial whose score falls below the median of the
    earlier trials' at the same epoch (MedianPruner)."""
    optuna = optuna_module()
    return _run("random", build_fn, SearchSpace(space), x, y, sampler=_sampler(optuna, "random", seed),
                pruner=_median_pruner(optuna, pruner), n_trials=n_trials, epochs=_positive("epochs", epochs),
                batch_size=batch_size, validation_split=validation_split, validation_data=validation_data, cv=cv,
                metric=metric, seed=seed, verbose=verbose, fit_kwargs=fit_kwargs, storage=storage,
                study_name=study_name)


def bayesian(build_fn, space, x, y, n_trials=20, epochs=10, pruner=None, batch_size=32, validation_split=0.2,
             validation_data=None, cv=None, metric=None, seed=0, verbose=1, fit_kwargs=None, storage=None,
             study_name=None):
    """Model-based search with Optuna's TPE sampler: each trial's configuration is proposed from
    the scores of the earlier ones (the first 10 are random). ``pruner='median'`` as in
    ``random_search``."""
    optuna = optuna_module()
    return _run("bayesian", build_fn, SearchSpace(space), x, y, sampler=_sampler(optuna, "tpe", seed),
                pruner=_median_pruner(optuna, pruner), n_trials=n_trials, epochs=_positive("epochs", epochs),
                batch_size=batch_size, validation_split=validation_split, validation_data=validation_data, cv=cv,
                metric=metric, seed=seed, verbose=verbose, fit_kwargs=fit_kwargs, storage=storage,
                study_name=study_name)


def _check_budget(eta, min_epochs, max_epochs):
    if not isinstance(eta, (int, np.integer)) or isinstance(eta, bool) or eta < 2:
        raise ValueError(f"eta: expected an int >= 2, got {eta!r}")
    min_epochs, max_epochs = _positive("min_epochs", min_epochs), _positive("max_epochs", max_epochs)
    if min_epochs > max_epochs:
        raise ValueError(f"min_epochs: expected <= max_epochs ({max_epochs}), got {min_epochs}")
    return int(eta), min_epochs, max_epochs


def _budget(space, eta, min_epochs, max_epochs):
    eta, min_epochs, max_epochs = _check_budget(eta, min_epochs, max_epochs)
    if "epochs" in space.names:
        raise ValueError("epochs: the pruner decides how long each trial trains (up to max_epochs); "
                         "remove epochs from the space")
    return eta, min_epochs, max_epochs


def successive_halving(build_fn, space, x, y, n_trials=27, max_epochs=27, min_epochs=1, eta=3, sampler="random",
                       batch_size=32, validation_split=0.2, validation_data=None, cv=None, metric=None, seed=0,
                       verbose=1, fit_kwargs=None, storage=None, study_name=None):
    """Asynchronous successive halving (Optuna's SuccessiveHalvingPruner): every trial may train
    up to ``max_epochs``; at ``min_epochs``, ``min_epochs * eta``, ``min_epochs * eta**2``, ...
    epochs a trial goes on only if its score is in the best 1/eta of the trials that reached
    that epoch. ``sampler``: 'random' or 'tpe'."""
    optuna = optuna_module()
    space = SearchSpace(space)
    eta, min_epochs, max_epochs = _budget(space, eta, min_epochs, max_epochs)
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=min_epochs, reduction_factor=eta)
    return _run("successive_halving", build_fn, space, x, y, sampler=_sampler(optuna, sampler, seed), pruner=pruner,
                n_trials=n_trials, epochs=max_epochs, batch_size=batch_size, validation_split=validation_split,
                validation_data=validation_data, cv=cv, metric=metric, seed=seed, verbose=verbose,
                fit_kwargs=fit_kwargs, storage=storage, study_name=study_name)


def hyperband_trials(max_epochs, eta=3, min_epochs=1):
    """The number of configurations in Hyperband's plan (Li et al., 2018): brackets of successive
    halving from many short runs to a few full ones, ``ceil((s_max + 1) / (s + 1) * eta**s)`` each."""
    eta, min_epochs, max_epochs = _check_budget(eta, min_epochs, max_epochs)
    s_max = int(math.floor(math.log(max_epochs / min_epochs, eta) + 1e-9))
    return sum(math.ceil((s_max + 1) / (s + 1) * eta ** s) for s in range(s_max + 1))


def hyperband(build_fn, space, x, y, max_epochs=27, eta=3, min_epochs=1, n_trials=None, sampler="random",
              batch_size=32, validation_split=0.2, validation_data=None, cv=None, metric=None, seed=0, verbose=1,
              fit_kwargs=None, storage=None, study_name=None):
    """Hyperband (Optuna's HyperbandPruner): successive halving in several brackets, from an
    aggressive one (stops at ``min_epochs``) to one that lets every trial reach ``max_epochs``;
    each trial is assigned a bracket. ``n_trials`` defaults to ``hyperband_trials(max_epochs,
    eta, min_epochs)``, the configurations of the original algorithm. ``sampler``: 'random' or 'tpe'."""
    optuna = optuna_module()
    space = SearchSpace(space)
    eta, min_epochs, max_epochs = _budget(space, eta, min_epochs, max_epochs)
    pruner = optuna.pruners.HyperbandPruner(min_resource=min_epochs, max_resource=max_epochs, reduction_factor=eta)
    return _run("hyperband", build_fn, space, x, y, sampler=_sampler(optuna, sampler, seed), pruner=pruner,
                n_trials=hyperband_trials(max_epochs, eta, min_epochs) if n_trials is None else n_trials,
                epochs=max_epochs, batch_size=batch_size, validation_split=validation_split,
                validation_data=validation_data, cv=cv, metric=metric, seed=seed, verbose=verbose,
                fit_kwargs=fit_kwargs, storage=storage, study_name=study_name)


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
