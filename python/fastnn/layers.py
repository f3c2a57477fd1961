"""Layers: each a forward and a backward pass over fastnn.ops.

A layer declares its parameters in ``build`` (``add_weight``); the model
places every parameter in one flat buffer and hands the layer views into it
(``self.params``, ``self.grads``), which the fused optimizer updates in place.
Layers keep their activation and gradient buffers per batch shape, so a
training step in steady state allocates nothing.

Shapes passed to ``build`` exclude the batch axis.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import constraints as fconstraints
from . import initializers, ops
from . import regularizers as fregularizers

ACTIVATIONS = ops.ACTIVATIONS + ("softmax",)


@dataclass
class ParamSpec:
    """A parameter a layer asks the model for.

    Trainable parameters live in the model's flat parameter buffer (updated by
    the optimizer); non-trainable ones (batch-norm running statistics) in its
    flat state buffer.
    """

    name: str
    shape: tuple
    initializer: initializers.Initializer
    fan_in: int
    fan_out: int
    is_bias: bool = False
    regularizer: fregularizers.Regularizer = None
    constraint: fconstraints.MaxNorm = None
    trainable: bool = True


class Layer:
    """Base class of all layers.

    Subclasses implement ``build(input_shape) -> output_shape``,
    ``forward(x, training) -> y`` and ``backward(dy) -> dx``; ``backward``
    writes parameter gradients into ``self.grads`` (views into the model's
    flat gradient buffer).
    """

    def __init__(self, name=None, input_shape=None, trainable=True, lr_multiplier=1.0, activity_regularizer=None):
        self.name = name
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.trainable = trainable  # False freezes the parameters (and puts batch norm in inference mode)
        if not lr_multiplier >= 0:
            raise ValueError(f"lr_multiplier: expected a value >= 0, got {lr_multiplier!r}")
        self.lr_multiplier = float(lr_multiplier)  # scales the learning rate of this layer (fine-tuning)
        self.activity_regularizer = fregularizers.get(activity_regularizer)
        self.output_shape = None
        self.specs: list[ParamSpec] = []
        self.params: dict = {}
        self.grads: dict = {}
        self.backend = None
        self.dtype = None
        self.needs_input_grad = True  # False for the first layer: its dx is never used
        self._buffers: dict = {}

    # -- building -------------------------------------------------------------
    def attach(self, backend, dtype):
        self.backend, self.dtype = backend, dtype

    def build(self, input_shape):
        """Declare parameters for inputs of ``input_shape``; return the output shape."""
        return input_shape

    def add_weight(self, name, shape, initializer, fan_in=1, fan_out=1, is_bias=False, regularizer=None,
                   constraint=None, trainable=True):
        self.specs.append(ParamSpec(name, tuple(shape), initializers.get(initializer), fan_in, fan_out, is_bias,
                                    fregularizers.get(regularizer), fconstraints.get(constraint), trainable))

    def buffer(self, name, shape, dtype=None):
        """A reusable array of ``shape``: allocated on first use, then returned again."""
        key = (name, shape)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = self.backend.empty(shape, dtype or self.dtype)
        return buf

    # -- computing --------------------------------------------------------------
    def forward(self, x, training):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def count_params(self, trainable=None):
        """Number of parameters (only trainable or non-trainable ones when asked)."""
        return sum(int(_prod(s.shape)) for s in self.specs if trainable is None or s.trainable == trainable)

    def get_config(self):
        """Constructor arguments that rebuild this layer (saved with the model)."""
        cfg = {"name": self.name, "trainable": self.trainable, "lr_multiplier": self.lr_multiplier}
        if self.input_shape is not None:
            cfg["input_shape"] = list(self.input_shape)
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = self.activity_regularizer.get_config()
        return cfg


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _check_activation(activation):
    if activation is None:
        return "linear"
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return activation


class _Activated(Layer):
    """Mixin for layers with an ``activation=`` argument, applied after the layer's linear map.

    With ``softmax`` as the final activation and cross-entropy as the loss, the
    model asks for logits (``logits_only``) and fuses softmax into the loss.
    """

    def __init__(self, activation=None, alpha=ops.activation.LEAKY_RELU_ALPHA, **kwargs):
        super().__init__(**kwargs)
        self.activation = _check_activation(activation)
        self.alpha = alpha
        self.logits_only = False

    def activate(self, z):
        if self.logits_only or self.activation == "linear":
            self._z = self._a = z
            return z
        a = self.buffer("a", z.shape)
        if self.activation == "softmax":
            ops.softmax_forward(z.reshape(-1, z.shape[-1]), out=a.reshape(-1, z.shape[-1]), backend=self.backend)
        else:
            ops.activation_forward(self.activation, z, alpha=self.alpha, out=a, backend=self.backend)
        self._z, self._a = z, a
        return a

    def activate_backward(self, da):
        """dz from da, computed in place into da (da is this layer's own scratch)."""
        if self.logits_only or self.activation == "linear":
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


class Dense(_Activated):
    """Fully connected layer: ``activation(x @ W + b)``.

    Args:
        units: number of output units.
        activation: name of the activation (see ``ACTIVATIONS``), default linear.
        use_bias: whether to add a bias.
        kernel_initializer: default Glorot uniform. bias_initializer: default zeros.
        input_shape: (features,) when this is the model's first layer.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units: expected a positive int, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = fregularizers.get(kernel_regularizer)
        self.bias_regularizer = fregularizers.get(bias_regularizer)
        self.kernel_constraint = fconstraints.get(kernel_constraint)
        self.bias_constraint = fconstraints.get(bias_constraint)

    def build(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.name}: Dense expects flat inputs (features,), got shape {input_shape}; add Flatten()")
        fan_in = input_shape[0]
        self.add_weight("W", (fan_in, self.units), self.kernel_initializer, fan_in, self.units,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("b", (self.units,), self.bias_initializer, fan_in, self.units, is_bias=True,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        return (self.units,)

    def _fused_activation(self):
        """The element-wise activation the dense kernels apply in their epilogue (softmax is row-wise: not fused)."""
        return "linear" if self.logits_only or self.activation == "softmax" else self.activation

    def forward(self, x, training):
        self._x = x
        shape = (x.shape[0], self.units)
        f = self._fused_activation()
        z = self.buffer("z", shape)
        y = ops.dense_forward(x, self.params["W"], self.params.get("b"), activation=f, alpha=self.alpha,
                              preact=z, out=z if f == "linear" else self.buffer("a", shape), backend=self.backend)
        self._z = z
        if f == "linear" and self.activation == "softmax" and not self.logits_only:
            return self.activate(z)
        self._a = y
        return y

    def backward(self, dy):
        f = self._fused_activation()
        if f == "linear":
            dy = self.activate_backward(dy)  # softmax (or nothing)
        x = self._x
        dx = self.buffer("dx", x.shape) if self.needs_input_grad else None
        ops.dense_backward(x, self.params["W"], dy, activation=f, preact=self._z, y=self._a, alpha=self.alpha,
                           dz=dy, need_dx=self.needs_input_grad, has_bias=self.use_bias, dx=dx,
                           dW=self.grads["W"], db=self.grads.get("b"), backend=self.backend)
        return dx

    def get_config(self):
        cfg = {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
               "kernel_initializer": self.kernel_initializer.get_config(),
               "bias_initializer": self.bias_initializer.get_config()}
        for key in ("kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"):
            if getattr(self, key) is not None:
                cfg[key] = getattr(self, key).get_config()
        return cfg


class Activation(_Activated):
    """Applies an activation function by name: ``Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def forward(self, x, training):
        return self.activate(x)

    def backward(self, dy):
        return self.activate_backward(dy)


class Flatten(Layer):
    """Flattens each sample to one axis: (N, H, W, C) -> (N, H*W*C). A view, no copy."""

    def build(self, input_shape):
        self._in_shape = tuple(input_shape)
        return (_prod(input_shape),)

    def forward(self, x, training):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self._in_shape)


def registry():
    """Layer classes by name, for rebuilding saved models."""
    out = {}
    stack = [Layer]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if not sub.__name__.startswith("_"):
                out[sub.__name__] = sub
            stack.append(sub)
    return out
