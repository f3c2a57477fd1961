"""Metrics, under Keras' names: reported per epoch by ``fit`` and ``evaluate`` beside the loss.

``compile(metrics=[...])`` takes names (``'accuracy'``/``'acc'``,
``'categorical_accuracy'``, ``'sparse_categorical_accuracy'``,
``'binary_accuracy'``, ``'mae'``, ``'mse'``, ``'top_k_categorical_accuracy'``)
or objects (``Precision()``, ``Recall()``, ``AUC()``,
``TopKCategoricalAccuracy(k=5)``); the logs use the name as given.

A metric sums per-batch totals on the model's device (no host copy per
batch) and turns the run's totals into its value once, at the end. fastnn
metrics are stateless objects, not Keras' stateful ``Metric`` variables: a
difference on purpose (the training loop owns the sums).
"""
from __future__ import annotations

import numpy as np

from ._checks import integer, number


class Metric:
    """Base class: ``totals(out, y, view)`` per batch, ``result(totals, seen)`` per run."""

    name = None
    needs_probabilities = False
    size = 1  # totals per batch

    def totals(self, out, y, view):
        raise NotImplementedError

    def result(self, totals, seen):
        return float(totals[0]) / seen

    def get_config(self):
        return {"class_name": type(self).__name__}


class BatchView:
    """What a metric needs to know about the model's outputs: are they logits (of a fused softmax or
    sigmoid), are targets class indices; and the outputs as probabilities and one-hot targets."""

    def __init__(self, xp, fused_activation, class_indices, n_outputs):
        self.xp, self.fused, self.class_indices, self.n_outputs = xp, fused_activation, class_indices, n_outputs

    def probabilities(self, out):
        xp = self.xp
        if self.fused == "softmax":
            e = xp.exp(out - out.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if self.fused == "sigmoid":
            return 1 / (1 + xp.exp(-out))
        return out

    def labels(self, y):
        """Class indices of the targets."""
        return y if self.class_indices else self.xp.argmax(y, axis=1)

    def dense_targets(self, y):
        """Targets shaped like the outputs (one-hot rows for class indices)."""
        if not self.class_indices:
            return y
        return (self.xp.arange(self.n_outputs)[None, :] == y[:, None]).astype(np.float64)


class Accuracy(Metric):
    """``'accuracy'``: argmax against class indices or one-hot rows; for one output, > 0.5."""

    name = "accuracy"

    def totals(self, out, y, view):
        xp = view.xp
        if out.shape[1] == 1:
            threshold = 0.0 if view.fused == "sigmoid" else 0.5
            return [((out > threshold) == (y > 0.5)).all(axis=1).sum()]
        return [(xp.argmax(out, axis=1) == view.labels(y)).sum()]


class BinaryAccuracy(Metric):
    """``'binary_accuracy'``: the share of outputs on the right side of 0.5."""

    name = "binary_accuracy"

    def totals(self, out, y, view):
        threshold = 0.0 if view.fused == "sigmoid" else 0.5
        return [((out > threshold) == (view.dense_targets(y) > 0.5)).mean(axis=1).sum()]


class MeanAbsoluteError(Metric):
    """``'mae'``: mean |prediction - target| over outputs and samples."""

    name = "mean_absolute_error"
    needs_probabilities = True

    def totals(self, out, y, view):
        return [view.xp.abs(out - view.dense_targets(y)).mean(axis=1).sum()]


class MeanSquaredError(Metric):
    """``'mse'``: mean (prediction - target)^2 over outputs and samples."""

    name = "mean_squared_error"
    needs_probabilities = True

    def totals(self, out, y, view):
        d = out - view.dense_targets(y)
        return [(d * d).mean(axis=1).sum()]


class TopKCategoricalAccuracy(Metric):
    """The target class is among the ``k`` highest outputs."""

    name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = integer("k", k, lo=1)
        self.name = name or self.name

    def totals(self, out, y, view):
        xp = view.xp
        labels = view.labels(y)
        target = out[xp.arange(len(out)), labels]
        return [((out > target[:, None]).sum(axis=1) < self.k).sum()]

    def get_config(self):
        return {**super().get_config(), "k": self.k, "name": self.name}


class _Thresholded(Metric):
    """True positives over the positives of one side (``divides_by``: the predicted or the actual
    ones), every output thresholded at ``thresholds`` (0.5)."""

    needs_probabilities = True
    size = 2
    divides_by = None

    def __init__(self, thresholds=None, name=None):
        self.threshold = 0.5 if thresholds is None else number("thresholds", thresholds, lo=0, hi=1)
        self.name = name or self.name

    def totals(self, out, y, view):
        positives = {"predicted": out > self.threshold, "actual": view.dense_targets(y) > 0.5}
        return [(positives["predicted"] & positives["actual"]).sum(), positives[self.divides_by].sum()]

    def result(self, totals, seen):
        return float(totals[0]) / float(totals[1]) if float(totals[1]) else 0.0

    def get_config(self):
        return {**super().get_config(), "thresholds": self.threshold, "name": self.name}


class Precision(_Thresholded):
    """True positives over predicted positives, every output thresholded at ``thresholds`` (0.5)."""

    name = "precision"
    divides_by = "predicted"


class Recall(_Thresholded):
    """True positives over actual positives, every output thresholded at ``thresholds`` (0.5)."""

    name = "recall"
    divides_by = "actual"


class AUC(Metric):
    """Area under the ROC curve from ``num_thresholds`` thresholds (Keras' Riemann sum, interpolation
    over the thresholds' true/false positive rates), every output counted as one binary decision."""

    name = "auc"
    needs_probabilities = True
    size = 4

    def __init__(self, num_thresholds=200, name=None):
        self.num_thresholds = integer("num_thresholds", num_thresholds, lo=3)
        self.name = name or self.name
        eps = 1e-7
        inner = np.arange(1, self.num_thresholds - 1) / (self.num_thresholds - 1)
        self._thresholds = np.concatenate([[-eps], inner, [1 + eps]])

    def totals(self, out, y, view):
        xp = view.xp
        p = out.reshape(-1, 1)
        t = view.dense_targets(y).reshape(-1, 1) > 0.5
        above = p > xp.asarray(self._thresholds)[None, :]
        return [(above & t).sum(axis=0), (above & ~t).sum(axis=0), t.sum(), (~t).sum()]

    def result(self, totals, seen):
        tp, fp, pos, neg = (np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64) for a in totals)
        tpr = tp / pos if pos else np.zeros_like(tp)
        fpr = fp / neg if neg else np.zeros_like(fp)
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "name": self.name}


class CategoricalAccuracy(Accuracy):
    name = "categorical_accuracy"


class SparseCategoricalAccuracy(Accuracy):
    name = "sparse_categorical_accuracy"


_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "binary_accuracy": BinaryAccuracy,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError, "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "precision": Precision, "recall": Recall, "auc": AUC,
}
_CLASSES = {c.__name__: c for c in _BY_NAME.values()}


def get(metric):
    """``(name in the logs, Metric)`` for a metric name, object, or saved config."""
    if isinstance(metric, Metric):
        return metric.name, metric
    if isinstance(metric, str) and metric in _BY_NAME:
        return metric, _BY_NAME[metric]()
    if isinstance(metric, dict) and metric.get("class_name") in _CLASSES:
        cfg = dict(metric)
        obj = _CLASSES[cfg.pop("class_name")](**cfg)
        return obj.name, obj
    raise ValueError(f"metrics: unknown metric {metric!r}; known: {', '.join(sorted(_BY_NAME))} or a "
                     f"fastnn.metrics.Metric")


def serialize(name, metric):
    """What ``save`` stores for a metric: its name when given by name, else its config."""
    default = _BY_NAME.get(name)
    if default is not None and type(metric) is default and metric.get_config() == default().get_config():
        return name
    return metric.get_config()
