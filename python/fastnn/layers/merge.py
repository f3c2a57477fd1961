"""Merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Concatenate``,
as Keras names them. Each takes a list of inputs (from the functional API) and has no parameters.

The multi-input contract: ``build(input_shapes)`` gets a list of sample shapes (no batch axis) and
returns the output's; ``forward(xs)`` gets a list of arrays; ``backward(dy)`` returns a list with one
gradient per input. Where an input's gradient is ``dy`` itself (``Add``, ``Subtract``'s first input)
or the same for every input (``Average``), the list holds that one array several times: a caller that
accumulates gradients must add from it, not into it.
"""
from __future__ import annotations

import numbers

from .. import ops
from ..ops.merge import MAX_INPUTS
from .base import Layer


class Merge(Layer):
    """Base of the element-wise merge layers: inputs of one shape, output of that shape."""

    exact_inputs = None  # Subtract: exactly 2
    takes_lists = True  # called on a list of tensors in a functional model

    def _shapes(self, input_shapes):
        """``input_shapes`` as a list of tuples, else a ValueError naming the layer (Keras' checks)."""
        kind = type(self).__name__
        label = self.name or kind
        if not isinstance(input_shapes, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) for s in input_shapes):
            raise ValueError(f"{label}: {kind} should be called on a list of inputs, got input shapes "
                             f"{input_shapes!r}")
        count = len(input_shapes)
        if self.exact_inputs is not None and count != self.exact_inputs:
            raise ValueError(f"{label}: {kind} should be called on exactly {self.exact_inputs} inputs, "
                             f"got {count} (shapes {list(input_shapes)})")
        if not 1 <= count <= MAX_INPUTS:
            raise ValueError(f"{label}: {kind} should be called on 1 to {MAX_INPUTS} inputs, got {count}")
        return [tuple(int(d) for d in s) for s in input_shapes]

    def build(self, input_shapes):
        """Checks that the inputs have one shape (fastnn does not broadcast them); returns it."""
        shapes = self._shapes(input_shapes)
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"{self.name or type(self).__name__}: {type(self).__name__} needs inputs of one shape "
                             f"(fastnn does not broadcast them), got shapes {shapes}")
        self.input_count = len(shapes)
        return shapes[0]

    def _y(self, xs):
        """The output buffer for a batch of ``xs`` (and the input count ``backward`` answers for)."""
        self.input_count = len(xs)
        return self.buffer("y", xs[0].shape)


class Add(Merge):
    """The sum of its inputs (Keras' ``Add``); every input's gradient is ``dy`` itself (no op runs)."""

    def forward(self, xs, training=False, step=0):
        return ops.add_forward(xs, out=self._y(xs), backend=self.backend)

    def backward(self, dy):
        return [dy] * self.input_count


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (Keras' ``Subtract``: exactly 2 inputs); the gradients are ``dy`` and ``-dy``."""

    exact_inputs = 2

    def forward(self, xs, training=False, step=0):
        if len(xs) != 2:
            raise ValueError(f"xs: Subtract takes exactly 2 inputs, got {len(xs)}")
        return ops.subtract_forward(xs[0], xs[1], out=self._y(xs), backend=self.backend)

    def backward(self, dy):
        return [dy, ops.subtract_backward(dy, out=self.buffer("db", dy.shape), backend=self.backend)]


class Multiply(Merge):
    """The element-wise product of its inputs (Keras' ``Multiply``); input i's gradient is ``dy`` times
    the product of the other inputs, which the layer keeps from ``forward``."""

    def forward(self, xs, training=False, step=0):
        self._xs = list(xs)
        return ops.multiply_forward(xs, out=self._y(xs), backend=self.backend)

    def backward(self, dy):
        out = [self.buffer(f"dx{i}", dy.shape) for i in range(len(self._xs))]
        return ops.multiply_backward(self._xs, dy, out=out, backend=self.backend)


class Average(Merge):
    """The mean of its inputs (Keras' ``Average``); every input's gradient is ``dy / len(inputs)``
    (one array, returned for each input)."""

    def forward(self, xs, training=False, step=0):
        return ops.average_forward(xs, out=self._y(xs), backend=self.backend)

    def backward(self, dy):
        dx = ops.average_backward(dy, self.input_count, out=self.buffer("dx", dy.shape), backend=self.backend)
        return [dx] * self.input_count


class Maximum(Merge):
    """The element-wise maximum of its inputs (Keras' ``Maximum``); ``dy`` goes to the input holding the
    maximum (of tied inputs, the first), 0 to the others."""

    def forward(self, xs, training=False, step=0):
        self._xs = list(xs)
        return ops.maximum_forward(xs, out=self._y(xs), backend=self.backend)

    def backward(self, dy):
        out = [self.buffer(f"dx{i}", dy.shape) for i in range(len(self._xs))]
        return ops.maximum_backward(self._xs, dy, out=out, backend=self.backend)


class Concatenate(Merge):
    """Joins its inputs along ``axis`` (Keras' ``Concatenate(axis=-1)``; the axis counts the batch axis,
    so -1 is the channels of NHWC images and 1 the first sample axis). The inputs match in every other
    axis; the gradient splits ``dy`` back into their pieces."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis: expected an int, got {type(axis).__name__}")
        self.axis = int(axis)

    def build(self, input_shapes):
        """Checks that the inputs match except along ``axis``; returns the joined shape."""
        shapes = self._shapes(input_shapes)
        label, kind = self.name or "Concatenate", "Concatenate"
        rank = len(shapes[0]) + 1  # with the batch axis, as Keras counts
        if not -rank <= self.axis < rank:
            raise ValueError(f"axis: expected an axis in [{-rank}, {rank}) for inputs of rank {rank} (batch axis "
                             f"included), got {self.axis}")
        self._full_axis = self.axis % rank
        if self._full_axis == 0:
            raise ValueError(f"axis: {label} cannot concatenate along the batch axis (axis {self.axis})")
        a = self._full_axis - 1
        if any(len(s) != len(shapes[0]) or s[:a] + s[a + 1:] != shapes[0][:a] + shapes[0][a + 1:] for s in shapes):
            raise ValueError(f"{label}: {kind} requires inputs with matching shapes except for the concatenation "
                             f"axis {self.axis}, got shapes {shapes}")
        self._sizes = [s[a] for s in shapes]
        return shapes[0][:a] + (sum(self._sizes),) + shapes[0][a + 1:]

    def forward(self, xs, training=False, step=0):
        a = self._full_axis
        self._sizes = [x.shape[a] for x in xs]
        y = self.buffer("y", xs[0].shape[:a] + (sum(self._sizes),) + xs[0].shape[a + 1:])
        return ops.concatenate_forward(xs, a, out=y, backend=self.backend)

    def backward(self, dy):
        shape, a = dy.shape, self._full_axis
        out = [self.buffer(f"dx{i}", shape[:a] + (size,) + shape[a + 1:]) for i, size in enumerate(self._sizes)]
        return ops.concatenate_backward(dy, self._sizes, a, out=out, backend=self.backend)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
