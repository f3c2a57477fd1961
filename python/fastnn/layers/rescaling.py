"""Rescaling: ``x * scale + offset``, Keras' preprocessing layer (pixels 0..255 to 0..1)."""
from __future__ import annotations

from .. import ops
from .._checks import number
from .base import Layer


class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``: ``Rescaling(1/255)`` maps pixels to [0, 1],
    ``Rescaling(1/127.5, offset=-1)`` to [-1, 1].

    One native element-wise pass; the gradient is ``dy * scale``.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = number("scale", scale)
        self.offset = number("offset", offset)

    def forward(self, x, training=False, step=0):
        return ops.rescaling_forward(x, self.scale, self.offset, out=self.buffer("y", x.shape), backend=self.backend)

    def backward(self, dy):
        return ops.rescaling_backward(dy, self.scale, out=dy, backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
