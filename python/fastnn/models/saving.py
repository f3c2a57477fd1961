"""Saving and loading models: architecture (JSON), weights, optimizer state and counters in one
safetensors file (no pickle, a CRC32 per tensor), so a reloaded model resumes training exactly.

The file layer (durable writes, strict reads, checksums, config checks) is ``fastnn.model_file``.
"""
from __future__ import annotations

import json
import os

from .. import backend as fbackend
from .. import model_file
from . import placement
from .graph import infer_shapes
from .. import optimizers as foptimizers
from ..layers.base import registry
from ..training.data import to_host

FORMAT = "fastnn-model-1"
WEIGHTS_FORMAT = "fastnn-weights-1"


def _host(a):
    return to_host(a).copy(order="C")


def _weights(model):
    return {f"params/{l.name}/{s.name}": _host(l.params[s.name]) for l in model.leaves() for s in l.specs}


def save_model(model, path):
    """``Model.save``: write ``model`` to ``path`` durably (temporary file, fsync, rename)."""
    model.ensure_built()
    placement.bind(model, training=False)
    tensors = _weights(model)
    meta = {"format": FORMAT, "config": json.dumps(model.get_config()), "epoch": str(model.epoch),
            "rng": json.dumps(model.rng.bit_generator.state)}
    if model.optimizer is not None:
        for i, s in enumerate(model.optimizer.state):
            tensors[f"optimizer/state{i}"] = _host(s)
        meta["compile"] = json.dumps({"optimizer": model.optimizer.get_config(), **model.compiled.get_config()})
        meta["iterations"] = str(model.optimizer.iterations)
    if model.average_params is not None:
        tensors["average/params"] = _host(model.average_params)
    model_file.write(path, tensors, meta)


def _layers(where, cfg, classes, device=None):
    """The layers a checked ``Sequential`` config describes (nested models included), not yet built."""
    from .describe import functional_from_config
    from .functional import Functional
    from .sequential import Sequential

    # A config from to_json may have no input shape yet; a file's is checked by load_model.
    checked = {**cfg, "input_shape": [1]} if isinstance(cfg, dict) and cfg.get("input_shape") is None else cfg
    dtype, _ = model_file.check_model_config(where, checked, {**classes, "Sequential": Sequential,
                                                               "Functional": Functional})
    layers = []
    for entry in cfg["layers"]:
        sub = entry["config"]
        if entry["class_name"] == "Sequential":
            layers.append(Sequential(_layers(where, sub, classes, device), name=sub["name"], dtype=dtype,
                                     seed=sub["seed"]))
        elif entry["class_name"] == "Functional":
            layers.append(functional_from_config(sub, device, lambda c: from_config(c, device, where)))
        else:
            layers.append(classes[entry["class_name"]](**sub))
    return layers


def from_config(cfg, device=None, where="config"):
    """A new ``Sequential`` (fresh weights; built when the config has an input shape) from ``get_config()``."""
    from .describe import functional_from_config
    from .sequential import Sequential

    try:
        if isinstance(cfg, dict) and cfg.get("class_name") == "Functional":
            return functional_from_config(cfg, device, lambda sub: from_config(sub, device, where))
        layers = _layers(where, cfg, registry(), device)
        model = Sequential(layers, name=cfg["name"], device=device or "cpu", dtype=cfg["dtype"], seed=cfg["seed"])
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: config: {e}" if not str(e).startswith(where) else str(e)) from None
    return model


def model_from_json(json_string, device=None):
    """The model ``model.to_json()`` described, with fresh weights (Keras' ``model_from_json``)."""
    data = json.loads(json_string)
    if not isinstance(data, dict) or data.get("class_name") not in ("Sequential", "Functional") \
            or "config" not in data:
        raise ValueError("json_string: expected the JSON of a fastnn model (model.to_json())")
    model = from_config(data["config"], device, "json_string")
    if not model.built and data["config"]["input_shape"] is not None:
        model.build(data["config"]["input_shape"])
    return model


def clone_model(model):
    """A new model with ``model``'s architecture and fresh weights (Keras' ``clone_model``)."""
    clone = from_config(model.get_config(), model.backend.name)
    if model.built and not clone.built:
        clone.build(model.input_shape)
    return clone


def _declared(model, input_shape, dtype):
    """Every weight tensor the model will hold, ``name -> (dtype, shape)``, from its layers' declarations
    alone: a file's tensors are checked against them before anything is allocated."""
    plan, _ = model.make_plan()
    _, first_input = infer_shapes(plan, [tuple(input_shape)])
    declared = {}
    for layer in plan.leaves():
        layer.build(first_input[layer])
        declared.update({f"params/{layer.name}/{s.name}": (dtype, s.shape) for s in layer.specs})
        layer.specs.clear()
    return declared


def load_model(path, device=None):
    """Rebuild a model saved by ``Model.save``: architecture, weights, and (if it was compiled) loss,
    optimizer with its state, counters and RNG state, ready to resume ``fit`` (with
    ``initial_epoch=model.epoch``).

    The file must be exactly what ``save`` wrote: checksums intact, the tensors the config
    implies with their dtypes and shapes, config values in range. Anything else is a
    ``ValueError`` starting with the path (a file saved before checksums loads with a warning).

    A Keras 3 ``.keras`` file (a ``Sequential`` model of layers fastnn has) loads too, with its
    weights (``models.keras_file``).
    """
    where = os.fspath(path)
    if where.endswith(".keras"):
        from .keras_file import load_keras_model

        return load_keras_model(where, device)
    backend = fbackend.get(device or "cpu")
    meta, tensors = model_file.read(where, model_file.MODEL_METADATA_KEYS)
    epoch, iterations, cfg = model_file.check_model_metadata(where, meta, FORMAT)
    model = from_config(cfg, backend, where)
    if model.built:  # a functional model: built from its graph
        declared = {f"params/{l.name}/{s.name}": (model.dtype.name, s.shape) for l in model.leaves() for s in l.specs}
    else:
        input_shape = model_file.check_shape(where, "config: input_shape", cfg["input_shape"])
        try:
            declared = _declared(model, input_shape, model.dtype.name)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: config: {e}") from None
    model_file.check_tensors(where, {k: t for k, t in tensors.items() if k.startswith("params/")}, declared)
    if not model.built:
        model.build(input_shape)
    if "compile" in meta:
        comp = model_file.parse_json(where, "compile", meta["compile"])
        try:
            model.compile(loss=comp["loss"], optimizer=foptimizers.get(comp["optimizer"]), metrics=comp["metrics"],
                          loss_weights=comp.get("loss_weights"))
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{where}: compile: {e}") from None
        model.optimizer.iterations = iterations
    _restore(model, where, meta, tensors, epoch)
    return model


def restore_state(model, path):
    """Put the state saved in ``path`` (weights, optimizer state, counters, RNG) into ``model``,
    which must have the saved architecture (``BackupAndRestore`` resumes with this)."""
    where = os.fspath(path)
    meta, tensors = model_file.read(where, model_file.MODEL_METADATA_KEYS)
    epoch, iterations, _ = model_file.check_model_metadata(where, meta, FORMAT)
    if model.optimizer is not None and "compile" in meta:
        model.optimizer.iterations = iterations
    _restore(model, where, meta, tensors, epoch)


def _restore(model, where, meta, tensors, epoch):
    expected = {f"params/{l.name}/{s.name}": (model.dtype, s.shape) for l in model.leaves() for s in l.specs}
    if model.optimizer is not None and "compile" in meta:
        expected.update({f"optimizer/state{i}": (model.dtype, s.shape) for i, s in enumerate(model.optimizer.state)})
    if "average/params" in tensors:
        expected["average/params"] = (model.dtype, model.flat_params.shape)
    model_file.check_tensors(where, tensors, expected)
    xp = model.backend.xp
    if model.optimizer is not None and "compile" in meta:
        for i, s in enumerate(model.optimizer.state):
            s[...] = xp.asarray(tensors[f"optimizer/state{i}"])
    for layer in model.leaves():
        for spec in layer.specs:
            layer.params[spec.name][...] = xp.asarray(tensors[f"params/{layer.name}/{spec.name}"])
    if "average/params" in tensors:
        model.parameters.average = xp.asarray(tensors["average/params"])
    model.epoch = epoch
    try:
        model.rng.bit_generator.state = model_file.parse_json(where, "rng", meta["rng"])
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{where}: rng: {e}") from None


def save_weights(model, path):
    """``Model.save_weights``: every layer's weights, by layer and weight name."""
    model.ensure_built()
    model_file.write(path, _weights(model), {"format": WEIGHTS_FORMAT})


def load_weights(model, path):
    """``Model.load_weights``: weights saved by ``save_weights`` or ``save``, matched by name, dtype and shape."""
    model.ensure_built()
    meta, tensors = model_file.read(path)
    if meta.get("format") not in (WEIGHTS_FORMAT, FORMAT):
        raise ValueError(f"{path}: not a fastnn weights file (format {meta.get('format')!r})")
    expected = {f"params/{l.name}/{s.name}": (model.dtype, s.shape) for l in model.leaves() for s in l.specs}
    model_file.check_tensors(path, {k: t for k, t in tensors.items() if k.startswith("params/")}, expected)
    model.set_weights([tensors[k] for k in expected])
