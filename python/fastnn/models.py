"""Sequential models: build, compile, fit, evaluate, predict, save and load."""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from . import backend as fbackend
from . import callbacks as fcallbacks
from . import losses as flosses
from . import model_file
from . import optimizers as foptimizers
from ._checks import integer
from .layers import Layer, registry

FORMAT = "fastnn-model-1"

# Where models built without a seed take theirs: fresh OS entropy each time,
# or, after set_random_seed, the next draw of a seeded generator.
_default_seeds: np.random.Generator | None = None


def set_random_seed(seed):
    """Make whole scripts repeatable, like ``keras.utils.set_random_seed``.

    Models created afterwards without a ``seed`` take theirs, in order, from a
    generator seeded with ``seed``; NumPy's global generator is seeded too, for
    the script's own ``np.random`` calls. ``None`` goes back to fresh entropy.
    """
    global _default_seeds
    if seed is None:
        _default_seeds = None
        return
    seed = integer("seed", seed, lo=0)
    _default_seeds = np.random.default_rng(seed)
    np.random.seed(seed % 2**32)


def _check_batch_size(batch_size, none_ok=False):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int{' or None' if none_ok else ''}, got {batch_size!r}")
    return int(batch_size)


def _next_default_seed():
    if _default_seeds is None:
        return int(np.random.SeedSequence().entropy % 2**32)
    return int(_default_seeds.integers(2**32))


@dataclass
class ParamGroup:
    """A contiguous range of the flat parameter buffer updated by one fused call."""

    start: int
    stop: int
    lr_multiplier: float = 1.0
    l1: float = 0.0  # gradient coefficients: g += l1 sign(w) + l2 w
    l2: float = 0.0


class History:
    """Per-epoch metrics returned by ``fit``: ``history.history['loss']`` etc."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def plot(self, path):
        """Write a PNG of training vs validation loss and accuracy per epoch (needs matplotlib)."""
        fcallbacks.history_plot(self, path)


class Sequential:
    """A stack of layers, each feeding the next (Keras' ``Sequential``).

    Args:
        layers: optional list of layers (more can be added with ``add``).
        device: backend name: ``'cpu'`` (default), ``'cuda'`` or ``'cuda-emu'``
            (see ``fastnn.backend.available()``).
        dtype: parameter and activation dtype, float32 (default) or float64.
        seed: seed of everything random in the model: initialization,
            shuffling, dropout masks, noise. Same seed, same run. ``None``:
            fresh entropy, or the next seed of ``fastnn.set_random_seed``.
    """

    def __init__(self, layers=None, name="sequential", device="cpu", dtype="float32", seed=None):
        self.name = name
        self.backend = fbackend.get(device)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.seed = _next_default_seed() if seed is None else integer("seed", seed, lo=0)
        self.rng = np.random.default_rng(self.seed)
        self.layers: list[Layer] = []
        self.built = False
        self.loss = self.optimizer = None
        self.metrics: list[str] = []
        self.epoch = 0            # epochs completed (resumes continue from here)
        self.average_params = None  # Polyak average, kept by callbacks.ExponentialMovingAverage
        self.stop_training = False
        self._buffers = fbackend.Buffers()  # batch, output-gradient buffers reused across steps
        for layer in layers or []:
            self.add(layer)

    # -- structure --------------------------------------------------------------
    def add(self, layer):
        """Append a layer. The first layer needs ``input_shape=``, unless ``build`` is given one."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer: expected a fastnn Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        self.built = False

    def pop(self):
        """Remove and return the last layer (e.g. a classifier head before transfer learning)."""
        if not self.layers:
            raise ValueError("pop: the model has no layers")
        self.built = False
        return self.layers.pop()

    @property
    def step(self):
        """Optimizer steps taken: with the seed it keys dropout masks and noise."""
        return self.optimizer.iterations if self.optimizer is not None else 0

    def build(self, input_shape=None):
        """Create every layer's parameters for inputs of ``input_shape`` (no batch axis).

        Trainable parameters go into one flat buffer (``flat_params``, gradients in
        ``flat_grads``), the rest into ``flat_state``. Layers that already hold
        weights (taken from another model) keep them.
        """
        if not self.layers:
            raise ValueError("build: the model has no layers")
        shape = input_shape or self.layers[0].input_shape
        if shape is None:
            raise ValueError("input_shape: give the first layer input_shape=(...) or call build(input_shape)")
        self.input_shape = tuple(int(s) for s in shape)
        # Unnamed layers, and repeats of a name (layers reused from two models),
        # get kind, kind_1, ...: names no other layer of the model has, since
        # saved weights are looked up by name.
        taken = {layer.name for layer in self.layers if layer.name is not None}
        counts, seen = {}, set()
        for i, layer in enumerate(self.layers):
            if layer.name is None or layer.name in seen:
                kind = _snake(type(layer).__name__)
                n = counts.get(kind, 0)
                while (name := kind if n == 0 else f"{kind}_{n}") in taken:
                    n += 1
                counts[kind] = n + 1
                layer.name = name
                taken.add(name)
            seen.add(layer.name)
            layer.attach(self.backend, self.dtype)
            layer.model = self
            layer.index = i
            layer.needs_input_grad = i > 0
            old = {s.name: layer.params[s.name] for s in layer.specs if s.name in layer.params}
            layer.specs.clear()
            layer.output_shape = shape = tuple(layer.build(shape))
            layer._previous = old
        self.output_shape = shape
        self._allocate_parameters()
        self.built = True
        if self.optimizer is not None:
            self.optimizer.build(self)

    def _allocate_parameters(self):
        # Trainable weights first, then biases, each in layer order: with the
        # usual "regularize weights, not biases" this leaves two contiguous
        # groups, so an optimizer step is two fused calls.
        trainable = [(l, s) for bias in (False, True) for l in self.layers for s in l.specs
                     if s.trainable and s.is_bias == bias]
        state = [(l, s) for l in self.layers for s in l.specs if not s.trainable]
        self.flat_params, self._slots = self._place(trainable, with_grads=True)
        self.flat_state, self._state_slots = self._place(state, with_grads=False)
        for layer in self.layers:
            layer._previous = None

    def _place(self, entries, with_grads):
        sizes = [int(np.prod(s.shape)) for _, s in entries]
        flat = self.backend.zeros((sum(sizes),), self.dtype)
        if with_grads:
            self.flat_grads = self.backend.zeros((sum(sizes),), self.dtype)
        slots, offset = [], 0
        for (layer, spec), n in zip(entries, sizes):
            view = flat[offset:offset + n]
            previous = (layer._previous or {}).get(spec.name)
            if previous is not None and tuple(previous.shape) == spec.shape:
                view[...] = previous.reshape(-1)  # a reused layer keeps its trained weights
            else:
                init = spec.initializer(spec.shape, spec.fan_in, spec.fan_out, self.rng, self.dtype)
                view[...] = self.backend.xp.asarray(init.reshape(-1))
            layer.params[spec.name] = view.reshape(spec.shape)
            if with_grads:
                layer.grads[spec.name] = self.flat_grads[offset:offset + n].reshape(spec.shape)
            slots.append((layer, spec, offset, offset + n))
            offset += n
        return flat, slots

    def param_groups(self):
        """Ranges of trainable (unfrozen) parameters, merged where neighbours share hyperparameters."""
        groups = []
        for layer, spec, start, stop in self._slots:
            if not layer.trainable:
                continue
            l1, l2 = spec.regularizer.grad_coefficients if spec.regularizer else (0.0, 0.0)
            key = (layer.lr_multiplier, l1, l2)
            last = groups[-1] if groups else None
            if last and last.stop == start and (last.lr_multiplier, last.l1, last.l2) == key:
                last.stop = stop
            else:
                groups.append(ParamGroup(start, stop, *key))
        return groups

    def apply_constraints(self):
        """Project constrained parameters (max-norm) after an optimizer step."""
        for layer, spec, _, _ in self._slots:
            if spec.constraint is not None and layer.trainable:
                spec.constraint.apply(layer.params[spec.name], self.backend)

    def regularization_penalty(self):
        """The current value of every weight regularizer's penalty, summed."""
        xp = self.backend.xp
        return sum(spec.regularizer.penalty(layer.params[spec.name], xp)
                   for layer, spec, _, _ in self._slots if spec.regularizer is not None)

    def count_params(self, trainable=None):
        """Number of parameters; only trainable (True) or non-trainable (False) ones if asked."""
        if not self.built:
            self.build()
        total = 0
        for layer in self.layers:
            for spec in layer.specs:
                is_trainable = spec.trainable and layer.trainable
                if trainable is None or trainable == is_trainable:
                    total += int(np.prod(spec.shape))
        return total

    def summary(self, print_fn=print):
        """Print a Keras-style table: layer (type), output shape, param #, and the totals."""
        if not self.built:
            self.build()
        rows = [(f"{l.name} ({type(l).__name__})", str((None,) + tuple(l.output_shape)), f"{l.count_params():,}")
                for l in self.layers]
        w0 = max(28, max(len(r[0]) for r in rows) + 2)
        w1 = max(26, max(len(r[1]) for r in rows) + 2)
        width = w0 + w1 + 12
        lines = [f'Model: "{self.name}"', "_" * width, f"{' Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>10}",
                 "=" * width]
        for i, (a, b, c) in enumerate(rows):
            lines.append(f"{' ' + a:<{w0}}{b:<{w1}}{c:>10}")
            lines.append("_" * width if i < len(rows) - 1 else "=" * width)
        lines += [f"Total params: {self.count_params():,}",
                  f"Trainable params: {self.count_params(True):,}",
                  f"Non-trainable params: {self.count_params(False):,}", "_" * width]
        text = "\n".join(lines)
        print_fn(text)
        return text

    # -- weights ----------------------------------------------------------------
    def get_flat_weights(self):
        """A copy of all parameters and state (for restoring later)."""
        return self.flat_params.copy(), self.flat_state.copy()

    def set_flat_weights(self, weights):
        params, state = weights
        self.flat_params[...] = params
        self.flat_state[...] = state

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block, the model uses its Polyak-averaged weights."""
        if self.average_params is None:
            raise ValueError("averaged_weights: no average kept; train with callbacks=[ExponentialMovingAverage()]")
        saved = self.flat_params.copy()
        self.flat_params[...] = self.average_params
        try:
            yield self
        finally:
            self.flat_params[...] = saved

    # -- training ---------------------------------------------------------------
    def compile(self, loss, optimizer="sgd", metrics=None):
        """Choose the loss, the optimizer and the metrics (``['accuracy']``), by name or object."""
        self.loss = flosses.get(loss)
        self.optimizer = foptimizers.get(optimizer)
        metrics = list(metrics or [])
        for m in metrics:
            if m not in ("accuracy", "acc"):
                raise ValueError(f"metrics: unknown metric {m!r}, expected 'accuracy'")
        self.metrics = ["accuracy"] if metrics else []
        if not self.built:
            self.build()
        last = self.layers[-1]
        fused = self.loss.fused_activation
        if fused is not None and getattr(last, "activation", None) != fused:
            raise ValueError(f"loss: {self.loss.name} expects the last layer to have activation='{fused}' "
                             f"(it is fused into the loss), got {getattr(last, 'activation', None)!r}")
        self.optimizer.build(self)

    def _check_owns_layers(self):
        for layer in self.layers:
            if layer.model is not self:
                raise RuntimeError(
                    f"layer {layer.name!r} now belongs to another model, which was built from it: a layer's "
                    "weights live in one model's parameter buffer. Use that model, or call build() on this "
                    "one to take its layers back (with their current weights).")

    def _forward(self, x, training, logits):
        self._check_owns_layers()
        last = self.layers[-1]
        if hasattr(last, "logits_only"):
            last.logits_only = logits
        for layer in self.layers:
            x = layer.forward(x, training)
            layer._out = x
        return x

    def _backward(self, dout):
        for layer in reversed(self.layers):
            if layer.activity_regularizer is not None:
                dout = self._add_activity_grad(layer, dout)
            dout = layer.backward(dout)

    def _add_activity_grad(self, layer, dout):
        """dL/dy += l1 sign(y) + 2 l2 y for an activity regularizer on the layer's output y."""
        xp, y, reg = self.backend.xp, layer._out, layer.activity_regularizer
        tmp = layer.buffer("activity_grad", y.shape)
        if reg.l1:
            xp.sign(y, out=tmp)
            tmp *= reg.l1 / y.shape[0]
            dout += tmp
        if reg.l2:
            xp.multiply(y, 2 * reg.l2 / y.shape[0], out=tmp)
            dout += tmp
        return dout

    def compute_gradients(self, x, y, training=True):
        """Forward and backward on a batch (backend arrays): fills ``flat_grads`` with the
        gradient of the mean loss; returns the output and the per-sample losses."""
        out = self._forward(x, training=training, logits=self.loss.fused_activation is not None)
        loss = self.loss.forward(out, y, self.backend)
        dout = self._scratch("dout", out.shape)
        self.loss.backward(out, y, self.backend, dout)
        self._backward(dout)
        return out, loss

    def train_step(self, x, y):
        """One forward/backward/update on a batch already on the model's backend; returns (output, per-sample losses)."""
        out, loss = self.compute_gradients(x, y)
        self.optimizer.step(self)
        return out, loss

    def _scratch(self, name, shape, dtype=None):
        return self._buffers.get(self.backend, name, shape, dtype or self.dtype)

    def _prepare_data(self, x, y=None):
        """Validate and convert data before any training; return backend arrays."""
        if not self.built:
            self.build()
        x = np.asarray(x.get() if hasattr(x, "get") else x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"x: expected numeric data, got dtype {x.dtype}")
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"x: expected samples of shape {self.input_shape}, got {x.shape[1:]} (x.shape = {x.shape})")
        if len(x) == 0:
            raise ValueError("x: expected at least one sample")
        x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("x: contains NaN or infinite values")
        if y is not None:
            if self.loss is None:
                raise RuntimeError("call compile(loss=..., optimizer=...) first")
            y = np.asarray(y.get() if hasattr(y, "get") else y)
            if len(y) != len(x):
                raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
            if y.dtype.kind not in "fiub":
                raise TypeError(f"y: expected numeric labels or targets, got dtype {y.dtype}")
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                raise ValueError("y: contains NaN or infinite values")
            if self.loss.takes_class_indices:
                if y.ndim == 2 and y.shape[1] > 1 and isinstance(self.loss, flosses.Hinge):
                    y = y.argmax(axis=1)  # one-hot rows to class indices
                elif y.dtype.kind == "f" and not np.all(y == np.round(y)):
                    raise ValueError("y: class labels must be integers")
                y = y.astype(np.int64)
                if y.ndim == 2 and y.shape[1] == 1:
                    y = y[:, 0]
            else:
                y = y.astype(self.dtype, copy=False)
                if y.ndim == 1:
                    y = y.reshape(-1, 1)
            self.loss.check_targets(y, self.output_shape, int(np.prod(self.output_shape)))
            y = self.backend.xp.asarray(y)
        return self.backend.xp.asarray(x), y

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a ``History``.

        Args:
            batch_size: samples per step; 1 is online SGD, None full-batch gradient descent.
            epochs: index of the last epoch; training runs from ``initial_epoch``
                (default: the epochs this model has already completed, so a
                reloaded checkpoint resumes where it stopped).
            verbose: 1 shows a progress bar per epoch (steps, ETA, loss, metrics)
                and a Keras-style final line; 2 only the final line; 0 nothing.
            callbacks: list of ``fastnn.callbacks.Callback``.
            validation_split: fraction of (x, y), taken from the end, held out for validation.
            validation_data: (x_val, y_val), evaluated after every epoch.
            shuffle: reshuffle the training data every epoch.

        Data is checked (shapes, lengths, NaN, label range) before any training starts.
        """
        if self.loss is None:
            raise RuntimeError("fit: call compile(loss=..., optimizer=...) first")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs: expected an int >= 0, got {epochs!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split: expected a fraction in [0, 1), got {validation_split!r}")
        if validation_split and validation_data is not None:
            raise ValueError("validation_split, validation_data: give one, not both")
        if validation_data is not None and (not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
            got = type(validation_data).__name__
            raise ValueError(f"validation_data: expected a pair (x_val, y_val), got a {got}"
                             + (f" of {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""))
        x_np = np.asarray(x.get() if hasattr(x, "get") else x)
        y_np = np.asarray(y.get() if hasattr(y, "get") else y)
        if validation_split:
            if len(x_np) != len(y_np):
                raise ValueError(f"x, y: expected the same number of samples, got {len(x_np)} and {len(y_np)}")
            n_val = int(math.ceil(len(x_np) * validation_split))
            if n_val >= len(x_np):
                raise ValueError(f"validation_split: leaves no training samples out of {len(x_np)}")
            validation_data = (x_np[-n_val:], y_np[-n_val:])
            x_np, y_np = x_np[:-n_val], y_np[:-n_val]
        x, y = self._prepare_data(x_np, y_np)
        val = self._prepare_data(*validation_data) if validation_data is not None else None
        n = len(x)
        batch_size = min(n if batch_size is None else _check_batch_size(batch_size, none_ok=True), n)
        if initial_epoch is not None and (not isinstance(initial_epoch, int) or initial_epoch < 0):
            raise ValueError(f"initial_epoch: expected an int >= 0 or None, got {initial_epoch!r}")
        start_epoch = self.epoch if initial_epoch is None else initial_epoch
        if start_epoch >= epochs > 0:
            warnings.warn(f"fit: nothing to train: epochs={epochs} is the index of the last epoch (as in Keras) "
                          f"and training starts at epoch {start_epoch}, the epochs this model has completed; pass "
                          f"epochs={start_epoch + epochs} to train {epochs} more, or initial_epoch=0 to start over",
                          stacklevel=2)
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, fcallbacks.Callback):
                raise TypeError(f"callbacks: expected Callback objects, got {type(cb).__name__}")
            cb.set_model(self)
        want_batch_loss = any(cb.wants_batch_loss for cb in callbacks)
        xp = self.backend.xp
        history = History()
        self.stop_training = self.stop_now = False
        self.last_epoch = None
        for cb in callbacks:
            cb.on_train_begin()
        steps = math.ceil(n / batch_size)
        for epoch in range(start_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            t0 = time.perf_counter()
            order = xp.asarray(self.rng.permutation(n) if shuffle else np.arange(n))
            loss_sum = correct = 0.0
            bar = _progress_bar(verbose, steps, f"Epoch {epoch + 1}/{epochs}")
            seen = 0
            for step in range(steps):
                idx = order[step * batch_size:(step + 1) * batch_size]
                xb = xp.take(x, idx, axis=0, out=self._scratch("xb", (len(idx),) + x.shape[1:], x.dtype))
                yb = xp.take(y, idx, axis=0, out=self._scratch("yb", (len(idx),) + y.shape[1:], y.dtype))
                out, loss = self.train_step(xb, yb)
                batch_loss = loss.sum()
                loss_sum += batch_loss
                if self.metrics:
                    correct += self._correct(out, yb)
                seen += len(idx)
                logs = {"loss": float(batch_loss) / len(idx)} if want_batch_loss else None
                for cb in callbacks:
                    cb.on_train_batch_end(step, logs)
                if bar is not None:
                    bar.update(1)
                    if step % 10 == 0 or step == steps - 1:
                        post = {"loss": f"{float(loss_sum) / seen:.4f}"}
                        if self.metrics:
                            post["accuracy"] = f"{float(correct) / seen:.4f}"
                        bar.set_postfix(post, refresh=False)
                if getattr(self, "stop_now", False):
                    break
            if bar is not None:
                bar.close()
            logs = {"loss": float(loss_sum) / max(seen, 1) + self.regularization_penalty()}
            if self.metrics:
                logs["accuracy"] = float(correct) / max(seen, 1)
            if val is not None:
                logs.update({"val_" + k: v for k, v in self._evaluate(*val, batch_size).items()})
            self.epoch = epoch + 1
            self.last_epoch = epoch
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history.append(epoch, logs)
            if verbose:
                items = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs}: {steps}/{steps} - {time.perf_counter() - t0:.2f}s - {items}",
                      flush=True)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    def _correct(self, out, y):
        """Number of correct predictions in a batch (from logits or probabilities)."""
        xp = self.backend.xp
        if self.loss.takes_class_indices:
            return (xp.argmax(out, axis=1) == y).sum()
        if out.shape[1] == 1 or isinstance(self.loss, flosses.BinaryCrossentropy):
            threshold = 0.0 if self.loss.fused_activation == "sigmoid" else 0.5
            return ((out > threshold) == (y > 0.5)).all(axis=1).sum()
        return (xp.argmax(out, axis=1) == xp.argmax(y, axis=1)).sum()

    def _evaluate(self, x, y, batch_size):
        n = len(x)
        loss_sum = correct = 0.0
        for start in range(0, n, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = self._forward(xb, training=False, logits=self.loss.fused_activation is not None)
            loss_sum += self.loss.forward(out, yb, self.backend).sum()
            if self.metrics:
                correct += self._correct(out, yb)
        logs = {"loss": float(loss_sum) / n + self.regularization_penalty()}
        if self.metrics:
            logs["accuracy"] = float(correct) / n
        return logs

    def evaluate(self, x, y, batch_size=256, use_average=False):
        """Loss (and metrics) on (x, y) in inference mode: a dict like ``{'loss': .., 'accuracy': ..}``.

        ``use_average=True`` evaluates the Polyak-averaged weights.
        """
        if self.loss is None:
            raise RuntimeError("evaluate: call compile(loss=..., optimizer=...) first")
        _check_batch_size(batch_size)
        data = self._prepare_data(x, y)
        with self.averaged_weights() if use_average else contextlib.nullcontext():
            return self._evaluate(*data, batch_size)

    def predict(self, x, batch_size=256, use_average=False):
        """Model outputs for ``x`` in inference mode, computed in batches; a backend array.

        ``use_average=True`` predicts with the Polyak-averaged weights.
        """
        _check_batch_size(batch_size)
        x, _ = self._prepare_data(x)
        outs = []
        with self.averaged_weights() if use_average else contextlib.nullcontext():
            for start in range(0, len(x), batch_size):
                outs.append(self._forward(x[start:start + batch_size], training=False, logits=False).copy())
        return self.backend.xp.concatenate(outs)

    # -- saving -----------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "input_shape": list(self.input_shape) if self.built else None,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self.layers]}

    def save(self, path):
        """Save architecture (JSON) and weights, plus optimizer state, epoch/step counters and
        RNG state for resuming, in one safetensors file (with a CRC32 per tensor). No pickle."""
        if not self.built:
            self.build()
        self._check_owns_layers()
        to_np = lambda a: np.ascontiguousarray(a.get() if hasattr(a, "get") else a)
        tensors = {f"params/{l.name}/{s.name}": to_np(l.params[s.name]) for l in self.layers for s in l.specs}
        meta = {"format": FORMAT, "config": json.dumps(self.get_config()), "epoch": str(self.epoch),
                "rng": json.dumps(self.rng.bit_generator.state)}
        if self.optimizer is not None:
            for i, s in enumerate(self.optimizer.state):
                tensors[f"optimizer/state{i}"] = to_np(s)
            meta["compile"] = json.dumps({"loss": self.loss.name, "optimizer": self.optimizer.get_config(),
                                          "metrics": self.metrics})
            meta["iterations"] = str(self.optimizer.iterations)
        if self.average_params is not None:
            tensors["average/params"] = to_np(self.average_params)
        model_file.write(path, tensors, meta)  # temp file, fsync, rename: never a torn file


def load_model(path, device=None):
    """Rebuild a model saved by ``Sequential.save``: architecture, weights, and (if it was
    compiled) loss, optimizer with its state, counters and RNG state, ready to resume ``fit``.

    The file must be exactly what ``save`` wrote: checksums intact, the tensors the config
    implies with their dtypes and shapes, config values in range. Anything else is a
    ``ValueError`` starting with the path (a file saved before checksums loads with a warning).
    """
    where = os.fspath(path)
    backend = fbackend.get(device or "cpu")
    meta, tensors = model_file.read(where, model_file.MODEL_METADATA_KEYS)
    epoch, iterations, cfg = model_file.check_model_metadata(where, meta, FORMAT)
    classes = registry()
    dtype, input_shape = model_file.check_model_config(where, cfg, classes)
    shape = input_shape
    try:
        layers = [classes[l["class_name"]](**l["config"]) for l in cfg["layers"]]
        declared = {}
        for layer in layers:  # parameters are declared here, not allocated: checked against the file first
            shape = tuple(layer.build(shape))
            declared.update({f"params/{layer.name}/{s.name}": (dtype, s.shape) for s in layer.specs})
            layer.specs.clear()
        model = Sequential(layers, name=cfg["name"], device=backend, dtype=dtype, seed=cfg["seed"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: config: {e}") from None
    model_file.check_tensors(where, {k: t for k, t in tensors.items() if k.startswith("params/")}, declared)
    model.build(input_shape)
    if "compile" in meta:
        comp = model_file.parse_json(where, "compile", meta["compile"])
        try:
            model.compile(loss=comp["loss"], optimizer=foptimizers.get(comp["optimizer"]), metrics=comp["metrics"])
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{where}: compile: {e}") from None
        model.optimizer.iterations = iterations
    expected = {f"params/{l.name}/{s.name}": (model.dtype, s.shape) for l in model.layers for s in l.specs}
    if model.optimizer is not None:
        expected.update({f"optimizer/state{i}": (model.dtype, s.shape) for i, s in enumerate(model.optimizer.state)})
    if "average/params" in tensors:
        expected["average/params"] = (model.dtype, model.flat_params.shape)
    model_file.check_tensors(where, tensors, expected)
    xp = model.backend.xp
    if model.optimizer is not None:
        for i, s in enumerate(model.optimizer.state):
            s[...] = xp.asarray(tensors[f"optimizer/state{i}"])
    for layer in model.layers:
        for spec in layer.specs:
            layer.params[spec.name][...] = xp.asarray(tensors[f"params/{layer.name}/{spec.name}"])
    if "average/params" in tensors:
        model.average_params = xp.asarray(tensors["average/params"])
    model.epoch = epoch
    try:
        model.rng.bit_generator.state = model_file.parse_json(where, "rng", meta["rng"])
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: rng: {e}") from None
    return model


def _progress_bar(verbose, steps, desc):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=desc, unit="step", leave=False, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.1)


def _snake(name):
    """Keras' layer-name rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, PReLU -> p_re_lu."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Ensemble:
    """Averages the predictions of several models (or saved model files).

    Args:
        members: models, or paths given to ``load_model``.
        weights: optional non-negative weight per member (default equal).
    """

    def __init__(self, members, weights=None, device=None):
        if not members:
            raise ValueError("members: expected at least one model or path")
        self.members = [m if isinstance(m, Sequential) else load_model(m, device=device) for m in members]
        w = np.ones(len(self.members)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.members),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() == 0:
            raise ValueError(f"weights: expected {len(self.members)} finite, non-negative weights, not all zero, "
                             f"got {weights!r}")
        self.weights = w / w.sum()

    def predict(self, x, batch_size=256):
        """Weighted mean of the members' predictions (probabilities for softmax models)."""
        out = None
        for w, m in zip(self.weights, self.members):
            p = m.predict(x, batch_size=batch_size)
            p = np.asarray(p.get() if hasattr(p, "get") else p, dtype=np.float64)
            out = w * p if out is None else out + w * p
        return out

    def evaluate(self, x, y, batch_size=256):
        """Accuracy of the averaged prediction against class labels (n,) or (n, 1), or one-hot rows."""
        p = self.predict(x, batch_size)
        y = np.asarray(y.get() if hasattr(y, "get") else y)
        if len(y) != len(p):
            raise ValueError(f"y: expected {len(p)} labels, one per sample of x, got {len(y)}")
        if p.shape[1] == 1:
            correct = (p[:, 0] > 0.5) == (y.reshape(-1) > 0.5)
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]  # class indices as a column
            if y.ndim != 1 and y.shape[1:] != p.shape[1:]:
                raise ValueError(f"y: expected class indices or one-hot rows of {p.shape[1]}, got shape {y.shape}")
            correct = p.argmax(axis=1) == (y.argmax(axis=1) if y.ndim == 2 else y)
        return {"accuracy": float(correct.mean())}
