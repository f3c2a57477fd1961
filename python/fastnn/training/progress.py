"""Progress output: a bar on a terminal, one line per epoch otherwise (no ``\\r`` in log files)."""
from __future__ import annotations

import sys
import time

from .callbacks import Callback


def _is_terminal(stream):
    return hasattr(stream, "isatty") and stream.isatty()


class ProgbarLogger(Callback):
    """Prints progress, as Keras' ``ProgbarLogger``; ``fit``/``evaluate``/``predict`` add one when ``verbose``.

    ``verbose``: ``'auto'`` or 1 show a bar (steps, ETA, loss, metrics) when
    the output is a terminal and one line per epoch otherwise; 2 always one
    line per epoch; 0 nothing. The bar goes to stderr (tqdm), the lines to stdout.
    """

    chief_only = True

    def __init__(self, verbose="auto"):
        super().__init__()
        if verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self._bar = None

    def _use_bar(self):
        return self.verbose in ("auto", 1) and _is_terminal(sys.stderr)

    def _open_bar(self, total, desc):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="step", leave=False, file=sys.stderr, dynamic_ncols=True,
                         mininterval=0.1)

    def _close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _advance(self, batch, logs):
        if self._bar is None:
            return
        self._bar.update(1)
        if logs and (batch % 10 == 0 or batch + 1 == self._bar.total):
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)

    # -- fit ------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        if self._use_bar():
            self._open_bar(self.params.get("steps"), f"Epoch {epoch + 1}/{self.params.get('epochs')}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)
        self._seen = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        self._close_bar()
        if self.verbose:
            steps = self.params.get("steps") or getattr(self, "_seen", 0)
            items = "".join(f" - {k}: {v:.4f}" for k, v in (logs or {}).items())
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}: {steps}/{steps} - "
                  f"{time.perf_counter() - self._t0:.2f}s{items}", flush=True)

    # -- evaluate and predict ---------------------------------------------------------------
    def on_test_begin(self, logs=None):
        if self._use_bar() and self._bar is None and not self.params.get("in_fit"):
            self._open_bar(self.params.get("steps"), "Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self.params.get("in_fit"):  # fit's validation keeps the epoch's bar
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if self.params.get("in_fit"):
            return
        self._close_bar()
        if self.verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in (logs or {}).items()), flush=True)

    def on_predict_begin(self, logs=None):
        if self._use_bar():
            self._open_bar(self.params.get("steps"), "Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_predict_end(self, logs=None):
        self._close_bar()
