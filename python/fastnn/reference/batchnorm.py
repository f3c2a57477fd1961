"""Batch normalization over the channel (last) axis."""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, eps=1e-3):
    """y = gamma * xhat + beta with xhat = (x - mean) / sqrt(var + eps), per channel.

    Training: mean and (biased) variance of the batch, over every axis but the
    last; returns ``(y, mean, inv_std, new_running_mean, new_running_var)`` with
    running = momentum * running + (1 - momentum) * batch statistic (Keras).
    Inference: the running statistics; returns ``(y, None, None, running_mean, running_var)``.
    """
    axes = tuple(range(x.ndim - 1))
    if not training:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None, None, running_mean, running_var
    mean = x.mean(axis=axes)
    var = ((x - mean) ** 2).mean(axis=axes)  # two passes: no cancellation for large means
    inv_std = 1 / np.sqrt(var + eps)
    y = gamma * (x - mean) * inv_std + beta
    new_mean = momentum * running_mean + (1 - momentum) * mean
    new_var = momentum * running_var + (1 - momentum) * var
    return y, mean, inv_std, new_mean, new_var


def batchnorm_backward(x, gamma, dy, mean, inv_std):
    """Chain rule through y = gamma * xhat + beta, where mean and var depend on every x of the channel.

    dbeta = sum(dy), dgamma = sum(dy * xhat), and, M values per channel,
    dx = gamma * inv_std / M * (M dy - sum(dy) - xhat * sum(dy * xhat)).
    """
    axes = tuple(range(x.ndim - 1))
    M = x.size // x.shape[-1]
    xhat = (x - mean) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_inference_backward(dy, gamma, moving_variance, eps):
    """Inference mode: mean and variance are constants, so y is affine in x and dx = dy * gamma / sqrt(var + eps)."""
    return dy * gamma / np.sqrt(moving_variance + eps)
