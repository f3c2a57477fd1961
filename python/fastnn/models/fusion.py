"""Layer fusions a model's plan applies once, when it is built.

``BatchNormalization`` followed by ``Activation('relu')`` (or ``ReLU()``) runs as one pass: the batch
norm kernels apply the ReLU as they write and, backward, mask the gradient with the ReLU's derivative
recomputed from their own input, so the ReLU's passes over memory (a read and a write forward, two
reads and a write backward) disappear. The ReLU's step then hands values and gradients through. A pair
is fused only when nothing else can see the batch norm's own output: it feeds the ReLU alone, is no
model output, carries no activity regularizer, and neither layer is used twice; synchronized batch
norm keeps its separate passes.

A ReLU (``Conv2D(..., activation='relu')`` or ``Activation('relu')``) followed by ``MaxPooling2D`` takes
its derivative on the pooled side: the gradient reaches only each window's arg-max, whose ReLU output
is the pooled value, so masking the pooled gradient by ``pooled > 0`` gives exactly the ReLU's
backward, on a quarter of the elements (2x2 windows) and without its pass over the full-size gradient.

``Plan.unfused()`` turns the fusions off for a call that reads a fused batch norm's own output
(``Model.output_of``).
"""
from __future__ import annotations

from .. import ops


def fuse(plan):
    """Fuse every eligible pair of ``plan`` (finished): BatchNormalization -> ReLU, then ReLU ->
    MaxPooling2D; return the pairs as ``(first step, second step)``."""
    from ..layers.activation import Activation
    from ..layers.batchnorm import BatchNormalization
    from ..layers.conv2d import Conv2D
    from ..layers.pool import MaxPooling2D

    uses, consumers = {}, {}
    for step in plan.steps:
        uses[id(step.layer)] = uses.get(id(step.layer), 0) + 1
        for s in step.ins:
            consumers.setdefault(s, []).append(step)

    def sole_reader(step):
        """The one step reading ``step``'s output, if nothing else can see it (no other reader, no model
        output, no activity regularizer, neither layer used twice, neither already fused)."""
        readers = consumers.get(step.out, [])
        if (uses[id(step.layer)] != 1 or plan.fanout[step.out] != 1 or len(readers) != 1 or step.runner is not step.layer
                or step.layer.activity_regularizer is not None):
            return None
        reader = readers[0]
        return None if reader.multi or uses[id(reader.layer)] != 1 or reader.runner is not reader.layer else reader

    def is_relu(layer, kinds):
        return isinstance(layer, kinds) and layer.activation == "relu"

    pairs = []
    for step in plan.steps:
        act = sole_reader(step)
        if act and isinstance(step.layer, BatchNormalization) and not step.layer.synchronized \
                and is_relu(act.layer, Activation):
            step.runner, act.runner = _BatchnormRelu(step.layer), _PassThrough(act.layer)
            pairs.append((step, act))
    for step in plan.steps:
        pool = sole_reader(step)
        if pool and is_relu(step.layer, (Conv2D, Activation)) and type(pool.layer) is MaxPooling2D:
            step.runner, pool.runner = _ReluDerivativeAfter(step.layer), _MaxPoolAfterRelu(pool.layer)
            pairs.append((step, pool))
    return pairs


class _BatchnormRelu:
    """A batch norm step that also applies the ReLU after it."""

    note = "+ the ReLU after it"

    def __init__(self, layer):
        self.layer, self.activity_regularizer, self.grads = layer, None, layer.grads

    def forward(self, x, training, step):
        return self.layer.forward(x, training, step, relu=True)

    def backward(self, dy):
        return self.layer.backward(dy)


class _PassThrough:
    """The fused ReLU's step: its batch norm already applied it, forward and backward."""

    note = "fused into the layer before"

    def __init__(self, layer):
        self.activity_regularizer, self.grads = layer.activity_regularizer, layer.grads

    def forward(self, x, training, step):
        return x

    def backward(self, dy):
        return dy


class _ReluDerivativeAfter:
    """A ReLU layer whose derivative the max pool after it applies (``_MaxPoolAfterRelu``)."""

    note = "its ReLU's derivative taken by the pool after it"

    def __init__(self, layer):
        self.layer, self.activity_regularizer, self.grads = layer, None, layer.grads

    def forward(self, x, training, step):
        return self.layer.forward(x, training, step)

    def backward(self, dy):
        self.layer.derivative_applied = True
        try:
            return self.layer.backward(dy)
        finally:
            self.layer.derivative_applied = False


class _MaxPoolAfterRelu:
    """A max pool that applies the ReLU before it to its own gradient: ``dy * (pooled > 0)``."""

    note = "+ the derivative of the ReLU before it"

    def __init__(self, layer):
        self.layer, self.activity_regularizer, self.grads = layer, layer.activity_regularizer, layer.grads

    def forward(self, x, training, step):
        self._y = self.layer.forward(x, training, step)
        return self._y

    def backward(self, dy):  # dy: the plan's, read once, so masked in place
        ops.activation_backward("relu", self._y, self._y, dy, out=dy, backend=self.layer.backend)
        return self.layer.backward(dy)
