"""Symbolic tensors: ``fastnn.Input`` and layers called on it record the graph of a functional model.

``x = layer(inputs)`` on symbolic tensors builds nothing and computes
nothing: it records a ``Node`` (the layer, its input tensors, its output
tensor) and infers the output's shape, so a shape mismatch is an error at
construction, naming the layers and shapes. ``fastnn.Model(inputs, outputs)``
then walks the nodes back from ``outputs``.
"""
from __future__ import annotations

import numpy as np

from .._checks import name_arg
from .base import Layer, shape_arg


class Node:
    """One call of ``op`` (a layer, a model, or an ``InputLayer``) on symbolic ``inputs``."""

    def __init__(self, op, inputs, output_shape):
        self.op, self.inputs = op, list(inputs)
        self.output = KerasTensor(output_shape, node=self)
        if not hasattr(op, "symbolic_nodes"):
            op.symbolic_nodes = []
        op.symbolic_nodes.append(self)


class KerasTensor:
    """A symbolic tensor (Keras' ``KerasTensor``): a shape, and the node that produces it.

    ``shape`` includes the batch axis as ``None``, as in Keras.
    """

    def __init__(self, sample_shape, node=None, dtype="float32", name=None):
        self.sample_shape = tuple(int(d) for d in sample_shape)
        self.node, self.dtype, self.name = node, np.dtype(dtype).name, name

    @property
    def shape(self):
        return (None,) + self.sample_shape

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        producer = self.node.op.name if self.node is not None and self.node.op.name else "?"
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, from={producer!r}>"


class InputLayer(Layer):
    """The layer behind ``fastnn.Input``: a model's input, no parameters (``model.layers`` lists it, as Keras)."""

    def __init__(self, shape=None, dtype="float32", name=None, batch_shape=None, **kwargs):
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        super().__init__(name=name, input_shape=shape_arg("shape", shape), **kwargs)
        self.dtype_name = np.dtype(dtype or "float32").name
        Node(self, [], self.input_shape).output.name = name

    def build(self, input_shape):
        return input_shape

    def forward(self, x, training=False, step=0):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"name": self.name, "shape": list(self.input_shape), "dtype": self.dtype_name}


def Input(shape=None, batch_size=None, dtype=None, name=None):  # noqa: N802 - Keras' name
    """A model's input, as a symbolic tensor (Keras' ``Input``).

    ``x = fastnn.Input(shape=(28, 28, 1)); y = Dense(10)(Flatten()(x));
    model = fastnn.Model(x, y)`` builds a functional model;
    ``Sequential([fastnn.Input(shape=(784,)), Dense(10)])`` declares a
    ``Sequential`` model's input shape. ``batch_size`` is accepted for Keras
    compatibility and ignored (fastnn models take any batch size).
    """
    name_arg("name", name)
    return InputLayer(shape=shape, dtype=dtype, name=name).output


def is_symbolic(inputs):
    """True if ``inputs`` is a symbolic tensor or a non-empty list of them."""
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, (list, tuple)) and bool(inputs) and all(isinstance(t, KerasTensor) for t in inputs)


def describe(op):
    return f"{op.name or type(op).__name__!r} ({type(op).__name__})" if op.name else f"a {type(op).__name__}"


def call_symbolic(op, inputs):
    """Record ``op(inputs)`` (``op``: a layer or a model) and return its output tensor, its shape inferred."""
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not all(isinstance(t, KerasTensor) for t in tensors):
        raise TypeError(f"inputs: {describe(op)} was called on a mix of symbolic tensors and other values")
    shapes = [t.sample_shape for t in tensors]
    multi = getattr(op, "takes_lists", False)
    if not multi and len(tensors) != 1:
        raise ValueError(f"inputs: {describe(op)} takes one input, got {len(tensors)} tensors")
    if multi and not isinstance(inputs, (list, tuple)):
        raise ValueError(f"inputs: {describe(op)} takes a list of tensors, got one tensor")
    try:
        out_shape = op.compute_output_shape(shapes if multi else shapes[0])
    except (ValueError, TypeError) as e:
        sources = ", ".join(f"{describe(t.node.op)} with output shape {t.shape}" if t.node else str(t.shape)
                            for t in tensors)
        raise ValueError(f"{describe(op)} cannot take the output of {sources}: {e}") from None
    return Node(op, tensors, out_shape).output
