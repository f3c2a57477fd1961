"""What a search found: its trials read back from the Optuna study, ranked, as a table or records."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .objective import fmt


@dataclass
class Trial:
    """One evaluated configuration.

    ``score`` is the validation metric after the last epoch it trained (mean
    over the folds with cv; for a pruned trial, its score when it was stopped),
    ``epochs`` the epochs it trained, ``fold_scores`` the per-fold values,
    ``history`` the (epoch, score) pairs it reported, ``state`` 'complete',
    'pruned' or 'failed', ``error`` why it failed (its score is then NaN).
    """

    number: int
    params: dict
    score: float = float("nan")
    epochs: int = 0
    fold_scores: list = field(default_factory=list)
    seconds: float = 0.0
    history: list = field(default_factory=list)
    state: str = "complete"
    error: str = None

    @classmethod
    def from_optuna(cls, frozen, space):
        """A Trial from one of the study's finished ``optuna.trial.FrozenTrial``."""
        attrs = frozen.user_attrs
        state = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(frozen.state.name, "failed")
        error = attrs.get("error")
        score = float(frozen.value) if frozen.value is not None and not error else float("nan")
        return cls(frozen.number, space.decode(frozen.params), score, int(attrs.get("epochs", 0)),
                   list(attrs.get("fold_scores", [])), float(attrs.get("seconds", 0.0)),
                   sorted(frozen.intermediate_values.items()), "failed" if error else state, error)


class SearchResults:
    """What a search found: every finished trial of its study, ranked by score.

    Attributes: ``trials`` (best first: completed trials by score, then pruned, then failed),
    ``metric``, ``mode`` ('max' or 'min'), ``strategy``, ``space``, ``best``,
    ``best_params``, ``best_score``, ``study`` (the ``optuna.Study``: its
    storage and name say where the trials are kept), ``interrupted``
    (True if Ctrl-C ended the search early).
    """

    def __init__(self, trials, metric, strategy, space, build, batch_size, fit_kwargs, study=None,
                 interrupted=False):
        self.metric, self.mode, self.strategy, self.space = metric, "max" if metric == "accuracy" else "min", \
            strategy, space
        self._build, self._batch_size, self._fit_kwargs = build, batch_size, dict(fit_kwargs or {})
        self.study, self.interrupted = study, interrupted
        sign = -1.0 if self.mode == "max" else 1.0
        # As Optuna's best_trial: finished trials first, then pruned ones, then failed ones (NaN scores);
        # by score within each, the longer-trained first among equal scores.
        order = {"complete": 0, "pruned": 1, "failed": 2}
        self.trials = sorted(trials, key=lambda t: (math.isnan(t.score), order[t.state], sign * t.score
                                                    if not math.isnan(t.score) else 0.0, -t.epochs, t.number))

    def __len__(self):
        return len(self.trials)

    def __repr__(self):
        best = f"best {self.metric} {self.best_score:.4g} with {self.best_params}" if self.trials else "no trials"
        return f"SearchResults({self.strategy}, {len(self.trials)} trials, {best})"

    @property
    def best(self):
        """The best trial."""
        if not self.trials:
            raise ValueError("results: no trial has finished yet")
        return self.trials[0]

    @property
    def best_params(self):
        """The best configuration (a dict)."""
        return dict(self.best.params)

    @property
    def best_score(self):
        """The best configuration's validation score."""
        return self.best.score

    def _columns(self):
        # epochs is a column of its own (the epochs trained), so an epochs hyperparameter is not repeated
        return [n for n in self.space.names if n != "epochs"]

    def to_records(self):
        """One dict per trial, best first: parameters, score, epochs, seconds, state, error, trial number
        (for ``pandas.DataFrame(records)`` or JSON)."""
        return [{**{n: t.params.get(n) for n in self._columns()}, self.metric: t.score, "epochs": t.epochs,
                 "seconds": round(t.seconds, 3), "state": t.state, "error": t.error, "trial": t.number}
                for t in self.trials]

    def table(self, max_rows=None, print_fn=print):
        """Print (and return) the trials as a table, best first: rank, parameters, score, epochs, time
        (and the spread over folds with cv, the state when some were pruned or failed)."""
        names = self._columns()
        folds = any(len(t.fold_scores) > 1 for t in self.trials)
        states = any(t.state != "complete" for t in self.trials)
        header = ["rank", *names, self.metric] + (["± folds"] if folds else []) + ["epochs", "seconds"] + \
            (["state"] if states else [])
        rows = []
        for rank, t in enumerate(self.trials[:max_rows], 1):
            row = [str(rank), *(fmt(t.params.get(n)) for n in names), fmt(t.score)]
            if folds:
                row.append(fmt(float(np.std(t.fold_scores))) if len(t.fold_scores) > 1 else "")
            rows.append(row + [str(t.epochs), f"{t.seconds:.2f}"] + ([t.state] if states else []))
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

        ``epochs`` defaults to the epochs the best trial trained; ``batch_size``
        to its ``batch_size`` hyperparameter, else the search's.
        """
        params = self.best_params
        model = self._build(params)
        epochs = self.best.epochs if epochs is None else epochs
        batch_size = batch_size or params.get("batch_size", self._batch_size)
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, **{**self._fit_kwargs, **fit_kwargs})
        return model
