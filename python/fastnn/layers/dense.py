"""Fully connected layers, and the kernel-and-bias base Dense and Conv2D share."""
from __future__ import annotations

from .. import constraints as fconstraints
from .. import initializers, ops
from .. import regularizers as fregularizers
from .._checks import boolean, integer
from .activation import Activated


class KernelLayer(Activated):
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

    @property
    def kernel(self):
        """The kernel (a view into the model's parameter buffer)."""
        return self.params["W"]

    @property
    def bias(self):
        """The bias, or None without one."""
        return self.params.get("b")

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


class Dense(KernelLayer):
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

    def forward(self, x, training=False, step=0):
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
