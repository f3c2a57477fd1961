"""Callbacks: hooks into ``fit`` (Keras' names and semantics).

A callback gets ``set_model(model)`` and then ``on_train_begin``,
``on_epoch_begin(epoch)``, ``on_train_batch_end(batch, logs)``,
``on_epoch_end(epoch, logs)`` and ``on_train_end``. Setting
``model.stop_training = True`` ends training after the current epoch.
"""
from __future__ import annotations

import csv
import math
import os

import numpy as np

from ._checks import boolean, integer, number


class Callback:
    """Base class; override the hooks you need."""

    #: True if ``on_train_batch_end`` needs ``logs['loss']`` (costs a device sync per batch).
    wants_batch_loss = False

    def set_model(self, model):
        """Called by ``fit`` before training: the model this callback watches."""
        self.model = model

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs=None):
        """Called once when ``fit`` ends, also after an early stop."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before each epoch (``epoch`` counts from 0 across resumed runs)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch with its ``logs``: loss, metrics and their ``val_`` versions."""

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training step; ``logs['loss']`` only when ``wants_batch_loss``."""


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

    def value(self, logs):
        if self.monitor not in (logs or {}):
            raise ValueError(f"monitor: {self.monitor!r} is not among the logged metrics {sorted(logs or {})}; "
                             f"validation metrics need validation_data or validation_split")
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
        value = self._m.value(logs)
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
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != self.model.last_epoch:
            self.model.set_flat_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (weights, optimizer state, counters, RNG) after each epoch.

    ``filepath`` may use ``{epoch}`` and logged metrics, e.g. ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'``.
    With ``save_best_only`` it saves only when ``monitor`` improves.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath = _path("filepath", filepath)
        self._m = _Monitor(monitor, mode, 0.0)
        self.save_best_only = boolean("save_best_only", save_best_only)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._m.value(logs)
            if not self._m.improved(value):
                return
            self._m.best = value
        self.model.save(self._path(epoch + 1, logs or {}))

    def _path(self, epoch, logs):
        """``filepath`` filled in with ``epoch`` (1-based) and this epoch's logs."""
        keys = ", ".join(["epoch", *sorted(logs)])
        try:
            return self.filepath.format(epoch=epoch, **logs)
        except KeyError as e:
            raise ValueError(f"filepath: {self.filepath!r} uses {{{e.args[0]}}}, which is not logged; "
                             f"available: {keys}") from None
        except (IndexError, ValueError) as e:
            raise ValueError(f"filepath: {self.filepath!r} cannot be filled in ({e}); available: {keys}") from None


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)``."""

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"schedule: expected a callable (epoch, lr) -> lr, got {type(schedule).__name__}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(self.schedule(epoch, opt.current_learning_rate()))
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
        value = self._m.value(logs)
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

    wants_batch_loss = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True
            self.model.stop_now = True


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file."""

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = _path("filename", filename), separator, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **(logs or {})}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class ExponentialMovingAverage(Callback):
    """Polyak averaging: keep ``avg = decay * avg + (1 - decay) * w`` of the weights after every step.

    ``model.evaluate(..., use_average=True)`` and ``model.predict(..., use_average=True)``
    then use the averaged weights; ``model.averaged_weights()`` is a context
    manager that swaps them in.
    """

    def __init__(self, decay=0.999):
        self.decay = number("decay", decay, lo=0, hi=1, lo_open=True, hi_open=True)

    def on_train_begin(self, logs=None):
        m = self.model
        if m.average_params is None or m.average_params.shape != m.flat_params.shape:
            m.average_params = m.flat_params.copy()
        self._diff = m.backend.empty(m.flat_params.shape, m.flat_params.dtype)

    def on_train_batch_end(self, batch, logs=None):
        xp, avg, w = self.model.backend.xp, self.model.average_params, self.model.flat_params
        xp.subtract(w, avg, out=self._diff)  # avg += (1 - decay) (w - avg), without temporaries
        self._diff *= 1.0 - self.decay
        avg += self._diff


def _path(name, value):
    """A file path argument as a str (or bytes, from an os.PathLike that gives bytes)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a str or path, got {type(value).__name__}")
    return os.fspath(value)


def history_plot(history, path):
    """Write a PNG of training vs validation loss (and accuracy) per epoch to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("History.plot needs matplotlib: pip install 'fastnn[plot]'") from None
    h = history.history
    panels = [k for k in ("loss", "accuracy") if k in h]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    epochs = np.arange(1, len(history.epoch) + 1)
    for ax, key in zip(axes[0], panels):
        ax.plot(epochs, h[key], "o-", label=f"training {key}")
        if "val_" + key in h:
            ax.plot(epochs, h["val_" + key], "s--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
