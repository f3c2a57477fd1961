"""Multiclass SVM (hinge) loss: ``L_i = sum_{j != y_i} max(0, s_ij - s_iy + 1)``."""
from ._util import loss_gradient, per_sample_loss, renames


@renames({"loss": "out"})
def hinge_forward(scores, target, *, out=None, backend=None):
    """Per-sample multiclass hinge loss (M,) of (M, C) ``scores`` against int class indices ``target`` (M,)."""
    return per_sample_loss("hinge_forward", scores, "scores", target, out, backend)


@renames({"dscores": "out"})
def hinge_backward(scores, target, *, scale=None, out=None, backend=None):
    """Gradient of ``scale * loss.sum()`` (default ``scale = 1/M``: the mean) with respect to ``scores``:
    +1 for each class with a positive margin, minus their count for the true class."""
    return loss_gradient("hinge_backward", scores, "scores", target, scale, out, backend)
