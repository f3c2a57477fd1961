"""2-D pooling over NHWC images (Keras semantics).

``pool_size`` and ``strides`` are an int or a pair (rows, columns);
``strides=None`` means ``strides = pool_size``. ``padding`` is ``'valid'`` or
``'same'`` (``OH = ceil(H / strides)``, padding split as TensorFlow does); the
padded cells never win a max and are not counted in an average.
"""
import numpy as np

from ._util import flag, output, prepare, renames, shape_arg, shape_of
from .. import backend as _backend


def pool2d_output_shape(x_shape, pool_size=2, *, strides=None, padding="valid", backend=None):
    """Return ``(N, OH, OW, C)``, the output shape of max/avg pooling over ``x_shape``."""
    be = _backend.get(backend) if backend is not None else _backend.CPU
    return be.kernels.pool2d_output_shape(shape_arg("x_shape", x_shape), pool_size, strides, padding)


@renames({"y": "out"})
def max_pool2d_forward(x, pool_size=2, *, strides=None, padding="valid", out=None, argmax=None, need_argmax=True,
                       backend=None):
    """Max pooling: returns ``(y, argmax)``.

    ``argmax`` (int32, shape of ``y``) holds, for every output element, the
    position ``ih * W + iw`` of its window's maximum within the image; of equal
    values the first in row-major window order wins. The backward pass needs
    it; with ``need_argmax=False`` (inference) it is not computed and None is
    returned. ``out`` and ``argmax`` may be passed for reuse.
    """
    need_argmax = flag("need_argmax", need_argmax)
    be, x = prepare(backend, x)
    y_shape = be.kernels.pool2d_output_shape(shape_of(x, "x"), pool_size, strides, padding, "x")
    y = output(be, out, y_shape, x)
    if need_argmax and argmax is None:
        argmax = be.empty(y_shape, np.int32)
    be.kernels.max_pool2d_forward(x, y, argmax if need_argmax else None, pool_size, strides, padding)
    return y, (argmax if need_argmax else None)


@renames({"dx": "out"})
def max_pool2d_backward(dy, argmax, x_shape, pool_size=2, *, strides=None, padding="valid", out=None,
                        backend=None):
    """Return ``dx`` (shape ``x_shape``): each ``dy`` goes to the input cell its ``argmax`` names.

    ``argmax`` must be what ``max_pool2d_forward`` returned for these arguments: int32,
    shaped like ``dy``, each value the position ``ih * W + iw`` of a cell inside its
    output's window (on host arrays every value is checked: a ValueError otherwise;
    on the GPU only dtype and shape are, and a value outside the window drops its gradient).
    """
    be, dy, argmax = prepare(backend, dy, argmax)
    x_shape = shape_arg("x_shape", x_shape)
    be.kernels.pool2d_output_shape(x_shape, pool_size, strides, padding)  # checks x_shape
    dx = output(be, out, x_shape, dy, "x_shape")
    be.kernels.max_pool2d_backward(dy, argmax, dx, pool_size, strides, padding)
    return dx


@renames({"y": "out"})
def avg_pool2d_forward(x, pool_size=2, *, strides=None, padding="valid", out=None, backend=None):
    """Average pooling: each output is the mean of its window's cells inside the image."""
    be, x = prepare(backend, x)
    y = output(be, out, be.kernels.pool2d_output_shape(shape_of(x, "x"), pool_size, strides, padding, "x"), x)
    be.kernels.avg_pool2d_forward(x, y, pool_size, strides, padding)
    return y


@renames({"dx": "out"})
def avg_pool2d_backward(dy, x_shape, pool_size=2, *, strides=None, padding="valid", out=None, backend=None):
    """Return ``dx`` (shape ``x_shape``): each window's ``dy`` shared equally by its cells inside the image."""
    be, dy = prepare(backend, dy)
    x_shape = shape_arg("x_shape", x_shape)
    be.kernels.pool2d_output_shape(x_shape, pool_size, strides, padding)  # checks x_shape
    dx = output(be, out, x_shape, dy, "x_shape")
    be.kernels.avg_pool2d_backward(dy, dx, pool_size, strides, padding)
    return dx


@renames({"y": "out"})
def global_avg_pool2d_forward(x, *, out=None, backend=None):
    """Global average pooling: (N, H, W, C) -> (N, C), the mean over all pixels."""
    be, x = prepare(backend, x)
    shape = shape_of(x, "x", 4)
    y = output(be, out, (shape[0], shape[3]), x)
    be.kernels.global_avg_pool2d_forward(x, y)
    return y


@renames({"dx": "out"})
def global_avg_pool2d_backward(dy, x_shape, *, out=None, backend=None):
    """Return ``dx`` (shape ``x_shape``) = ``dy / (H * W)`` at every pixel."""
    be, dy = prepare(backend, dy)
    x_shape = shape_arg("x_shape", x_shape)
    be.kernels.pool2d_output_shape(x_shape, 1, None, "valid")  # checks x_shape
    dx = output(be, out, x_shape, dy, "x_shape")
    be.kernels.global_avg_pool2d_backward(dy, dx)
    return dx
