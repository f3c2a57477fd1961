"""Parametric ReLU: f(x) = x for x > 0, a_c x otherwise, with a learnable slope a_c per channel."""
import numpy as np


def prelu_forward(x, alpha):
    return np.where(x > 0, x, alpha * x)


def prelu_backward(x, alpha, dy):
    """dL/dx = dy f'(x); dL/da_c sums dy * x over channel c's non-positive inputs."""
    dx = np.where(x > 0, dy, alpha * dy)
    dalpha = np.where(x > 0, 0, dy * x).reshape(-1, x.shape[-1]).sum(axis=0)
    return dx, dalpha
