"""Batch sources for ``fit``, ``evaluate`` and ``predict`` beyond in-memory arrays."""
from __future__ import annotations


class Sequence:
    """A data set served batch by batch, like Keras' ``PyDataset`` (``keras.utils.Sequence``).

    Subclass it and implement ``__len__`` (batches per epoch) and
    ``__getitem__(i)`` returning batch ``i`` as ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``; ``on_epoch_end`` runs after every epoch (to
    reshuffle, say). ``fit(seq, shuffle=True)`` visits the batches in a new
    random order each epoch. Batches are fetched by a background thread
    while the model trains on the previous one, so ``__getitem__`` may read
    files without slowing training.
    """

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def on_epoch_end(self):
        """Called after every epoch."""


PyDataset = Sequence
