"""A model's parameters in flat buffers: placement, optimizer groups, constraints, penalties, averages.

Trainable parameters live in one flat buffer (``params``) with their
gradients in a second (``grads``), so the optimizer updates everything in a
few fused calls and a data-parallel step needs one allreduce; non-trainable
state (batch-norm running statistics) lives in a third (``state``). Layers get
views into these buffers.

The optimizer's groups (contiguous ranges sharing learning-rate multiplier
and L1/L2 coefficients) are computed here once, at build and whenever a layer
is frozen, unfrozen or given another multiplier, not per step.
"""
from __future__ import annotations

import contextlib
import copy
import weakref
from dataclasses import dataclass

from .. import ops
from ..layers.base import prod

TOTALS = 16  # room for a batch's summed loss and its metrics' totals (accuracy 1, AUC 4, ...)


@dataclass
class ParamGroup:
    """A contiguous range of the flat parameter buffer updated by one fused call."""

    start: int
    stop: int
    lr_multiplier: float = 1.0
    l1: float = 0.0  # gradient coefficients: g += l1 sign(w) + l2 w
    l2: float = 0.0


class Parameters:
    """Every parameter of ``layers`` placed in flat buffers on ``backend``.

    ``previous`` maps a layer to the weights it held before (a layer taken
    from another model keeps them); everything else is initialized from
    ``rng``.
    """

    def __init__(self, layers, backend, dtype, rng, previous=None):
        self.backend, self.dtype = backend, dtype
        previous = previous or {}
        # Trainable weights first, then biases, each in layer order: with the
        # usual "regularize weights, not biases" this leaves two contiguous
        # groups, so an optimizer step is two fused calls.
        trainable = [(l, s) for bias in (False, True) for l in layers for s in l.specs if s.trainable and s.is_bias == bias]
        state = [(l, s) for l in layers for s in l.specs if not s.trainable]
        self.params = backend.zeros((sum(prod(s.shape) for _, s in trainable),), dtype)
        # The gradients carry TOTALS spare elements after them, where a data-parallel step puts its
        # loss and metric sums, so that one allreduce of ``grads_and_totals`` combines everything.
        self.grads_and_totals = backend.zeros((len(self.params) + TOTALS,), dtype)
        self.grads = self.grads_and_totals[:len(self.params)]
        self.state = backend.zeros((sum(prod(s.shape) for _, s in state),), dtype)
        self.slots = self._place(trainable, self.params, self.grads, rng, previous)
        self.state_slots = self._place(state, self.state, None, rng, previous)
        self.average = None  # Polyak average of params (callbacks.ExponentialMovingAverage, an optimizer's use_ema)
        self.source = None  # the Parameters a view looks into (None: these buffers are this object's own)
        self._views = weakref.WeakSet()
        self.layers_changed()

    def view(self, layers):
        """These buffers, seen by another model that uses some of these layers (shared weights, as Keras
        shares a layer's weights between models): its optimizer groups, constraints and penalties cover
        only ``layers``, so training it updates those weights here and leaves the rest alone."""
        members = set(map(id, layers))
        v = copy.copy(self)
        v.source, v._views = self, weakref.WeakSet()
        v.slots = [slot for slot in self.slots if id(slot[0]) in members]
        v.state_slots = [slot for slot in self.state_slots if id(slot[0]) in members]
        v.layers_changed()
        self._views.add(v)
        return v

    def _place(self, entries, flat, grads, rng, previous):
        slots, offset = [], 0
        for layer, spec in entries:
            n = prod(spec.shape)
            view = flat[offset:offset + n]
            old = previous.get(layer, {}).get(spec.name)
            if old is not None and tuple(old.shape) == spec.shape:
                view[...] = old.reshape(-1)  # a reused layer keeps its trained weights
            else:
                init = spec.initializer(spec.shape, spec.fan_in, spec.fan_out, rng, self.dtype)
                view[...] = self.backend.xp.asarray(init.reshape(-1))
            layer.params[spec.name] = view.reshape(spec.shape)
            if grads is not None:
                layer.grads[spec.name] = grads[offset:offset + n].reshape(spec.shape)
            slots.append((layer, spec, offset, offset + n))
            offset += n
        return slots

    def layers_changed(self):
        """Recompute the optimizer groups and constrained parameters (a layer was frozen or re-rated)."""
        groups = []
        for layer, spec, start, stop in self.slots:
            if not layer.trainable:
                continue
            l1, l2 = spec.regularizer.grad_coefficients if spec.regularizer else (0.0, 0.0)
            key = (layer.lr_multiplier, l1, l2)
            last = groups[-1] if groups else None
            if last and last.stop == start and (last.lr_multiplier, last.l1, last.l2) == key:
                last.stop = stop
            else:
                groups.append(ParamGroup(start, stop, *key))
        self.groups = groups
        self.constrained = [(layer.params[spec.name], spec.constraint) for layer, spec, _, _ in self.slots
                            if spec.constraint is not None and layer.trainable]
        self.regularized = [(layer.params[spec.name], spec.regularizer) for layer, spec, _, _ in self.slots
                            if spec.regularizer is not None]
        for v in list(self._views):
            v.layers_changed()

    def apply_constraints(self):
        """Project constrained parameters (max-norm) after an optimizer step."""
        for w, constraint in self.constrained:
            constraint.apply(w, self.backend)

    def penalty(self):
        """The current value of every weight regularizer's penalty, summed."""
        xp = self.backend.xp
        return sum(float(reg.penalty(w, xp)) for w, reg in self.regularized)

    def count(self, layers, trainable=None):
        """Number of parameters of ``layers``; only trainable (True) or non-trainable (False) ones if asked."""
        total = 0
        for layer in layers:
            for spec in layer.specs:
                if trainable is None or trainable == (spec.trainable and layer.trainable):
                    total += prod(spec.shape)
        return total

    # -- copies and averages ----------------------------------------------------------
    def snapshot(self):
        """A copy of all parameters and state (for restoring later)."""
        return self.params.copy(), self.state.copy()

    def restore(self, snapshot):
        params, state = snapshot
        self.params[...] = params
        self.state[...] = state

    def start_average(self, restart=False):
        """Begin a Polyak average at the current parameters (unless one is kept already and not ``restart``)."""
        if self.average is None or self.average.shape != self.params.shape:
            self.average = self.params.copy()
        elif restart:
            self.average[...] = self.params

    def update_average(self, decay):
        """``average = decay * average + (1 - decay) * params``."""
        ops.ema_update(self.average, self.params, decay, backend=self.backend)

    def overwrite_with_average(self):
        """Set the trainable parameters to their average (an optimizer's ``use_ema``); frozen layers keep theirs."""
        for group in self.groups:
            self.params[group.start:group.stop] = self.average[group.start:group.stop]

    @contextlib.contextmanager
    def averaged(self):
        """Within the block, the parameters are their Polyak average."""
        if self.average is None:
            raise ValueError("averaged_weights: no average kept; train with callbacks=[ExponentialMovingAverage()]")
        saved = self.params.copy()
        self.params[...] = self.average
        try:
            yield
        finally:
            self.params[...] = saved

