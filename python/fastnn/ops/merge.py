"""The merge layers' ops (Keras' ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Concatenate``) over arrays of any shape, and their gradients where they are more than ``dy``.

Element-wise merges take a list ``xs`` of 1 to 64 arrays of one shape and dtype (``subtract``: two
arrays ``a`` and ``b``) and compute in one native pass. ``add``'s gradient is ``dy`` itself for every
input and ``subtract``'s is ``dy`` for ``a``: no op is needed for those.
"""
from .. import backend as _backend
from ._util import integer, output, renames, shape_of

MAX_INPUTS = 64  # the kernels take their input pointers as a fixed-size list


def _arrays(be, xs, name):
    """``xs`` as a list of C-contiguous arrays of backend ``be``, else an error naming ``name``."""
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"{name}: expected a list of arrays, got {type(xs).__name__}")
    if not xs:
        raise ValueError(f"{name}: expected at least 1 array, got an empty list")
    if len(xs) > MAX_INPUTS:
        raise ValueError(f"{name}: expected at most {MAX_INPUTS} arrays, got {len(xs)}")
    for i, x in enumerate(xs):
        if not be.owns(x):
            raise TypeError(f"{name}: item {i} is a {type(x).__name__}, expected a {be.xp.__name__}.ndarray "
                            f"(backend {be.name!r})")
    return [be.contiguous(x) for x in xs]


def _same_shapes(xs, name):
    for i, x in enumerate(xs[1:], 1):
        if x.shape != xs[0].shape:
            raise ValueError(f"{name}: item {i} has shape {tuple(x.shape)}, item 0 has {tuple(xs[0].shape)}")


def _outputs(be, out, shapes, like):
    """``out`` if given (the kernel checks it), else new arrays of ``shapes``."""
    return out if out is not None else [output(be, None, s, like) for s in shapes]


def _resolve(backend, xs):
    return _backend.resolve(backend, *(xs if isinstance(xs, (list, tuple)) else ()))


def _merge(kind, xs, out, backend):
    be = _resolve(backend, xs)
    xs = _arrays(be, xs, "xs")
    _same_shapes(xs, "xs")
    y = output(be, out, xs[0].shape, xs[0])
    be.kernels.merge_forward(kind, xs, y)
    return y


@renames({"y": "out"})
def add_forward(xs, *, out=None, backend=None):
    """``xs[0] + xs[1] + ...``. The gradient of every input is ``dy`` itself."""
    return _merge("add", xs, out, backend)


@renames({"y": "out"})
def average_forward(xs, *, out=None, backend=None):
    """``(xs[0] + xs[1] + ...) / len(xs)``."""
    return _merge("average", xs, out, backend)


@renames({"y": "out"})
def multiply_forward(xs, *, out=None, backend=None):
    """``xs[0] * xs[1] * ...`` element-wise."""
    return _merge("multiply", xs, out, backend)


@renames({"y": "out"})
def maximum_forward(xs, *, out=None, backend=None):
    """The element-wise maximum of ``xs``; a NaN in any input gives NaN (as ``numpy.maximum``)."""
    return _merge("maximum", xs, out, backend)


@renames({"y": "out", "xs": "a"})
def subtract_forward(a, b, *, out=None, backend=None):
    """``a - b``. The gradient of ``a`` is ``dy`` itself; ``subtract_backward`` gives ``b``'s."""
    be = _backend.resolve(backend, a, b)
    (a,), (b,) = _arrays(be, [a], "a"), _arrays(be, [b], "b")
    if b.shape != a.shape:
        raise ValueError(f"b: expected shape {tuple(a.shape)} like a, got {tuple(b.shape)}")
    if b.dtype != a.dtype:
        raise TypeError(f"b: expected dtype {a.dtype} like a, got {b.dtype}")
    y = output(be, out, a.shape, a)
    be.kernels.merge_forward("subtract", [a, b], y)
    return y


def _divide(dy, divisor, out, backend):
    be = _backend.resolve(backend, dy)
    dy = be.contiguous(dy)
    dx = output(be, out, shape_of(dy, "dy"), dy)
    be.kernels.merge_divide(dy, dx, divisor)
    return dx


@renames({"dx": "out"})
def subtract_backward(dy, *, out=None, backend=None):
    """The gradient of ``subtract_forward``'s ``b``: ``-dy``; ``out`` may be ``dy``."""
    return _divide(dy, -1.0, out, backend)


@renames({"dx": "out"})
def average_backward(dy, n, *, out=None, backend=None):
    """The gradient of each of ``average_forward``'s ``n`` inputs: ``dy / n``; ``out`` may be ``dy``."""
    return _divide(dy, float(integer("n", n, lo=1, hi=MAX_INPUTS)), out, backend)


def _merge_backward(kind, xs, dy, out, backend):
    be = _resolve(backend, xs)
    xs = _arrays(be, xs, "xs")
    _same_shapes(xs, "xs")
    dy = be.contiguous(dy)
    dxs = _outputs(be, out, [xs[0].shape] * len(xs), xs[0])
    be.kernels.merge_backward(kind, xs, dy, dxs)
    return dxs


@renames({"dxs": "out"})
def multiply_backward(xs, dy, *, out=None, backend=None):
    """The gradients of ``multiply_forward``'s inputs: ``dx_i = dy * prod_{j != i} xs[j]`` (no division,
    so zeros are exact), a list of ``len(xs)`` arrays (written into the list ``out`` if given)."""
    return _merge_backward("multiply", xs, dy, out, backend)


@renames({"dxs": "out"})
def maximum_backward(xs, dy, *, out=None, backend=None):
    """The gradients of ``maximum_forward``'s inputs: ``dy`` goes to the first input holding the maximum
    of each element (ties: the earliest input; a NaN: the first NaN), 0 to the others. A list of
    ``len(xs)`` arrays (written into the list ``out`` if given)."""
    return _merge_backward("maximum", xs, dy, out, backend)


def _axis(axis, ndim):
    axis = integer("axis", axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis: expected an axis in [{-ndim}, {ndim}) for {ndim}-D arrays, got {axis}")
    return axis % ndim


@renames({"y": "out"})
def concatenate_forward(xs, axis=-1, *, out=None, backend=None):
    """``xs`` joined along ``axis`` (as ``numpy.concatenate``); they must match in every other axis."""
    be = _resolve(backend, xs)
    xs = _arrays(be, xs, "xs")
    ndim = xs[0].ndim
    if ndim == 0:
        raise ValueError("xs: cannot concatenate 0-D arrays")
    a = _axis(axis, ndim)
    shape = list(xs[0].shape)
    shape[a] = sum(int(x.shape[a]) if x.ndim == ndim else 0 for x in xs)
    y = output(be, out, tuple(shape), xs[0])
    be.kernels.concatenate_forward(xs, y, a)  # checks that the other axes match
    return y


@renames({"dxs": "out"})
def concatenate_backward(dy, sizes, axis=-1, *, out=None, backend=None):
    """Splits ``dy`` along ``axis`` into pieces of ``sizes`` (the inputs' extents along it): the list of
    gradients of ``concatenate_forward``'s inputs (written into the list ``out`` if given)."""
    be = _backend.resolve(backend, dy)
    dy = be.contiguous(dy)
    shape = shape_of(dy, "dy")
    if not shape:
        raise ValueError("dy: cannot split a 0-D array")
    a = _axis(axis, len(shape))
    if not isinstance(sizes, (list, tuple)) or not sizes or len(sizes) > MAX_INPUTS:
        raise TypeError(f"sizes: expected a list of 1 to {MAX_INPUTS} ints, got {sizes!r}"[:200])
    sizes = [integer("sizes", s, lo=0) for s in sizes]
    if sum(sizes) != shape[a]:
        raise ValueError(f"sizes: {sizes} add up to {sum(sizes)}, but dy has {shape[a]} along axis {a}")
    dxs = _outputs(be, out, [shape[:a] + (s,) + shape[a + 1:] for s in sizes], dy)
    be.kernels.concatenate_backward(dy, dxs, a)
    return dxs
