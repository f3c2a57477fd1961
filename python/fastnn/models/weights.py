"""Keras' weight API on models: lists of arrays, layers by name, JSON architectures, weight files."""
from __future__ import annotations

import json
import os


class WeightsAPI:
    """Mixed into ``Model``: ``get_weights``/``set_weights``, ``weights``, ``get_layer``, ``to_json``,
    ``save_weights``/``load_weights``."""

    @property
    def weights(self):
        """Every layer's weights, in layer order (Keras' order within each layer)."""
        self.ensure_built()
        return [w for layer in self.leaves() for w in layer.weights]

    @property
    def trainable_weights(self):
        self.ensure_built()
        return [w for layer in self.leaves() for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        self.ensure_built()
        return [w for layer in self.leaves() for w in layer.non_trainable_weights]

    def get_weights(self):
        """Copies of ``weights`` as NumPy arrays."""
        self.ensure_built()
        return [w for layer in self.leaves() for w in layer.get_weights()]

    def set_weights(self, weights):
        """Copy a list like ``get_weights()`` returns into the model (every shape checked first)."""
        self.ensure_built()
        weights = list(weights)
        expected = sum(len(layer.specs) for layer in self.leaves())
        if len(weights) != expected:
            raise ValueError(f"weights: {self.name} expects a list of {expected} arrays, got {len(weights)}")
        parts, start = [], 0
        for layer in self.leaves():
            parts.append((layer, weights[start:start + len(layer.specs)]))
            start += len(layer.specs)
        for layer, ws in parts:  # check all, then write: nothing half-applied
            for spec, w in zip(layer.specs, ws):
                if tuple(getattr(w, "shape", ())) != spec.shape:
                    raise ValueError(f"weights: {layer.name}'s {spec.name} has shape {spec.shape}, "
                                     f"got {tuple(getattr(w, 'shape', ()))}")
        for layer, ws in parts:
            layer.set_weights(ws)

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by ``index`` (as Keras)."""
        if (name is None) == (index is None):
            raise ValueError("name, index: give one of them")
        self.ensure_built()
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"index: expected an int in [0, {len(self.layers)}), got {index!r}")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"name: no layer named {name!r}; layers: {', '.join(l.name for l in self.layers)}")

    def to_json(self, **kwargs):
        """The architecture as a JSON string (``fastnn.models.model_from_json`` rebuilds it)."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights alone. Keras' ``*.weights.h5`` name is accepted; the file inside is
        fastnn's (safetensors), on purpose: no HDF5 dependency, no pickle."""
        from .saving import save_weights

        path = os.fspath(filepath)
        if not overwrite and os.path.exists(path):
            raise ValueError(f"filepath: {path} exists and overwrite=False")
        save_weights(self, path)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or ``save``) into this model, by layer name."""
        from .saving import load_weights

        load_weights(self, os.fspath(filepath))
