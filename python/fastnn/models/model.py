"""``Model``: what every model has: compile, the step API, the loops, weights and saving.

A subclass supplies the structure: ``build`` (placing ``parameters``),
``layers``, ``_forward`` and ``_backward``; ``Sequential`` is the chain of
layers. Epoch loops, data sources and callbacks live in ``fastnn.training``;
the file format in ``models.saving``.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .. import backend as fbackend
from .. import optimizers as foptimizers
from .._checks import integer
from ..layers.symbolic import call_symbolic, is_symbolic
from ..seeds import next_default_seed
from ..training import loop
from ..training.adapters import unpack
from ..training.data import BatchConverter, map_arrays, num_rows, to_host
from .compiled import Compiled
from .weights import WeightsAPI


class Model(WeightsAPI):
    """Base class of fastnn's models; ``Model(inputs, outputs)`` makes a functional model (Keras'
    ``keras.Model``), see ``models.functional.Functional``; ``Sequential`` is the chain of layers.

    Inference (``predict``, ``evaluate``, ``model(x)``) may be called from
    several threads at once: each batch runs under the model's lock (the
    kernels already use every core, so threads gain nothing by overlapping).
    Training from two threads at once is an error.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model:  # keras.Model(inputs, outputs): the functional API
            from .functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name="model", device="cpu", dtype="float32", seed=None):
        self.name = name
        self.backend = fbackend.get(device)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.seed = next_default_seed() if seed is None else integer("seed", seed, lo=0)
        self.rng = np.random.default_rng(self.seed)
        self.layers = []
        self.built = False
        self.parameters = None
        self.optimizer = None
        self.compiled = None      # the losses and metrics of compile, per output
        self.epoch = 0            # epochs completed; fit(..., initial_epoch=model.epoch) resumes a checkpoint
        self.stop_training = False
        self.history = None
        self._lock = threading.RLock()
        self._trainer = None      # the thread running fit or train_on_batch now
        self._buffers = fbackend.Buffers()  # output-gradient buffers reused across steps

    @property
    def trainable(self):
        """False when every layer is frozen; setting it freezes or unfreezes them all (as Keras'
        ``model.trainable``; batch norm in a frozen model runs in inference mode)."""
        return any(layer.trainable for layer in self.leaves())

    @trainable.setter
    def trainable(self, value):
        for layer in self.leaves():
            layer.trainable = value

    def ensure_built(self, sample_shape=None):
        """Build if not built yet: from the declared input shape, else from ``sample_shape`` (one
        sample's shape, from the first data the model sees)."""
        if not self.built:
            self.build(None if self.declared_input_shape() is not None else sample_shape)

    # -- structure, as the training loop and the data adapters see it ------------------
    @property
    def input_names(self):
        """Names of the model's inputs (the keys of a dict of input arrays)."""
        return ["input"]

    @property
    def input_shapes(self):
        """The shape of one sample of each input (no batch axis)."""
        return [self.input_shape]

    @property
    def output_names(self):
        """Names of the model's outputs: keys of per-output losses, metrics and targets, log prefixes."""
        return ["output"]

    @property
    def output_shapes(self):
        return [self.output_shape]

    def output_layers(self):
        """The layer that computes each output."""
        return [self.leaves()[-1]]

    @property
    def flat_params(self):
        """All trainable parameters, one flat array (layers hold views into it); assigning copies in place."""
        self.ensure_built()
        return self.parameters.params

    @flat_params.setter
    def flat_params(self, values):
        if values is not self.flat_params:
            self.parameters.params[...] = values

    @property
    def flat_grads(self):
        """Their gradients, filled by ``compute_gradients``."""
        self.ensure_built()
        return self.parameters.grads

    @property
    def flat_state(self):
        """Non-trainable state (batch-norm moving statistics), one flat array."""
        self.ensure_built()
        return self.parameters.state

    # -- weights ----------------------------------------------------------------
    def get_flat_weights(self):
        """A copy of all parameters and state (for restoring later)."""
        return self.parameters.snapshot()

    def set_flat_weights(self, weights):
        """Restore a copy made by ``get_flat_weights``."""
        self.parameters.restore(weights)

    def averaged_weights(self):
        """A context manager: within it the model uses its Polyak-averaged weights."""
        return self.parameters.averaged()

    @property
    def average_params(self):
        """The Polyak average kept by ``callbacks.ExponentialMovingAverage`` (None if none)."""
        return None if self.parameters is None else self.parameters.average

    # -- compiling --------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None):
        """Choose the optimizer, the loss and the metrics (``['accuracy']``, ``[fastnn.metrics.AUC()]``),
        by name or object, in Keras 3's argument order. A model with several outputs takes one loss for
        all, or a list (output order) or dict (output name) of losses, ``loss_weights`` and metric lists,
        as Keras. A model without an input shape yet is built on its first batch."""
        self.compiled = Compiled(loss, loss_weights, metrics, self.output_names)
        self.optimizer = foptimizers.get(optimizer)
        if self.declared_input_shape() is not None:
            self.ensure_built()  # as Keras builds a model whose input shape is known
        if self.built:
            self.check_loss()
            self.finish_compile()

    @property
    def loss(self):
        """The loss of the (first) output, as compiled (None before ``compile``)."""
        return None if self.compiled is None else self.compiled.outputs[0].loss

    @property
    def metrics(self):
        """The names of the compiled metrics, as the logs show them (Keras' ``model.metrics`` holds objects)."""
        return [] if self.compiled is None else self.compiled.log_names

    def finish_compile(self):
        """Give the optimizer its state beside the parameters (at compile, or at build after compile)."""
        self.optimizer.build(self.parameters)

    def check_loss(self):
        """Raise if a loss cannot go with the layer producing its output (a fused loss needs its activation)."""
        self.compiled.check_output_layers(self.output_layers())

    def require_compiled(self, caller, sample_shape=None):
        """Raise unless compiled; build if needed (see ``ensure_built``)."""
        if self.compiled is None:
            raise RuntimeError(f"{caller}: call compile(optimizer=..., loss=...) first")
        self.ensure_built(sample_shape)
        self.check_loss()

    @property
    def metrics_names(self):
        """``['loss', *metrics]``: the order of ``evaluate``'s list."""
        return ["loss", *self.metrics]

    def _logits(self):
        return self.compiled is not None and any(o.loss.fused_activation is not None for o in self.compiled.outputs)

    @property
    def multi_output(self):
        return len(self.output_names) > 1

    def _as_list(self, outputs):
        return list(outputs) if self.multi_output else [outputs]

    def _gradients(self, x, y, sw, scale=None):
        """Forward and backward; ``scale`` multiplies the loss gradient (a data-parallel rank's
        share of the global batch: its rows over the global batch size). Returns the outputs and
        every output's per-sample losses."""
        outs = self._as_list(self._forward(x, training=True, logits=self._logits()))
        ys = self._as_list(y)
        losses = self.compiled.losses(outs, ys, sw, self.backend)
        douts = self.compiled.output_gradients(outs, ys, sw, self.backend, self._buffers, self.dtype, scale)
        self._backward(douts if self.multi_output else douts[0])
        return outs, losses

    def _totals(self, outs, y, losses, logits):
        """The batch's summed loss and every metric's totals, on the device (one flat list)."""
        return self.compiled.totals(outs, self._as_list(y), losses, logits, self.backend.xp)

    @property
    def totals_count(self):
        """How many numbers a step's totals hold: the summed loss and every metric's."""
        return self.compiled.totals_count

    def logs_from(self, totals, seen):
        """A run's logs from its summed totals: ``{'loss': .., 'accuracy': .., ...}``."""
        return self.compiled.logs(totals, seen) if totals else {}

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

    # -- the loops ----------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            augment=None, strategy=None):
        """Train for epochs ``initial_epoch`` .. ``epochs - 1`` (Keras' semantics); returns a ``History``.

        Every call trains ``epochs - initial_epoch`` epochs from the current
        weights, so a second ``fit(x, y, epochs=5)`` trains 5 more. To resume a
        reloaded checkpoint at its epoch, pass ``initial_epoch=model.epoch``.

        Args:
            x: inputs: a NumPy array, a memory-mapped array (``np.load(path,
                mmap_mode='r')``, read batch by batch, never loaded whole), a
                generator or iterator of ``(x, y)``/``(x, y, sample_weight)``
                batches, or a ``fastnn.data.Sequence``.
            y: targets, for array inputs.
            batch_size: samples per step (default 32) for array inputs.
            verbose: ``'auto'`` (a bar on a terminal, a line per epoch
                otherwise), 0, 1 or 2 (a line per epoch).
            callbacks: list of ``fastnn.callbacks.Callback``.
            validation_split: fraction of the array data, taken from the end, held out.
            validation_data: ``(x_val, y_val[, sample_weight])``, a generator or a Sequence.
            shuffle: reshuffle array samples (or a Sequence's batches) every epoch.
            class_weight: ``{class: weight}`` scaling each sample's loss by its class's weight.
            sample_weight: per-sample loss weights for array inputs.
            steps_per_epoch, validation_steps: batches per epoch (needed for endless generators).
            validation_batch_size, validation_freq: as in Keras.
            augment: a fastnn addition: a callable ``(x_batch, rng) -> x_batch``
                (e.g. ``fastnn.augment.Augmenter``) applied to every training
                batch on the prefetch thread; validation data stay unaugmented.
            strategy: a fastnn addition: a ``fastnn.distribute.DataParallel``
                to train on several processes (launched by ``mpiexec``/``srun``)
                for this call; default: the one of
                ``fastnn.distribute.set_strategy``, if any. ``batch_size`` is
                then the global batch, split between the processes.

        Batches are gathered (and copied to the GPU) by a background thread
        while the previous step runs. Array data are checked before training;
        batches from generators, Sequences and memmaps as they arrive, and a
        bad one stops training with an error naming it, after the last
        completed step.
        """
        return loop.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                        shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                        validation_batch_size, validation_freq, augment, strategy)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, use_average=False):
        """Loss (and metrics) in inference mode, as Keras returns them: the loss alone when the
        model has no metrics, else ``[loss, *metrics]``; a dict with ``return_dict=True``.

        ``x`` may be any source ``fit`` takes. ``use_average=True`` (a fastnn
        addition) evaluates the Polyak-averaged weights.
        """
        with self.averaged_weights() if use_average else contextlib.nullcontext():
            return loop.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, use_average=False):
        """Model outputs for ``x`` in inference mode, computed in batches: a NumPy array.

        ``x`` may be any source ``fit`` takes (targets in its batches are
        ignored). ``use_average=True`` (a fastnn addition) predicts with the
        Polyak-averaged weights.
        """
        with self.averaged_weights() if use_average else contextlib.nullcontext():
            return loop.predict(self, x, batch_size, verbose, steps, callbacks)

    def save(self, path):
        """Save architecture (JSON) and weights, plus optimizer state, epoch/step counters and
        RNG state for resuming, in one safetensors file. No pickle."""
        from .saving import save_model

        save_model(self, path)
