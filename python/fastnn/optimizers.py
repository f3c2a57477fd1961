"""Optimizers as objects over the model's flat parameter buffer.

Every step is one fused kernel call per parameter group (a contiguous range
of parameters sharing hyperparameters: learning-rate multiplier, L1, L2),
with regularization folded into the same pass; see
``fastnn.ops.optimizer_update`` for the exact update rules.
"""
from __future__ import annotations

import math

from . import ops


class Optimizer:
    """Base class. ``learning_rate`` is a float or a schedule: a callable
    mapping the 0-based step number to a learning rate."""

    kind = None

    def __init__(self, learning_rate, **hyper):
        if not callable(learning_rate):
            if not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate) or learning_rate <= 0:
                raise ValueError(f"learning_rate: expected a positive number or a schedule, got {learning_rate!r}")
            learning_rate = float(learning_rate)
        self.learning_rate = learning_rate
        self.hyper = hyper
        self.iterations = 0  # steps taken
        self.state = []      # flat state arrays, parallel to the parameter buffer

    def current_learning_rate(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def build(self, model):
        """Allocate the optimizer state beside the model's parameter buffer."""
        n = ops.STATE_COUNT[self.kind]
        if len(self.state) != n or (n and self.state[0].shape != model.flat_params.shape):
            self.state = [model.backend.zeros(model.flat_params.shape, model.flat_params.dtype) for _ in range(n)]

    def step(self, model):
        """Apply one update to every trainable parameter group of ``model``."""
        self.iterations += 1
        lr = self.current_learning_rate()
        s = self.state
        for g in model.param_groups():
            sl = slice(g.start, g.stop)
            ops.optimizer_update(self.kind, model.flat_params[sl], model.flat_grads[sl],
                                 s[0][sl] if len(s) > 0 else None, s[1][sl] if len(s) > 1 else None,
                                 lr=lr * g.lr_multiplier, l1=g.l1, l2=g.l2, step=self.iterations,
                                 backend=model.backend, **self.hyper)
        model.apply_constraints()

    def get_config(self):
        lr = self.learning_rate
        return {"class_name": type(self).__name__,
                "learning_rate": lr.get_config() if hasattr(lr, "get_config") else lr, **self._args()}

    def _args(self):
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    ``momentum`` > 0 uses the textbook velocity v = momentum v + g (or the
    averaged form v = momentum v + (1 - momentum) g with ``averaged=True``);
    ``nesterov=True`` evaluates the step at the look-ahead point.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, averaged=False):
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: expected 0 <= momentum < 1, got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov: needs momentum > 0")
        super().__init__(learning_rate, rho=float(momentum))
        self.momentum, self.nesterov, self.averaged = momentum, nesterov, averaged
        self.kind = ("nesterov" if nesterov else "momentum_avg" if averaged else "momentum") if momentum else "sgd"

    def _args(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov, "averaged": self.averaged}


_BY_NAME = {"sgd": SGD}


def get(optimizer):
    """An optimizer from its name (default hyperparameters) or an Optimizer instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    raise ValueError(f"optimizer: expected one of {', '.join(sorted(_BY_NAME))} or an Optimizer, got {optimizer!r}")
