"""Keras' gradient clipping over ranges of a flat gradient, one range per variable."""
import numpy as np


def clip_gradients(w, g, ranges, l1, l2, *, mode, clip):
    """Clip ``g`` in place after adding each range's ``l2 w + l1 sign(w)``; returns the squared norms before."""
    parts = [g[lo:hi] + b * w[lo:hi] + a * np.sign(w[lo:hi]) for (lo, hi), a, b in zip(ranges, l1, l2)]
    sq = np.array([float((p * p).sum()) for p in parts]) if mode != "clipvalue" else np.zeros(len(parts))
    total = np.sqrt(sq.sum())
    for (lo, hi), p, s in zip(ranges, parts, sq):
        if mode == "clipnorm":  # Keras: values * clip / max(||values||, clip)
            g[lo:hi] = p * clip / max(np.sqrt(s), clip)
        elif mode == "global_clipnorm":
            g[lo:hi] = p * clip / max(total, clip)
        else:
            g[lo:hi] = np.clip(p, -clip, clip)
    return sq
