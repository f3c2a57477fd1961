"""A functional model's execution plan: leaf layers in a fixed topological order, over numbered slots.

Nested models are expanded into their layers, so one loop runs the whole
graph. Slot ``i < n_inputs`` holds model input ``i``; every step writes one
slot. Backward walks the steps in reverse and adds gradients where a slot
feeds several steps (or is an output and feeds a step), into buffers the
model reuses: a step allocates nothing once warm. A layer called at several
nodes shares its weights: its extra uses run on shallow copies with their
own activation buffers and gradient arrays, whose gradients are added into
the layer's after their backward.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

from .. import ops
from ..backend import Buffers


@dataclass
class Step:
    """``layer`` computes slot ``out`` from slots ``ins``; ``runner`` is the layer or, for a second
    use of a shared layer, its copy."""

    layer: object
    ins: list
    out: int
    multi: bool
    runner: object = None
    shared_use: bool = False


class Plan:
    """The steps of a graph whose ``n_inputs`` inputs are slots ``0 .. n_inputs - 1``."""

    def __init__(self, n_inputs):
        self.n_inputs, self.n_slots, self.steps = n_inputs, n_inputs, []

    def add(self, layer, ins, multi=False):
        self.steps.append(Step(layer, list(ins), self.n_slots, multi))
        self.n_slots += 1
        return self.n_slots - 1

    def leaves(self):
        """Each layer once, in order of first use."""
        return list(dict.fromkeys(step.layer for step in self.steps))

    def finish(self, out_slots, backend):
        """Fix the outputs, the fan-out counts, and each step's runner (copies for repeated uses)."""
        self.out_slots = list(out_slots)
        self.fanout = Counter(s for step in self.steps for s in step.ins) + Counter(self.out_slots)
        last_use = {id(step.layer): step for step in self.steps}
        for k, step in enumerate(self.steps):
            step.shared_use = last_use[id(step.layer)] is not step
            step.runner = _shared_copy(step.layer, backend, k) if step.shared_use else step.layer

    def forward(self, xs, training, step_count):
        values = list(xs) + [None] * (self.n_slots - self.n_inputs)
        for step in self.steps:
            ins = [values[s] for s in step.ins]
            values[step.out] = step.runner.forward(ins if step.multi else ins[0], training, step_count)
        self.values = values
        return [values[s] for s in self.out_slots]

    def backward(self, douts, buffers, backend, dtype):
        grads = [None] * self.n_slots
        arrived = [0] * self.n_slots
        live = Counter()  # id of an array -> slots holding it (a layer may hand one array to two inputs)

        def give(slot, g):
            if slot < self.n_inputs or g is None:
                return
            if self.fanout[slot] == 1 and not live[id(g)]:
                grads[slot] = g
            else:
                buf = buffers.get(backend, f"grad{slot}", g.shape, dtype)
                if arrived[slot]:
                    buf += g
                else:
                    buf[...] = g
                grads[slot] = buf
            live[id(grads[slot])] += 1
            arrived[slot] += 1

        for slot, d in zip(self.out_slots, douts):
            give(slot, d)
        for step in reversed(self.steps):
            dy = grads[step.out]
            live[id(dy)] -= 1
            reg = step.runner.activity_regularizer
            if reg is not None:  # dL/dy += (l1 sign(y) + 2 l2 y) / batch, in place
                ops.activity_regularizer_backward(self.values[step.out], dy, l1=reg.l1, l2=reg.l2, backend=backend)
            dx = step.runner.backward(dy)
            if step.shared_use:
                for name, g in step.runner.grads.items():
                    step.layer.grads[name] += g
            for slot, g in zip(step.ins, dx if step.multi else [dx]):
                give(slot, g)


def _shared_copy(layer, backend, k):
    """A second use of ``layer``: the same weights, its own buffers and gradient arrays."""
    twin = copy.copy(layer)
    twin._buffers = Buffers()
    twin.grads = {name: backend.zeros(g.shape, g.dtype) for name, g in layer.grads.items()}
    twin.default_seed = (layer.default_seed + 7919 * (k + 1)) % 2**63  # its own dropout masks
    return twin
