"""Keras 3 ``.keras`` files (a zip of ``config.json`` and ``model.weights.h5``) as fastnn models.

``Sequential`` and functional models of layers fastnn has are read; their
weights come from the HDF5 file in Keras' order (``layers/<name>/vars/0, 1,
...``), read with h5py. The loss and optimizer are taken when fastnn has them.
"""
from __future__ import annotations

import json
import os
import warnings
import zipfile

# Keras' class -> (fastnn layer, the Keras config keys fastnn takes under the same names)
_COMMON = ("name", "trainable")
_LAYERS = {
    "Dense": ("Dense", ("units", "activation", "use_bias")),
    "Conv2D": ("Conv2D", ("filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias")),
    "MaxPooling2D": ("MaxPooling2D", ("pool_size", "strides", "padding")),
    "AveragePooling2D": ("AveragePooling2D", ("pool_size", "strides", "padding")),
    "GlobalAveragePooling2D": ("GlobalAveragePooling2D", ()),
    "Flatten": ("Flatten", ()),
    "Dropout": ("Dropout", ("rate", "seed")),
    "BatchNormalization": ("BatchNormalization", ("momentum", "epsilon")),
    "Activation": ("Activation", ("activation",)),
    "ReLU": ("ReLU", ()),
    "LeakyReLU": ("LeakyReLU", ("negative_slope",)),
    "Softmax": ("Softmax", ()),
    "PReLU": ("PReLU", ()),
    "GaussianNoise": ("GaussianNoise", ("stddev", "seed")),
    "Reshape": ("Reshape", ("target_shape",)),
    "Identity": ("Identity", ()),
    "Rescaling": ("Rescaling", ("scale", "offset")),
    "ZeroPadding2D": ("ZeroPadding2D", ("padding",)),
    "GlobalMaxPooling2D": ("GlobalMaxPooling2D", ("keepdims",)),
    "SpatialDropout2D": ("SpatialDropout2D", ("rate", "seed")),
    "Add": ("Add", ()), "Subtract": ("Subtract", ()), "Multiply": ("Multiply", ()), "Average": ("Average", ()),
    "Maximum": ("Maximum", ()), "Concatenate": ("Concatenate", ("axis",)),
}
# Keras settings fastnn cannot honour: (key, the only value fastnn supports)
_FIXED = {"data_format": "channels_last", "groups": 1, "axis": -1, "center": True, "scale": True,
          "noise_shape": None, "renorm": False}
_AXIS_IS_AN_ARGUMENT = {"Concatenate"}


def supported_layers():
    """The Keras layer classes a ``.keras`` file may use."""
    from ..layers import registry

    classes = registry()
    return sorted(k for k, (name, _) in _LAYERS.items() if name in classes)


def load_keras_model(path, device=None):
    """The ``Sequential`` or functional model saved in the Keras 3 file ``path``, with its weights."""
    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as z:
            config = json.loads(z.read("config.json"))
            weights = z.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: not a Keras 3 .keras file ({e})") from None
    kind = config.get("class_name")
    if kind == "Sequential":
        model, paths = _sequential(where, config["config"], device)
    elif kind in ("Functional", "Model"):
        model, paths = _functional(where, config["config"], device)
    else:
        raise ValueError(f"{where}: only Sequential and functional models can be read, got {kind!r}")
    _load_h5_weights(where, model, paths, weights)
    _compile(where, model, config.get("compile_config"))
    return model


def _h5_paths(entries):
    """The weights file names a layer by its class, counted in layer order (dense, dense_1, ...), not by its name."""
    from .sequential import snake_case

    counts, paths = {}, []
    for entry in entries:
        key = snake_case(entry["class_name"])
        paths.append(key if key not in counts else f"{key}_{counts[key]}")
        counts[key] = counts.get(key, 0) + 1
    return paths


def _layer(where, kind, cfg):
    """The fastnn layer for one Keras layer config."""
    from ..layers import registry

    classes = registry()
    if kind not in _LAYERS or _LAYERS[kind][0] not in classes:
        raise ValueError(f"{where}: layer {cfg.get('name')!r} is a {kind}, which fastnn does not have; "
                         f"fastnn reads {', '.join(supported_layers())}")
    for key, value in _FIXED.items():
        if key == "axis" and kind in _AXIS_IS_AN_ARGUMENT:
            continue
        if key in cfg and cfg[key] != value and not (key == "axis" and cfg[key] in (-1, [-1])):
            raise ValueError(f"{where}: layer {cfg['name']!r}: {key}={cfg[key]!r} is not supported "
                             f"(fastnn takes {value!r})")
    name, keys = _LAYERS[kind]
    return classes[name](**{k: cfg[k] for k in _COMMON + keys if k in cfg})


def _sequential(where, config, device):
    from .sequential import Sequential

    layers, pairs, input_shape = [], [], None
    entries = config["layers"]
    for entry, path in zip(entries, _h5_paths(entries)):
        kind, cfg = entry["class_name"], entry["config"]
        if kind == "InputLayer":
            input_shape = tuple(cfg["batch_shape"][1:])
            continue
        layer = _layer(where, kind, cfg)
        if kind == "Dense" and "build_config" in entry and input_shape is None and not layers:
            input_shape = tuple(entry["build_config"]["input_shape"][1:])
        layers.append(layer)
        pairs.append((layer, path))
    model = Sequential(layers, name=config.get("name", "sequential"), device=device or "cpu")
    if input_shape is None:
        first = entries[0].get("build_config", {}).get("input_shape")
        input_shape = tuple(first[1:]) if first else None
    model.build(input_shape)
    return model, pairs


def _functional(where, config, device):
    """Replay the file's calls: each layer's inbound nodes, in an order where every input exists."""
    from ..layers.symbolic import Input
    from .functional import Functional

    tensors, pending, pairs = {}, [], []
    for entry, path in zip(config["layers"], _h5_paths(config["layers"])):
        kind, cfg = entry["class_name"], entry["config"]
        name = entry.get("name", cfg.get("name"))
        if kind == "InputLayer":
            tensors[(name, 0)] = Input(shape=tuple(cfg["batch_shape"][1:]), name=name)
            continue
        layer = _layer(where, kind, cfg)
        pairs.append((layer, path))
        pending += [(layer, name, k, node) for k, node in enumerate(entry.get("inbound_nodes", []))]

    def history(arg):
        return tuple(arg["config"]["keras_history"][:2])

    while pending:
        left = []
        for layer, name, k, node in pending:
            arg = node["args"][0]
            refs = [history(a) for a in arg] if isinstance(arg, list) else [history(arg)]
            if all(r in tensors for r in refs):
                got = [tensors[r] for r in refs]
                tensors[(name, k)] = layer(got if isinstance(arg, list) else got[0])
            else:
                left.append((layer, name, k, node))
        if len(left) == len(pending):
            raise ValueError(f"{where}: config: the calls of {sorted({n for _, n, _, _ in left})} read tensors "
                             f"no layer makes")
        pending = left

    def ends(key):
        refs = config[key]
        refs = [refs] if refs and isinstance(refs[0], str) else refs
        return [tensors[(r[0], r[1])] for r in refs]

    inputs, outputs = ends("input_layers"), ends("output_layers")
    model = Functional(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                       name=config.get("name", "functional"), device=device or "cpu")
    return model, pairs


def _load_h5_weights(where, model, paths, data):
    try:
        import h5py
    except ImportError:
        raise ImportError("reading .keras files needs h5py: pip install h5py") from None
    import io

    values = []
    with h5py.File(io.BytesIO(data), "r") as f:
        for layer, path in paths:
            group = f.get(f"layers/{path}/vars")
            found = [] if group is None else [group[str(i)][()] for i in range(len(group))]
            if len(found) != len(layer.specs):
                raise ValueError(f"{where}: layer {layer.name!r} has {len(found)} weights in the file, fastnn's "
                                 f"{type(layer).__name__} has {len(layer.specs)}")
            for spec, w in zip(layer.specs, found):
                if tuple(w.shape) != spec.shape:
                    raise ValueError(f"{where}: weight {layer.name}/{spec.name} has shape {tuple(w.shape)}, "
                                     f"expected {spec.shape}")
            values.append((layer, found))
    for layer, found in values:  # every shape checked first: nothing half-loaded
        layer.set_weights(found)


def _named_metrics(metrics):
    """The metrics Keras saved by name, in their structure (per output for several outputs)."""
    if isinstance(metrics, dict):
        return {k: _named_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_named_metrics(m) if isinstance(m, (list, tuple, dict)) else m for m in metrics
                if isinstance(m, (str, list, tuple, dict))]
    return [metrics] if isinstance(metrics, str) else None


def _compile(where, model, compile_config):
    if not compile_config:
        return
    from .. import optimizers as foptimizers

    opt = compile_config.get("optimizer") or {}
    try:
        cls = getattr(foptimizers, opt.get("class_name", ""))
        optimizer = cls(learning_rate=float(opt["config"]["learning_rate"]))
        model.compile(optimizer=optimizer, loss=compile_config["loss"],
                      loss_weights=compile_config.get("loss_weights"),
                      metrics=_named_metrics(compile_config.get("metrics")))
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        warnings.warn(f"{where}: the model is loaded uncompiled ({type(e).__name__}: {e}); call compile()",
                      stacklevel=3)
