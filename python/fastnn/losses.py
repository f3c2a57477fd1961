"""Losses. Each computes the per-sample loss of the model's output against the
targets and the gradient of the batch mean with respect to that output.

Cross-entropy after a softmax (or binary cross-entropy after a sigmoid) is
fused: the model hands the loss the logits, and the loss computes softmax and
cross-entropy together (log-sum-exp), which is exact where the separate
functions would take log(0).
"""
from . import ops
from .backend import Buffers


class Loss:
    """Base class. ``fused_activation`` names the output activation this loss absorbs."""

    name = None
    fused_activation = None
    takes_class_indices = False  # targets become int64 class indices (one-hot rows are converted)

    def __init__(self):
        self._buffers = Buffers()

    def check_targets(self, y, output_shape, n_outputs):
        """Raise ValueError if targets ``y`` cannot go with outputs of ``output_shape``."""

    def buffer(self, backend, name, like):
        """A reused array shaped like ``like`` (the per-sample loss, the probabilities)."""
        return self._buffers.get(backend, name, like.shape, like.dtype)

    def forward(self, out, y, backend):
        """Per-sample loss (M,) of ``out`` against ``y``."""
        raise NotImplementedError

    def backward(self, out, y, backend, dout):
        """Gradient of the mean loss with respect to ``out``, into ``dout``."""
        raise NotImplementedError


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot targets; expects a softmax output layer."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"y: {self.name} expects one-hot targets of shape (n, {n_outputs}), got {y.shape}; "
                             f"use sparse_categorical_crossentropy for class indices")

    def forward(self, logits, y, backend):
        self._probs, loss = ops.softmax_cross_entropy_forward(logits, y, probs=self.buffer(backend, "probs", logits),
                                                              loss=self.buffer(backend, "loss", logits[:, 0]),
                                                              backend=backend)
        return loss

    def backward(self, logits, y, backend, dout):
        return ops.softmax_cross_entropy_backward(self._probs, y, out=dout, backend=backend)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy against integer class labels; expects a softmax output layer."""

    name = "sparse_categorical_crossentropy"
    takes_class_indices = True

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 1:
            raise ValueError(f"y: {self.name} expects class indices of shape (n,), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(f"y: class labels must lie in [0, {n_outputs}), got values from {y.min()} to {y.max()}")


class BinaryCrossentropy(Loss):
    """Binary cross-entropy against 0/1 targets; expects a sigmoid output layer."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def check_targets(self, y, output_shape, n_outputs):
        if y.shape[1:] != tuple(output_shape):
            raise ValueError(f"y: {self.name} expects targets of shape (n, {n_outputs}), got {y.shape}")

    def forward(self, logits, y, backend):
        return ops.bce_logits_forward(logits, y, out=self.buffer(backend, "loss", logits[:, 0]), backend=backend)

    def backward(self, logits, y, backend, dout):
        return ops.bce_logits_backward(logits, y, out=dout, backend=backend)


class MeanSquaredError(Loss):
    """Mean squared error, averaged over outputs and samples."""

    name = "mse"

    def check_targets(self, y, output_shape, n_outputs):
        if y.shape[1:] != tuple(output_shape):
            raise ValueError(f"y: {self.name} expects targets of shape (n, {n_outputs}), got {y.shape}")

    def forward(self, out, y, backend):
        return ops.mse_forward(out, y, out=self.buffer(backend, "loss", out[:, 0]), backend=backend)

    def backward(self, out, y, backend, dout):
        return ops.mse_backward(out, y, out=dout, backend=backend)


class Hinge(Loss):
    """Multiclass SVM (hinge) loss on the raw scores of a linear output layer:
    sum over wrong classes of max(0, s_j - s_y + 1). Targets: class indices or one-hot rows."""

    name = "hinge"
    takes_class_indices = True

    def check_targets(self, y, output_shape, n_outputs):
        if y.ndim != 1:
            raise ValueError(f"y: {self.name} expects class indices (n,) or one-hot rows (n, {n_outputs}), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(f"y: class labels must lie in [0, {n_outputs}), got values from {y.min()} to {y.max()}")

    def forward(self, scores, y, backend):
        return ops.hinge_forward(scores, y, out=self.buffer(backend, "loss", scores[:, 0]), backend=backend)

    def backward(self, scores, y, backend, dout):
        return ops.hinge_backward(scores, y, out=dout, backend=backend)


_BY_NAME = {cls.name: cls for cls in (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
                                      MeanSquaredError, Hinge)}
_BY_NAME["mean_squared_error"] = MeanSquaredError


def get(loss):
    """A loss from its name (``'sparse_categorical_crossentropy'``) or a Loss instance."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _BY_NAME:
        return _BY_NAME[loss]()
    raise ValueError(f"loss: expected one of {', '.join(sorted(_BY_NAME))} or a Loss, got {loss!r}")
