"""Inverted dropout with a counter-based (Philox4x32-10) mask.

The keep mask is a pure function of ``(seed, step, element index)`` (indices
of the flattened C-order array), so it needs no state, the backward pass
regenerates it instead of storing it, and every backend draws the same mask
bit for bit. The keying, exactly::

    g       = index // 4                      (one Philox call serves 4 elements)
    key     = (seed % 2**32, seed // 2**32)
    counter = (g % 2**32, g // 2**32, step % 2**32, step // 2**32)
    bits    = philox4x32_10(counter, key)[index % 4]
    keep    = (bits >> 8) >= ceil(p * 2**24)

i.e. keep iff ``u >= p`` with ``u = (bits >> 8) / 2**24`` uniform on [0, 1).
``seed`` and ``step`` are ints in [0, 2**64); use a new ``step`` for every
training step (and a different ``seed`` per dropout layer). ``first`` (default
0) shifts the indices: element i of the array is element ``first + i`` of the
stream, so a slice of a larger array (a data-parallel rank's rows of the
global batch) draws exactly the slice of the larger array's mask.
"""
import numpy as np

from ._util import flag, output, prepare, real, renames, shape_arg, shape_of


def _check_p(p):
    real("p", p)
    if not 0 <= p < 1:
        raise ValueError(f"p: expected 0 <= p < 1, got {p}")


def run_dropout(kernel, x, x_name, ndim, p, seed, step, training, out, backend, *position):
    """Run the dropout-family backend kernel named ``kernel`` on ``x`` (the caller's argument ``x_name``,
    of ``ndim`` dimensions if given) into ``out`` or a new array, ``position`` (``first``) after the key.
    Not ``training``: the identity, ``x`` itself or a copy into ``out``."""
    _check_p(p)
    training = flag("training", training)
    be, x = prepare(backend, x)
    run = getattr(be.kernels, kernel)
    if not training:
        if out is None:
            return x
        run(x, out, 0.0, 0, 0)  # p = 0: a copy, with the kernel's checks of out
        return out
    y = output(be, out, shape_of(x, x_name, ndim), x)
    run(x, y, p, seed, step, *position)
    return y


@renames({"y": "out"})
def dropout_forward(x, p, *, seed, step, training=True, out=None, first=0, backend=None):
    """Inverted dropout: each unit kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``.

    Computed as ``x * mask / (1 - p)``: dropped units are 0 (nan where ``x`` is
    inf or nan). At inference (``training=False``) this is the identity: ``x``
    itself is returned (or copied into ``out`` if given). ``p = 0`` is the
    identity too; ``p = 1`` is rejected.
    """
    return run_dropout("dropout_forward", x, "x", None, p, seed, step, training, out, backend, first)


@renames({"dx": "out"})
def dropout_backward(dy, p, *, seed, step, out=None, first=0, backend=None):
    """Gradient of ``dropout_forward`` (training): ``dx = dy * keep / (1 - p)``.

    The mask is regenerated from the same ``(seed, step, first)`` as the forward pass.
    ``out`` may be ``dy`` itself.
    """
    return run_dropout("dropout_backward", dy, "dy", None, p, seed, step, True, out, backend, first)


def dropout_mask(shape, p, seed, step, *, first=0, backend=None):
    """The keep mask of dropout for an array of ``shape`` (at stream position ``first``): uint8, 1 = kept."""
    _check_p(p)
    be = prepare(backend)[0]
    mask = output(be, None, shape_arg("shape", shape), np.empty(0, np.uint8), "shape")
    be.kernels.dropout_mask(mask, p, seed, step, first)
    return mask
