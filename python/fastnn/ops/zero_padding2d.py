"""ZeroPadding2D on channels-last images: zero rows above/below and zero columns left/right."""
import numbers

from ._util import output, prepare, renames, shape_of

_MAX_PADDING = 1 << 24  # far beyond any image; keeps the padded shape's arithmetic small


def _padding(padding):
    """``((top, bottom), (left, right))`` of ints in [0, 2**24), else a TypeError/ValueError naming padding."""
    pairs = padding if isinstance(padding, (tuple, list)) and len(padding) == 2 else None
    if pairs is None or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for p in pairs for v in p):
        raise TypeError(f"padding: expected ((top, bottom), (left, right)) of ints, got {padding!r}")
    if not all(0 <= v < _MAX_PADDING for p in pairs for v in p):
        raise ValueError(f"padding: expected sizes in [0, 2**24), got {padding!r}")
    return tuple((int(a), int(b)) for a, b in pairs)


@renames({"y": "out"})
def zero_padding2d_forward(x, padding, *, out=None, backend=None):
    """Pad ``x`` (N, H, W, C) with ``padding = ((top, bottom), (left, right))`` zeros."""
    (top, bottom), (left, right) = _padding(padding)
    be, x = prepare(backend, x)
    N, H, W, C = shape_of(x, "x", 4)
    y = output(be, out, (N, H + top + bottom, W + left + right, C), x)
    be.kernels.zero_padding2d_forward(x, y, top, bottom, left, right)
    return y


@renames({"dx": "out"})
def zero_padding2d_backward(dy, padding, *, out=None, backend=None):
    """Gradient of ``zero_padding2d_forward``: the interior of ``dy``."""
    (top, bottom), (left, right) = _padding(padding)
    be, dy = prepare(backend, dy)
    N, OH, OW, C = shape_of(dy, "dy", 4)
    if OH < top + bottom or OW < left + right:
        raise ValueError(f"dy: shape {(N, OH, OW, C)} is smaller than the padding {padding!r}")
    dx = output(be, out, (N, OH - top - bottom, OW - left - right, C), dy)
    be.kernels.zero_padding2d_backward(dy, dx, top, bottom, left, right)
    return dx
