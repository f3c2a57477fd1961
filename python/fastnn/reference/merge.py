"""The merge layers: element-wise sums, differences, products, means and maxima of several
arrays of one shape, and concatenation; with the gradient of each input."""
import numpy as np


def add_forward(xs):
    """y = x_0 + x_1 + ...; dy/dx_i = 1, so every input's gradient is dy."""
    y = xs[0].copy()
    for x in xs[1:]:
        y = y + x
    return y


def average_forward(xs):
    """y = (x_0 + ... + x_{N-1}) / N."""
    return add_forward(xs) / len(xs)


def average_backward(dy, n):
    """dy/dx_i = 1/N for each of the N inputs."""
    return dy / n


def subtract_forward(a, b):
    """y = a - b."""
    return a - b


def subtract_backward(dy):
    """The gradient of b: dy/db = -1 (a's is dy)."""
    return -dy


def multiply_forward(xs):
    """y = x_0 * x_1 * ... element-wise."""
    y = xs[0].copy()
    for x in xs[1:]:
        y = y * x
    return y


def multiply_backward(xs, dy):
    """dx_i = dy * prod_{j != i} x_j (the product rule; no division, so zeros are exact)."""
    grads = []
    for i in range(len(xs)):
        g = dy.copy()
        for j, x in enumerate(xs):
            if j != i:
                g = g * x
        grads.append(g)
    return grads


def maximum_forward(xs):
    """y = max_i x_i element-wise (NaN propagates, as numpy.maximum)."""
    y = xs[0].copy()
    for x in xs[1:]:
        y = np.maximum(y, x)
    return y


def maximum_backward(xs, dy):
    """dy goes to the input holding the maximum; of tied inputs, to the first (numpy.argmax's choice,
    which also picks the first NaN); the others get 0."""
    winner = np.argmax(np.stack(xs), axis=0)
    return [np.where(winner == i, dy, np.zeros_like(dy)) for i in range(len(xs))]


def concatenate_forward(xs, axis=-1):
    """y = the inputs side by side along axis."""
    return np.concatenate(xs, axis=axis)


def concatenate_backward(dy, sizes, axis=-1):
    """Each input's gradient is its own slice of dy along axis."""
    return np.split(dy, np.cumsum(sizes)[:-1], axis=axis)
