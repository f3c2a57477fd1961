"""Element-wise losses: mean squared error, binary cross-entropy on logits, mean absolute
error, Huber, KL divergence and the categorical hinge.

Forward functions return the per-sample loss, shape (M,): the mean over the
features of each row (the batch loss is ``loss.mean()``). Backward functions
return the gradient of ``scale * loss.sum()``, by default (``scale = 1/M``)
that of the mean.
"""
from ._util import loss_gradient, per_sample_loss, real, renames

# All but the categorical hinge are kinds of the pointwise_loss kernels (FASTNN_POINTWISE_LOSSES in
# csrc/common/loss_math.h): kl_divergence sums its terms over the features (as Keras does), the others
# average them.


@renames({"loss": "out"})
def mse_forward(pred, target, *, out=None, backend=None):
    """Per-sample mean squared error of 2-D ``pred`` against ``target``."""
    return per_sample_loss("pointwise_loss_forward", pred, "pred", target, out, backend, 0.0, kind="mse")


@renames({"dpred": "out"})
def mse_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the mean squared error with respect to ``pred``."""
    return loss_gradient("pointwise_loss_backward", pred, "pred", target, scale, out, backend, 0.0, kind="mse")


@renames({"loss": "out"})
def bce_logits_forward(logits, target, *, out=None, backend=None):
    """Per-sample binary cross-entropy of ``sigmoid(logits)`` against 0/1 (or soft) targets.

    Computed from the logits in the stable form ``max(z,0) - z t + log(1 + e^-|z|)``.
    """
    return per_sample_loss(
        "pointwise_loss_forward", logits, "logits", target, out, backend, 0.0, kind="bce_logits"
    )


@renames({"dlogits": "out"})
def bce_logits_backward(logits, target, *, scale=None, out=None, backend=None):
    """Gradient of the binary cross-entropy with respect to the logits: ``sigmoid(z) - t``, scaled."""
    return loss_gradient(
        "pointwise_loss_backward", logits, "logits", target, scale, out, backend, 0.0, kind="bce_logits"
    )


@renames({"loss": "out"})
def mae_forward(pred, target, *, out=None, backend=None):
    """Per-sample mean absolute error ``mean_j |p - t|`` of 2-D ``pred`` against ``target``."""
    return per_sample_loss("pointwise_loss_forward", pred, "pred", target, out, backend, 0.0, kind="mae")


@renames({"dpred": "out"})
def mae_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the mean absolute error with respect to ``pred``: ``sign(p - t) / F``, scaled."""
    return loss_gradient("pointwise_loss_backward", pred, "pred", target, scale, out, backend, 0.0, kind="mae")


@renames({"loss": "out"})
def huber_forward(pred, target, *, delta=1.0, out=None, backend=None):
    """Per-sample Huber loss: the mean over features of ``e^2 / 2`` where ``|e| <= delta``, else
    ``delta (|e| - delta / 2)``, with ``e = p - t``."""
    return per_sample_loss(
        "pointwise_loss_forward", pred, "pred", target, out, backend, float(real("delta", delta)), kind="huber"
    )


@renames({"dpred": "out"})
def huber_backward(pred, target, *, delta=1.0, scale=None, out=None, backend=None):
    """Gradient of the Huber loss with respect to ``pred``: ``clip(p - t, -delta, delta) / F``, scaled."""
    return loss_gradient(
        "pointwise_loss_backward", pred, "pred", target, scale, out, backend, float(real("delta", delta)), kind="huber"
    )


@renames({"loss": "out"})
def kl_divergence_forward(pred, target, *, out=None, backend=None):
    """Per-sample Kullback-Leibler divergence ``sum_j t log(t / p)``, both clipped to [1e-7, 1] as in Keras."""
    return per_sample_loss("pointwise_loss_forward", pred, "pred", target, out, backend, 0.0, kind="kl_divergence")


@renames({"dpred": "out"})
def kl_divergence_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the KL divergence with respect to ``pred``: ``-t / p``, zero where ``p`` was clipped; scaled."""
    return loss_gradient(
        "pointwise_loss_backward", pred, "pred", target, scale, out, backend, 0.0, kind="kl_divergence"
    )


@renames({"loss": "out"})
def categorical_hinge_forward(pred, target, *, out=None, backend=None):
    """Per-sample categorical hinge ``max(0, max_j (1 - t_j) p_j - sum_j t_j p_j + 1)`` against one-hot ``target``."""
    return per_sample_loss("categorical_hinge_forward", pred, "pred", target, out, backend)


@renames({"dpred": "out"})
def categorical_hinge_backward(pred, target, *, scale=None, out=None, backend=None):
    """Gradient of the categorical hinge with respect to ``pred``, scaled (default: the batch mean)."""
    return loss_gradient("categorical_hinge_backward", pred, "pred", target, scale, out, backend)

