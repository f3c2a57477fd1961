"""Activity regularization: an L1 + L2 penalty on a layer's output.

Keras's ``activity_regularizer``: the penalty of an output ``y`` is
``(l1 * sum|y| + l2 * sum y^2) / batch_size`` (batch_size = ``y.shape[0]``),
added to the loss; its gradient is added into the gradient flowing back
through ``y``.
"""
import math

import numpy as np

from ._util import prepare, real, shape_of


def activity_regularizer_backward(y, dy, *, l1=0.0, l2=0.0, backend=None):
    """Add the penalty's gradient into ``dy`` in place and return ``dy``:
    ``dy += (l1 * sign(y) + 2 * l2 * y) / y.shape[0]``.

    ``y`` and ``dy`` have the same shape (any rank >= 1, non-empty) and
    dtype; ``dy`` must be a C-contiguous array of the backend that does not
    overlap ``y``. ``l1``, ``l2`` are finite and >= 0. A NaN in ``y`` gives
    NaN in ``dy`` (``sign(NaN)`` is NaN, as in NumPy).
    """
    real("l1", l1), real("l2", l2)
    be, y = prepare(backend, y)
    if not be.owns(dy) or not dy.flags.c_contiguous:
        raise ValueError("dy: expected a C-contiguous array of the backend (it is updated in place)")
    be.kernels.activity_regularizer_backward(y, dy, l1, l2)
    return dy


def activity_regularizer_penalty(y, *, l1=0.0, l2=0.0, workspace=None, backend=None):
    """Return ``(l1 * sum|y| + l2 * sum y^2) / y.shape[0]`` as a Python float.

    The sums are accumulated in float64 over a fixed cut of ``y`` and added
    in a fixed order, so the result is identical from run to run and for
    any thread count. ``workspace`` (optional, for reuse): a float64 array of
    length ``backend.kernels.activity_regularizer_workspace_size(y.size)``.
    On the cuda backend reading the result waits for the kernel.
    """
    real("l1", l1), real("l2", l2)
    be, y = prepare(backend, y)
    if workspace is None:
        n = math.prod(shape_of(y, "y"))
        workspace = be.empty((be.kernels.activity_regularizer_workspace_size(n),), np.float64)
    be.kernels.activity_regularizer_penalty(y, workspace, l1, l2)
    return float(workspace[0])
