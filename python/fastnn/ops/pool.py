"""2-D pooling over NHWC images (Keras semantics).

``pool_size`` and ``strides`` are an int or a pair (rows, columns);
``strides=None`` means ``strides = pool_size``. ``padding`` is ``'valid'`` or
``'same'`` (``OH = ceil(H / strides)``, padding split as TensorFlow does); the
padded cells never win a max and are not counted in an average.
"""
import numpy as np

from ._util import output, prepare, shape_of
from .. import backend as _backend


def pool2d_output_shape(x_shape, pool_size=2, *, strides=None, padding="valid", backend=None):
    """Return ``(N, OH, OW, C)``, the output shape of max/avg pooling over ``x_shape``."""
    be = _backend.get(backend) if backend is not None else _backend.CPU
    return be.kernels.pool2d_output_shape(tuple(x_shape), pool_size, strides, padding)


def max_pool2d_forward(x, pool_size=2, *, strides=None, padding="valid", out=None, argmax=None, need_argmax=True,
                       backend=None):
    """Max pooling: returns ``(y, argmax)``.

    ``argmax`` (int32, shape of ``y``) holds, for every output element, the
    position ``ih * W + iw`` of its window's maximum within the image; of equal
    values the first in row-major window order wins. The backward pass needs
    it; with ``need_argmax=False`` (inference) it is not computed and None is
    returned. ``out`` and ``argmax`` may be passed for reuse.
    """
    be, x = prepare(backend, x)
    y_shape = be.kernels.pool2d_output_shape(shape_of(x, "x"), pool_size, strides, padding, "x")
    y = output(be, out, y_shape, x)
    if need_argmax and argmax is None:
        argmax = be.empty(y_shape, np.int32)
    be.kernels.max_pool2d_forward(x, y, argmax if need_argmax else None, pool_size, strides, padding)
    return y, (argmax if need_argmax else None)


def max_pool2d_backward(dy, argmax, x_shape, pool_size=2, *, strides=None, padding="valid", out=None,
                        backend=None):
    """Return ``dx`` (shape ``x_shape``): each ``dy`` goes to the input cell its ``argmax`` names."""
    be, dy, argmax = prepare(backend, dy, argmax)
    be.kernels.pool2d_output_shape(tuple(x_shape), pool_size, strides, padding)  # checks x_shape
    dx = output(be, out, tuple(x_shape), dy)
    be.kernels.max_pool2d_backward(dy, argmax, dx, pool_size, strides, padding)
    return dx


def avg_pool2d_forward(x, pool_size=2, *, strides=None, padding="valid", out=None, backend=None):
    """Average pooling: each output is the mean of its window's cells inside the image."""
    be, x = prepare(backend, x)
    y = output(be, out, be.kernels.pool2d_output_shape(shape_of(x, "x"), pool_size, strides, padding, "x"), x)
    be.kernels.avg_pool2d_forward(x, y, pool_size, strides, padding)
    return y


def avg_pool2d_backward(dy, x_shape, pool_size=2, *, strides=None, padding="valid", out=None, backend=None):
    """Return ``dx`` (shape ``x_shape``): each window's ``dy`` shared equally by its cells inside the image."""
    be, dy = prepare(backend, dy)
    be.kernels.pool2d_output_shape(tuple(x_shape), pool_size, strides, padding)  # checks x_shape
    dx = output(be, out, tuple(x_shape), dy)
    be.kernels.avg_pool2d_backward(dy, dx, pool_size, strides, padding)
    return dx


def global_avg_pool2d_forward(x, *, out=None, backend=None):
    """Global average pooling: (N, H, W, C) -> (N, C), the mean over all pixels."""
    be, x = prepare(backend, x)
    shape = shape_of(x, "x", 4)
    y = output(be, out, (shape[0], shape[3]), x)
    be.kernels.global_avg_pool2d_forward(x, y)
    return y


def global_avg_pool2d_backward(dy, x_shape, *, out=None, backend=None):
    """Return ``dx`` (shape ``x_shape``) = ``dy / (H * W)`` at every pixel."""
    be, dy = prepare(backend, dy)
    be.kernels.pool2d_output_shape(tuple(x_shape), 1, None, "valid")  # checks x_shape
    dx = output(be, out, tuple(x_shape), dy)
    be.kernels.global_avg_pool2d_backward(dy, dx)
    return dx
