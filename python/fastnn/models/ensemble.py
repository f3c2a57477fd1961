"""Ensembles: the averaged predictions of several models."""
from __future__ import annotations

import numpy as np

from ..training.data import to_host
from .saving import load_model
from .sequential import Sequential


class Ensemble:
    """Averages the predictions of several models (or saved model files).

    Args:
        members: models, or paths given to ``load_model``.
        weights: optional non-negative weight per member (default equal).
    """

    def __init__(self, members, weights=None, device=None):
        if not members:
            raise ValueError("members: expected at least one model or path")
        self.members = [m if isinstance(m, Sequential) else load_model(m, device=device) for m in members]
        w = np.ones(len(self.members)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.members),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() == 0:
            raise ValueError(f"weights: expected {len(self.members)} finite, non-negative weights, not all zero, "
                             f"got {weights!r}")
        self.weights = w / w.sum()

    def predict(self, x, batch_size=256):
        """Weighted mean of the members' predictions (probabilities for softmax models)."""
        out = None
        for w, m in zip(self.weights, self.members):
            p = np.asarray(m.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
            out = w * p if out is None else out + w * p
        return out

    def evaluate(self, x, y, batch_size=256):
        """Accuracy of the averaged prediction against class labels (n,) or (n, 1), or one-hot rows."""
        p = self.predict(x, batch_size)
        y = to_host(y)
        if len(y) != len(p):
            raise ValueError(f"y: expected {len(p)} labels, one per sample of x, got {len(y)}")
        if p.shape[1] == 1:
            correct = (p[:, 0] > 0.5) == (y.reshape(-1) > 0.5)
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]  # class indices as a column
            if y.ndim != 1 and y.shape[1:] != p.shape[1:]:
                raise ValueError(f"y: expected class indices or one-hot rows of {p.shape[1]}, got shape {y.shape}")
            correct = p.argmax(axis=1) == (y.argmax(axis=1) if y.ndim == 2 else y)
        return {"accuracy": float(correct.mean())}
