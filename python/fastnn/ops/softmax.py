"""Softmax over the last axis, and softmax fused with cross-entropy."""
from ._util import loss_gradient, output, prepare, renames, shape_of


@renames({"y": "out"})
def softmax_forward(x, *, out=None, backend=None):
    """Return ``softmax(x)`` over the last axis of a 2-D ``x`` (stable for large inputs)."""
    be, x = prepare(backend, x)
    y = output(be, out, shape_of(x, "x"), x)
    be.kernels.softmax_forward(x, y)
    return y


@renames({"dx": "out"})
def softmax_backward(y, dy, *, out=None, backend=None):
    """Return ``dx = y * (dy - sum(dy * y))`` given ``y = softmax(x)``; ``out`` may be ``y`` or ``dy``."""
    be, y, dy = prepare(backend, y, dy)
    dx = output(be, out, shape_of(y, "y"), y)
    be.kernels.softmax_backward(y, dy, dx)
    return dx


def softmax_cross_entropy_forward(logits, target, *, probs=None, loss=None, backend=None):
    """Fused softmax + cross-entropy: returns ``(probs, loss)``.

    Args:
        logits: (M, C) scores.
        target: class indices (int32/int64, shape (M,)) or one-hot rows
            (same dtype as logits, shape (M, C)).
    Returns:
        ``probs = softmax(logits)`` and the per-sample loss (M,), computed
        with log-sum-exp so it never overflows. The batch loss is ``loss.mean()``.
    """
    be, logits, target = prepare(backend, logits, target)
    M = shape_of(logits, "logits", 2)[0]
    probs = output(be, probs, shape_of(logits, "logits"), logits)
    loss = output(be, loss, (M,), logits)
    be.kernels.softmax_cross_entropy_forward(logits, target, probs, loss)
    return probs, loss


@renames({"dlogits": "out"})
def softmax_cross_entropy_backward(probs, target, *, scale=None, out=None, backend=None):
    """Return ``dlogits = scale * (probs - target)``.

    This is the gradient of ``scale * loss.sum()``; the default ``scale = 1/M``
    makes it the gradient of the mean loss.
    """
    return loss_gradient("softmax_cross_entropy_backward", probs, "probs", target, scale, out, backend)
