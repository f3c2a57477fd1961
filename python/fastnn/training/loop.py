"""The one epoch loop behind ``fit``, ``evaluate`` and ``predict``.

A data adapter yields converted host batches; a prefetch thread gathers
(and copies to the device) the next ones while the model's step runs; the
callbacks see each batch only if one of them asks to.
"""
from __future__ import annotations

import math

import numpy as np

from .adapters import adapter, sample_shape, to_device
from .callbacks import CallbackList
from .data import BatchConverter, num_rows
from .history import History
from .prefetch import Inline, Prefetcher
from .progress import ProgbarLogger


def _verbose(verbose):
    if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose


def _positive(name, value, none_ok=True):
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive int{' or None' if none_ok else ''}, got {value!r}")
    return int(value)


def _callback_list(model, callbacks, verbose, params, history=None, strategy=None):
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks: expected a list of Callback objects, got {type(callbacks).__name__}")
    cbs = list(callbacks or [])
    if history is not None:
        cbs.append(history)
    if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
        cbs.append(ProgbarLogger(verbose))
    if strategy is not None:  # only the chief prints and writes files
        params = {**params, "rank": strategy.rank, "world_size": strategy.world_size}
        if not strategy.is_chief:
            cbs = [cb for cb in cbs if not getattr(cb, "chief_only", False)]
    return CallbackList(cbs, model, {**params, "verbose": verbose})


def _strategy(strategy):
    from .. import distribute

    if strategy is None:
        return distribute.get_strategy()
    if not isinstance(strategy, distribute.DataParallel):
        raise TypeError(f"strategy: expected a fastnn.distribute.DataParallel or None, got {type(strategy).__name__}")
    return strategy


def _run_batches(model, source, rng, step, callbacks, mode, transform=None):
    """One pass over ``source``: ``step(x, y, sw)`` per batch; returns the logs (loss and metrics means)."""
    batches = source.epoch(rng)
    if transform is not None:
        batches = transform(batches)
    want_batches = callbacks.wants_batches(mode)
    totals, seen = None, 0
    copy = to_device(model.backend)
    # Reading files, running user code, copying to a GPU: on a thread, overlapping the step. An in-memory
    # gather takes microseconds and a thread beside OpenMP's would cost more than it saves: inline.
    prefetch = Prefetcher(batches, copy) if source.background or copy is not None else Inline(batches)
    try:
        for k, batch in enumerate(prefetch):  # (x, y, sw), and a Shard when sharded
            if want_batches:
                callbacks.on_batch_begin(mode, k)
            result = step(*batch)
            seen += batch[3].size if len(batch) > 3 else num_rows(batch[0])
            totals = result if totals is None else [a + b for a, b in zip(totals, result)]
            if want_batches:
                callbacks.on_batch_end(mode, k, model.logs_from(totals, seen))
            if mode == "train" and model.stop_training:
                break
    finally:
        prefetch.close()
    source.end_epoch()
    return model.logs_from(totals, seen) if seen else {}


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, augment=None,
        strategy=None):
    """``Sequential.fit``: see its docstring."""
    verbose = _verbose(verbose)
    batch_size = _positive("batch_size", batch_size)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs: expected an int >= 0, got {epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"initial_epoch: expected an int >= 0, got {initial_epoch!r}")
    steps_per_epoch = _positive("steps_per_epoch", steps_per_epoch)
    validation_steps = _positive("validation_steps", validation_steps)
    validation_batch_size = _positive("validation_batch_size", validation_batch_size)
    if isinstance(validation_freq, (list, tuple, set, range)):
        val_epochs = {int(e) for e in validation_freq}
        run_validation = lambda epoch: epoch + 1 in val_epochs  # noqa: E731 (1-based, as Keras)
    else:
        freq = _positive("validation_freq", validation_freq, none_ok=False)
        run_validation = lambda epoch: (epoch + 1) % freq == 0  # noqa: E731
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split: expected a fraction in [0, 1), got {validation_split!r}")
    if validation_split and validation_data is not None:
        raise ValueError("validation_split, validation_data: give one, not both")
    if shuffle not in (True, False, "batch"):
        raise ValueError(f"shuffle: expected True, False or 'batch', got {shuffle!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment: expected a callable (x_batch, rng) -> x_batch such as fastnn.augment.Augmenter, "
                        f"got {type(augment).__name__}")
    shape, x = sample_shape(x) if not model.built else (None, x)
    model.require_compiled("fit", shape)
    strategy = _strategy(strategy)
    part = None if strategy is None else strategy.part
    conv = BatchConverter(model)
    if validation_split:
        x, y, sample_weight, validation_data = _split(x, y, sample_weight, validation_split)
    train = adapter(conv, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch, part=part)
    val = None
    if validation_data is not None:
        val = adapter(conv, *_validation_arrays(validation_data), batch_size=validation_batch_size or batch_size,
                      steps=validation_steps, name="validation_data", part=part)
    history = History()
    cbs = _callback_list(model, callbacks, verbose, {"epochs": epochs, "steps": train.steps, "in_fit": True}, history,
                         strategy)
    transform = None if augment is None else _augmenting(augment, model.rng)
    train_step, test_step = model.train_step_host, model.test_step_host
    if strategy is not None:
        train_step, test_step = strategy.train_step(model), strategy.test_step(model)
    with model.training_thread():
        model.stop_training = False
        if strategy is not None:
            strategy.sync_model(model)
        cbs.on_train_begin()
        logs = {}
        for epoch in range(cbs.initial_epoch(initial_epoch), epochs):
            cbs.on_epoch_begin(epoch)
            logs = _run_batches(model, train, model.rng, train_step, cbs, "train",
                                transform and transform(epoch))
            if not logs:
                break  # stopped before its first batch
            logs["loss"] += model.parameters.penalty()
            if val is not None and run_validation(epoch):
                cbs.on_begin("test")
                val_logs = _run_batches(model, val, None, test_step, cbs, "test")
                val_logs["loss"] += model.parameters.penalty()
                cbs.on_end("test", val_logs)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            model.epoch = epoch + 1
            cbs.on_epoch_end(epoch, logs)
            if strategy is not None:
                strategy.agree(model)
            if model.stop_training:
                break
        if epochs > 0:  # as Keras: an optimizer with use_ema writes its average over the weights
            model.optimizer.finalize_variable_values(model.parameters)
        cbs.on_train_end(logs)
        if strategy is not None:
            strategy.release(model)
    model.history = history
    return history


def _split(x, y, sample_weight, fraction):
    """Keras' validation_split: the last ``fraction`` of the samples, before any shuffling (arrays, or
    lists/dicts of them for several inputs or outputs)."""
    if not all(hasattr(a, "shape") for a in _parts(x)):
        raise ValueError("validation_split: only works with array data; use validation_data for generators "
                         "and Sequences")
    n = len(_parts(x)[0])
    if y is not None and len(_parts(y)[0]) != n:
        raise ValueError(f"x, y: expected the same number of samples, got {n} and {len(_parts(y)[0])}")
    n_val = int(math.ceil(n * fraction))
    if n_val >= n:
        raise ValueError(f"validation_split: leaves no training samples out of {n}")
    (x_tr, x_va), (y_tr, y_va), (sw_tr, sw_va) = (_cut(a, n - n_val) for a in (x, y, sample_weight))
    return x_tr, y_tr, sw_tr, (x_va, y_va) if sw_va is None else (x_va, y_va, sw_va)


def _parts(a):
    """The arrays of ``a``: itself, or the values of a list or dict (several inputs or outputs)."""
    return list(a.values()) if isinstance(a, dict) else list(a) if isinstance(a, (list, tuple)) else [a]


def _cut(a, at):
    """``a``'s rows before ``at`` and from ``at`` on, keeping its list or dict form."""
    if a is None:
        return None, None
    if isinstance(a, dict):
        return {k: v[:at] for k, v in a.items()}, {k: v[at:] for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return [v[:at] for v in a], [v[at:] for v in a]
    return a[:at], a[at:]


def _validation_arrays(validation_data):
    expected = "validation_data: expected (x_val, y_val), (x_val, y_val, sample_weight), a generator or a Sequence"
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and validation_data[1] is not None:
        return validation_data
    if isinstance(validation_data, (tuple, list)):
        raise ValueError(f"{expected}, got a {type(validation_data).__name__} of {len(validation_data)}")
    if hasattr(validation_data, "shape"):
        raise ValueError(f"{expected}, got an array alone")
    return (validation_data,)


def _augmenting(augment, rng):
    """Per epoch, a transform of the batch stream applying ``augment`` with a seed drawn from the model's rng."""
    def for_epoch(epoch):
        seed = int(rng.integers(2**63))  # drawn on this thread, so the run repeats

        def transform(batches):
            aug_rng = np.random.default_rng(seed)
            for x, y, sw in batches:
                yield np.asarray(augment(x, aug_rng), dtype=x.dtype), y, sw
        return transform
    return for_epoch


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None,
             return_dict=False):
    """``Sequential.evaluate``: see its docstring."""
    verbose = _verbose(verbose)
    shape, x = sample_shape(x) if not model.built else (None, x)
    model.require_compiled("evaluate", shape)
    strategy = _strategy(None)
    source = adapter(BatchConverter(model), x, y, sample_weight, None, _positive("batch_size", batch_size), False,
                     _positive("steps", steps), part=None if strategy is None else strategy.part)
    cbs = _callback_list(model, callbacks, verbose, {"steps": source.steps}, strategy=strategy)
    cbs.on_begin("test")
    step = model.test_step_host if strategy is None else strategy.test_step(model)
    logs = _run_batches(model, source, None, step, cbs, "test")
    logs["loss"] += model.parameters.penalty()
    cbs.on_end("test", logs)
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    """``Sequential.predict``: see its docstring."""
    verbose = _verbose(verbose)
    shape, x = sample_shape(x) if not model.built else (None, x)
    model.ensure_built(shape)
    strategy = _strategy(None)
    source = adapter(BatchConverter(model), x, None, None, None, _positive("batch_size", batch_size), False,
                     _positive("steps", steps), part=None if strategy is None else strategy.part)
    cbs = _callback_list(model, callbacks, verbose, {"steps": source.steps}, strategy=strategy)
    # Arrays give the row count up front: every batch is written straight into the one result array.
    rows = min(source.n, source.steps * source.batch_size) if strategy is None and hasattr(source, "n") else None
    results = None if rows is None else [np.empty((rows, *shape), model.dtype) for shape in model.output_shapes]
    outputs, filled = [], 0

    def step(xb, yb, sw, shard=None):
        nonlocal filled
        n = num_rows(xb)
        if results is not None:
            model.predict_step_into(xb, [r[filled:filled + n] for r in results])
            filled += n
        elif n:
            outputs.append(model.predict_step_host(xb))
        else:
            empty = [np.empty((0, *shape), model.dtype) for shape in model.output_shapes]
            outputs.append(empty if model.multi_output else empty[0])
        return ()

    cbs.on_begin("predict")
    _run_batches(model, source, None, step, cbs, "predict")
    cbs.on_end("predict")
    if results is not None:
        results = [r[:filled] for r in results]
        return results if model.multi_output else results[0]
    if model.multi_output:
        columns = [[batch[i] for batch in outputs] for i in range(len(model.output_names))]
        if strategy is not None:  # every rank gets every row
            columns = [strategy.gather_rows(c) for c in columns]
        return [np.concatenate(c) if len(c) != 1 else c[0] for c in columns]
    if strategy is not None:
        outputs = strategy.gather_rows(outputs)
    return np.concatenate(outputs) if len(outputs) != 1 else outputs[0]
