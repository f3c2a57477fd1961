"""Dense layer: net input z = x W + b."""
import numpy as np


def dense_forward(x, W, b=None):
    """z = x W + b: each output unit sums its weighted inputs plus a bias."""
    z = x @ W
    return z if b is None else z + b


def bias_grad(dy):
    """dL/db: the bias feeds every row, so its gradient sums the rows' deltas."""
    return dy.sum(axis=0)


def dense_backward(x, W, dy, need_dx=True, has_bias=True):
    """Chain rule through z = x W + b, with delta dy = dL/dz.

    dL/dW = x^T dy (each weight's input times the delta it feeds),
    dL/db = sum of deltas, dL/dx = dy W^T (deltas sent back along the weights).
    """
    dW = x.T @ dy
    db = bias_grad(dy) if has_bias else None
    dx = dy @ W.T if need_dx else None
    return dx, dW, db
