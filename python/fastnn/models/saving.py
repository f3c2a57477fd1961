"""Saving and loading models: architecture (JSON), weights, optimizer state and counters in one
safetensors file (no pickle), so a reloaded model resumes training exactly."""
from __future__ import annotations

import contextlib
import json
import os

from .. import optimizers as foptimizers
from ..layers.base import registry
from ..training.data import to_host

FORMAT = "fastnn-model-1"


def save_model(model, path):
    """``Sequential.save``: write ``model`` to ``path`` atomically (a temporary file renamed over it)."""
    from safetensors.numpy import save_file

    model.ensure_built()
    model.check_owns_layers()
    host = lambda a: to_host(a).copy(order="C")  # noqa: E731
    tensors = {f"params/{l.name}/{s.name}": host(l.params[s.name]) for l in model.layers for s in l.specs}
    meta = {"format": FORMAT, "config": json.dumps(model.get_config()), "epoch": str(model.epoch),
            "rng": json.dumps(model.rng.bit_generator.state)}
    if model.optimizer is not None:
        for i, s in enumerate(model.optimizer.state):
            tensors[f"optimizer/state{i}"] = host(s)
        meta["compile"] = json.dumps({"loss": model.loss.name, "optimizer": model.optimizer.get_config(),
                                      "metrics": model.metrics})
        meta["iterations"] = str(model.optimizer.iterations)
    if model.average_params is not None:
        tensors["average/params"] = host(model.average_params)
    tmp = f"{os.fspath(path)}.tmp"
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)  # never leave a half-written checkpoint
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def load_model(path, device=None):
    """Rebuild a model saved by ``Sequential.save``: architecture, weights, and (if it was
    compiled) loss, optimizer with its state, counters and RNG state, ready to resume ``fit``
    (with ``initial_epoch=model.epoch``)."""
    from safetensors import safe_open

    from .sequential import Sequential

    with safe_open(os.fspath(path), framework="numpy") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"path: {path} is not a fastnn model file (format {meta.get('format')!r})")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    cfg = json.loads(meta["config"])
    classes = registry()
    layers = [classes[l["class_name"]](**l["config"]) for l in cfg["layers"]]
    model = Sequential(layers, name=cfg["name"], device=device or "cpu", dtype=cfg["dtype"], seed=cfg["seed"])
    model.build(cfg["input_shape"])
    if "compile" in meta:
        comp = json.loads(meta["compile"])
        model.compile(loss=comp["loss"], optimizer=foptimizers.get(comp["optimizer"]), metrics=comp["metrics"])
        model.optimizer.iterations = int(meta["iterations"])
        for i, s in enumerate(model.optimizer.state):
            s[...] = model.backend.xp.asarray(tensors[f"optimizer/state{i}"])
    xp = model.backend.xp
    for layer in model.layers:
        for spec in layer.specs:
            layer.params[spec.name][...] = xp.asarray(tensors[f"params/{layer.name}/{spec.name}"])
    if "average/params" in tensors:
        model.parameters.average = xp.asarray(tensors["average/params"])
    model.epoch = int(meta["epoch"])
    model.rng.bit_generator.state = json.loads(meta["rng"])
    return model
