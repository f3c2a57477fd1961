"""Rescaling: ``x * scale + offset``, Keras' preprocessing layer (pixels 0..255 to 0..1)."""
from __future__ import annotations

from .._checks import number
from .base import Layer


class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``: ``Rescaling(1/255)`` maps pixels to [0, 1],
    ``Rescaling(1/127.5, offset=-1)`` to [-1, 1].

    Two in-place ufunc passes of the backend's array module (numpy/cupy) into a
    reused buffer; the gradient is ``dy * scale``.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = number("scale", scale)
        self.offset = number("offset", offset)

    def forward(self, x, training=False, step=0):
        y = self.buffer("y", x.shape)
        self.backend.xp.multiply(x, self.scale, out=y)
        if self.offset:
            y += self.offset
        return y

    def backward(self, dy):
        dx = self.buffer("dx", dy.shape)
        self.backend.xp.multiply(dy, self.scale, out=dx)
        return dx

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
