"""Shared plumbing of the ``fastnn.ops`` functions: pick the backend, make
inputs contiguous, and allocate outputs the caller did not provide."""
from .. import backend as _backend


def prepare(backend, *arrays):
    """Resolve the backend and return it with C-contiguous versions of ``arrays``."""
    be = _backend.resolve(backend, *arrays)
    return (be, *(a if a is None else be.contiguous(a) for a in arrays))


def output(be, out, shape, like):
    """``out`` if given (the kernel checks its shape and dtype), else a new array."""
    if out is not None:
        return out
    dtype = getattr(like, "dtype", None)
    return be.empty(shape, dtype)


def mean_scale(M, scale):
    """``scale``, or by default 1/M: the loss gradients' factor for the mean over a batch of M
    (1 for an empty batch, which the kernel then rejects by name)."""
    return (1.0 / M if M else 1.0) if scale is None else scale


def shape_of(a, name, ndim=None):
    """``a.shape``, or a TypeError naming the argument if ``a`` is not an array."""
    shape = getattr(a, "shape", None)
    if shape is None:
        raise TypeError(f"{name}: expected an array, got {type(a).__name__}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got {len(shape)}-D with shape {tuple(shape)}")
    return tuple(shape)
