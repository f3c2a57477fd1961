"""Datasets and data preparation.

* ``digits()``: scikit-learn's bundled 8x8 handwritten digits (1,797 images,
  shipped inside scikit-learn, no download); needs ``pip install fastnn[datasets]``.
* ``to_categorical``: class indices to one-hot rows.
* ``train_test_split``: a seeded, stratified split.
* ``Standardizer``: normalization fitted on training data, applied to test data.
"""
from __future__ import annotations

import numpy as np


def digits(test_fraction=0.25, seed=0, flatten=True):
    """The 8x8 digits data, scaled to [0, 1]: returns ``(x_train, y_train), (x_test, y_test)``.

    Images are (n, 64) when ``flatten`` else (n, 8, 8, 1); labels are ints 0-9.
    The split is stratified and fixed by ``seed``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn, which ships the data: pip install 'fastnn[datasets]'") from None
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    if not flatten:
        x = x.reshape(-1, 8, 8, 1)
    return train_test_split(x, data.target.astype(np.int64), test_fraction, seed)


def train_test_split(x, y, test_fraction=0.25, seed=0):
    """Split (x, y) into train and test parts, keeping each class's proportion (stratified)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    test = np.zeros(len(y), bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: int(round(len(idx) * test_fraction))]] = True
    train_idx, test_idx = rng.permutation(np.flatnonzero(~test)), rng.permutation(np.flatnonzero(test))
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels: ``to_categorical([0, 2], 3) -> [[1,0,0],[0,0,1]]``."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError("y: expected integer class labels")
    y = y.astype(np.int64).reshape(-1)
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y: labels must lie in [0, {num_classes}), got {y.min()} to {y.max()}")
    return np.eye(num_classes, dtype=dtype)[y]


class Standardizer:
    """Per-feature standardization: ``fit`` on training data, ``transform`` any data.

    With ``per_feature=False`` it subtracts the mean image only (mean-image
    subtraction) and divides by one global standard deviation.
    """

    def __init__(self, per_feature=True, eps=1e-7):
        self.per_feature, self.eps = per_feature, eps
        self.mean = self.std = None

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0) if self.per_feature else np.full_like(self.mean, x.std())
        return self

    def transform(self, x):
        if self.mean is None:
            raise RuntimeError("transform: call fit(x_train) first")
        x = np.asarray(x)
        return ((x - self.mean) / (self.std + self.eps)).astype(x.dtype if x.dtype.kind == "f" else np.float32)

    def fit_transform(self, x):
        return self.fit(x).transform(x)
