"""Callbacks that write files: checkpoints (``ModelCheckpoint``), crash backups (``BackupAndRestore``),
CSV logs (``CSVLogger``)."""
from __future__ import annotations

import csv
import os

from .._checks import boolean, integer
from .callbacks import Callback
from .monitoring import _Monitor


class ModelCheckpoint(Callback):
    """Save the model (weights, optimizer state, counters, RNG) after each epoch.

    ``filepath`` may use ``{epoch}`` and logged metrics, e.g. ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'``.
    With ``save_best_only`` it saves only when ``monitor`` improves.
    """

    chief_only = True

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath = _path("filepath", filepath)
        self._m = _Monitor(monitor, mode, 0.0)
        self.save_best_only = boolean("save_best_only", save_best_only)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._m.value(logs, "ModelCheckpoint")
            if value is None or not self._m.improved(value):
                return
            self._m.best = value
        self.model.save(self._path(epoch + 1, logs or {}))

    def _path(self, epoch, logs):
        """``filepath`` filled in with ``epoch`` (1-based) and this epoch's logs."""
        keys = ", ".join(["epoch", *sorted(logs)])
        try:
            return self.filepath.format(epoch=epoch, **logs)
        except KeyError as e:
            raise ValueError(f"filepath: {self.filepath!r} uses {{{e.args[0]}}}, which is not logged; "
                             f"available: {keys}") from None
        except (IndexError, ValueError) as e:
            raise ValueError(f"filepath: {self.filepath!r} cannot be filled in ({e}); available: {keys}") from None

class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file."""

    chief_only = True

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = _path("filename", filename), separator, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **(logs or {})}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()

class BackupAndRestore(Callback):
    """Resume a ``fit`` that was interrupted (a crash, a killed job), as Keras' callback does.

    After every epoch (or every ``save_freq`` batches) the model's whole
    state (weights, optimizer state, counters, RNG) is saved in
    ``backup_dir``; a ``fit`` started again with the same callback and
    arguments loads it and continues with the next epoch. The backup is
    deleted when training ends normally (``delete_checkpoint=True``).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        self.backup_dir = _path("backup_dir", backup_dir)
        if save_freq != "epoch":
            save_freq = integer("save_freq", save_freq, lo=1, expected="'epoch' or an int >= 1")
        self.save_freq = save_freq
        self.delete_checkpoint = boolean("delete_checkpoint", delete_checkpoint)
        self.restored_epoch = None

    @property
    def _file(self):
        return os.path.join(self.backup_dir, "latest.safetensors")

    def on_train_begin(self, logs=None):
        from ..models.saving import restore_state

        self.restored_epoch, self._batches = None, 0
        if os.path.exists(self._file):
            restore_state(self.model, self._file)
            self.restored_epoch = self.model.epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model.save(self._file)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._file):
            os.remove(self._file)


def _path(name, value):
    """A file path argument as a str (or bytes, from an os.PathLike that gives bytes)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a str or path, got {type(value).__name__}")
    return os.fspath(value)
