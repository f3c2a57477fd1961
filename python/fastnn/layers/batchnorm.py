"""Batch normalization over the channel axis."""
from __future__ import annotations

from .. import ops
from .._checks import number
from .base import Layer


class BatchNormalization(Layer):
    """Batch normalization over the last (channel) axis, Keras' defaults (momentum 0.99, epsilon 1e-3).

    Training normalizes with batch statistics and updates the moving ones;
    inference (and a frozen layer, ``trainable = False``) uses the moving ones.
    gamma/beta are trainable; moving mean/variance are non-trainable.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = number("momentum", momentum, lo=0, hi=1)
        self.epsilon = number("epsilon", epsilon, lo=0, lo_open=True)

    def build(self, input_shape):
        c = input_shape[-1]
        self.add_weight("gamma", (c,), "ones", is_bias=True)
        self.add_weight("beta", (c,), "zeros", is_bias=True)
        self.add_weight("moving_mean", (c,), "zeros", trainable=False)
        self.add_weight("moving_variance", (c,), "ones", trainable=False)
        return input_shape

    def forward(self, x, training=False, step=0):
        self._x = x
        p = self.params
        c = x.shape[-1]
        self._batch_stats = training and self.trainable
        y, _, _ = ops.batchnorm_forward(
            x, p["gamma"], p["beta"], p["moving_mean"], p["moving_variance"], training=self._batch_stats,
            momentum=self.momentum, eps=self.epsilon, out=self.buffer("y", x.shape),
            save_mean=self.buffer("mean", (c,), "float64") if self._batch_stats else None,
            save_inv_std=self.buffer("inv_std", (c,), "float64") if self._batch_stats else None,
            backend=self.backend)
        return y

    def backward(self, dy):
        x, p = self._x, self.params
        if not self._batch_stats:  # frozen: y = gamma (x - mean) / sqrt(var + eps) + beta is affine in x
            return ops.batchnorm_inference_backward(dy, p["gamma"], p["moving_variance"], eps=self.epsilon,
                                                    out=self.buffer("dx", x.shape), backend=self.backend)
        c = x.shape[-1]
        dx, _, _ = ops.batchnorm_backward(x, p["gamma"], dy, self.buffer("mean", (c,), "float64"),
                                          self.buffer("inv_std", (c,), "float64"), dx=self.buffer("dx", x.shape),
                                          dgamma=self.grads["gamma"], dbeta=self.grads["beta"], backend=self.backend)
        return dx

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
