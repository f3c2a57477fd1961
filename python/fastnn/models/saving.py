"""Saving and loading models: architecture (JSON), weights, optimizer state and counters in one
safetensors file (no pickle), so a reloaded model resumes training exactly."""
from __future__ import annotations

import contextlib
import json
import os

from .. import metrics as fmetrics
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
    tensors = {f"params/{l.name}/{s.name}": host(l.params[s.name]) for l in model.leaves() for s in l.specs}
    meta = {"format": FORMAT, "config": json.dumps(model.get_config()), "epoch": str(model.epoch),
            "rng": json.dumps(model.rng.bit_generator.state)}
    if model.optimizer is not None:
        for i, s in enumerate(model.optimizer.state):
            tensors[f"optimizer/state{i}"] = host(s)
        meta["compile"] = json.dumps({"loss": model.loss.name, "optimizer": model.optimizer.get_config(),
                                      "loss_weights": model.loss_weight,
                                      "metrics": [fmetrics.serialize(n, m) for n, m in model.compiled_metrics]})
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


def from_config(cfg, device=None):
    """A new, built ``Sequential`` (fresh weights) from ``get_config()``'s data."""
    from .sequential import Sequential

    classes = registry()
    layers = [from_config(l["config"], device) if l["class_name"] == "Sequential" else
              classes[l["class_name"]](**l["config"]) for l in cfg["layers"]]
    model = Sequential(layers, name=cfg["name"], device=device or "cpu", dtype=cfg["dtype"], seed=cfg["seed"])
    if cfg["input_shape"] is not None:
        model.build(cfg["input_shape"])
    return model


def model_from_json(json_string, device=None):
    """The model ``model.to_json()`` described, with fresh weights (Keras' ``model_from_json``)."""
    data = json.loads(json_string)
    if not isinstance(data, dict) or data.get("class_name") != "Sequential" or "config" not in data:
        raise ValueError("json_string: expected the JSON of a fastnn Sequential model (model.to_json())")
    return from_config(data["config"], device)


def clone_model(model):
    """A new model with ``model``'s architecture and fresh weights (Keras' ``clone_model``)."""
    return from_config(model.get_config(), model.backend.name)


WEIGHTS_FORMAT = "fastnn-weights-1"


def save_weights(model, path):
    """``Model.save_weights``: every layer's weights, by layer and weight name, in safetensors."""
    from safetensors.numpy import save_file

    model.ensure_built()
    tensors = {f"params/{l.name}/{s.name}": to_host(l.params[s.name]).copy(order="C")
               for l in model.leaves() for s in l.specs}
    tmp = f"{path}.tmp"
    try:
        save_file(tensors, tmp, metadata={"format": WEIGHTS_FORMAT})
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def load_weights(model, path):
    """``Model.load_weights``: weights saved by ``save_weights`` or ``save``, matched by name and shape."""
    from safetensors import safe_open

    model.ensure_built()
    with safe_open(path, framework="numpy") as f:
        if (f.metadata() or {}).get("format") not in (WEIGHTS_FORMAT, FORMAT):
            raise ValueError(f"filepath: {path} is not a fastnn weights file")
        names = set(f.keys())
        weights = []
        for layer in model.leaves():
            for spec in layer.specs:
                key = f"params/{layer.name}/{spec.name}"
                if key not in names:
                    raise ValueError(f"filepath: {path} has no weight {key}")
                w = f.get_tensor(key)
                if w.shape != spec.shape:
                    raise ValueError(f"filepath: {path}: {key} has shape {w.shape}, the model's is {spec.shape}")
                weights.append(w)
    model.set_weights(weights)


def _read(path):
    from safetensors import safe_open

    with safe_open(os.fspath(path), framework="numpy") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"path: {path} is not a fastnn model file (format {meta.get('format')!r})")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return meta, tensors


def load_model(path, device=None):
    """Rebuild a model saved by ``Sequential.save``: architecture, weights, and (if it was
    compiled) loss, optimizer with its state, counters and RNG state, ready to resume ``fit``
    (with ``initial_epoch=model.epoch``)."""
    meta, tensors = _read(path)
    model = from_config(json.loads(meta["config"]), device)
    if "compile" in meta:
        comp = json.loads(meta["compile"])
        model.compile(loss=comp["loss"], optimizer=foptimizers.get(comp["optimizer"]), metrics=comp["metrics"],
                      loss_weights=comp.get("loss_weights"))
    _restore(model, meta, tensors, path)
    return model


def restore_state(model, path):
    """Put the state saved in ``path`` (weights, optimizer state, counters, RNG) into ``model``,
    which must have the saved architecture (``BackupAndRestore`` resumes with this)."""
    meta, tensors = _read(path)
    expected = {f"params/{l.name}/{s.name}" for l in model.leaves() for s in l.specs}
    if expected != {k for k in tensors if k.startswith("params/")}:
        raise ValueError(f"path: {path} holds another architecture than model {model.name!r}")
    _restore(model, meta, tensors, path)


def _restore(model, meta, tensors, path):
    xp = model.backend.xp
    if "compile" in meta and model.optimizer is not None:
        model.optimizer.iterations = int(meta["iterations"])
        for i, s in enumerate(model.optimizer.state):
            s[...] = xp.asarray(tensors[f"optimizer/state{i}"])
    for layer in model.leaves():
        for spec in layer.specs:
            layer.params[spec.name][...] = xp.asarray(tensors[f"params/{layer.name}/{spec.name}"])
    if "average/params" in tensors:
        model.parameters.average = xp.asarray(tensors["average/params"])
    model.epoch = int(meta["epoch"])
    model.rng.bit_generator.state = json.loads(meta["rng"])
