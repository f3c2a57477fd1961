"""ZeroPadding2D: numpy's constant padding of the two spatial axes, and its gradient, the crop."""
import numpy as np


def zero_padding2d_forward(x, padding):
    (top, bottom), (left, right) = padding
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def zero_padding2d_backward(dy, padding):
    (top, bottom), (left, right) = padding
    return dy[:, top:dy.shape[1] - bottom, left:dy.shape[2] - right, :].copy()
