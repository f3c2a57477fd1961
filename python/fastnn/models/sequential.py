"""``Sequential``: a chain of layers, each feeding the next; the rest of the model API is ``Model``'s."""
from __future__ import annotations

import re

from ..layers.base import Layer
from ..layers.symbolic import KerasTensor
from .model import Model
from .graph import Plan, expand, infer_shapes


class Sequential(Model):
    """A stack of layers, each feeding the next (Keras' ``Sequential``).

    Args:
        layers: optional list of layers (more can be added with ``add``).
        name: the model's name.
        device: backend name: ``'cpu'`` (default), ``'cuda'`` or ``'cuda-emu'``
            (see ``fastnn.backend.available()``). A fastnn addition.
        dtype: parameter and activation dtype, float32 (default) or float64.
        seed: seed of everything random in the model: initialization,
            shuffling, dropout masks, noise. Same seed, same run. ``None``:
            fresh entropy, or the next seed of ``fastnn.set_random_seed``.

    Inference (``predict``, ``evaluate``, ``model(x)``) may be called from
    several threads at once; training from two threads at once is an error.
    """

    def __init__(self, layers=None, name="sequential", device="cpu", dtype="float32", seed=None):
        super().__init__(name=name, device=device, dtype=dtype, seed=seed)
        self.layers: list[Layer] = []
        self._input = None
        for layer in layers or []:
            self.add(layer)

    # -- structure --------------------------------------------------------------
    def add(self, layer):
        """Append a layer; ``fastnn.Input(shape=...)`` first declares the input shape (as in Keras).
        Without a declared shape the model is built on the first data it sees."""
        if isinstance(layer, KerasTensor):
            if self.layers or self._input is not None or layer.node is None or layer.node.inputs:
                raise ValueError("layer: an Input can only come first in a Sequential model (and only a fastnn.Input)")
            self._input = layer
            return
        if not isinstance(layer, (Layer, Model)):
            raise TypeError(f"layer: expected a fastnn Layer or model, got {type(layer).__name__}")
        if layer is self:
            raise ValueError("layer: a model cannot contain itself")
        self.layers.append(layer)
        self.built = False

    def expand_into(self, plan, in_slots):
        """Add this chain's steps to ``plan`` after ``in_slots[0]``; return its output slot."""
        slot = in_slots[0]
        for entry in self.layers:
            slot = expand(plan, entry, [slot])
        return slot

    def make_plan(self):
        plan = Plan(1)
        return plan, [self.expand_into(plan, [0])]

    def pop(self):
        """Remove and return the last layer (e.g. a classifier head before transfer learning)."""
        if not self.layers:
            raise ValueError("pop: the model has no layers")
        self.built = False
        return self.layers.pop()

    def build(self, input_shape=None):
        """Create every layer's parameters for inputs of ``input_shape`` (no batch axis).

        Trainable parameters go into one flat buffer (``flat_params``, gradients in
        ``flat_grads``), the rest into ``flat_state``. Layers that already hold
        weights (taken from another model) keep them.
        """
        if not self.layers:
            raise ValueError("build: the model has no layers")
        shape = input_shape or self.declared_input_shape()
        if shape is None:
            raise ValueError("input_shape: start the model with fastnn.Input(shape=...), give the first layer "
                             "input_shape=(...), or call build(input_shape)")
        self.input_shape = tuple(int(s) for s in shape)
        plan, ends, slot = Plan(1), [], 0
        for entry in self.layers:
            slot = expand(plan, entry, [slot])
            ends.append(slot)
        _check_once(self.layers)
        name_layers(plan.leaves())
        shapes, first_input = infer_shapes(plan, [self.input_shape])
        for entry, start, end in zip(self.layers, [0] + ends, ends):
            if isinstance(entry, Model):
                entry.input_shape = shapes[start]
            entry.output_shape = shapes[end]
        self.output_shape = shapes[ends[-1]]
        self.place_layers(plan, [ends[-1]], first_input)

    def declared_input_shape(self):
        """The input shape given by ``Input(shape=...)`` or the first layer's ``input_shape``, or None."""
        return self._input.sample_shape if self._input is not None else (
            None if not self.layers else self.layers[0].declared_input_shape() if isinstance(self.layers[0], Model)
            else self.layers[0].input_shape)

    def summary(self, print_fn=print):
        """Print a Keras-style table: layer (type), output shape, param #, and the totals. Returns None."""
        self.ensure_built()
        rows = [(f"{l.name} ({type(l).__name__})", str((None,) + tuple(l.output_shape)),
                 f"{self.parameters.count(l.leaves() if isinstance(l, Model) else [l]):,}") for l in self.layers]
        w0 = max(28, max(len(r[0]) for r in rows) + 2)
        w1 = max(26, max(len(r[1]) for r in rows) + 2)
        width = w0 + w1 + 12
        lines = [f'Model: "{self.name}"', "_" * width, f"{' Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>10}",
                 "=" * width]
        for i, (a, b, c) in enumerate(rows):
            lines.append(f"{' ' + a:<{w0}}{b:<{w1}}{c:>10}")
            lines.append("_" * width if i < len(rows) - 1 else "=" * width)
        lines += [f"Total params: {self.count_params():,}",
                  f"Trainable params: {self.count_params(True):,}",
                  f"Non-trainable params: {self.count_params(False):,}", "_" * width]
        print_fn("\n".join(lines))

    def compute_output_shape(self, input_shape):
        """The output shape for samples of ``input_shape`` (no batch axis); builds nothing."""
        shape = tuple(input_shape)
        for entry in self.layers:
            shape = tuple(entry.compute_output_shape(shape))
        return shape

    # -- saving ---------------------------------------------------------------------
    def get_config(self):
        """The architecture as JSON-able data (saved with the model)."""
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "input_shape": list(self.input_shape if self.built else self.declared_input_shape() or []) or None,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self.layers]}



def _check_once(entries):
    """A layer object used at two places of a chain is an error (the functional API shares layers)."""
    seen = {}
    for i, entry in enumerate(entries):
        for layer in entry.leaves() if isinstance(entry, Model) else [entry]:
            if seen.setdefault(id(layer), i) != i:
                raise ValueError(f"layers: layer {layer.name or type(layer).__name__!r} appears twice in the model; "
                                 f"a layer object can be used once in a Sequential model (create another layer, or "
                                 f"share it with the functional API)")


def name_layers(layers):
    """Unnamed layers, and repeats of a name (layers reused from two models), get kind, kind_1, ...:
    names no other layer of the model has, since saved weights are looked up by name."""
    taken = {layer.name for layer in layers if layer.name is not None}
    counts, seen = {}, set()
    for layer in layers:
        if layer.name is None or layer.name in seen:
            kind = snake_case(type(layer).__name__)
            n = counts.get(kind, 0)
            while (name := kind if n == 0 else f"{kind}_{n}") in taken:
                n += 1
            counts[kind] = n + 1
            layer.name = name
            taken.add(name)
        seen.add(layer.name)


def snake_case(name):
    """Keras' layer-name rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, PReLU -> p_re_lu."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
