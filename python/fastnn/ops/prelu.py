"""Parametric ReLU: one learnable negative slope per channel (the last axis)."""
from ._util import output, prepare, renames, shape_of


@renames({"y": "out"})
def prelu_forward(x, alpha, *, out=None, backend=None):
    """Return ``y = x`` where ``x > 0``, else ``alpha[c] * x`` (c: the last axis; ``alpha`` has shape (C,))."""
    be, x, alpha = prepare(backend, x, alpha)
    y = output(be, out, shape_of(x, "x"), x)
    be.kernels.prelu_forward(x, alpha, y)
    return y


def prelu_backward(x, alpha, dy, *, dx=None, dalpha=None, backend=None):
    """Return ``(dx, dalpha)``: ``dx = dy`` where ``x > 0`` else ``alpha[c] dy``;
    ``dalpha[c]`` = sum of ``dy * x`` over the entries of channel c with ``x <= 0``. ``dx`` may be ``dy``."""
    be, x, alpha, dy = prepare(backend, x, alpha, dy)
    dx = output(be, dx, shape_of(x, "x"), x)
    dalpha = output(be, dalpha, shape_of(alpha, "alpha"), x)
    be.kernels.prelu_backward(x, alpha, dy, dx, dalpha)
    return dx, dalpha
