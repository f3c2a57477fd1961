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
        """Project the weights ``w`` in place (called after every optimizer step)."""
        ops.max_norm_project(w, self.max_value, backend=backend)

    def get_config(self):
        """Constructor arguments that rebuild this constraint (saved with the model)."""
        return {"max_value": self.max_value}


def max_norm(max_value=2.0):
    """A ``MaxNorm`` constraint: each unit's incoming weights kept at L2 norm <= ``max_value``."""
    return MaxNorm(max_value)


def get(c):
    """A constraint from an instance, its ``get_config()`` dict, or None (no constraint)."""
    if c is None or isinstance(c, MaxNorm):
        return c
    if isinstance(c, dict):
        return MaxNorm(**c)
    raise TypeError(f"constraint: expected max_norm(...) or None, got {c!r}")
