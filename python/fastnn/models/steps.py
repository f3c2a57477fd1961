"""The step API every model has: one batch at a time, for users and for the training loop.

``train_on_batch``/``test_on_batch``/``predict_on_batch``/``model(x)`` take
user data; the ``*_step_host`` methods take batches the loop has already
checked and converted. ``compute_gradients``/``apply_gradients`` are
``train_on_batch`` cut in two: the seam where a data-parallel strategy
combines gradients. Every step runs under the model's lock.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from ..layers.symbolic import call_symbolic, is_symbolic
from ..training.adapters import unpack
from ..training.data import BatchConverter, map_arrays, num_rows, to_host


class StepAPI:
    """Mixed into ``Model``."""

    # Steps on converted host batches (the training loop's): each runs under the lock.
    def train_step_host(self, x, y, sw=None):
        with self._lock:
            outs, losses = self._gradients(x, y, sw)
            self.apply_gradients()
            return self._totals(outs, y, losses, self._logits())

    def train_step_sharded(self, x, y, sw, global_size, combine):
        """A data-parallel rank's step on its rows of a global batch of ``global_size``:
        ``flat_grads`` gets these rows' share of the global mean loss's gradient, then
        ``combine(local sums)`` (the strategy's allreduce) returns the global sums and
        leaves the global gradient in ``flat_grads``, and the optimizer steps."""
        with self._lock:
            if num_rows(x):
                outs, losses = self._gradients(x, y, sw, scale=num_rows(x) / global_size)
                totals = self._totals(outs, y, losses, self._logits())
            else:  # a batch smaller than the number of ranks leaves some ranks without rows
                self.parameters.grads[...] = 0
                totals = [0.0] * self.totals_count
            totals = combine(totals)
            self.apply_gradients()
            return totals

    def test_step_host(self, x, y, sw=None):
        with self._lock:
            outs = self._as_list(self._forward(x, training=False, logits=self._logits()))
            return self._totals(outs, y, self.compiled.losses(outs, self._as_list(y), sw, self.backend),
                                self._logits())

    def predict_step_host(self, x):
        with self._lock:
            outs = [np.array(to_host(out), copy=True) for out in self._as_list(self._forward(x, False, False))]
            return outs if self.multi_output else outs[0]

    def predict_step_into(self, x, outs):
        """``predict_step_host`` written into ``outs`` (one host array per output): ``predict`` fills
        its result in place, no array per batch."""
        with self._lock:
            for out, y in zip(outs, self._as_list(self._forward(x, False, False))):
                out[...] = to_host(y)

    @contextlib.contextmanager
    def training_thread(self):
        """Marks the calling thread as the one training this model; another thread training too is an error."""
        me = threading.get_ident()
        with self._lock:
            if self._trainer not in (None, me):
                raise RuntimeError(f"{self.name}: another thread is training this model; training from two threads "
                                   "at once is not supported (inference from several threads is)")
            outer, self._trainer = self._trainer, me
        try:
            yield
        finally:
            self._trainer = outer

    # -- the public step API ---------------------------------------------------------
    def _batch(self, x, y=None, sample_weight=None, class_weight=None):
        conv = BatchConverter(self)
        x, y, sw = unpack(conv, (x, y, sample_weight), "", conv.class_weights(class_weight))
        xp = self.backend.xp
        return map_arrays(xp.asarray, x), None if y is None else map_arrays(xp.asarray, y), \
            None if sw is None else xp.asarray(sw)

    def _result(self, totals, n, return_dict):
        logs = self.logs_from(totals, n)
        logs["loss"] += self.parameters.penalty()
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch, as Keras: returns the loss, or ``[loss, *metrics]``
        (a dict with ``return_dict=True``), of this batch before the update."""
        self.require_compiled("train_on_batch", np.shape(x)[1:])
        x, y, sw = self._batch(x, y, sample_weight, class_weight)
        with self.training_thread():
            return self._result(self.train_step_host(x, y, sw), num_rows(x), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch in inference mode, as ``evaluate`` returns them."""
        self.require_compiled("test_on_batch", np.shape(x)[1:])
        x, y, sw = self._batch(x, y, sample_weight)
        return self._result(self.test_step_host(x, y, sw), num_rows(x), return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in inference mode, as a NumPy array (a list of them for
        a model with several outputs)."""
        self.ensure_built(np.shape(x)[1:])
        return self.predict_step_host(self._batch(x)[0])

    def __call__(self, x, training=False):
        """The outputs for the batch ``x`` (a backend array: NumPy, or CuPy on the GPU).

        ``training=True`` runs dropout and batch statistics as in training
        (and updates batch norm's moving statistics), without a gradient step.
        On symbolic tensors (``fastnn.Input``) the model becomes one node of a
        functional model, its weights shared.
        """
        if is_symbolic(x):
            return call_symbolic(self, x)
        self.ensure_built(np.shape(x)[1:])
        x = self._batch(x)[0]
        with self._lock:
            outs = [out.copy() for out in self._as_list(self._forward(x, training=bool(training), logits=False))]
            return outs if self.multi_output else outs[0]

    def compute_gradients(self, x, y, sample_weight=None):
        """Forward and backward on a batch: fills ``flat_grads`` with the gradient of the mean loss
        (weighted by ``sample_weight``); returns the outputs and the per-sample losses.

        With ``apply_gradients`` this is ``train_on_batch`` cut in two, the seam
        where a distribution strategy combines the gradients of several processes.
        """
        self.require_compiled("compute_gradients", np.shape(x)[1:])
        x, y, sw = self._batch(x, y, sample_weight)
        with self._lock:
            outs, losses = self._gradients(x, y, sw)
            return (outs if self.multi_output else outs[0]), sum(losses[1:], losses[0])

    def apply_gradients(self):
        """One optimizer step from ``flat_grads``, then the weight constraints (max-norm)."""
        with self._lock:
            self.optimizer.apply(self.parameters)
            self.parameters.apply_constraints()

