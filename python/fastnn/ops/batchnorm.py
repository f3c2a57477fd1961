"""Batch normalization over the channel (last) axis, channels-last layout."""
import math

import numpy as np

from ._util import flag, output, prepare, real, renames, shape_of


def _rows(x):
    """(M, C) of an (N, C) or (N, H, W, C) ``x``; the kernel rejects other ranks."""
    shape = shape_of(x, "x")
    C = shape[-1] if shape else 0
    return (math.prod(shape[:-1]) if shape else 0), C


def _stats_buffer(be, given, n):
    return given if given is not None else be.empty((n,), np.float64)


def _workspace(be, given, M, C):
    return given if given is not None else be.empty((be.kernels.batchnorm_workspace_size(M, C),), np.float64)


@renames({"y": "out"})
def batchnorm_forward(x, gamma, beta, running_mean, running_var, *, training, momentum=0.99, eps=1e-3, out=None,
                      save_mean=None, save_inv_std=None, workspace=None, relu=False, backend=None):
    """Batch normalization: ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per channel.

    With ``relu=True``, ``y = max(gamma * (x - mean) / sqrt(var + eps) + beta, 0)``:
    an ``Activation('relu')`` after the normalization, fused into its pass over
    memory (the model's plan uses it for BatchNormalization -> Activation('relu')).

    Args:
        x: (N, C) or (N, H, W, C) input; statistics are taken over every axis
            but the last (M = N or N*H*W rows of C channels).
        gamma, beta: (C,) learnable scale and shift.
        running_mean, running_var: (C,) running statistics, same dtype as ``x``.
            In training they are updated in place (so they must be C-contiguous)
            the Keras way: ``running = momentum * running + (1 - momentum) * batch``,
            with the biased batch variance (Keras's convention; PyTorch uses the
            unbiased one here).
        training: True: normalize with the batch mean and biased variance.
            False: normalize with the running statistics (nothing is updated).
        momentum: in [0, 1], Keras's default 0.99.
        eps: > 0, added to the variance (Keras's default 1e-3).
        out: optional output array like ``x``.
        save_mean, save_inv_std: optional float64 (C,) arrays receiving the
            batch mean and ``1 / sqrt(var + eps)`` for the backward pass. They
            are float64 for every input dtype so that the backward pass of a
            float32 input with a large mean is as accurate as the forward.
        workspace: optional float64 scratch array of length
            ``backend.kernels.batchnorm_workspace_size(M, C)``, for reuse.
        relu: fuse the ReLU (training and inference); the running and saved
            statistics are those of ``x`` either way.
        backend: backend name or object; by default the one owning ``x``.

    Returns:
        ``(y, save_mean, save_inv_std)`` in training, ``(y, None, None)`` in inference.

    The variance is computed from sums shifted by the first row, accumulated
    in float64, so inputs with a mean far larger than their spread keep
    their precision; the reductions run in a fixed order, so results are
    bit-identical from run to run and for any thread count.
    """
    training, relu = flag("training", training), flag("relu", relu)
    real("momentum", momentum), real("eps", eps)
    be, x, gamma, beta = prepare(backend, x, gamma, beta)
    M, C = _rows(x)
    y = output(be, out, shape_of(x, "x"), x)
    if not training:
        be.kernels.batchnorm_forward(x, gamma, beta, running_mean, running_var, y, None, None, None, False,
                                     momentum, eps, relu)
        return y, None, None
    save_mean = _stats_buffer(be, save_mean, C)
    save_inv_std = _stats_buffer(be, save_inv_std, C)
    workspace = _workspace(be, workspace, M, C)
    be.kernels.batchnorm_forward(x, gamma, beta, running_mean, running_var, y, save_mean, save_inv_std, workspace,
                                 True, momentum, eps, relu)
    return y, save_mean, save_inv_std


def batchnorm_backward(x, gamma, dy, save_mean, save_inv_std, *, beta=None, relu=False, dx=None, dgamma=None,
                       dbeta=None, workspace=None, backend=None):
    """Gradients of training-mode batch normalization: returns ``(dx, dgamma, dbeta)``.

    With ``xhat = (x - mean) * inv_std`` (``save_mean``, ``save_inv_std`` from
    ``batchnorm_forward``), M rows per channel and ``g = dy``::

        dbeta  = sum(g)
        dgamma = sum(g * xhat)
        dx     = gamma * inv_std / M * (M * g - dbeta - xhat * dgamma)

    ``relu=True`` is the backward of ``batchnorm_forward(..., relu=True)``, the
    fused Activation('relu') (used by the model's plan for BatchNormalization ->
    Activation('relu')): ``dy`` is the gradient with respect to the ReLU's output
    and ``g = dy`` where ``z = gamma * xhat + beta > 0``, else 0 (0 at z == 0, as
    ReLU's). ``z`` is recomputed from ``x`` exactly as the forward computed it, so
    the mask is the forward's ``y > 0``; ``beta`` (the forward's) is then required.

    Sums run over every axis but the last, accumulated in float64 in a fixed
    order. ``dx``, ``dgamma``, ``dbeta`` and ``workspace`` (see
    ``batchnorm_forward``) may be passed for reuse; ``dx`` may be ``dy``.
    """
    if flag("relu", relu) and beta is None:
        raise ValueError("beta: required with relu=True (the ReLU's mask is recomputed from the forward's z)")
    be, x, gamma, beta, dy, save_mean, save_inv_std = prepare(backend, x, gamma, beta, dy, save_mean, save_inv_std)
    M, C = _rows(x)
    dx = output(be, dx, shape_of(x, "x"), x)
    dgamma = output(be, dgamma, (C,), x)
    dbeta = output(be, dbeta, (C,), x)
    workspace = _workspace(be, workspace, M, C)
    be.kernels.batchnorm_backward(x, gamma, dy, save_mean, save_inv_std, dx, dgamma, dbeta, workspace, beta, relu)
    return dx, dgamma, dbeta


@renames({"dx": "out"})
def batchnorm_inference_backward(dy, gamma, moving_variance, *, eps, out=None, backend=None):
    """Gradient of inference-mode batch normalization with respect to its input.

    With the running statistics fixed (a frozen layer, or ``training=False``
    during training), ``y = gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta``
    is affine in ``x``, so::

        dx = dy * gamma / sqrt(moving_variance + eps)

    per channel (the last axis of an (N, C) or (N, H, W, C) ``dy``); ``gamma`` and
    ``moving_variance`` have shape (C,) and the dtype of ``dy``; ``eps`` > 0 is
    the forward's. ``out`` may be ``dy`` itself (computed in place), or any
    array like ``dy`` that does not overlap ``gamma`` / ``moving_variance``.
    Returns ``dx`` only: a frozen (``trainable=False``) layer trains no
    ``gamma`` or ``beta``.
    """
    real("eps", eps)
    be, dy, gamma, moving_variance = prepare(backend, dy, gamma, moving_variance)
    dx = output(be, out, shape_of(dy, "dy"), dy)
    be.kernels.batchnorm_inference_backward(dy, gamma, moving_variance, dx, eps)
    return dx


# -- synchronized batch norm: the training step's passes, with the per-channel sums of
# several processes combined (summed) by the caller between them -------------------------

def batchnorm_sums(x, shift, *, sums=None, workspace=None, backend=None):
    """Per-channel sums of this process's rows for the batch statistics: a float64 (2C,)
    ``[sum(x - shift), sum((x - shift)^2)]``, over every axis of ``x`` but the last.

    ``shift`` is a float64 (C,) array equal on every process (batch norm's moving mean):
    shifted sums keep the variance's precision when the mean dwarfs the spread.
    Summed over the processes, they give the statistics of the whole batch
    (``batchnorm_stats``). ``sums`` and ``workspace`` may be passed for reuse.
    """
    be, x, shift = prepare(backend, x, shift)
    M, C = _rows(x)
    sums = _stats_buffer(be, sums, 2 * C)
    be.kernels.batchnorm_sums(x, shift, sums, _workspace(be, workspace, M, C))
    return sums


def batchnorm_stats(sums, shift, count, eps):
    """``(mean, var, inv_std)`` (float64, C each) of a batch of ``count`` rows from its summed
    ``batchnorm_sums``, as ``batchnorm_forward`` computes them (common/batchnorm_math.h):
    ``mean = shift + s1 / count``, ``var = max(s2 / count - (s1 / count)^2, 0)``."""
    C = len(shift)
    shifted_mean = sums[:C] / count
    var = sums[C:2 * C] / count - shifted_mean * shifted_mean
    var = np.maximum(var, 0.0)  # rounding can make it slightly negative; a nan stays nan (CuPy arrays too)
    return shift + shifted_mean, var, 1.0 / (var + eps) ** 0.5


@renames({"y": "out"})
def batchnorm_apply(x, gamma, beta, mean, inv_std, *, out=None, backend=None):
    """``y = gamma * (x - mean) * inv_std + beta`` per channel with given float64 statistics
    (``batchnorm_stats``), computed as the training ``batchnorm_forward`` does; ``out`` may be ``x``."""
    be, x, gamma, beta, mean, inv_std = prepare(backend, x, gamma, beta, mean, inv_std)
    y = output(be, out, shape_of(x, "x"), x)
    be.kernels.batchnorm_apply(x, gamma, beta, mean, inv_std, y)
    return y


def batchnorm_grad_sums(x, dy, mean, *, sums=None, workspace=None, backend=None):
    """Per-channel sums of this process's rows for the backward pass: a float64 (2C,)
    ``[sum(dy), sum(dy * (x - mean))]``. This process's ``dbeta`` is the first half and its
    ``dgamma`` the second times ``inv_std``; summed over the processes they feed ``batchnorm_grad_apply``."""
    be, x, dy, mean = prepare(backend, x, dy, mean)
    M, C = _rows(x)
    sums = _stats_buffer(be, sums, 2 * C)
    be.kernels.batchnorm_grad_sums(x, dy, mean, sums, _workspace(be, workspace, M, C))
    return sums


def batchnorm_grad_apply(x, gamma, dy, mean, inv_std, sums, count, *, dx=None, backend=None):
    """``dx`` of training-mode batch norm from the summed ``batchnorm_grad_sums`` of a batch of
    ``count`` rows (all processes'): ``dx = gamma * inv_std / count * (count * dy - dbeta - xhat * dgamma)``
    with ``dbeta = sums[:C]``, ``dgamma = sums[C:] * inv_std``. ``dx`` may be ``dy`` or ``x``."""
    be, x, gamma, dy, mean, inv_std, sums = prepare(backend, x, gamma, dy, mean, inv_std, sums)
    dx = output(be, dx, shape_of(x, "x"), x)
    be.kernels.batchnorm_grad_apply(x, gamma, dy, mean, inv_std, sums, float(real("count", count)), dx)
    return dx
