"""Mean squared error and binary cross-entropy, per sample (mean over features)."""
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
