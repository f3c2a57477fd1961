"""Layers: each a forward and a backward pass over fastnn.ops.

A layer declares its parameters in ``build`` (``add_weight``); the model
places every parameter in one flat buffer and hands the layer views into it
(``self.params``, ``self.grads``), which the fused optimizer updates in place.
Layers keep their activation and gradient buffers per batch shape, so a
training step in steady state allocates nothing.

Shapes passed to ``build`` exclude the batch axis.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from . import constraints as fconstraints
from . import initializers, ops
from ._checks import boolean, integer, name_arg, number
from .backend import Buffers
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
        self.name = name_arg("name", name)
        self.input_shape = None if input_shape is None else _shape("input_shape", input_shape)
        self.trainable = boolean("trainable", trainable)  # False freezes the parameters (and puts batch norm in inference mode)
        self.lr_multiplier = number("lr_multiplier", lr_multiplier, lo=0)  # scales this layer's rate (fine-tuning)
        self.activity_regularizer = fregularizers.get(activity_regularizer)
        self.output_shape = None
        self.specs: list[ParamSpec] = []
        self.params: dict = {}
        self.grads: dict = {}
        self.backend = None
        self.dtype = None
        self.needs_input_grad = True  # False for the first layer: its dx is never used
        self._buffers = Buffers()

    # -- building -------------------------------------------------------------
    def attach(self, backend, dtype):
        """Place the layer on the model's backend and dtype (before ``build``)."""
        self.backend, self.dtype = backend, dtype

    def build(self, input_shape):
        """Declare parameters for inputs of ``input_shape``; return the output shape."""
        return input_shape

    def add_weight(self, name, shape, initializer, fan_in=1, fan_out=1, is_bias=False, regularizer=None,
                   constraint=None, trainable=True):
        """Declare a parameter (in ``build``); the model allocates it and hands the layer a view."""
        self.specs.append(ParamSpec(name, tuple(shape), initializers.get(initializer), fan_in, fan_out, is_bias,
                                    fregularizers.get(regularizer), fconstraints.get(constraint), trainable))

    def buffer(self, name, shape, dtype=None):
        """A reusable array of ``shape``: allocated on first use, then returned again."""
        return self._buffers.get(self.backend, name, shape, dtype or self.dtype)

    # -- computing --------------------------------------------------------------
    def forward(self, x, training):
        """The layer's output for a batch ``x``; ``training`` selects dropout/batch-statistics behaviour."""
        raise NotImplementedError

    def backward(self, dy):
        """dx from dy for the last ``forward``, writing parameter gradients into ``self.grads``."""
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


def _shape(name, shape):
    """A shape without the batch axis: a tuple of positive ints."""
    expected = f"{name}: expected a tuple of positive ints, got"
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{expected} {type(shape).__name__}")
    if not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{expected} {shape!r}")
    return tuple(int(d) for d in shape)


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
        self.alpha = number("alpha", alpha)
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


class _KernelLayer(_Activated):
    """A layer with a kernel and an optional bias (Dense, Conv2D): their initializers,
    regularizers and constraints, and their place in the saved config."""

    def __init__(self, activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.use_bias = boolean("use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = fregularizers.get(kernel_regularizer)
        self.bias_regularizer = fregularizers.get(bias_regularizer)
        self.kernel_constraint = fconstraints.get(kernel_constraint)
        self.bias_constraint = fconstraints.get(bias_constraint)

    def add_kernel_and_bias(self, kernel_shape, fan_in, fan_out):
        self.add_weight("W", kernel_shape, self.kernel_initializer, fan_in, fan_out,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("b", kernel_shape[-1:], self.bias_initializer, fan_in, fan_out, is_bias=True,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def get_config(self):
        cfg = {**super().get_config(), "use_bias": self.use_bias,
               "kernel_initializer": self.kernel_initializer.get_config(),
               "bias_initializer": self.bias_initializer.get_config()}
        for key in ("kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"):
            if getattr(self, key) is not None:
                cfg[key] = getattr(self, key).get_config()
        return cfg


class Dense(_KernelLayer):
    """Fully connected layer: ``activation(x @ W + b)``.

    Args:
        units: number of output units.
        activation: name of the activation (see ``ACTIVATIONS``), default linear.
        use_bias: whether to add a bias.
        kernel_initializer: default Glorot uniform. bias_initializer: default zeros.
        input_shape: (features,) when this is the model's first layer.
    """

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.units = integer("units", units, lo=1)

    def build(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.name}: Dense expects flat inputs (features,), got shape {input_shape}; add Flatten()")
        self.add_kernel_and_bias((input_shape[0], self.units), input_shape[0], self.units)
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
        return {**super().get_config(), "units": self.units}


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


def _pair(v, name, lo=1, expected="a positive int or a pair of them"):
    """An int or a pair of ints -> a pair of ints >= ``lo``."""
    pair = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(pair) != 2 or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= lo
                                 for p in pair):
        raise ValueError(f"{name}: expected {expected}, got {v!r}")
    return tuple(int(p) for p in pair)


class Conv2D(_KernelLayer):
    """2-D convolution over channels-last images (N, H, W, C), as in Keras.

    Args:
        filters: output channels.
        kernel_size: int or (height, width).
        strides: int or pair. padding: ``'valid'``, ``'same'`` or explicit ints.
        dilation_rate: int or pair. activation: as for ``Dense``.
        kernel_initializer: default Glorot uniform (fan_in = kh*kw*C_in, fan_out = kh*kw*filters).

    The kernel has Keras' layout (kh, kw, C_in, filters); computed by im2col +
    GEMM in a workspace the layer allocates once per input shape.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.filters = integer("filters", filters, lo=1)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"padding: expected 'valid', 'same' or ints, got {padding!r}")
        self.padding = padding if isinstance(padding, str) else _pair(
            padding, "padding", lo=0, expected="'valid', 'same', an int >= 0 or a pair of them")

    def _geometry(self):
        return dict(stride=self.strides, padding=self.padding, dilation=self.dilation_rate)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: Conv2D expects images (height, width, channels), got shape {input_shape}")
        kh, kw = self.kernel_size
        c_in = input_shape[2]
        self._kshape = (kh, kw, c_in, self.filters)
        out = ops.conv2d_output_shape((1,) + tuple(input_shape), self._kshape, **self._geometry())
        self.add_kernel_and_bias(self._kshape, kh * kw * c_in, kh * kw * self.filters)
        return tuple(out[1:])

    def _workspace(self, x):
        n = ops.conv2d_workspace_size(x.shape, self._kshape, dtype=x.dtype, **self._geometry())
        return self.buffer("workspace", (n,))

    def forward(self, x, training):
        self._x = x
        z = self.buffer("z", (x.shape[0],) + self.output_shape)
        ops.conv2d_forward(x, self.params["W"], self.params.get("b"), out=z, workspace=self._workspace(x),
                           backend=self.backend, **self._geometry())
        return self.activate(z)

    def backward(self, dy):
        dz = self.activate_backward(dy)
        x = self._x
        dx = self.buffer("dx", x.shape) if self.needs_input_grad else None
        ops.conv2d_backward(x, self.params["W"], dz, need_dx=self.needs_input_grad, has_bias=self.use_bias, dx=dx,
                            dW=self.grads["W"], db=self.grads.get("b"), workspace=self._workspace(x),
                            backend=self.backend, **self._geometry())
        return dx

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation_rate": list(self.dilation_rate)}


class _Pool2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding: expected 'valid' or 'same', got {padding!r}")
        self.padding = padding

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: pooling expects images (height, width, channels), got shape {input_shape}")
        out = ops.pool2d_output_shape((1,) + tuple(input_shape), self.pool_size, strides=self.strides,
                                      padding=self.padding)
        return tuple(out[1:])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pool2D):
    """Max pooling (NHWC); the gradient goes to each window's arg-max (ties: the first in row-major order)."""

    def forward(self, x, training):
        self._x_shape = x.shape
        shape = (x.shape[0],) + self.output_shape
        y, self._argmax = ops.max_pool2d_forward(
            x, self.pool_size, strides=self.strides, padding=self.padding, out=self.buffer("y", shape),
            argmax=self.buffer("argmax", shape, "int32") if training else None, need_argmax=training,
            backend=self.backend)
        return y

    def backward(self, dy):
        return ops.max_pool2d_backward(dy, self._argmax, self._x_shape, self.pool_size, strides=self.strides,
                                       padding=self.padding, out=self.buffer("dx", self._x_shape), backend=self.backend)


class AveragePooling2D(_Pool2D):
    """Average pooling (NHWC); with 'same' padding the padded cells are not counted (as in Keras)."""

    def forward(self, x, training):
        self._x_shape = x.shape
        return ops.avg_pool2d_forward(x, self.pool_size, strides=self.strides, padding=self.padding,
                                      out=self.buffer("y", (x.shape[0],) + self.output_shape), backend=self.backend)

    def backward(self, dy):
        return ops.avg_pool2d_backward(dy, self._x_shape, self.pool_size, strides=self.strides, padding=self.padding,
                                       out=self.buffer("dx", self._x_shape), backend=self.backend)


class GlobalAveragePooling2D(Layer):
    """Mean over all pixels: (N, H, W, C) -> (N, C)."""

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects images (height, width, channels), got shape {input_shape}")
        return (input_shape[2],)

    def forward(self, x, training):
        self._x_shape = x.shape
        return ops.global_avg_pool2d_forward(x, out=self.buffer("y", (x.shape[0], x.shape[3])), backend=self.backend)

    def backward(self, dy):
        return ops.global_avg_pool2d_backward(dy, self._x_shape, out=self.buffer("dx", self._x_shape),
                                              backend=self.backend)


class BatchNormalization(Layer):
    """Batch normalization over the last (channel) axis, Keras' defaults (momentum 0.99, epsilon 1e-3).

    Training normalizes with batch statistics and updates the moving ones;
    inference (and a frozen layer, ``trainable = False``) uses the moving ones.
    gamma/beta are trainable; moving mean/variance are non-trainable.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = number("momentum", momentum, lo=0, hi=1)
        self.epsilon = number("epsilon", epsilon, lo=0, lo_open=True)

    def build(self, input_shape):
        c = input_shape[-1]
        self.add_weight("gamma", (c,), "ones", is_bias=True)
        self.add_weight("beta", (c,), "zeros", is_bias=True)
        self.add_weight("moving_mean", (c,), "zeros", trainable=False)
        self.add_weight("moving_variance", (c,), "ones", trainable=False)
        return input_shape

    def forward(self, x, training):
        self._x = x
        p = self.params
        c = x.shape[-1]
        self._batch_stats = training and self.trainable
        y, _, _ = ops.batchnorm_forward(
            x, p["gamma"], p["beta"], p["moving_mean"], p["moving_variance"], training=self._batch_stats,
            momentum=self.momentum, eps=self.epsilon, out=self.buffer("y", x.shape),
            save_mean=self.buffer("mean", (c,), "float64") if self._batch_stats else None,
            save_inv_std=self.buffer("inv_std", (c,), "float64") if self._batch_stats else None,
            backend=self.backend)
        return y

    def backward(self, dy):
        x, p = self._x, self.params
        if not self._batch_stats:  # frozen: y = gamma (x - mean) / sqrt(var + eps) + beta is affine in x
            scale = p["gamma"] / self.backend.xp.sqrt(p["moving_variance"] + self.epsilon)
            return self.backend.xp.multiply(dy, scale, out=self.buffer("dx", x.shape))
        c = x.shape[-1]
        dx, _, _ = ops.batchnorm_backward(x, p["gamma"], dy, self.buffer("mean", (c,), "float64"),
                                          self.buffer("inv_std", (c,), "float64"), dx=self.buffer("dx", x.shape),
                                          dgamma=self.grads["gamma"], dbeta=self.grads["beta"], backend=self.backend)
        return dx

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


def _seed(seed):
    """A random layer's own seed: None (derive one from the model's) or an int the kernels take."""
    return None if seed is None else integer("seed", seed, lo=0, hi=2**64 - 1, expected="an int in [0, 2**64)")


def _layer_seed(layer):
    """A random layer's seed: its own, or one derived from the model's seed and the layer's position."""
    return layer.seed if layer.seed is not None else (layer.model.seed * 1_000_003 + layer.index) % 2**63


class Dropout(Layer):
    """Inverted dropout: at training time zero each unit with probability ``rate`` and scale the
    rest by 1/(1 - rate); the identity at inference.

    The mask is a pure function of (seed, training step, element), so runs
    and resumed runs repeat exactly; the seed defaults to one derived from
    the model's seed and the layer's position.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = number("rate", rate, lo=0, hi=1, hi_open=True)
        self.seed = _seed(seed)

    def forward(self, x, training):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        return ops.dropout_forward(x, self.rate, seed=_layer_seed(self), step=self.model.step,
                                   out=self.buffer("y", x.shape), backend=self.backend)

    def backward(self, dy):
        if not self._active:
            return dy
        return ops.dropout_backward(dy, self.rate, seed=_layer_seed(self), step=self.model.step, out=dy,
                                    backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise at training time (a regularizer); the identity at inference.

    The noise is drawn on the layer's device from (seed, training step,
    element), like dropout's mask, so it repeats exactly in a resumed run; the
    seed defaults to one derived from the model's seed and the layer's position.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = number("stddev", stddev, lo=0)
        self.seed = _seed(seed)

    def forward(self, x, training):
        if not training or self.stddev == 0:
            return x
        return ops.gaussian_noise(x, self.stddev, seed=_layer_seed(self), step=self.model.step,
                                  out=self.buffer("y", x.shape), backend=self.backend)

    def backward(self, dy):
        return dy

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


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

    def forward(self, x, training):
        self._x = x
        return ops.prelu_forward(x, self.params["alpha"], out=self.buffer("y", x.shape), backend=self.backend)

    def backward(self, dy):
        dx, _ = ops.prelu_backward(self._x, self.params["alpha"], dy, dx=dy, dalpha=self.grads["alpha"],
                                   backend=self.backend)
        return dx

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer.get_config()}
