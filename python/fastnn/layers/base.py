"""The layer base class: parameters declared in ``build``, a forward and a backward pass.

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

from .. import constraints as fconstraints
from .. import initializers
from .. import regularizers as fregularizers
from .._checks import boolean, name_arg, number
from ..backend import Buffers


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
    ``forward(x, training, step) -> y`` and ``backward(dy) -> dx``;
    ``backward`` writes parameter gradients into ``self.grads`` (views into
    the model's flat gradient buffer).
    """

    def __init__(self, name=None, input_shape=None, trainable=True, lr_multiplier=1.0, activity_regularizer=None):
        self.name = name_arg("name", name)
        self.input_shape = None if input_shape is None else shape_arg("input_shape", input_shape)
        self._trainable = boolean("trainable", trainable)
        self._lr_multiplier = number("lr_multiplier", lr_multiplier, lo=0)
        self.activity_regularizer = fregularizers.get(activity_regularizer)
        self.output_shape = None
        self.specs: list[ParamSpec] = []
        self.params: dict = {}
        self.grads: dict = {}
        self.backend = None
        self.dtype = None
        self.owner = None             # the model whose parameter buffer holds this layer's weights
        self.default_seed = 0         # seed of random layers built without one (from the model's seed)
        self.needs_input_grad = True  # False for the first layer: its dx is never used
        self._buffers = Buffers()

    # -- hyperparameters the optimizer groups by ------------------------------------
    @property
    def trainable(self):
        """False freezes the parameters (and puts batch norm in inference mode)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = boolean("trainable", value)
        self._changed()

    @property
    def lr_multiplier(self):
        """Scales this layer's learning rate (fine-tuning with a smaller rate for early layers)."""
        return self._lr_multiplier

    @lr_multiplier.setter
    def lr_multiplier(self, value):
        self._lr_multiplier = number("lr_multiplier", value, lo=0)
        self._changed()

    def _changed(self):
        # The owner computes its optimizer groups once; tell it they changed.
        if self.owner is not None:
            self.owner.layers_changed()

    # -- building -------------------------------------------------------------
    def attach(self, backend, dtype, owner=None, default_seed=0, needs_input_grad=True):
        """Place the layer on a model's backend and dtype (before ``build``)."""
        self.backend, self.dtype, self.owner = backend, dtype, owner
        self.default_seed, self.needs_input_grad = default_seed, needs_input_grad

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

    def compute_output_shape(self, input_shape):
        """The output shape for inputs of ``input_shape`` (no batch axis), the weights left alone."""
        specs, self.specs = self.specs, []
        try:
            return tuple(self.build(input_shape))
        finally:
            self.specs = specs

    def __call__(self, inputs):
        """On symbolic tensors (``fastnn.Input``), record this layer's use in a functional model and
        return its symbolic output. Differs from Keras on purpose: a layer does not compute on arrays
        by itself (its weights live in a model); use ``model(x)`` or ``model.predict(x)``."""
        from .symbolic import call_symbolic, is_symbolic

        if not is_symbolic(inputs):
            raise TypeError(f"inputs: layer {self.name or type(self).__name__!r} was called on "
                            f"{type(inputs).__name__}; call it on fastnn.Input(...) tensors to build a functional "
                            f"model (fastnn.Model(inputs, outputs)), then use model(x) or model.predict(x)")
        return call_symbolic(self, inputs)

    @property
    def output(self):
        """The symbolic output of this layer's one call on symbolic tensors (Keras' ``layer.output``)."""
        nodes = getattr(self, "symbolic_nodes", [])
        if len(nodes) != 1:
            raise ValueError(f"layer {self.name!r} was called {len(nodes)} times on symbolic tensors; "
                             f"``output`` needs exactly one call (keep the tensor each call returned)")
        return nodes[0].output

    # -- computing --------------------------------------------------------------
    def forward(self, x, training=False, step=0):
        """The layer's output for a batch ``x``.

        ``training`` selects dropout/batch-statistics behaviour; ``step`` (the
        optimizer's step count) keys the random draws of dropout and noise.
        """
        raise NotImplementedError

    def backward(self, dy):
        """dx from dy for the last ``forward``, writing parameter gradients into ``self.grads``."""
        raise NotImplementedError

    # -- weights, as Keras names them ---------------------------------------------
    @property
    def weights(self):
        """The layer's parameters (views into the model's buffers) in Keras' order: kernel, bias, ...;
        batch norm: gamma, beta, moving mean, moving variance."""
        return [self.params[s.name] for s in self.specs]

    @property
    def trainable_weights(self):
        return [self.params[s.name] for s in self.specs if s.trainable and self.trainable]

    @property
    def non_trainable_weights(self):
        return [self.params[s.name] for s in self.specs if not (s.trainable and self.trainable)]

    def get_weights(self):
        """Copies of ``weights`` as NumPy arrays."""
        return [_host_copy(w) for w in self.weights]

    def set_weights(self, weights):
        """Copy ``weights`` (a list like ``get_weights()`` returns) into the layer, checking every shape."""
        if not isinstance(weights, (list, tuple)) or len(weights) != len(self.specs):
            raise ValueError(f"weights: {self.name} expects a list of {len(self.specs)} arrays "
                             f"({', '.join(s.name for s in self.specs)}), got {type(weights).__name__}"
                             + (f" of {len(weights)}" if isinstance(weights, (list, tuple)) else ""))
        for spec, w in zip(self.specs, weights):
            shape = tuple(getattr(w, "shape", ()))
            if shape != spec.shape:
                raise ValueError(f"weights: {self.name}'s {spec.name} has shape {spec.shape}, got {shape}")
        xp = self.backend.xp
        for spec, w in zip(self.specs, weights):
            self.params[spec.name][...] = xp.asarray(_host_copy(w) if hasattr(w, "get") else w)

    def count_params(self, trainable=None):
        """Number of parameters (only trainable or non-trainable ones when asked)."""
        return sum(prod(s.shape) for s in self.specs if trainable is None or s.trainable == trainable)

    def get_config(self):
        """Constructor arguments that rebuild this layer (saved with the model)."""
        cfg = {"name": self.name, "trainable": self.trainable, "lr_multiplier": self.lr_multiplier}
        if self.input_shape is not None:
            cfg["input_shape"] = list(self.input_shape)
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = self.activity_regularizer.get_config()
        return cfg


def _host_copy(a):
    import numpy as np

    return np.array(a.get() if hasattr(a, "get") else a, copy=True)


def shape_arg(name, shape):
    """A shape without the batch axis: a tuple of positive ints."""
    expected = f"{name}: expected a tuple of positive ints, got"
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{expected} {type(shape).__name__}")
    if not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{expected} {shape!r}")
    return tuple(int(d) for d in shape)


def pair_arg(v, name, lo=1, expected="a positive int or a pair of them"):
    """An int or a pair of ints -> a pair of ints >= ``lo``."""
    pair = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(pair) != 2 or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= lo
                                 for p in pair):
        raise ValueError(f"{name}: expected {expected}, got {v!r}")
    return tuple(int(p) for p in pair)


def prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


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
