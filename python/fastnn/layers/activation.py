"""Activation layers, and the ``activation=`` argument other layers share."""
from __future__ import annotations

import numbers

from .. import initializers, ops
from .._checks import number
from .base import Layer

ACTIVATIONS = ops.ACTIVATIONS + ("softmax",)


def check_activation(activation):
    """An activation name from ``ACTIVATIONS`` (None means linear); ``fastnn.activations``' functions
    (``activations.relu``) and Keras' name ``'silu'`` count as their names."""
    if activation is None:
        return "linear"
    if callable(activation) or activation == "silu":
        from .. import activations

        return activations.name_of(activation)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return activation


class Activated(Layer):
    """Base of layers with an ``activation=`` argument, applied after the layer's linear map.

    With ``softmax`` as the final activation and cross-entropy as the loss, the
    model asks for logits (``logits_only``) and fuses softmax into the loss.
    """

    def __init__(self, activation=None, alpha=ops.activation.LEAKY_RELU_ALPHA, **kwargs):
        super().__init__(**kwargs)
        self.activation = check_activation(activation)
        self.alpha = number("alpha", alpha)
        self.logits_only = False

    def activate(self, z, in_place=False):
        """f(z); ``in_place=True`` (inference, z the layer's own scratch) writes it over z, keeping no
        pre-activation buffer (softmax always gets its own)."""
        if self.logits_only or self.activation == "linear":
            self._z = self._a = z
            return z
        if in_place and self.activation != "softmax":
            ops.activation_forward(self.activation, z, alpha=self.alpha, out=z, backend=self.backend)
            self._z = self._a = None  # no backward after an inference pass
            return z
        a = self.buffer("a", z.shape)
        if self.activation == "softmax":
            ops.softmax_forward(z.reshape(-1, z.shape[-1]), out=a.reshape(-1, z.shape[-1]), backend=self.backend)
        else:
            ops.activation_forward(self.activation, z, alpha=self.alpha, out=a, backend=self.backend)
        self._z, self._a = z, a
        return a

    def kernel_activation(self, training):
        """The activation the layer's kernel may apply itself as it writes the output (then call
        ``activated``), or None (then call ``activate``). Never linear, softmax or a fused loss's logits;
        in training only one whose derivative ``activate_backward`` gets exactly from the output alone, as
        no pre-activation is kept: relu and leaky_relu (slope >= 0) test a > 0, which is z > 0; sigmoid
        and tanh read only a."""
        f = self.activation
        if self.logits_only or f in ("linear", "softmax"):
            return None
        if training and f not in ("relu", "sigmoid", "tanh") and not (f == "leaky_relu" and self.alpha >= 0):
            return None
        return f

    def activated(self, a):
        """``a``, written by a kernel that applied ``kernel_activation``: kept as both z and a for
        ``activate_backward``."""
        self._z = self._a = a
        return a

    derivative_applied = False  # True while a model's plan has applied f' already (models/fusion.py)

    def activate_backward(self, da):
        """dz from da, computed in place into da (da is this layer's own scratch)."""
        if self.logits_only or self.activation == "linear" or self.derivative_applied:
            return da
        if self.activation == "softmax":
            C = da.shape[-1]
            dz = self.buffer("dz", da.shape)
            ops.softmax_backward(self._a.reshape(-1, C), da.reshape(-1, C), out=dz.reshape(-1, C), backend=self.backend)
            return dz
        return ops.activation_backward(self.activation, self._z, self._a, da, alpha=self.alpha, out=da,
                                       backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation, "alpha": self.alpha}


class Activation(Activated):
    """Applies an activation function by name: ``Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def forward(self, x, training=False, step=0):
        return self.activate(x)

    def backward(self, dy):
        return self.activate_backward(dy)


class _FixedActivation(Activation):
    """An ``Activation`` whose function the class fixes (its config omits it)."""

    kind = None

    def __init__(self, **kwargs):
        super().__init__(self.kind, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        del cfg["activation"], cfg["alpha"]
        return cfg


class ReLU(_FixedActivation):
    """max(x, 0)."""

    kind = "relu"


class LeakyReLU(_FixedActivation):
    """x for x > 0, ``negative_slope * x`` otherwise (Keras' default slope 0.3)."""

    kind = "leaky_relu"

    def __init__(self, negative_slope=0.3, **kwargs):
        self.negative_slope = number("negative_slope", negative_slope, lo=0)
        super().__init__(alpha=self.negative_slope, **kwargs)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(_FixedActivation):
    """Softmax over the last axis."""

    kind = "softmax"


class PReLU(Layer):
    """Parametric ReLU: ``x`` for x > 0, ``alpha * x`` otherwise, with a learnable slope per channel
    (the last axis), initialized to ``alpha_initializer`` (default 0.25)."""

    def __init__(self, alpha_initializer=0.25, **kwargs):
        super().__init__(**kwargs)
        is_number = isinstance(alpha_initializer, numbers.Real) and not isinstance(alpha_initializer, bool)
        self.alpha_initializer = initializers.get(
            initializers.Constant(alpha_initializer) if is_number else alpha_initializer)

    def build(self, input_shape):
        self.add_weight("alpha", (input_shape[-1],), self.alpha_initializer, is_bias=True)
        return input_shape

    def forward(self, x, training=False, step=0):
        self._x = x
        return ops.prelu_forward(x, self.params["alpha"], out=self.buffer("y", x.shape), backend=self.backend)

    def backward(self, dy):
        dx, _ = ops.prelu_backward(self._x, self.params["alpha"], dy, dx=dy, dalpha=self.grads["alpha"],
                                   backend=self.backend)
        return dx

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer.get_config()}
