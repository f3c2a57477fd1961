"""ZeroPadding2D on channels-last images: zero rows above/below and zero columns left/right."""
from ._util import output, prepare, shape_of


def zero_padding2d_forward(x, padding, *, out=None, backend=None):
    """Pad ``x`` (N, H, W, C) with ``padding = ((top, bottom), (left, right))`` zeros."""
    (top, bottom), (left, right) = padding
    be, x = prepare(backend, x)
    N, H, W, C = shape_of(x, "x", 4)
    y = output(be, out, (N, H + top + bottom, W + left + right, C), x)
    be.kernels.zero_padding2d_forward(x, y, top, bottom, left, right)
    return y


def zero_padding2d_backward(dy, padding, *, out=None, backend=None):
    """Gradient of ``zero_padding2d_forward``: the interior of ``dy``."""
    (top, bottom), (left, right) = padding
    be, dy = prepare(backend, dy)
    N, OH, OW, C = shape_of(dy, "dy", 4)
    dx = output(be, out, (N, OH - top - bottom, OW - left - right, C), dy)
    be.kernels.zero_padding2d_backward(dy, dx, top, bottom, left, right)
    return dx
