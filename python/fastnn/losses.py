"""Losses, as Keras 3 names them. Each computes the per-sample loss of the
model's output against the targets and the gradient of the batch mean with
respect to that output, in native kernels.

Cross-entropy is always computed from logits: with ``from_logits=False`` (the
default, as in Keras) the last layer must be a softmax (sigmoid for binary
cross-entropy) and the model hands the loss that layer's logits, so softmax
and cross-entropy run fused (log-sum-exp), exact where the separate functions
would take log(0); with ``from_logits=True`` the last layer is linear and its
outputs go to the same fused kernels.

Differences from Keras on purpose: ``reduction`` is always the batch mean
(``"sum_over_batch_size"``); ``SparseCategoricalCrossentropy`` also takes
``label_smoothing`` (applied to the one-hot form of the labels); ``"hinge"``
is the multiclass SVM loss on class indices (Keras' ``Hinge`` is the binary
one on -1/1 targets); a cross-entropy with ``from_logits=False`` needs the
softmax/sigmoid last layer it fuses with (Keras would take any probabilities).
"""
import warnings

import numpy as np

from . import ops
from ._checks import boolean, number
from ._loss_functions import (  # noqa: F401 (the Keras function names are this module's too)
    binary_crossentropy, categorical_crossentropy, categorical_hinge, huber, kl_divergence, mae, mean_absolute_error,
    mean_squared_error, mse, sparse_categorical_crossentropy,
)
from .backend import Buffers

_REDUCTION = "sum_over_batch_size"


class Loss:
    """Base class. ``fused_activation`` names the output activation this loss absorbs."""

    name = None
    fused_activation = None
    takes_class_indices = False  # targets become int64 class indices (one-hot rows are converted)

    def __init__(self, reduction=_REDUCTION):
        if reduction != _REDUCTION:
            raise ValueError(f"reduction: fastnn's losses average over the batch ({_REDUCTION!r}), got {reduction!r}")
        self._buffers = Buffers()

    def check_targets(self, y, output_shape, n_outputs):
        """Raise ValueError if targets ``y`` cannot go with outputs of ``output_shape``."""
        if y.shape[1:] != tuple(output_shape):
            raise ValueError(f"y: {self.name} expects targets of shape (n, {n_outputs}), got {y.shape}")

    def check_last_layer(self, layer):
        """Raise (or warn) if the model's last ``layer`` cannot go with this loss."""

    def buffer(self, backend, name, like):
        """A reused array shaped like ``like`` (the per-sample loss, the probabilities)."""
        return self._buffers.get(backend, name, like.shape, like.dtype)

    def forward(self, out, y, backend):
        """Per-sample loss (M,) of ``out`` against ``y``."""
        raise NotImplementedError

    def backward(self, out, y, backend, dout):
        """Gradient of the mean loss with respect to ``out``, into ``dout``."""
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments that rebuild this loss."""
        return {}

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The batch loss, as Keras' ``loss(y_true, y_pred, sample_weight=None)``: the mean over samples
        of the per-sample loss (times ``sample_weight``), computed by fastnn's kernels."""
        per_sample = self.per_sample(y_true, y_pred)
        per_sample = per_sample.get() if hasattr(per_sample, "get") else per_sample  # a GPU array to the host
        if sample_weight is not None:
            per_sample = per_sample * np.asarray(sample_weight, per_sample.dtype).reshape(-1)
        return float(per_sample.mean())

    def per_sample(self, y_true, y_pred):
        """The per-sample loss of ``y_pred`` (the model's outputs) against ``y_true``."""
        raise NotImplementedError


class _Crossentropy(Loss):
    """Shared by the cross-entropies: ``from_logits``, ``label_smoothing`` and the last-layer check."""

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction=_REDUCTION):
        super().__init__(reduction)
        self.from_logits = boolean("from_logits", from_logits)
        self.label_smoothing = number("label_smoothing", label_smoothing, lo=0, hi=1)

    @property
    def fused_activation(self):
        """The activation the model must hand over as logits: none when the outputs are logits already."""
        return None if self.from_logits else self.activation

    def check_last_layer(self, layer):
        activation = getattr(layer, "activation", None)
        if self.from_logits and activation == self.activation:
            warnings.warn(f'"`{self.name}` received `from_logits=True`, but the `output` argument was produced by a '
                          f'{self.activation} activation and thus does not represent logits. Was this intended?',
                          stacklevel=3)
        elif not self.from_logits and activation != self.activation:
            raise ValueError(f"loss: {self.name} expects the last layer to have activation='{self.activation}' "
                             f"(it is fused into the loss), got {activation!r}; for a linear last layer pass "
                             f"from_logits=True")

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def per_sample(self, y_true, y_pred):
        return self.function(y_true, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing)


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy against one-hot (or soft) targets; ``label_smoothing`` ls turns them into
    ``y (1 - ls) + ls / C``."""

    name = "categorical_crossentropy"
    activation = "softmax"
    function = staticmethod(categorical_crossentropy)

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"y: {self.name} expects one-hot targets of shape (n, {n_outputs}), got {y.shape}; "
                             f"use sparse_categorical_crossentropy for class indices")

    def targets(self, logits, y, backend):
        """The targets the kernels see: ``y``, or its smoothed one-hot form."""
        ls = self.label_smoothing
        if not ls:
            return y
        t = self.buffer(backend, "smoothed", logits)
        C = logits.shape[1]
        if y.ndim == 1:  # class indices
            t.fill(ls / C)
            t[backend.xp.arange(len(y)), y] += 1 - ls
        else:
            backend.xp.multiply(y, 1 - ls, out=t)
            t += ls / C
        return t

    def forward(self, logits, y, backend):
        self._targets = self.targets(logits, y, backend)
        self._probs, loss = ops.softmax_cross_entropy_forward(logits, self._targets,
                                                              probs=self.buffer(backend, "probs", logits),
                                                              loss=self.buffer(backend, "loss", logits[:, 0]),
                                                              backend=backend)
        return loss

    def backward(self, logits, y, backend, dout):
        return ops.softmax_cross_entropy_backward(self._probs, self._targets, out=dout, backend=backend)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy against integer class labels (``label_smoothing``: a fastnn extension)."""

    name = "sparse_categorical_crossentropy"
    takes_class_indices = True

    def per_sample(self, y_true, y_pred):
        labels = np.asarray(y_true.get() if hasattr(y_true, "get") else y_true).reshape(-1).astype(np.int64)
        one_hot = np.eye(np.shape(y_pred)[-1])[labels]
        return categorical_crossentropy(one_hot, y_pred, from_logits=self.from_logits,
                                        label_smoothing=self.label_smoothing)

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 1:
            raise ValueError(f"y: {self.name} expects class indices of shape (n,), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(f"y: class labels must lie in [0, {n_outputs}), got values from {y.min()} to {y.max()}")


class BinaryCrossentropy(_Crossentropy):
    """Binary cross-entropy against 0/1 targets; ``label_smoothing`` ls turns them into ``y (1 - ls) + ls / 2``."""

    name = "binary_crossentropy"
    activation = "sigmoid"
    function = staticmethod(binary_crossentropy)

    def targets(self, logits, y, backend):
        ls = self.label_smoothing
        if not ls:
            return y
        t = self.buffer(backend, "smoothed", logits)
        backend.xp.multiply(y, 1 - ls, out=t)
        t += ls / 2
        return t

    def forward(self, logits, y, backend):
        self._targets = self.targets(logits, y, backend)
        return ops.bce_logits_forward(logits, self._targets, out=self.buffer(backend, "loss", logits[:, 0]),
                                      backend=backend)

    def backward(self, logits, y, backend, dout):
        return ops.bce_logits_backward(logits, self._targets, out=dout, backend=backend)


class _Elementwise(Loss):
    """A loss whose per-sample value is a native forward/backward pair of ``fastnn.ops``."""

    op = None

    def _kwargs(self):
        return {}

    def forward(self, out, y, backend):
        return getattr(ops, self.op + "_forward")(out, y, out=self.buffer(backend, "loss", out[:, 0]),
                                                  backend=backend, **self._kwargs())

    def backward(self, out, y, backend, dout):
        return getattr(ops, self.op + "_backward")(out, y, out=dout, backend=backend, **self._kwargs())

    def per_sample(self, y_true, y_pred):
        return _FUNCTIONS[self.op](y_true, y_pred, **self._kwargs())


class MeanSquaredError(_Elementwise):
    """Mean squared error, averaged over outputs and samples."""

    name, op = "mse", "mse"


class MeanAbsoluteError(_Elementwise):
    """Mean absolute error, averaged over outputs and samples."""

    name, op = "mae", "mae"


class Huber(_Elementwise):
    """Huber loss: ``e^2 / 2`` where ``|e| <= delta``, else ``delta (|e| - delta / 2)``; averaged over outputs."""

    name, op = "huber", "huber"

    def __init__(self, delta=1.0, reduction=_REDUCTION):
        super().__init__(reduction)
        self.delta = number("delta", delta, lo=0, lo_open=True)

    def _kwargs(self):
        return {"delta": self.delta}

    def get_config(self):
        return {"delta": self.delta}


class KLDivergence(_Elementwise):
    """Kullback-Leibler divergence ``sum_j y log(y / p)`` (both clipped to [1e-7, 1], as in Keras)."""

    name, op = "kl_divergence", "kl_divergence"


class CategoricalHinge(_Elementwise):
    """Categorical hinge ``max(0, max_j (1 - y_j) p_j - sum_j y_j p_j + 1)`` against one-hot targets."""

    name, op = "categorical_hinge", "categorical_hinge"


class Hinge(Loss):
    """Multiclass SVM (hinge) loss on the raw scores of a linear output layer:
    sum over wrong classes of max(0, s_j - s_y + 1). Targets: class indices or one-hot rows.
    (fastnn's multiclass form; Keras' ``Hinge`` is the binary one for -1/1 targets.)"""

    name = "hinge"
    takes_class_indices = True

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 1:
            raise ValueError(f"y: {self.name} expects class indices (n,) or one-hot rows (n, {n_outputs}), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(f"y: class labels must lie in [0, {n_outputs}), got values from {y.min()} to {y.max()}")

    def forward(self, scores, y, backend):
        return ops.hinge_forward(scores, y, out=self.buffer(backend, "loss", scores[:, 0]), backend=backend)

    def backward(self, scores, y, backend, dout):
        return ops.hinge_backward(scores, y, out=dout, backend=backend)

    def per_sample(self, y_true, y_pred):
        y_true, y_pred = (np.asarray(a.get() if hasattr(a, "get") else a) for a in (y_true, y_pred))
        labels = (y_true.argmax(axis=1) if y_true.ndim == 2 and y_true.shape[1] > 1 else y_true.reshape(-1))
        return ops.hinge_forward(y_pred, labels.astype(np.int64))


_FUNCTIONS = {"mse": mse, "mae": mae, "huber": huber, "kl_divergence": kl_divergence,
              "categorical_hinge": categorical_hinge}
_CLASSES = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError,
            MeanAbsoluteError, Huber, KLDivergence, CategoricalHinge, Hinge)
_BY_NAME = {cls.name: cls for cls in _CLASSES}
_BY_NAME.update(mean_squared_error=MeanSquaredError, mean_absolute_error=MeanAbsoluteError, huber_loss=Huber,
                kld=KLDivergence, kullback_leibler_divergence=KLDivergence)
_BY_NAME.update({cls.__name__: cls for cls in _CLASSES})
_BY_FUNCTION = {binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
                sparse_categorical_crossentropy: SparseCategoricalCrossentropy, mse: MeanSquaredError,
                mae: MeanAbsoluteError, huber: Huber, kl_divergence: KLDivergence,
                categorical_hinge: CategoricalHinge}


def get(identifier):
    """A loss from a Keras name (``'sparse_categorical_crossentropy'``, ``'mae'``, ``'Huber'``), a loss
    function of this module (``fastnn.losses.mae``), a config dict ``{'class_name': ..., 'config': {...}}``,
    or a Loss instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if callable(identifier) and identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**_fastnn_config(identifier.get("config") or {}))
    raise ValueError(f"loss: expected one of {', '.join(sorted(_BY_NAME))}, a Loss or a fastnn.losses function, "
                     f"got {identifier!r}")


# Keys of a Keras loss config fastnn has no use for, with the values it can ignore (None: any value).
_KERAS_ONLY = {"name": None, "dtype": None, "axis": -1, "ignore_class": None}


def _fastnn_config(config):
    """A Keras (or fastnn) loss config without Keras-only keys at values fastnn can ignore."""
    out = {}
    for key, value in config.items():
        if key in ("name", "dtype") or (key in _KERAS_ONLY and value == _KERAS_ONLY[key]):
            continue
        if key in _KERAS_ONLY:
            raise ValueError(f"loss: fastnn does not support {key}={value!r}")
        out[key] = value
    return out


def serialize(loss):
    """A loss as the dict ``get`` rebuilds it from."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
