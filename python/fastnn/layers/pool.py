"""Pooling layers over channels-last images."""
from __future__ import annotations

from .. import ops
from .._checks import boolean
from .base import Layer, pair_arg
from .padding import check_data_format


class _Pool2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair_arg(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair_arg(strides, "strides")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding: expected 'valid' or 'same', got {padding!r}")
        self.padding = padding

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: pooling expects images (height, width, channels), got shape {input_shape}")
        out = ops.pool2d_output_shape((1,) + tuple(input_shape), self.pool_size, strides=self.strides,
                                      padding=self.padding)
        return tuple(out[1:])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pool2D):
    """Max pooling (NHWC); the gradient goes to each window's arg-max (ties: the first in row-major order)."""

    def forward(self, x, training=False, step=0):
        self._x_shape = x.shape
        shape = (x.shape[0],) + self.output_shape
        y, self._argmax = ops.max_pool2d_forward(
            x, self.pool_size, strides=self.strides, padding=self.padding, out=self.buffer("y", shape),
            argmax=self.buffer("argmax", shape, "int32") if training else None, need_argmax=training,
            backend=self.backend)
        return y

    def backward(self, dy):
        return ops.max_pool2d_backward(dy, self._argmax, self._x_shape, self.pool_size, strides=self.strides,
                                       padding=self.padding, out=self.buffer("dx", self._x_shape), backend=self.backend)


class AveragePooling2D(_Pool2D):
    """Average pooling (NHWC); with 'same' padding the padded cells are not counted (as in Keras)."""

    def forward(self, x, training=False, step=0):
        self._x_shape = x.shape
        return ops.avg_pool2d_forward(x, self.pool_size, strides=self.strides, padding=self.padding,
                                      out=self.buffer("y", (x.shape[0],) + self.output_shape), backend=self.backend)

    def backward(self, dy):
        return ops.avg_pool2d_backward(dy, self._x_shape, self.pool_size, strides=self.strides, padding=self.padding,
                                       out=self.buffer("dx", self._x_shape), backend=self.backend)


class GlobalAveragePooling2D(Layer):
    """Mean over all pixels: (N, H, W, C) -> (N, C)."""

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects images (height, width, channels), got shape {input_shape}")
        return (input_shape[2],)

    def forward(self, x, training=False, step=0):
        self._x_shape = x.shape
        return ops.global_avg_pool2d_forward(x, out=self.buffer("y", (x.shape[0], x.shape[3])), backend=self.backend)

    def backward(self, dy):
        return ops.global_avg_pool2d_backward(dy, self._x_shape, out=self.buffer("dx", self._x_shape),
                                              backend=self.backend)


class GlobalMaxPooling2D(Layer):
    """Maximum over all pixels: (N, H, W, C) -> (N, C) (``keepdims=True``: (N, 1, 1, C)), as Keras'.

    One max-pooling window covering the whole image (the max_pool2d kernels);
    the gradient goes to each channel's arg-max (ties: the first in row-major order).
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        check_data_format(data_format)
        self.keepdims = boolean("keepdims", keepdims)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects images (height, width, channels), got shape {input_shape}")
        self._window = tuple(input_shape[:2])
        return (1, 1, input_shape[2]) if self.keepdims else (input_shape[2],)

    def forward(self, x, training=False, step=0):
        self._x_shape = x.shape
        shape = (x.shape[0], 1, 1, x.shape[3])
        y, self._argmax = ops.max_pool2d_forward(
            x, self._window, strides=self._window, out=self.buffer("y", shape),
            argmax=self.buffer("argmax", shape, "int32") if training else None, need_argmax=training,
            backend=self.backend)
        return y.reshape((x.shape[0],) + self.output_shape)

    def backward(self, dy):
        dy = dy.reshape(dy.shape[0], 1, 1, -1)
        return ops.max_pool2d_backward(dy, self._argmax, self._x_shape, self._window, strides=self._window,
                                       out=self.buffer("dx", self._x_shape), backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}
