"""Weight regularizers: Keras' classes ``L1``, ``L2``, ``L1L2``, the functions ``l1(...)``,
``l2(...)``, ``l1_l2(...)``, and the names ``"l1"``, ``"l2"``, ``"l1_l2"`` (Keras' defaults).

A regularizer adds ``l1 * sum|w| + l2 * sum w^2`` to the loss. On layer
weights it is not applied by a separate pass: its gradient,
``l1 * sign(w) + 2 * l2 * w``, is folded into the fused optimizer update of
the weights' parameter group. On a layer's output (``activity_regularizer``)
its gradient is added to the backward signal.
"""
from __future__ import annotations

from ._checks import number


class Regularizer:
    """Elastic-net penalty ``l1 * sum|w| + l2 * sum w^2``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = number("l1", l1, lo=0), number("l2", l2, lo=0)

    @property
    def grad_coefficients(self):
        """(c1, c2) with d penalty / dw = c1 sign(w) + c2 w: what the fused update adds to the gradient."""
        return self.l1, 2.0 * self.l2

    def penalty(self, w, xp):
        """The penalty's value for array ``w`` (a float)."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(xp.abs(w).sum())
        if self.l2:
            flat = w.reshape(-1)
            total += self.l2 * float(xp.dot(flat, flat))
        return total

    def get_config(self):
        """Constructor arguments that rebuild this regularizer (saved with the model)."""
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def l1(l1=0.01):
    """Lasso penalty ``l1 * sum|w|``: drives weights to exactly zero."""
    return Regularizer(l1=l1)


def l2(l2=0.01):
    """Ridge (weight decay) penalty ``l2 * sum w^2``."""
    return Regularizer(l2=l2)


def l1_l2(l1=0.01, l2=0.01):
    """Elastic net: both penalties."""
    return Regularizer(l1=l1, l2=l2)


class L1(Regularizer):
    """Keras' ``L1(l1=0.01)``: the penalty ``l1 * sum|w|``."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(Regularizer):
    """Keras' ``L2(l2=0.01)``: the penalty ``l2 * sum w^2``."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


class L1L2(Regularizer):
    """Keras' ``L1L2(l1=0.0, l2=0.0)``: both penalties (Keras 3's defaults are zero)."""

    def __init__(self, l1=0.0, l2=0.0):
        super().__init__(l1=l1, l2=l2)


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(reg):
    """A regularizer from an instance, a Keras name (``"l2"``: ``L2(0.01)``), its ``get_config()`` dict
    (or Keras' ``{"class_name": "L2", "config": {...}}``), or None (no penalty)."""
    if reg is None or isinstance(reg, Regularizer):
        return reg
    if isinstance(reg, str):
        if reg not in _BY_NAME:
            raise ValueError(f"regularizer: unknown name {reg!r}, expected one of {', '.join(_BY_NAME)}")
        return _BY_NAME[reg]()
    if isinstance(reg, dict):
        if "class_name" in reg and reg["class_name"] in _BY_NAME:
            return _BY_NAME[reg["class_name"]](**reg.get("config", {}))
        return Regularizer(**reg)
    raise TypeError(f"regularizer: expected 'l1', 'l2', 'l1_l2', L1(...), L2(...), L1L2(...) or None, got {reg!r}")
