"""Layers that only change the shape of a batch (or nothing): views, no copies."""
from __future__ import annotations

import numbers

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


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1: inferred), as Keras' ``Reshape``.
    A view, no copy."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        shape = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else None
        if (not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and (d > 0 or d == -1)
                                 for d in shape) or list(shape).count(-1) > 1):
            raise ValueError(f"target_shape: expected a tuple of positive ints with at most one -1, got "
                             f"{target_shape!r}")
        self.target_shape = tuple(int(d) for d in shape)

    def build(self, input_shape):
        self._in_shape = tuple(input_shape)
        n, known = prod(input_shape), prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError(f"target_shape: cannot reshape samples of shape {self._in_shape} ({n} values) to "
                             f"{self.target_shape}")
        return tuple(n // known if d == -1 else d for d in self.target_shape)

    def forward(self, x, training=False, step=0):
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self._in_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Identity(Layer):
    """Returns its input unchanged (Keras' ``Identity``: a placeholder layer)."""

    def forward(self, x, training=False, step=0):
        return x

    def backward(self, dy):
        return dy
