"""Dense layer: net input z = x W + b, output y = f(z)."""
from .activation import activation_backward, activation_forward


def dense_forward(x, W, b=None, activation="linear", alpha=0.01):
    """y = f(x W + b): each unit sums its weighted inputs plus a bias, then applies f."""
    z = x @ W
    if b is not None:
        z = z + b
    return activation_forward(activation, z, alpha)


def bias_grad(dy):
    """dL/db: the bias feeds every row, so its gradient sums the rows' deltas."""
    return dy.sum(axis=0)


def dense_backward(x, W, dy, activation="linear", alpha=0.01, b=None, need_dx=True, has_bias=True):
    """Chain rule through y = f(z), z = x W + b, given dy = dL/dy.

    Delta rule: dz = dy * f'(z). Then dL/dW = x^T dz (each weight's input times
    the delta it feeds), dL/db = sum of deltas, dL/dx = dz W^T (deltas sent
    back along the weights).
    """
    z = x @ W if b is None else x @ W + b
    dz = activation_backward(activation, z, activation_forward(activation, z, alpha), dy, alpha)
    dW = x.T @ dz
    db = bias_grad(dz) if has_bias else None
    dx = dz @ W.T if need_dx else None
    return dx, dW, db
