"""Keras' loss functions: ``fn(y_true, y_pred)`` -> the per-sample loss, computed by fastnn's kernels on
the arrays' backend. ``model.compile(loss=fastnn.losses.mae)`` uses the matching Loss class."""
import numpy as np

from . import ops
from .backend import resolve

_EPS = 1e-7  # Keras' backend.epsilon()


def _float_pair(y_true, y_pred):
    be = resolve(None, y_pred)
    y_pred = be.xp.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float32)
    columns = y_pred.shape[-1] if y_pred.ndim > 1 else 1  # the last axis is the one reduced
    y_true = be.xp.asarray(y_true).astype(y_pred.dtype).reshape(-1, columns)
    return be, y_true, y_pred.reshape(-1, columns)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean over the last axis of ``(y_pred - y_true)^2``."""
    be, t, p = _float_pair(y_true, y_pred)
    return ops.mse_forward(p, t, backend=be)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean over the last axis of ``|y_pred - y_true|``."""
    be, t, p = _float_pair(y_true, y_pred)
    return ops.mae_forward(p, t, backend=be)


mse, mae = mean_squared_error, mean_absolute_error


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss (quadratic within ``delta``, linear beyond)."""
    be, t, p = _float_pair(y_true, y_pred)
    return ops.huber_forward(p, t, delta=delta, backend=be)


def kl_divergence(y_true, y_pred):
    """Per-sample ``sum y_true log(y_true / y_pred)``, both clipped to [1e-7, 1]."""
    be, t, p = _float_pair(y_true, y_pred)
    return ops.kl_divergence_forward(p, t, backend=be)


def categorical_hinge(y_true, y_pred):
    """Per-sample ``max(0, max((1 - y_true) y_pred) - sum(y_true y_pred) + 1)``."""
    be, t, p = _float_pair(y_true, y_pred)
    return ops.categorical_hinge_forward(p, t, backend=be)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy of one-hot ``y_true`` against probabilities (or logits with ``from_logits``)."""
    be, t, p = _float_pair(y_true, y_pred)
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[1]
    logits = p if from_logits else be.xp.log(be.xp.clip(p, _EPS, 1 - _EPS))  # softmax(log p) = p / sum(p)
    return ops.softmax_cross_entropy_forward(logits, t, backend=be)[1]


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Per-sample cross-entropy of integer labels ``y_true`` against probabilities (or logits)."""
    be, p, _ = _float_pair(y_pred, y_pred)
    labels = be.xp.asarray(y_true).reshape(-1).astype(np.int64)
    logits = p if from_logits else be.xp.log(be.xp.clip(p, _EPS, 1 - _EPS))
    return ops.softmax_cross_entropy_forward(logits, labels, backend=be)[1]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy, the mean over the last axis."""
    be, t, p = _float_pair(y_true, y_pred)
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / 2
    if not from_logits:
        p = be.xp.clip(p, _EPS, 1 - _EPS)
        p = be.xp.log(p) - be.xp.log1p(-p)  # the logit of p
    return ops.bce_logits_forward(p, t, backend=be)
