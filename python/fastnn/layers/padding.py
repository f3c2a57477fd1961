"""ZeroPadding2D: zero rows and columns around channels-last images."""
from __future__ import annotations

import numbers

from .. import ops
from .base import Layer


def _padding_arg(padding):
    """Keras' forms: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""
    def size(v):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
            raise ValueError(f"padding: expected an int >= 0, a pair of them or a pair of pairs, got {padding!r}")
        return int(v)

    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return ((size(padding),) * 2,) * 2
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(isinstance(p, (tuple, list)) for p in padding):
            if all(len(p) == 2 for p in padding):
                return tuple((size(p[0]), size(p[1])) for p in padding)
        else:
            return tuple((size(p), size(p)) for p in padding)
    raise ValueError(f"padding: expected an int >= 0, a pair of them or a pair of pairs, got {padding!r}")


class ZeroPadding2D(Layer):
    """Adds zero rows above/below and zero columns left/right of channels-last images (N, H, W, C),
    as Keras' ``ZeroPadding2D(padding=(1, 1))``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format)
        self.padding = _padding_arg(padding)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: ZeroPadding2D expects images (height, width, channels), got shape "
                             f"{input_shape}")
        (top, bottom), (left, right) = self.padding
        h, w, c = input_shape
        return (h + top + bottom, w + left + right, c)

    def forward(self, x, training=False, step=0):
        self._x_shape = x.shape
        return ops.zero_padding2d_forward(x, self.padding, out=self.buffer("y", (x.shape[0],) + self.output_shape),
                                          backend=self.backend)

    def backward(self, dy):
        return ops.zero_padding2d_backward(dy, self.padding, out=self.buffer("dx", self._x_shape), backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


def check_data_format(data_format):
    """fastnn's images are channels-last: accept Keras' ``'channels_last'`` (or None), reject the rest clearly."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"data_format: fastnn supports only 'channels_last' (images as (height, width, channels)), "
                         f"got {data_format!r}; transpose the data to NHWC instead")
