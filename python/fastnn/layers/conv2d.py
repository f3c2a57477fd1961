"""2-D convolution over channels-last images."""
from __future__ import annotations

from .. import ops
from .._checks import integer
from .._native import _C
from .base import pair_arg
from .dense import KernelLayer
from .padding import check_data_format


class Conv2D(KernelLayer):
    """2-D convolution over channels-last images (N, H, W, C), as in Keras.

    Args:
        filters: output channels.
        kernel_size: int or (height, width).
        strides: int or pair. padding: ``'valid'``, ``'same'`` or explicit ints.
        data_format: ``'channels_last'`` (or None); fastnn has no ``'channels_first'`` (a ValueError).
        dilation_rate: int or pair. activation: as for ``Dense``.
        kernel_initializer: default Glorot uniform (fan_in = kh*kw*C_in, fan_out = kh*kw*filters).

    The kernel has Keras' layout (kh, kw, C_in, filters); computed by im2col +
    GEMM in a workspace the layer allocates once per input shape. The kernels
    apply the activation as they write the output (in training only one whose
    derivative follows from the output: relu, leaky_relu, sigmoid, tanh).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        check_data_format(data_format)
        self.filters = integer("filters", filters, lo=1)
        self.kernel_size = pair_arg(kernel_size, "kernel_size")
        self.strides = pair_arg(strides, "strides")
        self.dilation_rate = pair_arg(dilation_rate, "dilation_rate")
        self._workspace_for = (None, 0)  # (input shape, dtype, thread count) -> elements, the last one asked
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"padding: expected 'valid', 'same' or ints, got {padding!r}")
        self.padding = padding if isinstance(padding, str) else pair_arg(
            padding, "padding", lo=0, expected="'valid', 'same', an int >= 0 or a pair of them")

    def _geometry(self):
        return dict(stride=self.strides, padding=self.padding, dilation=self.dilation_rate)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: Conv2D expects images (height, width, channels), got shape {input_shape}")
        kh, kw = self.kernel_size
        c_in = input_shape[2]
        self._kshape = (kh, kw, c_in, self.filters)
        out = ops.conv2d_output_shape((1,) + tuple(input_shape), self._kshape, **self._geometry())
        self.add_kernel_and_bias(self._kshape, kh * kw * c_in, kh * kw * self.filters)
        return tuple(out[1:])

    def _workspace(self, x):
        key = (x.shape, x.dtype, _C.get_num_threads())  # the size depends on all three
        if self._workspace_for[0] != key:  # asked once per shape, not every step
            self._workspace_for = (key, ops.conv2d_workspace_size(x.shape, self._kshape, dtype=x.dtype,
                                                                   **self._geometry()))
        return self.buffer("workspace", (self._workspace_for[1],))

    def forward(self, x, training=False, step=0):
        self._x = x
        z = self.buffer("z", (x.shape[0],) + self.output_shape)
        fused = self.kernel_activation(training)  # applied as the kernel writes z: no second buffer or pass
        ops.conv2d_forward(x, self.params["W"], self.params.get("b"), activation=fused, alpha=self.alpha, out=z,
                           workspace=self._workspace(x), backend=self.backend, **self._geometry())
        return self.activated(z) if fused else self.activate(z, in_place=not training)

    def backward(self, dy):
        dz = self.activate_backward(dy)
        x = self._x
        dx = self.buffer("dx", x.shape) if self.needs_input_grad else None
        ops.conv2d_backward(x, self.params["W"], dz, need_dx=self.needs_input_grad, has_bias=self.use_bias, dx=dx,
                            dW=self.grads["W"], db=self.grads.get("b"), workspace=self._workspace(x),
                            backend=self.backend, **self._geometry())
        return dx

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation_rate": list(self.dilation_rate)}
