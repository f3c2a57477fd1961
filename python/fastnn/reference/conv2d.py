"""Conv2D, channels last: y[n, i, j, :] = b + sum over taps (kh, kw) of
x_padded[n, i*sh + kh*dh, j*sw + kw*dw, :] @ W[kh, kw]."""
import math

import numpy as np

from .activation import activation_forward


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def window_padding(in_size, k, stride, dilation, padding):
    """(out, pad_before, pad_after) along one axis, as Keras/TensorFlow define them."""
    extent = (k - 1) * dilation + 1
    if padding == "same":
        out = math.ceil(in_size / stride)
        total = max((out - 1) * stride + extent - in_size, 0)
        return out, total // 2, total - total // 2
    pad = 0 if padding == "valid" else padding
    return (in_size + 2 * pad - extent) // stride + 1, pad, pad


def _geometry(x_shape, W_shape, stride, padding, dilation):
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    ph, pw = (padding, padding) if isinstance(padding, str) else _pair(padding)
    OH, top, bottom = window_padding(x_shape[1], W_shape[0], sh, dh, ph)
    OW, left, right = window_padding(x_shape[2], W_shape[1], sw, dw, pw)
    return OH, OW, ((0, 0), (top, bottom), (left, right), (0, 0)), (sh, sw), (dh, dw)


def _tap(a, kh, kw, OH, OW, stride, dilation):
    """The input pixels tap (kh, kw) sees for every output pixel: a[:, kh*dh + i*sh, kw*dw + j*sw]."""
    (sh, sw), (dh, dw) = stride, dilation
    return a[:, kh * dh: kh * dh + (OH - 1) * sh + 1: sh, kw * dw: kw * dw + (OW - 1) * sw + 1: sw]


def conv2d_forward(x, W, b=None, stride=1, padding="valid", dilation=1, activation=None, alpha=0.01):
    """Each tap of the kernel adds (its input pixel's channels) @ W[kh, kw] to every output pixel;
    then the bias, then the activation (None: linear) of each element."""
    OH, OW, pads, stride, dilation = _geometry(x.shape, W.shape, stride, padding, dilation)
    xp = np.pad(x, pads)
    y = np.zeros((x.shape[0], OH, OW, W.shape[3]), dtype=np.result_type(x, W))
    for kh in range(W.shape[0]):
        for kw in range(W.shape[1]):
            y += _tap(xp, kh, kw, OH, OW, stride, dilation) @ W[kh, kw]
    z = y if b is None else y + b
    return z if activation is None else activation_forward(activation, z, alpha)


def conv2d_backward(x, W, dy, stride=1, padding="valid", dilation=1, need_dx=True, has_bias=True):
    """Chain rule through each tap: dW[kh, kw] = sum over pixels of x_tap^T dy,
    dx_tap += dy W[kh, kw]^T (padding cropped off), db = dy summed over pixels."""
    OH, OW, pads, stride, dilation = _geometry(x.shape, W.shape, stride, padding, dilation)
    xp = np.pad(x, pads)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    C_in, C_out = W.shape[2], W.shape[3]
    for kh in range(W.shape[0]):
        for kw in range(W.shape[1]):
            x_tap = _tap(xp, kh, kw, OH, OW, stride, dilation)
            dW[kh, kw] = x_tap.reshape(-1, C_in).T @ dy.reshape(-1, C_out)
            _tap(dxp, kh, kw, OH, OW, stride, dilation)[...] += dy @ W[kh, kw].T
    (_, _), (top, bottom), (left, right), _ = pads
    dx = dxp[:, top: xp.shape[1] - bottom, left: xp.shape[2] - right] if need_dx else None
    db = dy.sum(axis=(0, 1, 2)) if has_bias else None
    return dx, dW, db
