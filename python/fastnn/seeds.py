"""Where models built without a seed take theirs (``fastnn.set_random_seed``)."""
from __future__ import annotations

import numpy as np

from ._checks import integer

# Fresh OS entropy each time, or, after set_random_seed, the next draw of a seeded generator.
_default_seeds: np.random.Generator | None = None


def set_random_seed(seed):
    """Make whole scripts repeatable, like ``keras.utils.set_random_seed``.

    Models created afterwards without a ``seed`` take theirs, in order, from a
    generator seeded with ``seed``; NumPy's global generator is seeded too, for
    the script's own ``np.random`` calls. ``None`` goes back to fresh entropy.
    """
    global _default_seeds
    if seed is None:
        _default_seeds = None
        return
    seed = integer("seed", seed, lo=0)
    _default_seeds = np.random.default_rng(seed)
    np.random.seed(seed % 2**32)


def next_default_seed():
    """The seed of a model created without one."""
    if _default_seeds is None:
        return int(np.random.SeedSequence().entropy % 2**32)
    return int(_default_seeds.integers(2**32))
