"""SpatialDropout2D: dropout's mask over (sample, channel), broadcast over the pixels."""
from .dropout import dropout_mask


def spatial_dropout_forward(x, p, seed, step, training=True):
    """y = x * keep[n, c] / (1 - p), keep = dropout's mask of shape (N, C); the identity at inference."""
    if not training:
        return x.copy()
    keep = dropout_mask((x.shape[0], x.shape[3]), p, seed, step)
    return (x * keep[:, None, None, :] / (1 - p)).astype(x.dtype)


def spatial_dropout_backward(dy, p, seed, step):
    """The same mask and scale: dx = dy * keep[n, c] / (1 - p)."""
    return spatial_dropout_forward(dy, p, seed, step)
