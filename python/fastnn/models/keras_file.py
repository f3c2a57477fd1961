"""Keras 3 ``.keras`` files (a zip of ``config.json`` and ``model.weights.h5``) as fastnn models.

Only ``Sequential`` models of layers fastnn has are read; their weights come
from the HDF5 file in Keras' order (``layers/<name>/vars/0, 1, ...``), read
with h5py. The loss and optimizer are taken when fastnn has them.
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
}
# Keras settings fastnn cannot honour: (key, the only value fastnn supports)
_FIXED = {"data_format": "channels_last", "groups": 1, "axis": -1, "center": True, "scale": True,
          "noise_shape": None, "renorm": False}


def supported_layers():
    """The Keras layer classes a ``.keras`` file may use."""
    return sorted(_LAYERS)


def load_keras_model(path, device=None):
    """The ``Sequential`` model saved in the Keras 3 file ``path``, with its weights."""
    from ..layers import registry
    from .sequential import Sequential, snake_case

    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as z:
            config = json.loads(z.read("config.json"))
            weights = z.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: not a Keras 3 .keras file ({e})") from None
    if config.get("class_name") != "Sequential":
        raise ValueError(f"{where}: only Sequential models can be read, got {config.get('class_name')!r}")
    classes = registry()
    layers, paths, counts, input_shape = [], [], {}, None
    for entry in config["config"]["layers"]:
        kind, cfg = entry["class_name"], entry["config"]
        if kind == "InputLayer":
            input_shape = tuple(cfg["batch_shape"][1:])
            continue
        if kind not in _LAYERS:
            raise ValueError(f"{where}: layer {cfg.get('name')!r} is a {kind}, which fastnn does not have; "
                             f"fastnn reads {', '.join(supported_layers())}")
        for key, value in _FIXED.items():
            if key in cfg and cfg[key] != value and not (key == "axis" and cfg[key] in (-1, [-1])):
                raise ValueError(f"{where}: layer {cfg['name']!r}: {key}={cfg[key]!r} is not supported "
                                 f"(fastnn takes {value!r})")
        name, keys = _LAYERS[kind]
        args = {k: cfg[k] for k in _COMMON + keys if k in cfg}
        if kind == "Dense" and "build_config" in entry and input_shape is None and not layers:
            input_shape = tuple(entry["build_config"]["input_shape"][1:])
        layers.append(classes[name](**args))
        # The weights file names a layer by its class, counted in order (dense, dense_1, ...), not by its name.
        key = snake_case(kind)
        paths.append(key if key not in counts else f"{key}_{counts[key]}")
        counts[key] = counts.get(key, 0) + 1
    model = Sequential(layers, name=config["config"].get("name", "sequential"), device=device or "cpu")
    if input_shape is None:
        first = config["config"]["layers"][0].get("build_config", {}).get("input_shape")
        input_shape = tuple(first[1:]) if first else None
    model.build(input_shape)
    _load_h5_weights(where, model, paths, weights)
    _compile(where, model, config.get("compile_config"))
    return model


def _load_h5_weights(where, model, paths, data):
    try:
        import h5py
    except ImportError:
        raise ImportError("reading .keras files needs h5py: pip install h5py") from None
    import io

    values = []
    with h5py.File(io.BytesIO(data), "r") as f:
        for layer, path in zip(model.leaves(), paths):
            group = f.get(f"layers/{path}/vars")
            found = [] if group is None else [group[str(i)][()] for i in range(len(group))]
            if len(found) != len(layer.specs):
                raise ValueError(f"{where}: layer {layer.name!r} has {len(found)} weights in the file, fastnn's "
                                 f"{type(layer).__name__} has {len(layer.specs)}")
            for spec, w in zip(layer.specs, found):
                if tuple(w.shape) != spec.shape:
                    raise ValueError(f"{where}: weight {layer.name}/{spec.name} has shape {tuple(w.shape)}, "
                                     f"expected {spec.shape}")
            values.extend(found)
    model.set_weights(values)


def _compile(where, model, compile_config):
    if not compile_config:
        return
    from .. import optimizers as foptimizers

    opt = compile_config.get("optimizer") or {}
    try:
        cls = getattr(foptimizers, opt.get("class_name", ""))
        optimizer = cls(learning_rate=float(opt["config"]["learning_rate"]))
        model.compile(optimizer=optimizer, loss=compile_config["loss"],
                      metrics=[m for m in compile_config.get("metrics") or [] if isinstance(m, str)])
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        warnings.warn(f"{where}: the model is loaded uncompiled ({type(e).__name__}: {e}); call compile()",
                      stacklevel=3)
