"""A model's execution plan: leaf layers in a fixed topological order, over numbered slots.

Every model runs as one (``Sequential`` is the chain case). Nested models are expanded into their layers, so one loop runs the whole
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
from contextlib import contextmanager
from dataclasses import dataclass

from .. import ops
from ..backend import Buffers
from . import fusion


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
        self.leaf_list = self.leaves()
        # per-step working lists, reused: a step in steady state allocates nothing
        self.values, self.grads, self.arrived, self.live = [None] * self.n_slots, [None] * self.n_slots, \
            [0] * self.n_slots, {}
        self.fanout = Counter(s for step in self.steps for s in step.ins) + Counter(self.out_slots)
        last_use = {id(step.layer): step for step in self.steps}
        for k, step in enumerate(self.steps):
            step.shared_use = last_use[id(step.layer)] is not step
            step.runner = _shared_copy(step.layer, backend, k) if step.shared_use else step.layer
        by_slot = {step.out: step.runner for step in self.steps}
        self.producers = [by_slot.get(s) for s in self.out_slots]  # the runner computing each output
        self.fused = fusion.fuse(self)

    @contextmanager
    def unfused(self):
        """Run every layer on its own inside the block (to read a fused layer's own output)."""
        runners = [(step, step.runner) for pair in self.fused for step in pair]
        for step, _ in runners:
            step.runner = step.layer
        try:
            yield self
        finally:
            for step, runner in runners:
                step.runner = runner

    def value_of(self, layer):
        """The last forward's output of ``layer`` (its last use)."""
        return self.values[[step.out for step in self.steps if step.layer is layer][-1]]

    def forward(self, xs, training, step_count):
        values = self.values
        for i, x in enumerate(xs):
            values[i] = x
        for step in self.steps:
            if step.multi:
                values[step.out] = step.runner.forward([values[s] for s in step.ins], training, step_count)
            else:
                values[step.out] = step.runner.forward(values[step.ins[0]], training, step_count)
        return [values[s] for s in self.out_slots]

    def backward(self, douts, buffers, backend, dtype):
        grads, arrived, live = self.grads, self.arrived, self.live
        for i in range(self.n_slots):
            grads[i], arrived[i] = None, 0
        live.clear()
        for slot, d in zip(self.out_slots, douts):
            self._give(slot, d, buffers, backend, dtype)
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
            if step.multi:
                for slot, g in zip(step.ins, dx):
                    self._give(slot, g, buffers, backend, dtype)
            else:
                self._give(step.ins[0], dx, buffers, backend, dtype)

    def _give(self, slot, g, buffers, backend, dtype):
        """Hand the gradient ``g`` to ``slot``: as is when only one step reads the slot and no other
        slot holds ``g`` (a layer may hand one array to two inputs), else added into a reused buffer."""
        if slot < self.n_inputs or g is None:
            return
        grads, live = self.grads, self.live
        if self.fanout[slot] == 1 and not live.get(id(g)):
            grads[slot] = g
        else:
            buf = buffers.get(backend, f"grad{slot}", g.shape, dtype)
            if self.arrived[slot]:
                buf += g
            else:
                buf[...] = g
            grads[slot] = buf
        live[id(grads[slot])] = live.get(id(grads[slot]), 0) + 1
        self.arrived[slot] += 1


def expand(plan, op, in_slots):
    """Add ``op``'s steps to ``plan`` (a model's layers in its place); return its output slot."""
    if hasattr(op, "expand_into"):
        return op.expand_into(plan, in_slots)
    return plan.add(op, in_slots, multi=getattr(op, "takes_lists", False))


def infer_shapes(plan, input_shapes):
    """Every slot's sample shape, and each layer's input shape(s) at its first use, from the inputs'."""
    shapes, first_input = dict(enumerate(input_shapes)), {}
    for step in plan.steps:
        ins = [shapes[s] for s in step.ins]
        arg = ins if step.multi else ins[0]
        first_input.setdefault(step.layer, arg)
        shapes[step.out] = tuple(step.layer.compute_output_shape(arg))
    return shapes, first_input


def _shared_copy(layer, backend, k):
    """A second use of ``layer``: the same weights, its own buffers and gradient arrays."""
    twin = copy.copy(layer)
    twin._buffers = Buffers()
    twin.grads = {name: backend.zeros(g.shape, g.dtype) for name, g in layer.grads.items()}
    twin.default_seed = (layer.default_seed + 7919 * (k + 1)) % 2**63  # its own dropout masks
    return twin
