"""Dropout: inverted dropout with masks keyed by (seed, step, element)."""
from __future__ import annotations

from .. import ops
from .._checks import integer, number
from .base import Layer


def seed_arg(seed):
    """A random layer's own seed: None (derive one from the model's) or an int the kernels take."""
    return None if seed is None else integer("seed", seed, lo=0, hi=2**64 - 1, expected="an int in [0, 2**64)")


class Dropout(Layer):
    """Inverted dropout: at training time zero each unit with probability ``rate`` and scale the
    rest by 1/(1 - rate); the identity at inference.

    The mask is a pure function of (seed, training step, element), so runs
    and resumed runs repeat exactly; the seed defaults to one derived from
    the model's seed and the layer's position. The element is counted in the
    global batch: under data-parallel training ``row_offset`` (set by the
    strategy) is the position of this process's first row, so N processes
    draw exactly the masks of one.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = number("rate", rate, lo=0, hi=1, hi_open=True)
        self.seed = seed_arg(seed)
        self.row_offset = 0

    def forward(self, x, training=False, step=0):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        self._step = step
        self._first = self.row_offset * (x.size // x.shape[0] if x.shape[0] else 0)
        return ops.dropout_forward(x, self.rate, seed=self._seed(), step=step, out=self.buffer("y", x.shape),
                                   first=self._first, backend=self.backend)

    def backward(self, dy):
        if not self._active:
            return dy
        return ops.dropout_backward(dy, self.rate, seed=self._seed(), step=self._step, out=dy, first=self._first,
                                    backend=self.backend)

    def _seed(self):
        return self.seed if self.seed is not None else self.default_seed

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
