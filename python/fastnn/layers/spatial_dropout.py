"""SpatialDropout2D: dropout of whole feature maps (channels), with masks keyed by (seed, step, sample, channel)."""
from __future__ import annotations

from .. import ops
from .._checks import integer, number
from .base import Layer
from .padding import check_data_format


class SpatialDropout2D(Layer):
    """At training time drop each channel of each sample with probability ``rate`` (all its pixels
    together) and scale the rest by 1/(1 - rate); the identity at inference. As Keras'
    ``SpatialDropout2D(rate, data_format=None, seed=None)``, for channels-last images.

    The mask is a pure function of (seed, training step, sample, channel); the
    seed defaults to one derived from the model's seed and the layer's position.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format)
        self.rate = number("rate", rate, lo=0, hi=1, hi_open=True)
        self.seed = None if seed is None else integer("seed", seed, lo=0, hi=2**64 - 1,
                                                      expected="an int in [0, 2**64)")

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: SpatialDropout2D expects images (height, width, channels), got shape "
                             f"{input_shape}")
        return tuple(input_shape)

    def forward(self, x, training=False, step=0):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        self._step = step
        return ops.spatial_dropout_forward(x, self.rate, seed=self._seed(), step=step, out=self.buffer("y", x.shape),
                                           backend=self.backend)

    def backward(self, dy):
        if not self._active:
            return dy
        return ops.spatial_dropout_backward(dy, self.rate, seed=self._seed(), step=self._step, out=dy,
                                            backend=self.backend)

    def _seed(self):
        return self.seed if self.seed is not None else self.default_seed

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
