"""Activation functions under Keras' names, as callables: ``keras.activations.relu(x)``.

Each runs fastnn's kernel on a NumPy (or CuPy) array, and can be passed as a
layer's ``activation=`` (``Dense(64, activation=activations.relu)``), where
the layer fuses it into its own kernels by name.
"""
from __future__ import annotations

from . import ops


def _elementwise(kind, doc):
    def fn(x):
        return ops.activation_forward(kind, x)

    fn.__name__ = fn.__qualname__ = kind
    fn.__doc__ = doc
    return fn


linear = _elementwise("linear", "The identity.")
sigmoid = _elementwise("sigmoid", "1 / (1 + exp(-x)).")
tanh = _elementwise("tanh", "The hyperbolic tangent.")
relu = _elementwise("relu", "max(x, 0).")
softplus = _elementwise("softplus", "log(1 + exp(x)).")
swish = _elementwise("swish", "x * sigmoid(x) (also called silu).")
silu = swish


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, ``negative_slope * x`` otherwise (Keras' activation default 0.2)."""
    return ops.activation_forward("leaky_relu", x, alpha=negative_slope)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over the last axis (the only axis fastnn's kernel takes)."""
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"axis: fastnn's softmax runs over the last axis, got {axis!r}")
    flat = x.reshape(-1, x.shape[-1])
    return ops.softmax_forward(flat).reshape(x.shape)


_BY_NAME = {f.__name__: f for f in (linear, sigmoid, tanh, relu, softplus, swish, leaky_relu, softmax)}
_BY_NAME["silu"] = swish


def get(identifier):
    """An activation function from its name or the function itself (None: linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    if callable(identifier) and _BY_NAME.get(getattr(identifier, "__name__", None)) is identifier:
        return identifier
    raise ValueError(f"activation: expected one of {', '.join(sorted(_BY_NAME))} or one of fastnn.activations' "
                     f"functions, got {identifier!r}")


def name_of(identifier):
    """The kernel name a layer uses for ``identifier`` (a name or one of this module's functions)."""
    return "swish" if get(identifier) is swish else get(identifier).__name__
