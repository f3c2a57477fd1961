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
from ..seeds import next_default_seed
from ..training import loop
from .compiled import Compiled
from .graph_api import GraphAPI
from .steps import StepAPI
from .weights import WeightsAPI


class Model(GraphAPI, StepAPI, WeightsAPI):
    """Base class of fastnn's models; ``Model(inputs, outputs)`` makes a functional model (Keras'
    ``keras.Model``), see ``models.functional.Functional``; ``Sequential`` is the chain of layers.

    Inference (``predict``, ``evaluate``, ``model(x)``) may be called from
    several threads at once: each batch runs under the model's lock (the
    kernels already use every core; a model per thread is faster, see the README);
    models that share layers share the lock.
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
        self.plan = None          # the steps the model runs (models.graph.Plan), made at build
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
        return self.plan.producers

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
        """The moving average of the weights kept by an optimizer's ``use_ema`` or by
        ``callbacks.ExponentialMovingAverage`` (None if neither keeps one)."""
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
            shuffle: reshuffle array samples (or a Sequence's batches) every epoch;
                ``"batch"`` (Keras' option for data on disk): shuffle the order of
                batches of consecutive samples, and the samples within each: a
                memory-mapped batch is then one read instead of one per row.
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
