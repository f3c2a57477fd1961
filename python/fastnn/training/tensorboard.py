"""``TensorBoard``: scalars (and optionally weight histograms) for TensorBoard, written with tensorboardX."""
from __future__ import annotations

import os

from .._checks import integer
from .callbacks import Callback
from .data import to_host


class TensorBoard(Callback):
    """Write training logs for TensorBoard (``tensorboard --logdir LOG_DIR``), as Keras' callback does.

    Per epoch: every logged metric under ``LOG_DIR/train`` (as ``epoch_loss``,
    ``epoch_accuracy``, ..., and the learning rate as ``epoch_learning_rate``)
    and the ``val_`` ones under ``LOG_DIR/validation``. With ``update_freq=N``
    (an int) also the running loss and metrics every N batches
    (``batch_loss``, ...); ``'epoch'`` (default) writes per epoch only.
    ``histogram_freq=N`` writes a histogram of every weight every N epochs.
    Needs ``tensorboardX`` (``pip install 'fastnn[tensorboard]'``).
    """

    chief_only = True

    def __init__(self, log_dir="logs", histogram_freq=0, update_freq="epoch"):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir: expected a str or path, got {type(log_dir).__name__}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = integer("histogram_freq", histogram_freq, lo=0)
        if update_freq not in ("epoch", "batch"):
            update_freq = integer("update_freq", update_freq, lo=1, expected="'epoch', 'batch' or an int >= 1")
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers = {}

    def _writer(self, name):
        if name not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("TensorBoard needs tensorboardX: pip install 'fastnn[tensorboard]'") from None
            self._writers[name] = SummaryWriter(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_train_begin(self, logs=None):
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.update_freq != "epoch" and self._step % self.update_freq == 0:
            for k, v in (logs or {}).items():
                self._writer("train").add_scalar(f"batch_{k}", v, self._step)

    def on_epoch_end(self, epoch, logs=None):
        train = self._writer("train")
        for k, v in (logs or {}).items():
            if k.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{k[4:]}", v, epoch)
            elif k not in ("lr", "learning_rate"):
                train.add_scalar(f"epoch_{k}", v, epoch)
        train.add_scalar("epoch_learning_rate", self.model.optimizer.current_learning_rate(), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self.model.leaves():
                for name, w in layer.params.items():
                    train.add_histogram(f"{layer.name}/{name}", to_host(w), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}
