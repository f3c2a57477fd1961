"""One trial: build the model(s) for a configuration, train, report each epoch's score, score.

The score is the validation metric after the last epoch: on a held-out split
(stratified for class labels), on given validation data, or the mean over
``cv`` stratified folds. Every epoch's score goes to ``trial.report``, so
Optuna's pruners can stop a poor trial early and optuna-dashboard can plot it.
"""
from __future__ import annotations

import inspect
import math
import os
import socket
import time

import numpy as np

from .. import callbacks as fcallbacks
from ..training.data import stratified_folds, stratified_mask
from .space import TRAINING_KEYS

#: ``fit`` arguments the search sets itself (a ``fit_kwargs`` entry for one of them is an error).
SEARCH_FIT_KEYS = ("x", "y", "epochs", "batch_size", "verbose", "validation_data", "validation_split", "initial_epoch")


def fmt(v):
    """A value for a table cell or a progress line."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


class BuildFn:
    """Calls a user's build function in the style its signature asks for.

    ``build_fn(params)``: one positional parameter, gets the dict of model
    hyperparameters. Keras style, ``build_fn(**params)`` or
    ``build_fn(optimizer="adam", dropout=0.2)``: gets them as keywords (only
    the training keys its signature names). Training keys (``epochs``,
    ``batch_size``) go to ``fit``, not to a dict-style build function.
    """

    def __init__(self, fn, space):
        if not callable(fn):
            raise TypeError(f"build_fn: expected a callable returning a compiled model, got {type(fn).__name__}")
        self.fn = fn
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # a builtin without a signature: the documented style
            self.keywords, self.accepted = False, None
            return
        ps = list(sig.parameters.values())
        var_kw = any(p.kind is p.VAR_KEYWORD for p in ps)
        named = {p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        required = [p for p in ps if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        self.keywords = var_kw or not required or bool(named & set(space.names))
        self.accepted = None if var_kw else named
        if self.keywords:
            missing = [p.name for p in required if p.name not in space.names]
            if missing:
                raise TypeError(f"build_fn: its argument {missing[0]!r} has no default and is not in the space")
            unknown = [n for n in space.names if n not in TRAINING_KEYS and self.accepted is not None
                       and n not in self.accepted]
            if unknown:
                raise ValueError(f"{unknown[0]}: not an argument of build_fn{sig}; rename it or add **kwargs")
        elif len(required) != 1:
            raise TypeError(f"build_fn: expected build_fn(params) or keyword arguments named after the "
                            f"hyperparameters, got build_fn{sig}")

    def __call__(self, params):
        if self.keywords:
            model = self.fn(**{k: v for k, v in params.items()
                               if k not in TRAINING_KEYS or (self.accepted is None or k in self.accepted)})
        else:
            model = self.fn({k: v for k, v in params.items() if k not in TRAINING_KEYS})
        if not hasattr(model, "fit") or not hasattr(model, "evaluate"):
            raise TypeError(f"build_fn: expected it to return a model, got {type(model).__name__}")
        if getattr(model, "loss", None) is None:
            raise ValueError("build_fn: the model it returns must be compiled (call model.compile(...))")
        return model


class _EpochScores(fcallbacks.Callback):
    """Records the validation metric after every epoch; stops a diverged run (nothing left to learn)."""

    def __init__(self, metric, on_epoch=None):
        self.metric, self.on_epoch, self.scores = metric, on_epoch, []

    def on_epoch_end(self, epoch, logs=None):
        finite = math.isfinite(logs["val_loss"])
        self.scores.append(float(logs["val_" + self.metric]) if finite else float("nan"))
        if not finite or (self.on_epoch is not None and self.on_epoch(epoch + 1, self.scores[-1])):
            self.model.stop_training = True


class Pruned(Exception):
    """Raised inside a trial that its pruner stopped."""


class Objective:
    """Trains and scores configurations; ``objective(trial)`` is what ``study.optimize`` calls."""

    def __init__(self, build_fn, space, x, y, epochs, batch_size, validation_split, validation_data, cv, seed,
                 fit_kwargs, prune, verbose, total):
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
        if len(x) < 2:
            raise ValueError(f"x: expected at least 2 samples, got {len(x)}")
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        self.fit_kwargs = dict(fit_kwargs or {})
        for key in self.fit_kwargs:
            if key in SEARCH_FIT_KEYS:
                raise ValueError(f"fit_kwargs: {key!r} is set by the search; pass it to the search function, "
                                 "or put epochs/batch_size in the space")
        if validation_data is not None and cv is not None:
            raise ValueError("validation_data, cv: give one of them, not both")
        self.callbacks = list(self.fit_kwargs.pop("callbacks", None) or [])
        if cv is not None:
            folds = stratified_folds(y, cv, seed)
            if self.callbacks:
                raise ValueError("fit_kwargs: callbacks cannot be combined with cv (the folds train side by side, "
                                 "one epoch at a time, so a callback would restart every epoch)")
            every = np.arange(len(y))
            self.parts = [(x[np.setdiff1d(every, f)], y[np.setdiff1d(every, f)], x[f], y[f]) for f in folds]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data: expected a pair (x_val, y_val)")
            self.parts = [(x, y, np.asarray(validation_data[0]), np.asarray(validation_data[1]))]
        else:
            if not isinstance(validation_split, (int, float)) or not 0 < validation_split < 1:
                raise ValueError(f"validation_split: expected a fraction in (0, 1), got {validation_split!r}")
            val = stratified_mask(y, validation_split, np.random.default_rng(seed))
            self.parts = [(x[~val], y[~val], x[val], y[val])]
        self.build = BuildFn(build_fn, space)
        self.space, self.epochs, self.batch_size = space, epochs, int(batch_size)
        self.prune, self.verbose, self.total = prune, verbose, total
        self.metric = None
        self.first_error = None  # of this run's first failed trial: raised if no trial succeeds

    def resolve_metric(self, metric):
        """Build one model (before any training, to catch a bad build_fn early) and settle the metric:
        accuracy when the model tracks it, else loss. Returns ``(metric, direction)``."""
        if metric is not None and metric not in ("accuracy", "loss"):
            raise ValueError(f"metric: expected 'accuracy' or 'loss', got {metric!r}")
        tracked = "accuracy" in getattr(self.build(self.space.probe()), "metrics_names", [])  # as in Keras
        if metric == "accuracy" and not tracked:
            raise ValueError("metric: 'accuracy' needs models compiled with metrics=['accuracy']")
        self.metric = metric or ("accuracy" if tracked else "loss")
        return self.metric, "maximize" if self.metric == "accuracy" else "minimize"

    def __call__(self, trial):
        import optuna

        # who runs it (host:pid): a rerun on this host retries the trials of processes that died
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        params = self.space.suggest(trial)
        t0 = time.perf_counter()
        attrs = {"epochs": 0, "fold_scores": []}
        try:
            score = self._train(trial, params, attrs)
        except Pruned:
            self._finish(trial, params, attrs, t0, "pruned")
            raise optuna.TrialPruned() from None
        except Exception as e:  # one bad configuration must not end the search and lose the others
            attrs["error"] = f"{type(e).__name__}: {e}"
            self.first_error = self.first_error or e
            self._finish(trial, params, attrs, t0, "failed")
            raise
        if not math.isfinite(score):
            attrs["error"] = "diverged: the validation loss is not finite"
        self._finish(trial, params, attrs, t0, "failed" if "error" in attrs else "complete")
        return score

    def _train(self, trial, params, attrs):
        epochs = int(params.get("epochs", self.epochs))
        batch_size = int(params.get("batch_size", self.batch_size))
        models = [self.build(params) for _ in self.parts]

        pruned = []  # the pruner's verdict, asked once per epoch (asking again is not the same question)

        def report(epoch, score):
            trial.report(score, epoch)
            # after the last epoch there is nothing left to save: the trial is complete
            if self.prune and epoch < epochs and trial.should_prune():
                pruned.append(epoch)
            return bool(pruned)

        if len(self.parts) == 1:
            (x_tr, y_tr, x_va, y_va), = self.parts
            recorder = _EpochScores(self.metric, report)
            models[0].fit(x_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0, validation_data=(x_va, y_va),
                          callbacks=[*self.callbacks, recorder], **self.fit_kwargs)
            scores, attrs["epochs"] = [recorder.scores], len(recorder.scores)
        else:  # folds side by side, so each epoch's mean over the folds can be reported
            recorders = [_EpochScores(self.metric) for _ in self.parts]
            for epoch in range(epochs):
                for model, rec, (x_tr, y_tr, x_va, y_va) in zip(models, recorders, self.parts):
                    model.fit(x_tr, y_tr, initial_epoch=epoch, epochs=epoch + 1, batch_size=batch_size, verbose=0,
                              validation_data=(x_va, y_va), callbacks=[rec], **self.fit_kwargs)
                attrs["epochs"] = epoch + 1
                mean = float(np.mean([r.scores[-1] for r in recorders]))
                if report(epoch + 1, mean) or not math.isfinite(mean):
                    break
            scores = [r.scores for r in recorders]
        attrs["fold_scores"] = [s[-1] for s in scores]
        if pruned:
            raise Pruned
        return float(np.mean(attrs["fold_scores"]))

    def _finish(self, trial, params, attrs, t0, state):
        attrs["seconds"] = round(time.perf_counter() - t0, 4)
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if self.verbose:
            shown = " ".join(f"{k}={fmt(v)}" for k, v in params.items())
            folds = attrs["fold_scores"]
            spread = f" (±{np.std(folds):.3g} over {len(folds)} folds)" if len(folds) > 1 else ""
            score = fmt(float(np.mean(folds))) if folds else "nan"
            result = {"failed": f"failed: {attrs.get('error')}",
                      "pruned": f"pruned: {self.metric} {score}"}.get(state, f"{self.metric} {score}{spread}")
            print(f"trial {trial.number + 1}/{self.total}: {shown} -> {result} "
                  f"[{attrs['epochs']} epochs, {attrs['seconds']:.2f}s]", flush=True)
