"""Callbacks: hooks into ``fit``, ``evaluate`` and ``predict``, with Keras' names, order and semantics.

``fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin``,
per batch ``on_train_batch_begin``/``on_train_batch_end``, then (with
validation data) ``on_test_begin``, ``on_test_batch_begin``/``_end``,
``on_test_end``, then ``on_epoch_end``; finally ``on_train_end``.
``evaluate`` calls the ``on_test_*`` hooks and ``predict`` the
``on_predict_*`` ones. Setting ``model.stop_training = True`` ends training
after the current batch. The progress bar and ``History`` are callbacks too,
added by ``fit`` after the user's (as Keras does).
"""
from __future__ import annotations

import csv
import inspect
import math
import os
import warnings

from .._checks import boolean, integer, number

_BATCH_HOOKS = {mode: (f"on_{mode}_batch_begin", f"on_{mode}_batch_end") for mode in ("train", "test", "predict")}


class Callback:
    """Base class; override the hooks you need. ``self.model`` is the model, ``self.params`` the
    run's settings (``epochs``, ``steps``, ``verbose``; ``rank`` and ``world_size`` under a
    ``fastnn.distribute`` strategy). A callback with ``chief_only = True`` (the progress bar
    and the writers of checkpoints and logs) runs only on rank 0 of a data-parallel job."""

    chief_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        """Called before the run: the model this callback watches."""
        self.model = model

    def set_params(self, params):
        """Called before the run with its settings."""
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs=None):
        """Called once when ``fit`` ends, also after an early stop."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before each epoch (``epoch`` counts from ``initial_epoch``)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch with its ``logs``: loss, metrics and their ``val_`` versions."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before each training step."""

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training step; ``logs`` hold the epoch's running mean loss and metrics."""

    def on_test_begin(self, logs=None):
        """Called when ``evaluate`` (or fit's validation) starts."""

    def on_test_end(self, logs=None):
        """Called when ``evaluate`` (or fit's validation) ends, with its results."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each evaluation batch."""

    def on_predict_begin(self, logs=None):
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs=None):
        """Called when ``predict`` ends."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after each prediction batch."""


def _overrides(cb, hook):
    return getattr(type(cb), hook) is not getattr(Callback, hook) or hook in vars(cb)


class CallbackList:
    """Runs a list of callbacks as one; batch hooks only reach callbacks that override them,
    so a run whose callbacks ignore batches does no per-batch work for them."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback objects, got {type(cb).__name__}")
        self._batch = {mode: [cb for cb in self.callbacks if any(_overrides(cb, h) for h in hooks)]
                       for mode, hooks in _BATCH_HOOKS.items()}
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(dict(params or {}))

    def wants_batches(self, mode):
        """True if some callback has ``on_{mode}_batch_*`` hooks."""
        return bool(self._batch[mode])

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_begin(self, mode, logs=None):
        """``on_test_begin`` or ``on_predict_begin`` (``mode``: 'test' or 'predict')."""
        self._call(f"on_{mode}_begin", logs)

    def on_end(self, mode, logs=None):
        self._call(f"on_{mode}_end", logs)

    def on_batch_begin(self, mode, batch, logs=None):
        for cb in self._batch[mode]:
            getattr(cb, f"on_{mode}_batch_begin")(batch, logs)

    def on_batch_end(self, mode, batch, logs=None):
        for cb in self._batch[mode]:
            getattr(cb, f"on_{mode}_batch_end")(batch, logs)


    def initial_epoch(self, initial_epoch):
        """The epoch to start from: ``initial_epoch``, or later if a callback restored a backup."""
        restored = [cb.restored_epoch for cb in self.callbacks if getattr(cb, "restored_epoch", None) is not None]
        return max([initial_epoch, *restored])


class LambdaCallback(Callback):
    """A callback from functions, as Keras' ``LambdaCallback``: ``on_epoch_end=lambda epoch, logs: ...``.

    Takes any hook by name (``on_train_begin``, ``on_train_batch_end``, ``on_test_end``, ...).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for hook, fn in hooks.items():
            if not hook.startswith("on_") or not hasattr(Callback, hook):
                raise ValueError(f"{hook}: not a callback hook")
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{hook}: expected a callable, got {type(fn).__name__}")
            setattr(self, hook, fn)  # an instance attribute: CallbackList finds it (_overrides)


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


class ModelCheckpoint(Callback):
    """Save the model (weights, optimizer state, counters, RNG) after each epoch.

    ``filepath`` may use ``{epoch}`` and logged metrics, e.g. ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'``.
    With ``save_best_only`` it saves only when ``monitor`` improves.
    """

    chief_only = True

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath = _path("filepath", filepath)
        self._m = _Monitor(monitor, mode, 0.0)
        self.save_best_only = boolean("save_best_only", save_best_only)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._m.value(logs, "ModelCheckpoint")
            if value is None or not self._m.improved(value):
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


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file."""

    chief_only = True

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
        self.model.parameters.start_average()

    def on_train_batch_end(self, batch, logs=None):
        self.model.parameters.update_average(self.decay)


class BackupAndRestore(Callback):
    """Resume a ``fit`` that was interrupted (a crash, a killed job), as Keras' callback does.

    After every epoch (or every ``save_freq`` batches) the model's whole
    state (weights, optimizer state, counters, RNG) is saved in
    ``backup_dir``; a ``fit`` started again with the same callback and
    arguments loads it and continues with the next epoch. The backup is
    deleted when training ends normally (``delete_checkpoint=True``).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        self.backup_dir = _path("backup_dir", backup_dir)
        if save_freq != "epoch":
            save_freq = integer("save_freq", save_freq, lo=1, expected="'epoch' or an int >= 1")
        self.save_freq = save_freq
        self.delete_checkpoint = boolean("delete_checkpoint", delete_checkpoint)
        self.restored_epoch = None

    @property
    def _file(self):
        return os.path.join(self.backup_dir, "latest.safetensors")

    def on_train_begin(self, logs=None):
        from ..models.saving import restore_state

        self.restored_epoch, self._batches = None, 0
        if os.path.exists(self._file):
            restore_state(self.model, self._file)
            self.restored_epoch = self.model.epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model.save(self._file)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._file):
            os.remove(self._file)


def _path(name, value):
    """A file path argument as a str (or bytes, from an os.PathLike that gives bytes)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a str or path, got {type(value).__name__}")
    return os.fspath(value)

