"""Ready-made models for the command line and for searches: an MLP and a CNN classifier keyed by
hyperparameters, and optimizers by short name.

``model_builder('mlp'|'cnn', input_shape, num_classes)`` returns a
``build_fn(params)`` that ``fastnn.tune`` and ``fastnn train``/``fastnn tune`` use.
"""
from __future__ import annotations

import numpy as np

#: Optimizer names understood by ``make_optimizer`` and the default learning rate of each.
OPTIMIZERS = {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adagrad": 0.05, "adadelta": 1.0,
              "rmsprop": 0.001, "adam": 0.002, "adamw": 0.002}


def make_optimizer(name, learning_rate=None, momentum=0.9, weight_decay=0.004):
    """An optimizer from a short name: sgd, momentum, nesterov (SGD with (Nesterov) momentum),
    adagrad, adadelta, rmsprop, adam, adamw. ``learning_rate=None`` takes ``OPTIMIZERS[name]``."""
    from . import optimizers

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")
    lr = OPTIMIZERS[name] if learning_rate is None else float(learning_rate)
    if name == "sgd":
        return optimizers.SGD(lr)
    if name in ("momentum", "nesterov"):
        return optimizers.SGD(lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "adamw":
        return optimizers.AdamW(lr, weight_decay=weight_decay)
    return {"adagrad": optimizers.Adagrad, "adadelta": optimizers.Adadelta, "rmsprop": optimizers.RMSprop,
            "adam": optimizers.Adam}[name](lr)


_COMMON_KEYS = {"optimizer": "adam", "learning_rate": None, "momentum": 0.9, "weight_decay": 0.004,
                "activation": "relu", "dropout": 0.0, "batch_norm": False, "l2": 0.0}
MODEL_KEYS = {
    "mlp": {**_COMMON_KEYS, "hidden": [128, 64]},
    "cnn": {**_COMMON_KEYS, "filters": [32, 64], "kernel_size": 3, "dense": 64},
}


def _layer(name):
    """A layer class that may not exist in every fastnn version (Conv2D, Dropout, ...)."""
    import fastnn

    cls = getattr(fastnn, name, None)
    if cls is None:
        raise ImportError(f"this fastnn has no {name} layer (fastnn {fastnn.__version__})")
    return cls


def _widths(name, value):
    widths = [value] if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if not isinstance(widths, (list, tuple)) or not all(
            isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"{name}: expected a positive int or a list of them, got {value!r}")
    return [int(w) for w in widths]


def model_builder(kind, input_shape, num_classes, seed=0, device="cpu"):
    """A ``build_fn(params)`` for a classifier, keyed by hyperparameters (``MODEL_KEYS[kind]`` with defaults):

    * ``'mlp'``: Flatten if needed, then Dense layers of ``hidden`` units (an int or a list),
      then a softmax layer.
    * ``'cnn'``: per entry of ``filters`` a Conv2D(filters, kernel_size, padding='same') and a
      2x2 MaxPooling2D (while the image is at least 2x2), then Flatten, Dense(``dense``) unless 0,
      then softmax.

    Both take ``activation``, ``dropout`` (after each hidden Dense), ``batch_norm`` (after each
    hidden layer), ``l2`` (kernel regularization), ``optimizer`` (see ``make_optimizer``),
    ``learning_rate``, ``momentum``, ``weight_decay``. Models
    use sparse categorical cross-entropy and track accuracy. Unknown keys are a ValueError.
    """
    if kind not in MODEL_KEYS:
        raise ValueError(f"model: expected one of {', '.join(MODEL_KEYS)}, got {kind!r}")
    input_shape = tuple(int(s) for s in input_shape)
    if kind == "cnn" and len(input_shape) != 3:
        raise ValueError(f"input_shape: the cnn model needs images (H, W, C), got {input_shape}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes: expected an int >= 2, got {num_classes!r}")
    defaults = MODEL_KEYS[kind]

    def build_fn(params):
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ValueError(f"{unknown[0]}: not a hyperparameter of the {kind} model; expected some of "
                             f"{', '.join(defaults)}")
        p = {**defaults, **params}
        return _build_classifier(kind, p, input_shape, int(num_classes), seed, device)

    build_fn.kind = kind
    return build_fn


def _build_classifier(kind, p, input_shape, num_classes, seed, device):
    from . import regularizers
    from .layers import Dense, Flatten
    from .models import Sequential

    if not 0 <= p["dropout"] < 1:
        raise ValueError(f"dropout: expected a rate in [0, 1), got {p['dropout']!r}")
    init = "he_uniform" if p["activation"] in ("relu", "leaky_relu", "swish") else "glorot_uniform"
    reg = regularizers.l2(p["l2"]) if p["l2"] else None

    def extras():
        out = []
        if p["batch_norm"]:
            out.append(_layer("BatchNormalization")())
        if p["dropout"]:
            out.append(_layer("Dropout")(p["dropout"]))
        return out

    layers = []
    if kind == "mlp":
        if len(input_shape) > 1:
            layers.append(Flatten(input_shape=input_shape))
        for i, units in enumerate(_widths("hidden", p["hidden"])):
            first = {"input_shape": input_shape} if i == 0 and len(input_shape) == 1 else {}
            layers += [Dense(units, activation=p["activation"], kernel_initializer=init, kernel_regularizer=reg,
                             **first), *extras()]
    else:
        Conv2D, MaxPooling2D = _layer("Conv2D"), _layer("MaxPooling2D")
        h, w = input_shape[:2]
        for i, filters in enumerate(_widths("filters", p["filters"])):
            first = {"input_shape": input_shape} if i == 0 else {}
            layers.append(Conv2D(filters, p["kernel_size"], activation=p["activation"], padding="same", **first))
            if p["batch_norm"]:
                layers.append(_layer("BatchNormalization")())
            if h >= 2 and w >= 2:
                layers.append(MaxPooling2D(2))
                h, w = h // 2, w // 2
        layers.append(Flatten())
        if p["dense"]:
            layers += [Dense(int(p["dense"]), activation=p["activation"], kernel_initializer=init,
                             kernel_regularizer=reg), *extras()]
        elif p["dropout"]:
            layers.append(_layer("Dropout")(p["dropout"]))
    layers.append(Dense(num_classes, activation="softmax", kernel_regularizer=reg))
    model = Sequential(layers, device=device, seed=seed)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=make_optimizer(p["optimizer"], p["learning_rate"], p["momentum"], p["weight_decay"]),
                  metrics=["accuracy"])
    return model
