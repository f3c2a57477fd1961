"""Element-wise losses per sample: MSE, binary cross-entropy, MAE, Huber (means over
features), KL divergence (a sum, as Keras) and the categorical hinge."""
import numpy as np

from .activation import _sigmoid


def mse_forward(pred, target):
    """L_i = mean_j (y_ij - t_ij)^2."""
    return ((pred - target) ** 2).mean(axis=1)


def mse_backward(pred, target, scale=None):
    """dL/dy = 2 (y - t) / F, times scale (default 1/M: the batch mean)."""
    M, F = pred.shape
    scale = 1.0 / M if scale is None else scale
    return scale * 2 * (pred - target) / F


def bce_logits_forward(logits, target):
    """L_i = mean_j -[t log s(z) + (1 - t) log(1 - s(z))] with s the sigmoid, in the stable form."""
    z, t = logits, target
    return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=1)


def bce_logits_backward(logits, target, scale=None):
    """dL/dz = (s(z) - t) / F, times scale (default 1/M)."""
    M, F = logits.shape
    scale = 1.0 / M if scale is None else scale
    return scale * (_sigmoid(logits) - target) / F


def _scale(pred, scale):
    return 1.0 / pred.shape[0] if scale is None else scale


def mae_forward(pred, target):
    """L_i = mean_j |y_ij - t_ij|."""
    return np.abs(pred - target).mean(axis=1)


def mae_backward(pred, target, scale=None):
    """dL/dy = sign(y - t) / F, times scale (default 1/M)."""
    return _scale(pred, scale) * np.sign(pred - target) / pred.shape[1]


def huber_forward(pred, target, delta=1.0):
    """L_i = mean_j of e^2/2 where |e| <= delta, else delta |e| - delta^2/2 (e = y - t)."""
    e = np.abs(pred - target)
    return np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta).mean(axis=1)


def huber_backward(pred, target, delta=1.0, scale=None):
    """dL/dy = clip(y - t, -delta, delta) / F, times scale."""
    return _scale(pred, scale) * np.clip(pred - target, -delta, delta) / pred.shape[1]


_EPS = 1e-7  # Keras' backend.epsilon()


def kl_divergence_forward(pred, target):
    """L_i = sum_j t log(t / y), with t and y clipped to [1e-7, 1] (Keras)."""
    t, p = np.clip(target, _EPS, 1), np.clip(pred, _EPS, 1)
    return (t * np.log(t / p)).sum(axis=1)


def kl_divergence_backward(pred, target, scale=None):
    """dL/dy = -t / y inside the clip range, 0 outside, times scale."""
    t = np.clip(target, _EPS, 1)
    inside = (pred >= _EPS) & (pred <= 1)
    return _scale(pred, scale) * np.where(inside, -t / np.where(inside, pred, 1), 0)


def categorical_hinge_forward(pred, target):
    """L_i = max(0, max_j (1 - t_j) y_j - sum_j t_j y_j + 1)."""
    pos = (target * pred).sum(axis=1)
    neg = ((1 - target) * pred).max(axis=1)
    return np.maximum(neg - pos + 1, 0)


def categorical_hinge_backward(pred, target, scale=None):
    """dL/dy = -t + (1 - t_k) e_k (k the first argmax of (1 - t) y) where the loss is positive, times scale."""
    active = categorical_hinge_forward(pred, target) > 0
    k = ((1 - target) * pred).argmax(axis=1)
    d = -target.copy()
    rows = np.arange(pred.shape[0])
    d[rows, k] += 1 - target[rows, k]
    return _scale(pred, scale) * np.where(active[:, None], d, 0)
