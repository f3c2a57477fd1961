"""``History``: the per-epoch logs ``fit`` returns."""
from __future__ import annotations

import numpy as np

from .callbacks import Callback


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']``, ``history.epoch``.

    ``fit`` adds one to its callbacks and returns it (also as ``model.history``),
    with keys named as the metrics were passed to ``compile`` (``'acc'`` stays ``'acc'``).
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def plot(self, path):
        """Write a PNG of training vs validation loss (and accuracy) per epoch to ``path`` (needs matplotlib)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install 'fastnn[plot]'") from None
        h = self.history
        panels = [k for k in h if not k.startswith("val_") and k not in ("lr", "learning_rate")]
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
        epochs = np.arange(1, len(self.epoch) + 1)
        for ax, key in zip(axes[0], panels):
            ax.plot(epochs, h[key], "o-", label=f"training {key}")
            if "val_" + key in h:
                ax.plot(epochs, h["val_" + key], "s--", label=f"validation {key}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
