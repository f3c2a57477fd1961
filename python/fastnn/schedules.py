"""Learning-rate schedules: callables mapping the 0-based step t to a rate.

Pass one as an optimizer's ``learning_rate``; the fused update receives the
rate every step, so nothing is recompiled.
"""
from __future__ import annotations

import math

from ._checks import integer, number


_BY_NAME = {}  # every Schedule subclass by class name, users' own included, filled as they are defined


class Schedule:
    """Base class: ``schedule(t) -> learning rate``.

    A model whose optimizer uses a schedule saves it as ``get_config()``, and
    loading looks the class up by name among the subclasses defined so far:
    define your own subclass before loading a model that uses it. The default
    config is the instance's attributes, passed back to ``__init__`` as
    keyword arguments: store each argument under its own name, as plain
    numbers, or override ``get_config``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _BY_NAME[cls.__name__] = cls

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        """``{'class_name': ..., **constructor arguments}``: what ``get`` rebuilds this schedule from."""
        return {"class_name": type(self).__name__, **self.__dict__}


def _positive(name, value):
    return number(name, value, lo=0, lo_open=True)


class StepDecay(Schedule):
    """lr0 * factor^floor(t / step_size): drop by ``factor`` every ``step_size`` steps."""

    def __init__(self, initial_learning_rate, factor=0.5, step_size=1000):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.factor = _positive("factor", factor)
        self.step_size = integer("step_size", step_size, lo=1)

    def __call__(self, step):
        return self.initial_learning_rate * self.factor ** (step // self.step_size)


class ExponentialDecay(Schedule):
    """lr0 * decay_rate^(t / decay_steps) (Keras' ExponentialDecay; ``staircase`` floors the exponent)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.staircase = staircase

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)


class InverseTimeDecay(Schedule):
    """lr0 / (1 + k t): the 1/t schedule of stochastic approximation."""

    def __init__(self, initial_learning_rate, k):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.k = number("k", k, lo=0)

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.k * step)


class PowerDecay(Schedule):
    """lr0 * (t + 1)^-epsilon: the power schedule t^-eps (shifted so step 0 gives lr0)."""

    def __init__(self, initial_learning_rate, epsilon=0.5):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.epsilon = _positive("epsilon", epsilon)

    def __call__(self, step):
        return self.initial_learning_rate * (step + 1) ** -self.epsilon


def get(config):
    """A schedule from its ``get_config()`` dict."""
    cfg = dict(config)
    name = cfg.pop("class_name", None)
    if name not in _BY_NAME:
        raise ValueError(f"config: unknown class_name {name!r}; known: {', '.join(sorted(_BY_NAME))} "
                         f"(define a custom Schedule subclass before loading a model that uses it)")
    return _BY_NAME[name](**cfg)
