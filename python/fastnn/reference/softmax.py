"""Softmax and cross-entropy."""
import numpy as np


def softmax_forward(x):
    """softmax(x)_c = e^{x_c} / sum_k e^{x_k}; shifting by the row max changes nothing but avoids overflow."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(y, dy):
    """Jacobian-vector product of softmax: dx_c = y_c (dy_c - sum_k dy_k y_k)."""
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))


def one_hot(target, C, dtype):
    """Class indices -> one-hot rows; one-hot rows pass through."""
    if target.ndim == 1:
        t = np.zeros((target.shape[0], C), dtype=dtype)
        t[np.arange(target.shape[0]), target] = 1
        return t
    return target


def softmax_cross_entropy_forward(logits, target):
    """p = softmax(z); per-sample loss L_i = -sum_c t_ic log p_ic."""
    p = softmax_forward(logits)
    t = one_hot(target, logits.shape[1], logits.dtype)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    with np.errstate(invalid="ignore"):
        return p, -np.where(t != 0, t * log_p, 0).sum(axis=1)  # 0 log 0 = 0: a -inf logit of another class costs nothing


def softmax_cross_entropy_backward(probs, target, scale=None):
    """dL/dz = p - t for each sample (softmax and cross-entropy's Jacobians cancel), scaled."""
    M, C = probs.shape
    t = one_hot(target, C, probs.dtype)
    scale = 1.0 / M if scale is None else scale
    return scale * (t.sum(axis=1, keepdims=True) * probs - t)
