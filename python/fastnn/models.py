"""Sequential models: build, compile, fit, evaluate, predict."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from . import backend as fbackend
from . import losses as flosses
from . import optimizers as foptimizers
from .layers import Layer


@dataclass
class ParamGroup:
    """A contiguous range of the flat parameter buffer updated by one fused call."""

    start: int
    stop: int
    lr_multiplier: float = 1.0
    l1: float = 0.0
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


class Sequential:
    """A stack of layers, each feeding the next (Keras' ``Sequential``).

    Args:
        layers: optional list of layers (more can be added with ``add``).
        device: backend name: ``'cpu'`` (default), or another from
            ``fastnn.backend.available()``.
        dtype: parameter and activation dtype, float32 (default) or float64.
        seed: seed of the model's random generator (initialization, shuffling).
    """

    def __init__(self, layers=None, name="sequential", device="cpu", dtype="float32", seed=None):
        self.name = name
        self.backend = fbackend.get(device)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.built = False
        self.loss = self.optimizer = None
        self.metrics: list[str] = []
        for layer in layers or []:
            self.add(layer)

    # -- structure --------------------------------------------------------------
    def add(self, layer):
        """Append a layer. The first layer needs ``input_shape=``, unless ``build`` is given one."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer: expected a fastnn Layer, got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("add: the model is already built; create a new model to change its layers")
        self.layers.append(layer)

    def build(self, input_shape=None):
        """Create every layer's parameters (one flat buffer) for inputs of ``input_shape`` (no batch axis)."""
        if not self.layers:
            raise ValueError("build: the model has no layers")
        shape = input_shape or self.layers[0].input_shape
        if shape is None:
            raise ValueError("input_shape: give the first layer input_shape=(...) or call build(input_shape)")
        self.input_shape = tuple(shape)
        counts = {}
        for i, layer in enumerate(self.layers):
            kind = type(layer).__name__.lower()
            if layer.name is None:
                layer.name = f"{kind}_{counts.get(kind, 0)}" if counts.get(kind) else kind
            counts[kind] = counts.get(kind, 0) + 1
            layer.attach(self.backend, self.dtype)
            layer.needs_input_grad = i > 0
            layer.specs.clear()
            layer.output_shape = shape = tuple(layer.build(shape))
        self.output_shape = shape
        self._allocate_parameters()
        self.built = True

    def _allocate_parameters(self):
        # Weights first, then biases, each in layer order: with the usual
        # "regularize weights, not biases" this leaves two contiguous groups.
        entries = [(layer, s) for bias in (False, True) for layer in self.layers for s in layer.specs if s.is_bias == bias]
        sizes = [int(np.prod(s.shape)) for _, s in entries]
        total = sum(sizes)
        xp = self.backend.xp
        self.flat_params = self.backend.zeros((total,), self.dtype)
        self.flat_grads = self.backend.zeros((total,), self.dtype)
        self._slots = []
        offset = 0
        for (layer, spec), n in zip(entries, sizes):
            init = spec.initializer(spec.shape, spec.fan_in, spec.fan_out, self.rng, self.dtype)
            self.flat_params[offset:offset + n] = xp.asarray(init.reshape(-1))
            layer.params[spec.name] = self.flat_params[offset:offset + n].reshape(spec.shape)
            layer.grads[spec.name] = self.flat_grads[offset:offset + n].reshape(spec.shape)
            self._slots.append((layer, spec, offset, offset + n))
            offset += n

    def param_groups(self):
        """Trainable parameter ranges, merged where neighbours share hyperparameters."""
        groups = []
        for layer, spec, start, stop in self._slots:
            if not layer.trainable:
                continue
            key = (getattr(layer, "lr_multiplier", 1.0), 0.0, 0.0)
            if groups and groups[-1].stop == start and (groups[-1].lr_multiplier, groups[-1].l1, groups[-1].l2) == key:
                groups[-1].stop = stop
            else:
                groups.append(ParamGroup(start, stop, *key))
        return groups

    def apply_constraints(self):
        """Project constrained parameters after an update (max-norm); none in the base model."""

    def count_params(self):
        return int(self.flat_params.size) if self.built else sum(l.count_params() for l in self.layers)

    # -- training ---------------------------------------------------------------
    def compile(self, loss, optimizer="sgd", metrics=None):
        """Choose the loss, the optimizer and the metrics (``['accuracy']``)."""
        self.loss = flosses.get(loss)
        self.optimizer = foptimizers.get(optimizer)
        metrics = list(metrics or [])
        for m in metrics:
            if m not in ("accuracy", "acc"):
                raise ValueError(f"metrics: unknown metric {m!r}, expected 'accuracy'")
        self.metrics = ["accuracy" for _ in metrics[:1]]
        if not self.built:
            self.build()
        last = self.layers[-1]
        fused = self.loss.fused_activation
        if fused is not None and getattr(last, "activation", None) != fused:
            raise ValueError(f"loss: {self.loss.name} expects the last layer to have activation='{fused}' "
                             f"(it is fused into the loss), got {getattr(last, 'activation', None)!r}")
        self.optimizer.build(self)

    def _forward(self, x, training, logits):
        last = self.layers[-1]
        if hasattr(last, "logits_only"):
            last.logits_only = logits
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)

    def compute_gradients(self, x, y, training=True):
        """Forward and backward on a batch (backend arrays): fills ``flat_grads`` with the
        gradient of the mean loss; returns the output and the per-sample losses."""
        out = self._forward(x, training=training, logits=self.loss.fused_activation is not None)
        loss = self.loss.forward(out, y, self.backend)
        dout = self._grad_buffer(out.shape)
        self.loss.backward(out, y, self.backend, dout)
        self._backward(dout)
        return out, loss

    def train_step(self, x, y):
        """One forward/backward/update on a batch already on the model's backend; returns (output, per-sample losses)."""
        out, loss = self.compute_gradients(x, y)
        self.optimizer.step(self)
        return out, loss

    def _grad_buffer(self, shape):
        bufs = self.__dict__.setdefault("_dout", {})
        if shape not in bufs:
            bufs[shape] = self.backend.empty(shape, self.dtype)
        return bufs[shape]

    def _prepare_data(self, x, y=None):
        """Validate and convert inputs before any training; return backend arrays."""
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
            y = np.asarray(y.get() if hasattr(y, "get") else y)
            if len(y) != len(x):
                raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
            if y.dtype.kind == "f":
                if not np.isfinite(y).all():
                    raise ValueError("y: contains NaN or infinite values")
            if isinstance(self.loss, flosses.SparseCategoricalCrossentropy):
                if y.dtype.kind == "f":
                    if not np.all(y == np.round(y)):
                        raise ValueError("y: class labels must be integers")
                y = y.astype(np.int64)
            else:
                y = y.astype(self.dtype, copy=False)
                if y.ndim == 1:
                    y = y.reshape(-1, 1)
            self.loss.check_targets(y, self.output_shape, int(np.prod(self.output_shape)))
            y = self.backend.xp.asarray(y)
        return self.backend.xp.asarray(x), y

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, shuffle=True, validation_data=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a ``History``.

        ``batch_size=1`` is online SGD, ``batch_size=None`` full-batch gradient
        descent. Data is checked (shapes, lengths, NaN, label range) before any
        training starts. ``verbose=1`` prints one line per epoch.
        """
        if self.loss is None:
            raise RuntimeError("fit: call compile(loss=..., optimizer=...) first")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs: expected an int >= 0, got {epochs!r}")
        x, y = self._prepare_data(x, y)
        val = self._prepare_data(*validation_data) if validation_data is not None else None
        n = len(x)
        batch_size = n if batch_size is None else batch_size
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
        batch_size = min(batch_size, n)
        xp = self.backend.xp
        history = History()
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            order = xp.asarray(order)
            loss_sum = correct = 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                xb = xp.take(x, idx, axis=0, out=self._batch_buffer("x", x, len(idx)))
                yb = xp.take(y, idx, axis=0, out=self._batch_buffer("y", y, len(idx)))
                out, loss = self.train_step(xb, yb)
                loss_sum += loss.sum()
                if self.metrics:
                    correct += self._correct(out, yb)
            logs = {"loss": float(loss_sum) / n}
            if self.metrics:
                logs["accuracy"] = float(correct) / n
            if val is not None:
                logs.update({"val_" + k: v for k, v in self._evaluate(*val, batch_size).items()})
            history.append(epoch, logs)
            if verbose:
                items = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - t0:.2f}s - {items}", file=sys.stdout, flush=True)
        return history

    def _batch_buffer(self, name, data, m):
        bufs = self.__dict__.setdefault("_batch", {})
        key = (name, m, data.shape[1:], data.dtype)
        if key not in bufs:
            bufs[key] = self.backend.empty((m,) + data.shape[1:], data.dtype)
        return bufs[key]

    def _correct(self, out, y):
        """Number of correct predictions in a batch (from logits or probabilities)."""
        xp = self.backend.xp
        if isinstance(self.loss, flosses.SparseCategoricalCrossentropy):
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
        logs = {"loss": float(loss_sum) / n}
        if self.metrics:
            logs["accuracy"] = float(correct) / n
        return logs

    def evaluate(self, x, y, batch_size=256):
        """Loss (and metrics) on (x, y) in inference mode; returns a dict like ``{'loss': .., 'accuracy': ..}``."""
        if self.loss is None:
            raise RuntimeError("evaluate: call compile(loss=..., optimizer=...) first")
        return self._evaluate(*self._prepare_data(x, y), batch_size)

    def predict(self, x, batch_size=256):
        """Model outputs for ``x`` in inference mode, computed in batches; returns a backend array."""
        x, _ = self._prepare_data(x)
        outs = []
        for start in range(0, len(x), batch_size):
            outs.append(self._forward(x[start:start + batch_size], training=False, logits=False).copy())
        return self.backend.xp.concatenate(outs)
