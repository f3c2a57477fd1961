"""2-D pooling, channels last, Keras semantics: a window of the input (cells
outside the image ignored) is reduced to its max or its mean."""
import numpy as np

from .conv2d import window_padding


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _windows(x_shape, pool_size, strides, padding):
    """For each output pixel (i, j): the input rows and columns its window covers inside the image."""
    (kh, kw) = _pair(pool_size)
    (sh, sw) = _pair(strides) if strides is not None else (kh, kw)
    H, W = x_shape[1], x_shape[2]
    OH, top, _ = window_padding(H, kh, sh, 1, padding)
    OW, left, _ = window_padding(W, kw, sw, 1, padding)
    for i in range(OH):
        rows = range(max(i * sh - top, 0), min(i * sh - top + kh, H))
        for j in range(OW):
            cols = range(max(j * sw - left, 0), min(j * sw - left + kw, W))
            yield i, j, rows, cols


def _out_shape(x_shape, pool_size, strides, padding):
    (kh, kw) = _pair(pool_size)
    (sh, sw) = _pair(strides) if strides is not None else (kh, kw)
    return (x_shape[0], window_padding(x_shape[1], kh, sh, 1, padding)[0],
            window_padding(x_shape[2], kw, sw, 1, padding)[0], x_shape[3])


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = the max of each window; argmax = the flat position ih*W + iw of the first max (row-major)."""
    y = np.empty(_out_shape(x.shape, pool_size, strides, padding), x.dtype)
    argmax = np.empty(y.shape, np.int32)
    W = x.shape[2]
    for i, j, rows, cols in _windows(x.shape, pool_size, strides, padding):
        cells = x[:, rows.start:rows.stop, cols.start:cols.stop].reshape(x.shape[0], -1, x.shape[3])
        first = cells.argmax(axis=1)  # numpy's argmax returns the first of equal maxima
        y[:, i, j] = cells.max(axis=1)
        argmax[:, i, j] = (rows.start + first // len(cols)) * W + cols.start + first % len(cols)
    return y, argmax


def max_pool2d_backward(dy, argmax, x_shape):
    """Only a window's max influenced its output: dy goes back to that cell alone."""
    N, H, W, C = x_shape
    dx = np.zeros((N, H * W, C), dy.dtype)
    n, _, _, c = np.indices(dy.shape).reshape(4, -1)
    np.add.at(dx, (n, argmax.reshape(-1), c), dy.reshape(-1))
    return dx.reshape(x_shape)


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = the mean of each window's cells inside the image (padding not counted)."""
    y = np.empty(_out_shape(x.shape, pool_size, strides, padding), x.dtype)
    for i, j, rows, cols in _windows(x.shape, pool_size, strides, padding):
        y[:, i, j] = x[:, rows.start:rows.stop, cols.start:cols.stop].mean(axis=(1, 2))
    return y


def avg_pool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    """Each of a window's n cells contributed 1/n of its mean: it gets dy / n."""
    dx = np.zeros(x_shape, dy.dtype)
    for i, j, rows, cols in _windows(x_shape, pool_size, strides, padding):
        dx[:, rows.start:rows.stop, cols.start:cols.stop] += dy[:, i, j][:, None, None] / (len(rows) * len(cols))
    return dx


def global_avg_pool2d_forward(x):
    """y[n, c] = the mean of x[n, :, :, c]."""
    return x.mean(axis=(1, 2))


def global_avg_pool2d_backward(dy, x_shape):
    """Every pixel contributed 1/(H W) of the mean."""
    N, H, W, C = x_shape
    return np.broadcast_to(dy[:, None, None, :] / (H * W), x_shape).copy()
