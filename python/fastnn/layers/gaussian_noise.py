"""Additive Gaussian noise at training time."""
from __future__ import annotations

from .. import ops
from .._checks import number
from .base import Layer
from .dropout import seed_arg


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise at training time (a regularizer); the identity at inference.

    The noise is drawn on the layer's device from (seed, training step,
    element), like dropout's mask, so it repeats exactly in a resumed run; the
    seed defaults to one derived from the model's seed and the layer's position.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = number("stddev", stddev, lo=0)
        self.seed = seed_arg(seed)

    def forward(self, x, training=False, step=0):
        if not training or self.stddev == 0:
            return x
        seed = self.seed if self.seed is not None else self.default_seed
        return ops.gaussian_noise(x, self.stddev, seed=seed, step=step, out=self.buffer("y", x.shape),
                                  backend=self.backend)

    def backward(self, dy):
        return dy

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
