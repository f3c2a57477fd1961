"""Shared plumbing of the ``fastnn.ops`` functions: pick the backend, make
inputs contiguous, and allocate outputs the caller did not provide."""
import functools
import inspect
import math
import numbers
import re

import numpy as np

from .. import backend as _backend
from .._checks import boolean as flag  # noqa: F401 (for the ops: True/False only, "False" is no flag)
from .._checks import integer  # noqa: F401


def prepare(backend, *arrays):
    """Resolve the backend and return it with C-contiguous versions of ``arrays``."""
    be = _backend.resolve(backend, *arrays)
    return (be, *(a if a is None else be.contiguous(a) for a in arrays))


def output(be, out, shape, like, shape_name="out"):
    """``out`` if given (the kernel checks its shape and dtype), else a new array.

    An array too large to allocate is a ValueError naming ``shape_name``, the argument
    the shape came from (``x_shape``), rather than numpy's MemoryError.
    """
    if out is not None:
        return out
    dtype = getattr(like, "dtype", None)
    try:
        return be.empty(shape, dtype)
    except (MemoryError, ValueError) as e:
        raise ValueError(f"{shape_name}: cannot allocate an array of shape {tuple(shape)} ({e})") from None


def mean_scale(M, scale, like):
    """``scale``, or by default 1/M: the loss gradients' factor for the mean over a batch of M
    (1 for an empty batch, which the kernel then rejects by name). It must be finite, also
    once rounded to the dtype of ``like`` (the kernels compute in it)."""
    if real("scale", scale, none_ok=True) is None:
        return 1.0 / M if M else 1.0
    dtype = getattr(like, "dtype", None)
    with np.errstate(over="ignore"):
        rounded = dtype.type(scale) if dtype is not None and dtype.kind == "f" else scale
    if not (math.isfinite(scale) and math.isfinite(rounded)):
        raise ValueError(f"scale: expected a number finite in {dtype or 'float64'}, got {scale!r}")
    return scale


def per_sample_loss(kernel, x, x_name, target, out, backend, *params, kind=None):
    """The per-sample loss (M,) of 2-D ``x`` (the caller's argument ``x_name``) against ``target``,
    from the backend kernel named ``kernel``, written into ``out`` or a new array. ``kind`` is the
    pointwise kernels' first argument (the loss's name); ``params`` follow the arrays."""
    be, x, target = prepare(backend, x, target)
    loss = output(be, out, (shape_of(x, x_name, 2)[0],), x)
    _call(be, kernel, kind, x, target, loss, *params)
    return loss


def loss_gradient(kernel, x, x_name, target, scale, out, backend, *params, kind=None):
    """The gradient of ``scale * loss.sum()`` (default ``scale = 1/M``: the mean) with respect to
    2-D ``x``, from the backend kernel named ``kernel``; arguments as in ``per_sample_loss``."""
    be, x, target = prepare(backend, x, target)
    shape = shape_of(x, x_name, 2)
    d = output(be, out, shape, x)
    _call(be, kernel, kind, x, target, d, mean_scale(shape[0], scale, x), *params)
    return d


def _call(be, kernel, kind, *args):
    fn = getattr(be.kernels, kernel)
    return fn(*args) if kind is None else fn(kind, *args)


def shape_of(a, name, ndim=None):
    """``a.shape``, or a TypeError naming the argument if ``a`` is not an array."""
    shape = getattr(a, "shape", None)
    if shape is None:
        raise TypeError(f"{name}: expected an array, got {type(a).__name__}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got {len(shape)}-D with shape {tuple(shape)}")
    return tuple(shape)


MAX_ELEMENTS = 1 << 48  # no array is larger; the kernels' size arithmetic stays exact below it


def real(name, value, none_ok=False):
    """``value`` if it is a real number (numpy's too; not a bool), else a TypeError naming ``name``."""
    if type(value) in (float, int) or (value is None and none_ok) or (
            isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))):
        return value  # (the exact types first: the ABC check costs a microsecond, and ops run every step)
    raise TypeError(f"{name}: expected a number, got {type(value).__name__}")


def text(name, value):
    """``value`` if it is a str (an activation, optimizer or padding name), else a TypeError naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {value!r}")
    return value


def shape_arg(name, shape):
    """``shape`` (a tuple or list of ints) as a tuple, with at most ``MAX_ELEMENTS`` elements in all
    (negative sizes are left to the kernels' checks, or to the allocation)."""
    if not isinstance(shape, (tuple, list)) or not all(type(d) is int or (
            isinstance(d, numbers.Integral) and not isinstance(d, (bool, np.bool_))) for d in shape):
        raise TypeError(f"{name}: expected a tuple of ints, got {shape!r}")
    shape = tuple(int(d) for d in shape)
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(f"{name}: {shape} has more than 2**48 elements")
    return shape


def renames(names):
    """Decorator of an op: an error the kernel raises about its argument ``k`` is raised about the
    caller's ``names[k]`` instead (``y: ...`` -> ``out: ...``). ``names`` may be a function of the
    op's bound arguments, for ops whose kernel arguments depend on the call."""
    def decorate(op):
        signature = inspect.signature(op)

        @functools.wraps(op)
        def call(*args, **kwargs):
            try:
                return op(*args, **kwargs)
            except (TypeError, ValueError) as e:
                mapping = names
                if callable(names):
                    bound = signature.bind(*args, **kwargs)
                    bound.apply_defaults()
                    mapping = names(bound.arguments)
                head, colon, rest = str(e).partition(":")
                if colon and head in mapping and type(e) in (TypeError, ValueError):
                    rest = re.sub(rf"\bwriting {re.escape(head)}\b", f"writing {mapping[head]}", rest)
                    raise type(e)(mapping[head] + colon + rest) from None
                raise
        return call
    return decorate
