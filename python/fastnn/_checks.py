"""Argument checks shared by the constructors of the Python API.

Errors name the argument first, like the kernels' own checks:
``momentum: expected a number, got str`` (TypeError) or
``momentum: expected 0 <= momentum < 1, got 1.5`` (ValueError). NumPy
scalars count as numbers and ints; bools count as neither.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def number(name, value, *, lo=None, hi=None, lo_open=False, hi_open=False, expected=None):
    """``value`` as a float, checked finite and within ``lo``/``hi`` (an open end excludes its bound).

    ``expected`` replaces the generated description of the allowed values in the messages.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected {expected or 'a number'}, got {type(value).__name__}")
    v = float(value)
    if (not math.isfinite(v) or (lo is not None and (v <= lo if lo_open else v < lo))
            or (hi is not None and (v >= hi if hi_open else v > hi))):
        raise ValueError(f"{name}: expected {expected or _describe_number(name, lo, hi, lo_open, hi_open)}, "
                         f"got {value!r}")
    return v


def integer(name, value, *, lo=None, hi=None, expected=None):
    """``value`` as an int, checked within ``lo`` <= value <= ``hi``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected {expected or 'an int'}, got {type(value).__name__}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{name}: expected {expected or _describe_integer(lo, hi)}, got {value!r}")
    return v


def boolean(name, value):
    """``value`` as a bool: True or False (numpy's too), so that a string such as "False" is not taken as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def name_arg(name, value):
    """``value`` if it is None or a non-empty str (a layer or model name)."""
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError(f"{name}: expected a non-empty str or None, got {value!r}")
    return value


def _describe_number(name, lo, hi, lo_open, hi_open):
    below, above = ("<" if lo_open else "<="), ("<" if hi_open else "<=")
    if lo is not None and hi is not None:
        return f"{lo} {below} {name} {above} {hi}"
    if lo is not None:
        return "a positive number" if lo == 0 and lo_open else f"a finite value {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"a finite value {above} {hi}"
    return "a finite number"


def _describe_integer(lo, hi):
    if lo is not None and hi is not None:
        return f"an int in [{lo}, {hi}]"
    if hi is not None:
        return f"an int <= {hi}"
    return "a positive int" if lo == 1 else f"an int >= {lo}"
