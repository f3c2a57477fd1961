"""Rescaling: ``y = x * scale + offset`` element-wise (Keras' preprocessing layer), and its gradient."""
from ._util import output, prepare, real, renames, shape_of


@renames({"y": "out"})
def rescaling_forward(x, scale, offset=0.0, *, out=None, backend=None):
    """``x * scale + offset`` for an array of any shape; ``out`` may be ``x``."""
    real("scale", scale), real("offset", offset)
    be, x = prepare(backend, x)
    y = output(be, out, shape_of(x, "x"), x)
    be.kernels.rescaling_forward(x, y, float(scale), float(offset))
    return y


@renames({"dx": "out"})
def rescaling_backward(dy, scale, *, out=None, backend=None):
    """Gradient of ``rescaling_forward``: ``dy * scale``; ``out`` may be ``dy``."""
    real("scale", scale)
    be, dy = prepare(backend, dy)
    dx = output(be, out, shape_of(dy, "dy"), dy)
    be.kernels.rescaling_backward(dy, dx, float(scale))
    return dx
