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
from . import placement
from .graph import Plan
from .model import Model
from .sequential import Sequential, name_layers


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

    def leaves(self):
        """Every computing layer, nested models' layers in their place, each once."""
        return self._plan().leaves()

    def output_layers(self):
        return [self.plan.steps[self._producer(s)].runner for s in self.plan.out_slots]

    def _producer(self, slot):
        return next(i for i, step in enumerate(self.plan.steps) if step.out == slot)

    def _plan(self):
        """The graph, nested models expanded, as numbered slots and steps."""
        plan = Plan(len(self.inputs))
        slots = {id(t): i for i, t in enumerate(self.inputs)}
        for node in self._nodes:
            if not node.inputs:
                continue  # an Input
            slots[id(node.output)] = _expand(plan, node.op, [slots[id(t)] for t in node.inputs])
        self._out_tensors_slots = [slots[id(t)] for t in self.outputs]
        return plan

    def contains(self, model):
        return any(op is model or (isinstance(op, Model) and op.contains(model)) for op in self.layers)

    def build(self, input_shape=None):
        """Place every layer's parameters (the shapes are known from construction)."""
        plan = self._plan()
        shapes = {i: t.sample_shape for i, t in enumerate(self.inputs)}
        first_input = {}
        for step in plan.steps:
            in_shapes = [shapes[s] for s in step.ins]
            first_input.setdefault(step.layer, in_shapes if step.multi else in_shapes[0])
            shapes[step.out] = tuple(step.layer.compute_output_shape(in_shapes if step.multi else in_shapes[0]))
        leaves = plan.leaves()
        name_layers(leaves)
        needs_grad = {layer: any(s >= plan.n_inputs for st in plan.steps if st.layer is layer for s in st.ins)
                      for layer in leaves}

        def declare(layer, i):
            layer.attach(self.backend, self.dtype, owner=self, default_seed=(self.seed * 1_000_003 + i) % 2**63,
                         needs_input_grad=needs_grad[layer])
            layer.output_shape = tuple(layer.build(first_input[layer]))

        self.parameters = placement.place(self, leaves, declare)
        for op in self.layers:
            if isinstance(op, Model):
                op.mark_nested_in(self)
        plan.finish(self._out_tensors_slots, self.backend)
        self.plan, self.built = plan, True
        if self.optimizer is not None:
            self.finish_compile()

    def mark_nested_in(self, outer):
        """Called by the model ``outer`` that built this one's layers into its buffers (shared)."""
        self.backend, self.dtype = outer.backend, outer.dtype
        self.parameters = outer.parameters.view(self.leaves())
        plan = self._plan()
        plan.finish(self._out_tensors_slots, self.backend)
        self.plan, self.built = plan, True
        for op in self.layers:
            if isinstance(op, Model):
                op.mark_nested_in(outer)
        if self.optimizer is not None:
            self.finish_compile()

    def layers_changed(self):
        if self.parameters is not None:
            self.parameters.layers_changed()

    def count_params(self, trainable=None):
        return self.parameters.count(self.leaves(), trainable)

    # -- computing --------------------------------------------------------------------
    def _forward(self, x, training, logits):
        placement.bind(self, training)
        if self.compiled is not None:
            for layer, o in zip(self.output_layers(), self.compiled.outputs):
                if hasattr(layer, "logits_only"):
                    layer.logits_only = logits and o.loss.fused_activation is not None
        step = self.optimizer.iterations if self.optimizer is not None else 0
        outs = self.plan.forward(list(x) if len(self.inputs) > 1 else [x], training, step)
        return outs if len(outs) > 1 else outs[0]

    def _backward(self, dout):
        self.plan.backward(dout if len(self.outputs) > 1 else [dout], self._buffers, self.backend, self.dtype)

    def output_of(self, x, layer):
        """``layer``'s output (NumPy) for the batch ``x`` in inference mode (its last use in the graph)."""
        from ..training.data import to_host

        steps = [step for step in self.plan.steps if step.layer is layer]
        if not steps:
            raise ValueError(f"layer: {getattr(layer, 'name', layer)!r} is not a layer of model {self.name!r}")
        with self._lock:
            self._forward(self._batch(x)[0], False, False)
            return to_host(self.plan.values[steps[-1].out]).copy()

    # -- describing and saving -----------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a Keras-style table with a "Connected to" column; returns None."""
        from .describe import functional_summary

        print_fn(functional_summary(self))

    def get_config(self):
        """The graph as JSON-able data: its layers, and its nodes in order (what feeds each call)."""
        from .describe import functional_config

        return functional_config(self)


def _expand(plan, op, in_slots):
    """Add ``op``'s steps to ``plan`` (a nested model's layers in its place); return its output slot."""
    if isinstance(op, Sequential):
        slot = in_slots[0]
        for layer in op.leaves():
            slot = plan.add(layer, [slot])
        return slot
    if isinstance(op, Functional):
        slots = {id(t): s for t, s in zip(op.inputs, in_slots)}
        for node in op._nodes:
            if node.inputs:
                slots[id(node.output)] = _expand(plan, node.op, [slots[id(t)] for t in node.inputs])
        return slots[id(op.outputs[0])]
    return plan.add(op, in_slots, multi=getattr(op, "takes_lists", False))


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
