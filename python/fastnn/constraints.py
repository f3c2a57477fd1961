"""Weight constraints, applied as a projection after each optimizer step."""
from __future__ import annotations

from . import ops
from ._checks import number


class MaxNorm:
    """Max-norm: each unit's incoming weight vector is rescaled to L2 norm <= ``max_value``
    (Srivastava et al., used with dropout). Units are the last axis of the kernel."""

    def __init__(self, max_value=2.0):
        self.max_value = number("max_value", max_value, lo=0, lo_open=True)

    def apply(self, w, backend):
        ops.max_norm_project(w, self.max_value, backend=backend)

    def get_config(self):
        return {"max_value": self.max_value}


def max_norm(max_value=2.0):
    return MaxNorm(max_value)


def get(c):
    if c is None or isinstance(c, MaxNorm):
        return c
    if isinstance(c, dict):
        return MaxNorm(**c)
    raise TypeError(f"constraint: expected max_norm(...) or None, got {c!r}")
