"""``Model(inputs, outputs)``: a graph of layers built with the functional API (Keras' ``Functional``).

``inputs = fastnn.Input(shape=...)``, ``x = layer(inputs)``, ...,
``model = fastnn.Model(inputs, outputs)``: the nodes recorded by calling
layers on symbolic tensors are walked back from ``outputs`` and fixed in a
topological order (``models.graph``). All parameters still live in one flat
buffer, so the fused optimizer, freezing, saving and the data-parallel
allreduce work as for ``Sequential``.
"""
from __future__ import annotations

from ..layers.symbolic import InputLayer, KerasTensor
from .graph import Plan, expand, infer_shapes
from .model import Model
from .sequential import name_layers


def _tensors(arg, value):
    """A tensor, a list of them or a dict of them -> (list, names if a dict)."""
    items = list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, (list, tuple)) \
        else [value]
    if not items or not all(isinstance(t, KerasTensor) for t in items):
        raise TypeError(f"{arg}: expected a symbolic tensor (from fastnn.Input or a layer called on one), or a "
                        f"list or dict of them, got {type(value).__name__}")
    return items, (list(value) if isinstance(value, dict) else None)


class Functional(Model):
    """A model whose layers form a graph (built by ``fastnn.Model(inputs, outputs)``).

    Args:
        inputs: ``fastnn.Input`` tensors (one, a list, or a dict by name).
        outputs: tensors computed from them (one, a list, or a dict by name).
        name, device, dtype, seed: as ``Sequential``.

    Calling a layer at several nodes shares its weights; a model called on a
    tensor becomes one node (its weights shared with it).
    """

    def __init__(self, inputs, outputs, name="functional", device="cpu", dtype="float32", seed=None):
        super().__init__(name=name, device=device, dtype=dtype, seed=seed)
        self.inputs, input_keys = _tensors("inputs", inputs)
        self.outputs, output_keys = _tensors("outputs", outputs)
        for t in self.inputs:
            if t.node is None or not isinstance(t.node.op, InputLayer):
                raise ValueError(f"inputs: expected tensors made by fastnn.Input, got {t!r}")
        self._nodes = _topological(self.inputs, self.outputs)
        self.layers = list(dict.fromkeys(node.op for node in self._nodes))
        name_layers([layer for layer in self.layers if not isinstance(layer, Model)])
        self._input_names = input_keys or [t.node.op.name for t in self.inputs]
        self._output_names = output_keys or [t.node.op.name for t in self.outputs]
        if len(set(self._output_names)) < len(self._output_names):
            self._output_names = [f"{n}_{i}" if self._output_names.count(n) > 1 else n
                                  for i, n in enumerate(self._output_names)]
        self.input_shape = self.inputs[0].sample_shape if len(self.inputs) == 1 else [t.sample_shape
                                                                                      for t in self.inputs]
        self.output_shape = self.outputs[0].sample_shape if len(self.outputs) == 1 else [t.sample_shape
                                                                                         for t in self.outputs]
        self.build()

    # -- structure ----------------------------------------------------------------
    @property
    def input(self):
        """The model's input tensor (a list when several), as Keras' ``model.input``."""
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        """The model's output tensor (a list when several), as Keras' ``model.output``."""
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def input_names(self):
        return self._input_names

    @property
    def input_shapes(self):
        return [t.sample_shape for t in self.inputs]

    @property
    def output_names(self):
        return self._output_names

    @property
    def output_shapes(self):
        return [t.sample_shape for t in self.outputs]

    def declared_input_shape(self):
        return self.input_shape

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``, which must be the shape the model was made for."""
        if tuple(input_shape) != tuple(self.inputs[0].sample_shape) or len(self.inputs) != 1:
            raise ValueError(f"expects inputs of shape {self.input_shape}, got {tuple(input_shape)}")
        if len(self.outputs) != 1:
            raise ValueError("a model with several outputs cannot be one node of another model")
        return self.outputs[0].sample_shape

    def make_plan(self):
        plan = Plan(len(self.inputs))
        return plan, self._expand_nodes(plan, range(len(self.inputs)))

    def expand_into(self, plan, in_slots):
        """Add this graph's steps to ``plan`` reading ``in_slots``; return its output slot."""
        if len(self.outputs) != 1:
            raise ValueError(f"model {self.name!r} has several outputs: it cannot be one node of another model")
        return self._expand_nodes(plan, in_slots)[0]

    def _expand_nodes(self, plan, in_slots):
        slots = {id(t): s for t, s in zip(self.inputs, in_slots)}
        for node in self._nodes:
            if node.inputs:  # (an Input has none)
                slots[id(node.output)] = expand(plan, node.op, [slots[id(t)] for t in node.inputs])
        return [slots[id(t)] for t in self.outputs]

    def build(self, input_shape=None):
        """Place every layer's parameters (the shapes are known from construction)."""
        plan, outs = self.make_plan()
        _, first_input = infer_shapes(plan, [t.sample_shape for t in self.inputs])
        name_layers(plan.leaves())
        self.place_layers(plan, outs, first_input)

    # -- describing and saving -----------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a Keras-style table with a "Connected to" column; returns None."""
        from .describe import functional_summary

        print_fn(functional_summary(self))

    def get_config(self):
        """The graph as JSON-able data: its layers, and its nodes in order (what feeds each call)."""
        from .describe import functional_config

        return functional_config(self)


def _topological(inputs, outputs):
    """The nodes that compute ``outputs`` from ``inputs``, each after the nodes it reads."""
    order, done, given = [], set(), {id(t) for t in inputs}
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        tensor, expanded = stack.pop()
        node = tensor.node
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        if not node.inputs and id(tensor) not in given:
            raise ValueError(f"outputs: depend on the Input {node.op.name!r} of shape {tensor.shape}, which is not "
                             f"among the model's inputs")
        stack.append((tensor, True))
        stack.extend((t, False) for t in reversed(node.inputs))
    for t in inputs:
        if id(t.node) not in done:
            order.insert(0, t.node)  # an input no output depends on still is one (Keras keeps it)
    return order
