"""Data helpers shared by the training loop, datasets, ensembles and search.

One home for: moving arrays to the host, telling class labels from
regression targets, stratified splits and folds, and counting correct
predictions.
"""
from __future__ import annotations

import numpy as np


def to_host(a):
    """``a`` as a NumPy array (CuPy arrays are copied from the GPU)."""
    return np.asarray(a.get() if hasattr(a, "get") else a)


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


def count_correct(out, y, *, class_indices=False, binary_threshold=None):
    """Correct predictions in a batch (NumPy or CuPy arrays).

    Against class indices (``class_indices``) or one-hot rows: argmax. Binary
    (``binary_threshold`` given, or a single output): ``out > threshold``
    against ``y > 0.5`` (threshold 0.5 for probabilities, 0 for logits).
    """
    xp = _array_module(out)
    if class_indices:
        return (xp.argmax(out, axis=1) == y).sum()
    if binary_threshold is not None or out.shape[1] == 1:
        threshold = 0.5 if binary_threshold is None else binary_threshold
        return ((out > threshold) == (y > 0.5)).all(axis=1).sum()
    return (xp.argmax(out, axis=1) == xp.argmax(y, axis=1)).sum()


def _array_module(a):
    if isinstance(a, np.ndarray):
        return np
    import cupy

    return cupy
