"""Multiclass SVM loss (the hinge loss of the lecture notes, with margin 1)."""
import numpy as np


def hinge_forward(scores, target):
    """L_i = sum over wrong classes j of max(0, s_j - s_y + 1)."""
    M = scores.shape[0]
    correct = scores[np.arange(M), target][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(M), target] = 0
    return margins.sum(axis=1)


def hinge_backward(scores, target, scale=None):
    """Each violated margin pushes its class up (+1) and the true class down (-1)."""
    M = scores.shape[0]
    correct = scores[np.arange(M), target][:, None]
    active = (scores - correct + 1 > 0).astype(scores.dtype)
    active[np.arange(M), target] = 0
    active[np.arange(M), target] = -active.sum(axis=1)
    return (1.0 / M if scale is None else scale) * active
