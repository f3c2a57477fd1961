"""Element-wise losses: mean squared error, binary cross-entropy on logits, mean absolute
error, Huber, KL divergence and the categorical hinge.

Forward functions return the per-sample loss, shape (M,): the mean over the
features of each row (the batch loss is ``loss.mean()``). Backward functions
return the gradient of ``scale * loss.sum()``, by default (``scale = 1/M``)
that of the mean.
"""
from ._util import mean_scale as _mean_scale, output, prepare, real, renames, shape_of


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


# The pointwise kinds (FASTNN_POINTWISE_LOSSES in csrc/common/loss_math.h):
# mae and huber average their terms over the features, kl_divergence sums them (as Keras does).
@renames({"loss": "out"})
def mae_forward(pred, target, *, out=None, backend=None):
    """Per-sample mean absolute error ``mean_j |p - t|`` of 2-D ``pred`` against ``target``."""
    return _pointwise_forward("mae", pred, target, 0.0, out, backend)


@renames({"dpred": "out"})
def mae_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the mean absolute error with respect to ``pred``: ``sign(p - t) / F``, scaled."""
    return _pointwise_backward("mae", pred, target, 0.0, scale, out, backend)


@renames({"loss": "out"})
def huber_forward(pred, target, *, delta=1.0, out=None, backend=None):
    """Per-sample Huber loss: the mean over features of ``e^2 / 2`` where ``|e| <= delta``, else
    ``delta (|e| - delta / 2)``, with ``e = p - t``."""
    return _pointwise_forward("huber", pred, target, float(real("delta", delta)), out, backend)


@renames({"dpred": "out"})
def huber_backward(pred, target, *, delta=1.0, scale=None, out=None, backend=None):
    """Gradient of the Huber loss with respect to ``pred``: ``clip(p - t, -delta, delta) / F``, scaled."""
    return _pointwise_backward("huber", pred, target, float(real("delta", delta)), scale, out, backend)


@renames({"loss": "out"})
def kl_divergence_forward(pred, target, *, out=None, backend=None):
    """Per-sample Kullback-Leibler divergence ``sum_j t log(t / p)``, both clipped to [1e-7, 1] as in Keras."""
    return _pointwise_forward("kl_divergence", pred, target, 0.0, out, backend)


@renames({"dpred": "out"})
def kl_divergence_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the KL divergence with respect to ``pred``: ``-t / p``, zero where ``p`` was clipped; scaled."""
    return _pointwise_backward("kl_divergence", pred, target, 0.0, scale, out, backend)


@renames({"loss": "out"})
def categorical_hinge_forward(pred, target, *, out=None, backend=None):
    """Per-sample categorical hinge ``max(0, max_j (1 - t_j) p_j - sum_j t_j p_j + 1)`` against one-hot ``target``."""
    be, pred, target = prepare(backend, pred, target)
    loss = output(be, out, (shape_of(pred, "pred", 2)[0],), pred)
    be.kernels.categorical_hinge_forward(pred, target, loss)
    return loss


@renames({"dpred": "out"})
def categorical_hinge_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the categorical hinge with respect to ``pred``, scaled (default: the batch mean)."""
    be, pred, target = prepare(backend, pred, target)
    shape = shape_of(pred, "pred", 2)
    d = output(be, out, shape, pred)
    be.kernels.categorical_hinge_backward(pred, target, d, _mean_scale(shape[0], scale, pred))
    return d


def _pointwise_forward(kind, pred, target, param, out, backend):
    be, pred, target = prepare(backend, pred, target)
    loss = output(be, out, (shape_of(pred, "pred", 2)[0],), pred)
    be.kernels.pointwise_loss_forward(kind, pred, target, loss, param)
    return loss


def _pointwise_backward(kind, pred, target, param, scale, out, backend):
    be, pred, target = prepare(backend, pred, target)
    shape = shape_of(pred, "pred", 2)
    d = output(be, out, shape, pred)
    be.kernels.pointwise_loss_backward(kind, pred, target, d, _mean_scale(shape[0], scale, pred), param)
    return d
