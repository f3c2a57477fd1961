"""Rescaling: an affine map of every element."""


def rescaling_forward(x, scale, offset=0.0):
    """y = x * scale + offset."""
    return x * scale + offset


def rescaling_backward(dy, scale):
    """dy/dx = scale."""
    return dy * scale
