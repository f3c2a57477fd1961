"""Search spaces: parsing a dict (or YAML/JSON file) and mapping it onto Optuna distributions.

Every entry maps a hyperparameter to its values::

    {"learning_rate": {"log_uniform": [1e-4, 1e-1]},   # uniform in log space
     "hidden": {"choice": [[64], [128, 64]]},          # one of these (any values: lists too)
     "dropout": {"uniform": [0.0, 0.5]},
     "layers": {"int": [1, 3]},                        # integers, both ends included
     "optimizer": ["sgd", "adam"],                     # a plain list: grid values (a choice when sampled)
     "activation": "relu"}                             # a constant

Optuna stores categorical values only as None, bool, int, float or str, so other
choices (lists, dicts) go to Optuna as their JSON text — readable in
optuna-dashboard — and come back as the values written in the space.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int")
#: Hyperparameters that are arguments of ``fit``, not of the model: honoured by every search.
TRAINING_KEYS = ("epochs", "batch_size")
TUNE_HINT = "pip install 'fastnn[tune]'"


def _plain(value):
    """numpy scalars to Python ones (for printing, JSON and Optuna)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _is_primitive(v):
    return v is None or isinstance(v, (bool, int, float, str))


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
            return cls(name, "grid", values=[_plain(v) for v in spec])._checked()
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
                return cls(name, "choice", values=[_plain(v) for v in arg])._checked()
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
            return cls(name, kind, low=low, high=high)._checked()
        if spec is None or isinstance(spec, (str, bool)) or _is_number(spec):
            return cls(name, "constant", values=[_plain(spec)])._checked()
        raise TypeError(f"{name}: expected a list of values, a {{distribution: arguments}} dict or a constant, "
                        f"got {type(spec).__name__}")

    def _checked(self):
        labels = self.labels() if self.values is not None else []
        for i, j in itertools.combinations(range(len(labels)), 2):
            if labels[i] == labels[j]:  # Optuna finds a categorical value by ==: 1, 1.0 and True are one value
                raise ValueError(f"{self.name}: values {self.values[i]!r} and {self.values[j]!r} are the same "
                                 "value to Optuna; list each value once")
        if self.name in TRAINING_KEYS:
            ok = (self.values is not None and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                   for v in self.values)) or (self.kind == "int" and self.low > 0)
            if not ok:
                raise ValueError(f"{self.name}: a training argument; expected positive ints (a list, a choice or "
                                 f"an int range), got {self.kind} {self.values or [self.low, self.high]!r}")
        return self

    def labels(self):
        """The values as Optuna stores them: primitives as they are, anything else as its JSON text."""
        return [v if _is_primitive(v) else json.dumps(v, default=repr) for v in self.values]

    def probe(self):
        """A value of this parameter for a first, untrained model (the first value, or the low end)."""
        return self.values[0] if self.values is not None else self.low

    def grid_values(self):
        """The Optuna labels of every value, for grid search; continuous ranges have none."""
        if self.kind == "int":
            return list(range(self.low, self.high + 1))
        if self.values is None:
            raise ValueError(f"{self.name}: grid_search needs a list of values, got a {self.kind} range "
                             f"[{self.low}, {self.high}]; use random_search, hyperband or bayesian, or list values")
        return self.labels()

    def suggest(self, trial):
        """The value Optuna's ``trial`` proposes (decoded back to the value written in the space)."""
        if self.kind == "constant":
            return self.values[0]
        if self.kind in ("grid", "choice"):
            return self.decode(trial.suggest_categorical(self.name, self.labels()))
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high)
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log_uniform")

    def decode(self, label):
        """The space's value for an Optuna label."""
        if self.values is None:
            return label
        return self.values[self.labels().index(label)]


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

    def fingerprint(self):
        """The space as canonical JSON text: a stored study remembers which space it searched."""
        return json.dumps(self.spec, sort_keys=True, default=repr)

    def probe(self):
        """One configuration, for a model built before any trial (to check build_fn and the metric)."""
        return {p.name: p.probe() for p in self.params}

    def grid(self):
        """Optuna's grid (name -> labels) of the non-constant parameters, and its number of points."""
        grid = {p.name: p.grid_values() for p in self.params if p.kind != "constant"}
        return grid, int(np.prod([len(v) for v in grid.values()])) if grid else 1

    def suggest(self, trial):
        """A configuration proposed by an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}

    def decode(self, optuna_params):
        """A configuration from a stored trial's parameters (constants added back)."""
        return {p.name: p.values[0] if p.kind == "constant" else p.decode(optuna_params[p.name])
                for p in self.params if p.kind == "constant" or p.name in optuna_params}


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
            raise ImportError(f"reading {path} needs PyYAML: {TUNE_HINT} (or write the file as JSON)") from None
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
