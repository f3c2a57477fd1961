"""Callbacks: hooks into ``fit``, ``evaluate`` and ``predict``, with Keras' names, order and semantics.

``fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin``,
per batch ``on_train_batch_begin``/``on_train_batch_end``, then (with
validation data) ``on_test_begin``, ``on_test_batch_begin``/``_end``,
``on_test_end``, then ``on_epoch_end``; finally ``on_train_end``.
``evaluate`` calls the ``on_test_*`` hooks and ``predict`` the
``on_predict_*`` ones. Setting ``model.stop_training = True`` ends training
after the current batch. The progress bar and ``History`` are callbacks too,
added by ``fit`` after the user's (as Keras does).

This module holds the base class, the list that runs callbacks and
``LambdaCallback``; the monitoring callbacks are in ``monitoring``, the ones
that write files in ``checkpoints``. Import them all from ``fastnn.callbacks``.
"""
from __future__ import annotations

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
