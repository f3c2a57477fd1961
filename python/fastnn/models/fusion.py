"""Layer fusions a model's plan applies once, when it is built.

``BatchNormalization`` followed by ``Activation('relu')`` (or ``ReLU()``) runs as one pass: the batch
norm kernels apply the ReLU as they write and, backward, mask the gradient with the ReLU's derivative
recomputed from their own input, so the ReLU's passes over memory (a read and a write forward, two
reads and a write backward) disappear. The ReLU's step then hands values and gradients through. A pair
is fused only when nothing else can see the batch norm's own output: it feeds the ReLU alone, is no
model output, carries no activity regularizer, and neither layer is used twice; synchronized batch
norm keeps its separate passes. ``Plan.unfused()`` turns the fusions off for a call that reads a
fused batch norm's own output (``Model.output_of``).
"""
from __future__ import annotations


def fuse(plan):
    """Fuse every eligible BatchNormalization -> ReLU pair of ``plan`` (finished); return the pairs
    as ``(batchnorm step, relu step)``."""
    from ..layers.activation import Activation
    from ..layers.batchnorm import BatchNormalization

    uses = {}
    for step in plan.steps:
        uses[id(step.layer)] = uses.get(id(step.layer), 0) + 1
    consumers = {}
    for step in plan.steps:
        for s in step.ins:
            consumers.setdefault(s, []).append(step)
    pairs = []
    for step in plan.steps:
        bn = step.layer
        if not isinstance(bn, BatchNormalization) or bn.synchronized or bn.activity_regularizer is not None:
            continue
        readers = consumers.get(step.out, [])
        if uses[id(bn)] != 1 or plan.fanout[step.out] != 1 or len(readers) != 1:
            continue  # the output is also read elsewhere (another layer, or a model output)
        act = readers[0]
        if (act.multi or uses[id(act.layer)] != 1 or not isinstance(act.layer, Activation)
                or act.layer.activation != "relu"):
            continue
        pairs.append((step, act))
    for bn_step, act_step in pairs:
        bn_step.runner, act_step.runner = _BatchnormRelu(bn_step.layer), _PassThrough(act_step.layer)
    return pairs


class _BatchnormRelu:
    """A batch norm step that also applies the ReLU after it."""

    def __init__(self, layer):
        self.layer, self.activity_regularizer, self.grads = layer, None, layer.grads

    def forward(self, x, training, step):
        return self.layer.forward(x, training, step, relu=True)

    def backward(self, dy):
        return self.layer.backward(dy)


class _PassThrough:
    """The fused ReLU's step: its batch norm already applied it, forward and backward."""

    def __init__(self, layer):
        self.activity_regularizer, self.grads = layer.activity_regularizer, layer.grads

    def forward(self, x, training, step):
        return x

    def backward(self, dy):
        return dy
