"""Optimizer update rules, one textbook formula each.

``g`` is the loss gradient; the regularizers add their own gradient first:
L2 adds l2 * w and L1 adds l1 * sign(w). State arrays are updated in place.
"""
import numpy as np


def optimizer_update(kind, w, g, s1=None, s2=None, *, lr, rho=0.0, beta2=0.0, eps=0.0, l1=0.0, l2=0.0,
                     weight_decay=0.0, step=1):
    g = g + l2 * w + l1 * np.sign(w)
    w -= lr * weight_decay * w  # decoupled weight decay, before every optimizer's update (Keras 3)
    if kind == "sgd":
        w -= lr * g
    elif kind == "momentum":  # velocity accumulates gradients
        s1[:] = rho * s1 + g
        w -= lr * s1
    elif kind == "momentum_avg":  # velocity is a moving average of gradients
        s1[:] = rho * s1 + (1 - rho) * g
        w -= lr * s1
    elif kind == "nesterov":  # look ahead along the velocity
        s1[:] = rho * s1 + g
        w -= lr * (g + rho * s1)
    elif kind == "adagrad":  # per-weight rate shrinks with the sum of squared gradients
        s1 += g * g
        w -= lr * g / (np.sqrt(s1) + eps)
    elif kind == "adadelta":  # ratio of RMS of past updates to RMS of gradients
        s1[:] = rho * s1 + (1 - rho) * g * g
        d = np.sqrt(s2 + eps) / np.sqrt(s1 + eps) * g
        s2[:] = rho * s2 + (1 - rho) * d * d
        w -= lr * d
    elif kind == "rmsprop":  # divide by a moving RMS of gradients
        s1[:] = rho * s1 + (1 - rho) * g * g
        w -= lr * g / (np.sqrt(s1) + eps)
    elif kind in ("adam", "adamw"):  # momentum + RMSProp, bias-corrected
        s1[:] = rho * s1 + (1 - rho) * g
        s2[:] = beta2 * s2 + (1 - beta2) * g * g
        m_hat = s1 / (1 - rho**step)
        v_hat = s2 / (1 - beta2**step)
        w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    elif kind == "nadam":  # Adam with Nesterov momentum and Dozat's momentum schedule (Keras 3's form)
        u = lambda t: rho * (1 - 0.5 * 0.96**t)
        p_t = np.prod([u(t) for t in range(1, step + 1)])
        s1[:] = rho * s1 + (1 - rho) * g
        s2[:] = beta2 * s2 + (1 - beta2) * g * g
        m_hat = u(step + 1) * s1 / (1 - p_t * u(step + 1)) + (1 - u(step)) * g / (1 - p_t)
        w -= lr * m_hat / (np.sqrt(s2 / (1 - beta2**step)) + eps)
    elif kind == "adamax":  # Adam with the infinity norm in place of the RMS
        s1[:] = rho * s1 + (1 - rho) * g
        s2[:] = np.maximum(beta2 * s2, np.abs(g))
        w -= lr * s1 / ((1 - rho**step) * (s2 + eps))
    else:
        raise ValueError(f"kind: unknown optimizer {kind!r}")


def ema_update(average, w, decay):
    """Exponential moving average of the weights, in place: average = decay * average + (1 - decay) * w."""
    average[:] = decay * average + (1 - decay) * w


def max_norm_project(w, max_norm):
    """Rescale each unit's incoming weight vector (a column, last axis = units) to norm <= max_norm."""
    W = w.reshape(-1, w.shape[-1])
    norms = np.sqrt((W * W).sum(axis=0))
    W *= np.where(norms > max_norm, max_norm / np.maximum(norms, 1e-300), 1.0)
