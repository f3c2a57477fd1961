"""Additive Gaussian noise keyed by ``(seed, step, element index)``.

Like dropout's mask (see :mod:`fastnn.ops.dropout`), the noise is a pure
function of the seed, the training step and the index in the flattened
C-order array, drawn on the array's device: every backend computes the same
values (to the last bits of its log, sin and cos) and a resumed run repeats.
The keying, exactly: the words ``bits`` of the Philox stream of dropout under
the key ``seed ^ (0x6E6F6973 << 32)`` (a stream apart from dropout's), and
for each pair ``a, b = bits[2k], bits[2k + 1]`` the Box-Muller transform::

    u = (a + 0.5) / 2**32,  angle = 2 * pi * b / 2**32
    z[2k] = sqrt(-2 ln u) cos(angle),  z[2k + 1] = sqrt(-2 ln u) sin(angle)

in the array's dtype. The gradient of ``x + stddev * z`` with respect to
``x`` is the identity, so there is no backward function.
"""
import numpy as np

from ._util import output, prepare, renames, shape_of


@renames({"y": "out"})
def gaussian_noise(x, stddev, *, seed, step, out=None, backend=None):
    """Return ``x + stddev * z`` with ``z`` standard normal, drawn from ``(seed, step)``.

    Args:
        x: float32 or float64 array, any shape.
        stddev: standard deviation of the noise, a finite value >= 0 (0: a copy of ``x``).
        seed, step: ints in [0, 2**64); use a new ``step`` for every training step.
        out: optional output array shaped like ``x``; may be ``x`` itself.
        backend: backend name or object; by default the one owning ``x``.
    """
    if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.integer, np.floating)):
        raise TypeError(f"stddev: expected a number, got {type(stddev).__name__}")
    be, x = prepare(backend, x)
    y = output(be, out, shape_of(x, "x"), x)
    be.kernels.gaussian_noise(x, y, float(stddev), seed, step)
    return y
