"""Batch normalization over the channel axis, optionally with statistics over every process's rows."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.batchnorm import batchnorm_stats  # small (C,) arithmetic, not a kernel
from .._checks import boolean, number
from .base import Layer


class BatchNormalization(Layer):
    """Batch normalization over the last (channel) axis, Keras' defaults (momentum 0.99, epsilon 1e-3).

    Training normalizes with batch statistics and updates the moving ones;
    inference (and a frozen layer, ``trainable = False``) uses the moving ones.
    gamma/beta are trainable; moving mean/variance are non-trainable.

    ``synchronized=True`` (Keras 3's argument): under data-parallel training
    (``fastnn.distribute``) the batch statistics are those of the global batch,
    combined from every process's per-channel sums by one small allreduce in
    the forward pass and one in the backward pass, so the model trains exactly
    as in one process. Otherwise each process normalizes with the statistics
    of its own rows (as PyTorch DDP does). In one process both are the same.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.momentum = number("momentum", momentum, lo=0, hi=1)
        self.epsilon = number("epsilon", epsilon, lo=0, lo_open=True)
        self.synchronized = boolean("synchronized", synchronized)
        self.combine = None  # set by a strategy: sums an array over the processes, in place

    def build(self, input_shape):
        c = input_shape[-1]
        self.add_weight("gamma", (c,), "ones", is_bias=True)
        self.add_weight("beta", (c,), "zeros", is_bias=True)
        self.add_weight("moving_mean", (c,), "zeros", trainable=False)
        self.add_weight("moving_variance", (c,), "ones", trainable=False)
        return input_shape

    def forward(self, x, training=False, step=0, relu=False):
        """``relu=True`` (a model's plan fusing the ``Activation('relu')`` after this layer,
        ``models/fusion.py``) returns ``max(y, 0)``, and ``backward`` then takes the ReLU's output gradient."""
        self._x, self._relu = x, relu
        p = self.params
        c = x.shape[-1]
        self._batch_stats = training and self.trainable
        self._combined = self._batch_stats and self.combine is not None
        if self._combined:
            if relu:
                raise ValueError(f"{self.name}: synchronized batch norm does not fuse the ReLU after it")
            return self._forward_combined(x)
        y, _, _ = ops.batchnorm_forward(
            x, p["gamma"], p["beta"], p["moving_mean"], p["moving_variance"], training=self._batch_stats,
            momentum=self.momentum, eps=self.epsilon, out=self.buffer("y", x.shape),
            save_mean=self.buffer("mean", (c,), "float64") if self._batch_stats else None,
            save_inv_std=self.buffer("inv_std", (c,), "float64") if self._batch_stats else None,
            relu=relu, backend=self.backend)
        return y

    def backward(self, dy):
        x, p = self._x, self.params
        if not self._batch_stats:  # frozen: y = gamma (x - mean) / sqrt(var + eps) + beta is affine in x
            if self._relu:  # dy (the plan's, read once) masked in place by the ReLU's derivative
                y = self.buffer("y", x.shape)
                ops.activation_backward("relu", y, y, dy, out=dy, backend=self.backend)
            return ops.batchnorm_inference_backward(dy, p["gamma"], p["moving_variance"], eps=self.epsilon,
                                                    out=self.buffer("dx", x.shape), backend=self.backend)
        c = x.shape[-1]
        if self._combined:
            return self._backward_combined(x, dy)
        dx, _, _ = ops.batchnorm_backward(x, p["gamma"], dy, self.buffer("mean", (c,), "float64"),
                                          self.buffer("inv_std", (c,), "float64"), beta=p["beta"], relu=self._relu,
                                          dx=self.buffer("dx", x.shape), dgamma=self.grads["gamma"],
                                          dbeta=self.grads["beta"], backend=self.backend)
        return dx

    # -- synchronized: the global batch's statistics ------------------------------------------
    def _forward_combined(self, x):
        p, c = self.params, x.shape[-1]
        shift = p["moving_mean"].astype(np.float64)  # equal on every process
        sums = self.buffer("sums", (2 * c + 1,), "float64")  # and the row count behind them
        ops.batchnorm_sums(x, shift, sums=sums[:2 * c], workspace=self._workspace(x), backend=self.backend)
        sums[2 * c] = x.size // c
        self._global_statistics(sums, shift)
        return ops.batchnorm_apply(x, p["gamma"], p["beta"], self._mean, self._inv_std, out=self.buffer("y", x.shape),
                                   backend=self.backend)

    def forward_without_rows(self):
        """A process whose share of the global batch is empty still takes part in the forward allreduce."""
        shift = self.params["moving_mean"].astype(np.float64)
        self._global_statistics(self.backend.zeros((2 * len(shift) + 1,), np.float64), shift)

    def _global_statistics(self, sums, shift):
        c = len(shift)
        self.combine(sums)
        self._rows = sums[2 * c]
        mean, var, self._inv_std = batchnorm_stats(sums, shift, self._rows, self.epsilon)
        self._mean = mean
        p, m = self.params, self.momentum
        for name, batch in (("moving_mean", mean), ("moving_variance", var)):  # Keras' update, as the kernel's
            p[name][...] = (m * p[name].astype(np.float64) + (1.0 - m) * batch).astype(p[name].dtype)

    def _backward_combined(self, x, dy):
        c = x.shape[-1]
        sums = ops.batchnorm_grad_sums(x, dy, self._mean, sums=self.buffer("grad_sums", (2 * c,), "float64"),
                                       workspace=self._workspace(x), backend=self.backend)
        self.grads["beta"][...] = sums[:c]  # this process's share: the gradient allreduce adds the others'
        self.grads["gamma"][...] = sums[c:] * self._inv_std
        self.combine(sums)
        return ops.batchnorm_grad_apply(x, self.params["gamma"], dy, self._mean, self._inv_std, sums, self._rows,
                                        dx=self.buffer("dx", x.shape), backend=self.backend)

    def backward_without_rows(self):
        """The backward allreduce of a process without rows (it adds zeros)."""
        self.combine(self.backend.zeros((2 * len(self.params["gamma"]),), np.float64))

    def _workspace(self, x):
        c = x.shape[-1]
        return self.buffer("workspace", (self.backend.kernels.batchnorm_workspace_size(x.size // c, c),), "float64")

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "synchronized": self.synchronized}
