"""Callbacks that watch the logs and steer training: early stopping, learning-rate changes, NaN checks,
weight averaging."""
from __future__ import annotations

import inspect
import math
import warnings

from .._checks import boolean, integer, number
from .callbacks import Callback


class _Monitor:
    """Tracks the best value of a logged metric (``min`` for losses, ``max`` for accuracies)."""

    def __init__(self, monitor, mode, min_delta):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected a str, got {type(monitor).__name__}")
        min_delta = abs(number("min_delta", min_delta))
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.reset()

    def reset(self):
        """Forget the best value seen (a new training run starts)."""
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs, who):
        """The monitored value, or None with a warning (as Keras) when the logs lack it."""
        if self.monitor not in (logs or {}):
            warnings.warn(f"{who}: monitor {self.monitor!r} is not among the logged metrics {sorted(logs or {})}; "
                          f"skipping (validation metrics need validation_data or validation_split)", stacklevel=3)
            return None
        return logs[self.monitor]

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs (Keras' count:
    ``patience`` 0 and 1 both stop after the first epoch without improvement; never at the first epoch).

    With ``restore_best_weights`` the model ends with the weights of its best epoch.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False):
        self._m = _Monitor(monitor, mode, min_delta)
        self.patience = integer("patience", patience, lo=0)
        self.restore_best_weights = boolean("restore_best_weights", restore_best_weights)

    def on_train_begin(self, logs=None):
        self.wait, self.best_epoch, self.best_weights, self.stopped_epoch = 0, None, None, None
        self._m.reset()

    def on_epoch_end(self, epoch, logs=None):
        value = self._m.value(logs, "EarlyStopping")
        if value is None:
            return
        # Keras' count: `wait` epochs since the last improvement; stop once it reaches `patience`.
        self.wait += 1
        if self._m.improved(value):
            self._m.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_flat_weights()
        elif self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != self.model.epoch - 1:
            self.model.set_flat_weights(self.best_weights)

class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)``, or ``schedule(epoch)``
    for a one-argument function (both as Keras); ``verbose=1`` prints each change."""

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule: expected a callable (epoch, lr) -> lr, got {type(schedule).__name__}")
        self.schedule, self.verbose = schedule, integer("verbose", verbose, lo=0)
        try:
            params = inspect.signature(schedule).parameters.values()
            positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            self._takes_lr = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):  # a builtin without a signature: Keras' (epoch, lr)
            self._takes_lr = True

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = self.schedule(epoch, opt.current_learning_rate()) if self._takes_lr else self.schedule(epoch)
        lr = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")
        if not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"schedule: returned learning rate {lr!r} at epoch {epoch}; expected a positive number")
        opt.learning_rate = lr


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0,
                 mode="auto"):
        self.factor = number("factor", factor, lo=0, hi=1, lo_open=True, hi_open=True)
        self._m = _Monitor(monitor, mode, min_delta)
        self.patience, self.cooldown = integer("patience", patience, lo=0), integer("cooldown", cooldown, lo=0)
        self.min_lr = number("min_lr", min_lr, lo=0)

    def on_train_begin(self, logs=None):
        self.wait = self.cooldown_left = 0  # like Keras, a reused callback starts afresh
        self._m.reset()
        if callable(self.model.optimizer.learning_rate):
            raise ValueError("ReduceLROnPlateau: needs a float learning rate, not a schedule")

    def on_epoch_end(self, epoch, logs=None):
        value = self._m.value(logs, "ReduceLROnPlateau")
        if value is None:
            return
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._m.improved(value):
            self._m.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                opt.learning_rate = max(opt.learning_rate * self.factor, self.min_lr)
                self.cooldown_left, self.wait = self.cooldown, 0
        if logs is not None:
            logs["lr"] = self.model.optimizer.current_learning_rate()


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True

class ExponentialMovingAverage(Callback):
    """Polyak averaging: keep ``avg = decay * avg + (1 - decay) * w`` of the weights after every step.

    ``model.evaluate(..., use_average=True)`` and ``model.predict(..., use_average=True)``
    then use the averaged weights; ``model.averaged_weights()`` is a context
    manager that swaps them in. An optimizer with ``use_ema=True`` keeps the
    same average itself (Keras' way): use one or the other.
    """

    def __init__(self, decay=0.999):
        self.decay = number("decay", decay, lo=0, hi=1, lo_open=True, hi_open=True)

    def on_train_begin(self, logs=None):
        if getattr(self.model.optimizer, "use_ema", False):
            raise ValueError("callbacks: ExponentialMovingAverage and an optimizer with use_ema=True would both "
                             "update the one weight average; use one of them")
        self.model.parameters.start_average()

    def on_train_batch_end(self, batch, logs=None):
        self.model.parameters.update_average(self.decay)
