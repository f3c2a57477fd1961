"""Data helpers shared by the training loop, datasets, ensembles and search.

One home for: moving arrays to the host, telling class labels from
regression targets, stratified splits and folds, and checking and converting
batches for a model.
"""
from __future__ import annotations

import numpy as np


def to_host(a):
    """``a`` as a NumPy array (CuPy arrays are copied from the GPU)."""
    return np.asarray(a.get() if hasattr(a, "get") else a)


def num_rows(a):
    """Samples in a batch: an array, or a tuple of arrays (a model with several inputs or outputs)."""
    return len(a[0]) if isinstance(a, tuple) else len(a)


def map_arrays(f, a):
    """``f`` applied to an array, or to each array of a tuple (several inputs or outputs)."""
    return tuple(f(e) for e in a) if isinstance(a, tuple) else f(a)


def class_labels(y):
    """Class labels if ``y`` holds them (integer labels or one-hot rows), else None (regression targets)."""
    y = to_host(y)
    if y.ndim == 1 and (y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(y == np.round(y)))):
        return y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] > 1 and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1):
        return y.argmax(axis=1)
    return None


def stratified_mask(y, fraction, rng):
    """A boolean mask choosing about ``fraction`` of the samples at random, per class for class labels.

    Each class keeps its proportion (stratified); regression targets are
    drawn as one pool. If the classes are too small for any to give a sample,
    the draw falls back to one pool, so the mask is never empty.
    """
    labels = class_labels(y)
    n = len(y)
    pools = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    mask = np.zeros(n, bool)
    for pool in pools:
        idx = rng.permutation(pool)
        mask[idx[:int(round(len(idx) * fraction))]] = True
    if not mask.any():
        mask[rng.permutation(n)[:max(1, int(round(n * fraction)))]] = True
    return mask


def stratified_folds(y, k, seed=0):
    """``k`` disjoint validation index sets covering every sample, each class spread evenly
    over the folds (plain random folds for regression targets). Returns a list of sorted arrays."""
    y = to_host(y)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
        raise ValueError(f"cv: expected an int >= 2, got {k!r}")
    if k > len(y):
        raise ValueError(f"cv: {k} folds for {len(y)} samples")
    rng = np.random.default_rng(seed)
    labels = class_labels(y)
    groups = [np.arange(len(y))] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    folds = [[] for _ in range(k)]
    offset = 0
    for idx in groups:
        idx = rng.permutation(idx)
        for j, i in enumerate(idx):
            folds[(offset + j) % k].append(i)
        offset += len(idx)  # the next class starts where this one stopped, so fold sizes differ by at most 1
    return [np.sort(np.array(f, dtype=np.int64)) for f in folds]


# -- checking and converting batches ---------------------------------------------------------

class BatchConverter:
    """Checks a batch against a model and converts it to the model's dtype and target form.

    ``where`` (e.g. ``" in batch 3"``) is appended to every error, so a bad
    batch from a generator or memmap is named by its index. A model with
    several inputs (outputs) takes a list in input order or a dict by input
    (output) name, as Keras; its batches become tuples.
    """

    def __init__(self, model):
        self.model = model
        self.input_names = model.input_names
        self.input_shapes = [tuple(s) for s in model.input_shapes]
        self.input_shape = self.input_shapes[0]
        self.output_names = model.output_names
        self.outputs = [] if model.compiled is None else [
            (o.loss, tuple(shape), int(np.prod(shape))) for o, shape in zip(model.compiled.outputs, model.output_shapes)]
        self.loss = model.loss
        self.output_shape = tuple(model.output_shapes[0])
        self.n_outputs = int(np.prod(self.output_shape))

    def _parts(self, value, names, arg, where):
        """A list or dict of ``len(names)`` arrays, in ``names`` order."""
        if isinstance(value, dict):
            missing = [n for n in names if n not in value]
            if missing or len(value) != len(names):
                raise ValueError(f"{arg}: expected a dict with keys {names}, got keys {sorted(value)}{where}")
            return [value[n] for n in names]
        if not isinstance(value, (list, tuple)) or len(value) != len(names):
            got = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (list, tuple)) \
                else type(value).__name__
            raise ValueError(f"{arg}: the model has {len(names)} {'inputs' if arg == 'x' else 'outputs'} {names}: "
                             f"expected a list of {len(names)} arrays or a dict by name, got {got}{where}")
        return list(value)

    def x(self, x, where="", name="x"):
        if len(self.input_shapes) > 1:
            parts = self._parts(x, self.input_names, name, where)
            out = tuple(self._x(p, shape, where, f"{name}[{i}]") for i, (p, shape) in
                        enumerate(zip(parts, self.input_shapes)))
            if len({len(p) for p in out}) > 1:
                raise ValueError(f"{name}: expected the same number of samples in every input, got "
                                 f"{[len(p) for p in out]}{where}")
            return out
        return self._x(x, self.input_shape, where, name)

    def _x(self, x, shape, where, name):
        x = to_host(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric data, got dtype {x.dtype}{where}")
        if x.ndim == 0 or x.shape[1:] != shape:
            raise ValueError(f"{name}: expected samples of shape {shape}, got {x.shape[1:]} "
                             f"({name}.shape = {x.shape}){where}")
        if len(x) == 0:
            raise ValueError(f"{name}: expected at least one sample{where}")
        x = x.astype(self.model.dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError(f"{name}: contains NaN or infinite values{where}")
        return x

    def y(self, y, n, where="", name="y"):
        if not self.outputs:
            raise RuntimeError("call compile(loss=..., optimizer=...) first")
        if len(self.outputs) > 1:
            parts = self._parts(y, self.output_names, name, where)
            return tuple(self._y(p, n, where, f"{name}[{i}]", *out)
                         for i, (p, out) in enumerate(zip(parts, self.outputs)))
        return self._y(y, n, where, name, *self.outputs[0])

    def _y(self, y, n, where, name, loss, output_shape, n_outputs):
        y = to_host(y)
        if len(y) != n:
            raise ValueError(f"x, {name}: expected the same number of samples, got {n} and {len(y)}{where}")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric labels or targets, got dtype {y.dtype}{where}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{name}: contains NaN or infinite values{where}")
        if loss.takes_class_indices:
            if y.ndim == 2 and y.shape[1] > 1 and loss.name == "hinge":
                y = y.argmax(axis=1)  # one-hot rows to class indices
            elif y.dtype.kind == "f" and not np.all(y == np.round(y)):
                raise ValueError(f"{name}: class labels must be integers{where}")
            y = y.astype(np.int64)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
        else:
            y = y.astype(self.model.dtype, copy=False)
            if y.ndim == 1:
                y = y.reshape(-1, 1)
        try:
            loss.check_targets(y, output_shape, n_outputs)
        except ValueError as e:
            raise ValueError(f"{e}{where}") from None
        return y

    def sample_weight(self, sw, n, where="", name="sample_weight"):
        sw = to_host(sw)
        if sw.dtype.kind not in "fiub" or sw.shape != (n,):
            raise ValueError(f"{name}: expected {n} non-negative numbers, one per sample, got dtype {sw.dtype} "
                             f"shape {sw.shape}{where}")
        sw = sw.astype(self.model.dtype, copy=False)
        if not np.isfinite(sw).all() or (sw < 0).any():
            raise ValueError(f"{name}: expected finite, non-negative weights{where}")
        return sw

    def class_weights(self, class_weight):
        """``class_weight`` ({class: weight}) as a lookup array over the model's classes (NaN: not given)."""
        if class_weight is None:
            return None
        if len(self.outputs) > 1:
            raise ValueError("class_weight: only for models with one output (as Keras); use sample_weight")
        if not isinstance(class_weight, dict) or not class_weight:
            raise TypeError(f"class_weight: expected a dict {{class index: weight}}, got {class_weight!r}")
        n_classes = 2 if self.n_outputs == 1 else self.n_outputs
        table = np.full(n_classes, np.nan, dtype=self.model.dtype)
        for k, w in class_weight.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n_classes:
                raise ValueError(f"class_weight: key {k!r} is not a class index in [0, {n_classes})")
            if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or not np.isfinite(w) or w < 0:
                raise ValueError(f"class_weight: weight of class {k} must be a finite number >= 0, got {w!r}")
            table[k] = w
        return table

    def weights_of_classes(self, table, y, where=""):
        """Per-sample weights from a ``class_weights`` table and converted targets ``y``."""
        if self.loss.takes_class_indices:
            labels = y
        elif y.shape[1] == 1:
            labels = (y[:, 0] > 0.5).astype(np.int64)
        else:
            labels = y.argmax(axis=1)
        w = table[labels]
        if np.isnan(w).any():
            missing = sorted(set(labels[np.isnan(w)].tolist()))
            raise ValueError(f"class_weight: no weight for class {missing[0]}, which y holds{where}")
        return w
