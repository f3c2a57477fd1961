"""Keras' gradient clipping over ranges of a flat gradient buffer, in one native pass
(two for the norm modes: the norms, then the clipped gradient)."""
from ._util import prepare, real, text

CLIP_MODES = ("clipnorm", "global_clipnorm", "clipvalue")


def clip_gradients(w, g, ranges, l1, l2, *, mode, clip, sq=None, backend=None):
    """Clip ``g`` in place, range by range, as Keras' optimizers do.

    ``ranges`` is an int64 (R, 2) array of [start, stop) pairs into the 1-D
    ``w``/``g`` (one per parameter tensor, sorted, not overlapping); ``l1``,
    ``l2`` (R,) are each range's coupled penalty coefficients, folded into the
    gradient first (``g + l2 w + l1 sign(w)``: Keras clips the whole loss's
    gradient), so the optimizer step after this runs with l1 = l2 = 0.

    ``mode``: ``'clipnorm'`` scales each range to L2 norm at most ``clip``;
    ``'global_clipnorm'`` scales all ranges by one factor so their joint norm
    is at most ``clip``; ``'clipvalue'`` clips each element to [-clip, clip].
    Returns ``sq``: each range's squared norm before clipping (float64 (R,); 0
    for clipvalue), written into ``sq`` if given.
    """
    text("mode", mode), real("clip", clip)
    be, ranges, l1, l2 = prepare(backend, ranges, l1, l2)
    if not be.owns(g) or not g.flags.c_contiguous:
        raise ValueError("g: expected a C-contiguous array of the backend (it is updated in place)")
    w = be.contiguous(w)
    if sq is None:
        rows = ranges.shape[0] if getattr(ranges, "ndim", 0) == 2 else 0  # a bad ranges: the kernel names it
        sq = be.empty((rows,), "float64")
    be.kernels.clip_gradients(w, g, ranges, l1, l2, sq, mode, clip)
    return sq
