"""What every model does with its graph: build and place its layers, run the plan forward and
backward (``models.graph``), share buffers with the model it is nested in.

A subclass says how its layers connect (``make_plan``); ``Sequential`` is
the chain, ``Functional`` the graph recorded from symbolic calls.
"""
from __future__ import annotations

import numpy as np

from ..training.data import to_host
from . import placement


class GraphAPI:
    """Mixed into ``Model``."""

    def leaves(self):
        """Every computing layer, nested models' layers in their place, each once."""
        if self.built and self.plan is not None:
            return self.plan.leaf_list
        return self.make_plan()[0].leaves()

    def make_plan(self):
        """``(plan, output slots)``: the model's steps over numbered slots (subclasses say how)."""
        raise NotImplementedError

    def finish_plan(self):
        plan, outs = self.make_plan()
        plan.finish(outs, self.backend)
        self.plan = plan

    def place_layers(self, plan, outs, first_input):
        """Build every layer of ``plan`` for its first input shape(s), place the weights (own buffers
        or a view of the model holding them all, ``models.placement``), and finish the plan."""
        leaves = plan.leaves()
        reads_inner = {id(layer): False for layer in leaves}  # only layers reading model inputs skip dx
        for step in plan.steps:
            reads_inner[id(step.layer)] |= any(s >= plan.n_inputs for s in step.ins)

        def declare(layer, i):
            layer.attach(self.backend, self.dtype, owner=self, default_seed=(self.seed * 1_000_003 + i) % 2**63,
                         needs_input_grad=reads_inner[id(layer)])
            layer.output_shape = tuple(layer.build(first_input[layer]))

        self.parameters = placement.place(self, leaves, declare)
        for entry in self.layers:
            if isinstance(entry, GraphAPI):  # its layers' weights now live in this model's buffers
                entry.mark_nested_in(self)
        plan.finish(outs, self.backend)
        self.plan, self.built = plan, True
        if self.optimizer is not None:
            self.finish_compile()

    def mark_nested_in(self, outer):
        """Called by the model ``outer`` that built this one's layers into its buffers: this one
        shares them (a view), so it can still infer and train on its own, as in Keras."""
        self.backend, self.dtype, self._lock = outer.backend, outer.dtype, outer._lock
        self.parameters = outer.parameters.view(self.make_plan()[0].leaves())
        self.finish_plan()
        self.built = True
        for entry in self.layers:
            if isinstance(entry, GraphAPI):
                entry.mark_nested_in(outer)
        if self.optimizer is not None:
            self.finish_compile()

    def contains(self, model):
        """True if ``model`` is nested in this one (at any depth)."""
        return any(entry is model or (isinstance(entry, GraphAPI) and entry.contains(model)) for entry in self.layers)

    def layers_changed(self):
        """Called by a layer when frozen, unfrozen or re-rated: the optimizer's groups follow."""
        if self.parameters is not None:
            self.parameters.layers_changed()

    def count_params(self, trainable=None):
        """Number of parameters; only trainable (True) or non-trainable (False) ones if asked."""
        self.ensure_built()
        return self.parameters.count(self.leaves(), trainable)

    def _forward(self, x, training, logits):
        placement.bind(self, training)
        outputs = self.compiled.outputs if self.compiled is not None else [None] * len(self.plan.out_slots)
        for layer, o in zip(self.output_layers(), outputs):
            if hasattr(layer, "logits_only"):  # a fused loss takes the logits before the softmax/sigmoid
                layer.logits_only = bool(logits) and o is not None and o.loss.fused_activation is not None
        step = self.optimizer.iterations if self.optimizer is not None else 0
        outs = self.plan.forward(list(x) if isinstance(x, tuple) else [x], training, step)
        return outs if len(outs) > 1 else outs[0]

    def _backward(self, dout):
        self.plan.backward(dout if self.multi_output else [dout], self._buffers, self.backend, self.dtype)

    def output_of(self, x, layer):
        """``layer``'s output (NumPy) for the batch ``x`` in inference mode: the model as a feature extractor."""
        if layer not in self.leaves():
            raise ValueError(f"layer: {getattr(layer, 'name', layer)!r} is not a layer of model {self.name!r}")
        self.ensure_built(np.shape(x)[1:])
        x = self._batch(x)[0]
        with self._lock, self.plan.unfused():
            self._forward(x, False, False)
            return to_host(self.plan.value_of(layer)).copy()
