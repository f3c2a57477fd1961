"""Activation functions a = f(z) and their derivatives f'(z)."""
import numpy as np

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "swish")


def _sigmoid(z):
    # 1 / (1 + e^-z), evaluated without overflow for large |z|.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def activation_forward(kind, z, alpha=0.01):
    """a = f(z)."""
    if kind == "linear":
        return z.copy()
    if kind == "sigmoid":
        return _sigmoid(z)
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.maximum(z, 0)
    if kind == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if kind == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z)
    if kind == "swish":
        return z * _sigmoid(z)
    raise ValueError(f"kind: unknown activation {kind!r}")


def derivative(kind, z, alpha=0.01):
    """f'(z)."""
    if kind == "linear":
        return np.ones_like(z)
    if kind == "sigmoid":
        s = _sigmoid(z)
        return s * (1 - s)
    if kind == "tanh":
        return 1 - np.tanh(z) ** 2
    if kind == "relu":
        return (z > 0).astype(z.dtype)
    if kind == "leaky_relu":
        return np.where(z > 0, 1, alpha).astype(z.dtype)
    if kind == "softplus":
        return _sigmoid(z)
    if kind == "swish":
        s = _sigmoid(z)
        return s + z * s * (1 - s)
    raise ValueError(f"kind: unknown activation {kind!r}")


def activation_backward(kind, z, a, da, alpha=0.01):
    """Delta rule: dL/dz = dL/da * f'(z).

    relu selects rather than multiplies, as the kernels (and PyTorch) do: an inactive unit
    passes no gradient, even a NaN or infinite one (NaN * 0 would be NaN)."""
    if kind == "relu":
        return np.where(z > 0, da, np.zeros_like(da))
    return da * derivative(kind, z, alpha)
