"""Layers that only change the shape of a batch."""
from __future__ import annotations

from .base import Layer, prod


class Flatten(Layer):
    """Flattens each sample to one axis: (N, H, W, C) -> (N, H*W*C). A view, no copy."""

    def build(self, input_shape):
        self.flattened_shape = tuple(input_shape)  # the sample shape it flattens
        return (prod(input_shape),)

    def forward(self, x, training=False, step=0):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.flattened_shape)
