"""Activity regularization: penalty P(y) = (l1 sum|y| + l2 sum y^2) / batch_size on a layer's output y."""
import numpy as np


def activity_regularizer_penalty(y, l1=0.0, l2=0.0):
    return (l1 * np.abs(y).sum() + l2 * (y * y).sum()) / y.shape[0]


def activity_regularizer_backward(y, dy, l1=0.0, l2=0.0):
    """dP/dy = (l1 sign(y) + 2 l2 y) / batch_size, added to the incoming gradient dy in place (returns dy),
    as the op does."""
    dy += (l1 * np.sign(y) + 2 * l2 * y) / y.shape[0]
    return dy
