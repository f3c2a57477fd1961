"""Where a model's weights live: its own flat buffers, or a view of the model that already holds them.

Every layer's weights live in one model's flat buffers (that model is the
layer's ``owner``), so the fused optimizer and the data-parallel allreduce
see one array. Another model made of layers that all live in one model's
buffers (a feature extractor ``Model(base.input, base.layers[3].output)``,
``Sequential(base.layers)``, a model nested in another) shares them as Keras
does: it works on a view of those buffers, and training it updates the
shared weights. A model that mixes layers held by different models, or adds
new layers, gets buffers of its own when built, keeping the weights its
layers had.
"""
from __future__ import annotations

from .parameters import Parameters


def lender(model, leaves):
    """The other model whose buffers hold every weight of ``leaves`` (None if there is none)."""
    weighted = [layer for layer in leaves if layer.specs]
    owners = {id(layer.owner): layer.owner for layer in weighted}
    if len(owners) != 1:
        return None
    owner = next(iter(owners.values()))
    if owner is None or owner is model or owner.parameters is None \
            or owner.backend is not model.backend or owner.dtype != model.dtype:
        return None
    return owner if all(set(layer.params) == {s.name for s in layer.specs} for layer in weighted) else None


def place(model, leaves, declare):
    """Declare every leaf's parameters (``declare(layer, index)`` attaches and builds it) and give
    ``model`` its parameters: a view of the lender's buffers when one holds them all with the same
    shapes, else buffers of its own (layers taken from other models keep their weights)."""
    before = {layer: (layer.owner, layer.params, layer.grads, layer.default_seed,
                      {s.name: s.shape for s in layer.specs}) for layer in leaves}
    source = lender(model, leaves)
    for i, layer in enumerate(leaves):
        layer.params, layer.grads = {}, {}
        layer.specs.clear()
        declare(layer, i)
    if source is not None and all({s.name: s.shape for s in layer.specs} == before[layer][4] for layer in leaves):
        for layer in leaves:  # the weights stay where they are
            layer.owner, layer.params, layer.grads, layer.default_seed = before[layer][:4]
        model._lock = source._lock  # the layers' buffers are shared too: one lock for both models
        return source.parameters.view(leaves)
    previous = {layer: {name: w.copy() for name, w in before[layer][1].items()} for layer in leaves}
    return Parameters(leaves, model.backend, model.dtype, model.rng, previous)


def bind(model, training):
    """Make sure ``model.parameters`` covers its layers' weights where they live now (another model
    may have been built from them since): rebind to a view of their owner's buffers. A model whose
    layers live in different models can still infer (each layer reads its own weights) but not train."""
    leaves = model.leaves()
    owners = {id(layer.owner): layer.owner for layer in leaves if layer.specs}
    if not owners or (len(owners) == 1 and model in owners.values()):
        return
    if len(owners) == 1:
        owner = next(iter(owners.values()))
        if model.parameters is None or model.parameters.source is not owner.parameters:
            model.parameters = owner.parameters.view(leaves)
            model._lock = owner._lock  # the layers' buffers are shared too: one lock for both models
            if model.optimizer is not None:
                model.finish_compile()
        return
    if training:
        strays = [layer for layer in leaves if layer.specs and layer.owner is not model]
        layer = strays[0] if strays else next(l for l in leaves if l.specs)
        raise RuntimeError(
            f"layer {layer.name!r} now belongs to another model ({layer.owner.name!r}), which was built from it, "
            f"while other layers of {model.name!r} live elsewhere: a layer's weights live in one model's buffers, "
            f"and training needs them in one place. Train that model, or call build() on this one to gather its "
            f"layers back (with their current weights).")
