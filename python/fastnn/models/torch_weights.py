"""Weights from PyTorch: a ``state_dict`` saved with safetensors, mapped onto an equivalent fastnn model."""
from __future__ import annotations

import os
import re

import numpy as np

from ..layers.base import prod


def _natural(key):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def load_torch_state_dict(model, path):
    """Copy a PyTorch ``state_dict`` (``safetensors.torch.save_file(net.state_dict(), path)``) into ``model``.

    Modules are matched in order: the state dict's modules (the prefixes of
    its tensor names, in natural order: ``0``, ``1``, ..., ``10``) against
    the model's layers that hold weights. ``Conv2d`` kernels go from NCHW's
    (out, in, kh, kw) to (kh, kw, in, out); ``Linear`` weights are
    transposed, and a ``Linear`` after a flattened image gets its input
    features permuted from PyTorch's CHW order to fastnn's HWC; batch norm
    takes weight, bias, running mean and running variance (its
    ``num_batches_tracked`` is dropped). Every shape is checked before
    anything is written; the first tensor that does not fit is named.
    """
    from safetensors.numpy import load_file

    path = os.fspath(path)
    tensors = load_file(path)
    modules = {}
    for key in sorted(tensors, key=_natural):
        prefix, _, name = key.rpartition(".")
        if name != "num_batches_tracked":
            modules.setdefault(prefix, {})[name] = tensors[key]
    model.ensure_built()
    targets = [layer for layer in model.leaves() if layer.specs]
    if len(modules) != len(targets):
        raise ValueError(f"path: {path} has {len(modules)} modules with weights ({', '.join(modules)}), the model "
                         f"has {len(targets)} layers with weights ({', '.join(l.name for l in targets)})")
    weights = []
    flattened_from = _flattened_image_shapes(model)
    for (prefix, module), layer in zip(modules.items(), targets):
        weights.append(_convert(path, prefix, module, layer, flattened_from.get(layer)))
    for layer, ws in zip(targets, weights):
        layer.set_weights(ws)


def _flattened_image_shapes(model):
    """For each layer fed by a Flatten of an image, the image's (H, W, C)."""
    out, image = {}, None
    for layer in model.leaves():
        if type(layer).__name__ == "Flatten":
            image = layer.flattened_shape if len(layer.flattened_shape) == 3 else None
        if layer.specs:
            if image is not None:
                out[layer] = image
            image = None
    return out


def _convert(path, prefix, module, layer, image):
    kind = type(layer).__name__
    want = [s.shape for s in layer.specs]
    if kind == "Conv2D":
        arrays = [module.get("weight"), module.get("bias")]
        arrays[0] = None if arrays[0] is None or arrays[0].ndim != 4 else arrays[0].transpose(2, 3, 1, 0)
    elif kind == "Dense":
        w = module.get("weight")
        if w is not None and w.ndim == 2 and image is not None and w.shape[1] == prod(image):
            h, wd, c = image  # PyTorch flattened (C, H, W); fastnn flattens (H, W, C)
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        arrays = [None if w is None or w.ndim != 2 else w.T, module.get("bias")]
    elif kind == "BatchNormalization":
        arrays = [module.get(n) for n in ("weight", "bias", "running_mean", "running_var")]
    elif kind == "PReLU":
        a = module.get("weight")
        arrays = [None if a is None else np.broadcast_to(a, want[0]) if a.size == 1 else a]
    else:
        raise ValueError(f"path: no PyTorch mapping for fastnn layer {layer.name} ({kind})")
    arrays = arrays[:len(want)]
    names = [s.name for s in layer.specs]
    for name, a, shape in zip(names, arrays, want):
        if a is None or tuple(a.shape) != shape:
            got = "nothing" if a is None else f"shape {tuple(a.shape)}"
            raise ValueError(f"path: {path}: module {prefix!r} does not fit {layer.name} ({kind}): its {name} "
                             f"needs shape {shape}, got {got} (keys: {', '.join(sorted(module))})")
    return [np.ascontiguousarray(a) for a in arrays]
