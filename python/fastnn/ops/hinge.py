"""Multiclass SVM (hinge) loss: ``L_i = sum_{j != y_i} max(0, s_ij - s_iy + 1)``."""
from ._util import mean_scale as _mean_scale, output, prepare, renames, shape_of


@renames({"loss": "out"})
def hinge_forward(scores, target, *, out=None, backend=None):
    """Per-sample multiclass hinge loss (M,) of (M, C) ``scores`` against int class indices ``target`` (M,)."""
    be, scores, target = prepare(backend, scores, target)
    loss = output(be, out, (shape_of(scores, "scores", 2)[0],), scores)
    be.kernels.hinge_forward(scores, target, loss)
    return loss


@renames({"dscores": "out"})
def hinge_backward(scores, target, *, scale=None, out=None, backend=None):
    """Gradient of ``scale * loss.sum()`` (default ``scale = 1/M``: the mean) with respect to ``scores``:
    +1 for each class with a positive margin, minus their count for the true class."""
    be, scores, target = prepare(backend, scores, target)
    shape = shape_of(scores, "scores", 2)
    d = output(be, out, shape, scores)
    be.kernels.hinge_backward(scores, target, d, _mean_scale(shape[0], scale, scores))
    return d
