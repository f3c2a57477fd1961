"""Batch normalization over the channel (last) axis."""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, eps=1e-3, relu=False):
    """y = gamma * xhat + beta with xhat = (x - mean) / sqrt(var + eps), per channel; then max(y, 0) if ``relu``
    (a fused Activation('relu'); the statistics are those of x either way).

    Training: mean and (biased) variance of the batch, over every axis but the
    last; returns ``(y, mean, inv_std, new_running_mean, new_running_var)`` with
    running = momentum * running + (1 - momentum) * batch statistic (Keras).
    Inference: the running statistics; returns ``(y, None, None, running_mean, running_var)``.
    """
    axes = tuple(range(x.ndim - 1))
    activate = (lambda z: np.maximum(z, 0)) if relu else (lambda z: z)
    if not training:
        y = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        return activate(y), None, None, running_mean, running_var
    mean = x.mean(axis=axes)
    var = ((x - mean) ** 2).mean(axis=axes)  # two passes: no cancellation for large means
    inv_std = 1 / np.sqrt(var + eps)
    y = activate(gamma * (x - mean) * inv_std + beta)
    new_mean = momentum * running_mean + (1 - momentum) * mean
    new_var = momentum * running_var + (1 - momentum) * var
    return y, mean, inv_std, new_mean, new_var


def batchnorm_backward(x, gamma, dy, mean, inv_std, beta=None, relu=False):
    """Chain rule through y = gamma * xhat + beta, where mean and var depend on every x of the channel.

    dbeta = sum(dy), dgamma = sum(dy * xhat), and, M values per channel,
    dx = gamma * inv_std / M * (M dy - sum(dy) - xhat * sum(dy * xhat)).
    With ``relu`` (the forward's fused ReLU; ``beta`` needed), dy is the gradient
    of max(y, 0) and first becomes dy where y > 0, else 0.
    """
    axes = tuple(range(x.ndim - 1))
    M = x.size // x.shape[-1]
    xhat = (x - mean) * inv_std
    if relu:
        dy = np.where(gamma * xhat + beta > 0, dy, 0)
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_inference_backward(dy, gamma, moving_variance, eps):
    """Inference mode: mean and variance are constants, so y is affine in x and dx = dy * gamma / sqrt(var + eps)."""
    return dy * gamma / np.sqrt(moving_variance + eps)


# Synchronized batch norm: a batch split over processes, each contributing per-channel sums.

def batchnorm_sums(x, shift):
    """[sum(x - shift), sum((x - shift)^2)] per channel, over every axis but the last."""
    axes = tuple(range(x.ndim - 1))
    d = x.astype(np.float64) - shift
    return np.concatenate([d.sum(axis=axes), (d * d).sum(axis=axes)])


def batchnorm_stats(sums, shift, count, eps):
    """mean = shift + s1 / count and the biased var = s2 / count - (s1 / count)^2 of the whole batch."""
    C = len(shift)
    shifted_mean = sums[:C] / count
    var = np.maximum(sums[C:] / count - shifted_mean**2, 0.0)
    return shift + shifted_mean, var, 1 / np.sqrt(var + eps)


def batchnorm_apply(x, gamma, beta, mean, inv_std):
    """y = gamma * (x - mean) * inv_std + beta."""
    return gamma * (x - mean) * inv_std + beta


def batchnorm_grad_sums(x, dy, mean):
    """[sum(dy), sum(dy * (x - mean))] per channel."""
    axes = tuple(range(x.ndim - 1))
    return np.concatenate([dy.sum(axis=axes), (dy * (x - mean)).sum(axis=axes)])


def batchnorm_grad_apply(x, gamma, dy, mean, inv_std, sums, count):
    """dx = gamma * inv_std / M * (M dy - dbeta - xhat dgamma) with the whole batch's
    dbeta = sums[:C], dgamma = sums[C:] * inv_std and M = count rows."""
    C = x.shape[-1]
    xhat = (x - mean) * inv_std
    return gamma * inv_std / count * (count * dy - sums[:C] - xhat * sums[C:] * inv_std)
