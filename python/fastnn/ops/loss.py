"""Element-wise losses: mean squared error and binary cross-entropy on logits.

Forward functions return the per-sample loss, shape (M,): the mean over the
features of each row (the batch loss is ``loss.mean()``). Backward functions
return the gradient of ``scale * loss.sum()``, by default (``scale = 1/M``)
that of the mean.
"""
from ._util import mean_scale as _mean_scale, output, prepare, renames, shape_of


@renames({"loss": "out"})
def mse_forward(pred, target, *, out=None, backend=None):
    """Per-sample mean squared error of 2-D ``pred`` against ``target``."""
    be, pred, target = prepare(backend, pred, target)
    loss = output(be, out, (shape_of(pred, "pred", 2)[0],), pred)
    be.kernels.mse_forward(pred, target, loss)
    return loss


@renames({"dpred": "out"})
def mse_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the mean squared error with respect to ``pred``."""
    be, pred, target = prepare(backend, pred, target)
    shape = shape_of(pred, "pred", 2)
    d = output(be, out, shape, pred)
    be.kernels.mse_backward(pred, target, d, _mean_scale(shape[0], scale, pred))
    return d


@renames({"loss": "out"})
def bce_logits_forward(logits, target, *, out=None, backend=None):
    """Per-sample binary cross-entropy of ``sigmoid(logits)`` against 0/1 (or soft) targets.

    Computed from the logits in the stable form ``max(z,0) - z t + log(1 + e^-|z|)``.
    """
    be, logits, target = prepare(backend, logits, target)
    loss = output(be, out, (shape_of(logits, "logits", 2)[0],), logits)
    be.kernels.bce_logits_forward(logits, target, loss)
    return loss


@renames({"dlogits": "out"})
def bce_logits_backward(logits, target, *, scale=None, out=None, backend=None):
    """Gradient of the binary cross-entropy with respect to the logits: ``sigmoid(z) - t``, scaled."""
    be, logits, target = prepare(backend, logits, target)
    shape = shape_of(logits, "logits", 2)
    d = output(be, out, shape, logits)
    be.kernels.bce_logits_backward(logits, target, d, _mean_scale(shape[0], scale, logits))
    return d
