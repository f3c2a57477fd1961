"""Hyperparameter search on Optuna: a declarative space, five strategies, resumable and parallel studies.

A search space maps each hyperparameter to its values (a dict in Python or a
YAML/JSON file; see ``fastnn.tune.space``)::

    space = {"learning_rate": {"log_uniform": [1e-4, 1e-1]}, "hidden": {"choice": [32, 64, 128]},
             "optimizer": ["sgd", "adam"], "epochs": [5, 10]}

``build_fn(params)`` or ``build_fn(**params)`` returns a compiled model for one
point of the space; a strategy trains and scores such models, one Optuna trial
each: ``grid_search``, ``random_search``, ``bayesian`` (TPE),
``successive_halving`` and ``hyperband`` (pruners that stop poor trials early).
Each returns ``SearchResults``: ``results.table()``, ``results.best_params``,
``results.best_score``, ``results.retrain_best(x, y)``, ``results.study``.

With ``storage="sqlite:///search.db", study_name="digits"`` the trials are kept:
rerun to continue, run the same call in several processes to share the work,
and watch it with ``optuna-dashboard sqlite:///search.db``.

Module layout: ``space`` (parsing, Optuna distributions), ``objective`` (one
trial), ``results`` (table, best, retrain), ``storage`` (where trials live,
the run loop), ``search`` (the strategies). ``model_builder`` and
``make_optimizer`` live in ``fastnn.zoo`` and are re-exported here.
"""
from ..training.data import stratified_folds
from ..zoo import MODEL_KEYS, OPTIMIZERS, make_optimizer, model_builder
from .objective import BuildFn
from .results import SearchResults, Trial
from .search import (
    PRUNERS, SAMPLERS, STRATEGIES, bayesian, grid_search, hyperband, hyperband_trials, random_search, search,
    successive_halving,
)
from .space import DISTRIBUTIONS, TRAINING_KEYS, Param, SearchSpace, load_config
from .storage import HEARTBEAT_SECONDS, open_storage

__all__ = [
    "BuildFn", "DISTRIBUTIONS", "HEARTBEAT_SECONDS", "MODEL_KEYS", "OPTIMIZERS", "PRUNERS", "Param", "SAMPLERS",
    "STRATEGIES", "SearchResults", "SearchSpace", "TRAINING_KEYS", "Trial", "bayesian", "grid_search", "hyperband",
    "hyperband_trials", "load_config", "make_optimizer", "model_builder", "open_storage", "random_search", "search",
    "stratified_folds", "successive_halving",
]
