"""On-the-fly data augmentation for image batches (NHWC), NumPy only.

``Augmenter(shift=2, flip=True, rotate=10)`` draws new random transforms for
every sample each time it is called with a seeded ``numpy.random.Generator``::

    aug = Augmenter(shift=2, flip=True)
    x_new = aug(x_batch, rng)               # same shape and dtype, new random transforms

To train with it, ``fit_augmented`` augments the whole training set once per
epoch (new transforms every epoch) and continues ``model.fit`` one epoch at a
time; validation data stay unaugmented::

    history = fit_augmented(model, x_train, y_train, aug, epochs=20, batch_size=64,
                            validation_split=0.1)

``flow`` yields augmented mini-batches for loops of your own.

Every transform is one inverse coordinate map per sample (output pixel ->
source pixel), applied by a single gather, so composing them costs one pass:
rotation about the image center, then horizontal flip, then the shift.
Pixels that come from outside the image are filled with ``fill`` (0).
"""
from __future__ import annotations

import numpy as np

_CHUNK = 2048  # samples per gather: bounds the (n, H, W) index arrays to a few MB


class Augmenter:
    """Random shifts, horizontal flips and small rotations of NHWC image batches.

    Args:
        shift: largest shift in pixels, drawn uniformly from the integers in
            [-shift, shift] per axis and sample; an int or (rows, cols).
        flip: probability of flipping a sample left-right; True means 0.5.
        rotate: largest rotation in degrees, drawn uniformly in [-rotate, rotate].
        interpolation: ``'nearest'`` or ``'bilinear'`` (used for rotations;
            shifts and flips move whole pixels either way).
        fill: value of pixels that come from outside the image.
    """

    def __init__(self, shift=0, flip=False, rotate=0.0, interpolation="nearest", fill=0.0):
        shift = (shift, shift) if isinstance(shift, (int, np.integer)) and not isinstance(shift, bool) else shift
        if (not isinstance(shift, (tuple, list)) or len(shift) != 2
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in shift)):
            raise ValueError(f"shift: expected an int >= 0 or a pair of them, got {shift!r}")
        self.shift = (int(shift[0]), int(shift[1]))
        flip = 0.5 if flip is True else 0.0 if flip is False else flip
        if not isinstance(flip, (int, float)) or not 0 <= flip <= 1:
            raise ValueError(f"flip: expected True, False or a probability in [0, 1], got {flip!r}")
        self.flip = float(flip)
        if not isinstance(rotate, (int, float)) or isinstance(rotate, bool) or not 0 <= rotate < 180:
            raise ValueError(f"rotate: expected degrees in [0, 180), got {rotate!r}")
        self.rotate = float(rotate)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation: expected 'nearest' or 'bilinear', got {interpolation!r}")
        self.interpolation = interpolation
        self.fill = float(fill)

    def __repr__(self):
        return (f"Augmenter(shift={self.shift}, flip={self.flip}, rotate={self.rotate}, "
                f"interpolation={self.interpolation!r})")

    def sample(self, n, rng):
        """Random per-sample transforms: ``(angles in degrees, flips, shifts (n, 2) as (rows, cols))``."""
        rng = np.random.default_rng(rng)
        angles = rng.uniform(-self.rotate, self.rotate, n) if self.rotate else np.zeros(n)
        flips = rng.random(n) < self.flip if self.flip else np.zeros(n, bool)
        shifts = np.zeros((n, 2), np.int64)
        for axis, k in enumerate(self.shift):
            if k:
                shifts[:, axis] = rng.integers(-k, k + 1, n)
        return angles, flips, shifts

    def __call__(self, batch, rng):
        """A new batch: each image of ``batch`` (n, H, W, C) with its own random transform.

        ``rng`` is a ``numpy.random.Generator`` (or a seed); the same generator
        state gives the same result. Float batches keep their dtype, others become float32.
        """
        batch = _check_batch(batch)
        return self.apply(batch, *self.sample(len(batch), rng))

    def apply(self, batch, angles=None, flips=None, shifts=None):
        """Apply given transforms: per sample a rotation (degrees, counter-clockwise as
        displayed), a left-right flip (bool), and a shift (rows down, cols right)."""
        batch = _check_batch(batch)
        n, H, W, C = batch.shape
        angles = np.zeros(n) if angles is None else np.broadcast_to(np.asarray(angles, np.float64), (n,))
        flips = np.zeros(n, bool) if flips is None else np.broadcast_to(np.asarray(flips, bool), (n,))
        shifts = np.zeros((n, 2), np.int64) if shifts is None else np.broadcast_to(np.asarray(shifts), (n, 2))
        out_dtype = batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)
        out = np.empty((n, H, W, C), out_dtype)
        for start in range(0, n, _CHUNK):
            sl = slice(start, start + _CHUNK)
            out[sl] = self._apply_chunk(batch[sl], angles[sl], flips[sl], shifts[sl], out_dtype)
        return out

    def _apply_chunk(self, batch, angles, flips, shifts, out_dtype):
        batch = batch.astype(out_dtype, copy=False)  # integer images: fill and blends in floating point
        n, H, W, C = batch.shape
        # Inverse map, undoing the transforms in reverse order: shift, then flip, then rotation.
        rows = np.arange(H)[None, :, None] - shifts[:, 0, None, None]            # (n, H, 1)
        cols = np.arange(W)[None, None, :] - shifts[:, 1, None, None]            # (n, 1, W)
        cols = np.where(flips[:, None, None], W - 1 - cols, cols)
        rows, cols = np.broadcast_arrays(rows, cols)
        if not angles.any():
            return _gather(batch, rows, cols, self.fill).astype(out_dtype, copy=False)
        theta = np.deg2rad(angles)[:, None, None]
        cy, cx = (H - 1) / 2, (W - 1) / 2
        u, v = rows - cy, cols - cx
        src_r = cy + np.cos(theta) * u + np.sin(theta) * v
        src_c = cx - np.sin(theta) * u + np.cos(theta) * v
        if self.interpolation == "nearest":
            return _gather(batch, np.rint(src_r).astype(np.int64), np.rint(src_c).astype(np.int64),
                           self.fill).astype(out_dtype, copy=False)
        r0, c0 = np.floor(src_r), np.floor(src_c)
        fr, fc = (src_r - r0)[..., None], (src_c - c0)[..., None]
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        out = ((1 - fr) * (1 - fc) * _gather(batch, r0, c0, self.fill)
               + (1 - fr) * fc * _gather(batch, r0, c0 + 1, self.fill)
               + fr * (1 - fc) * _gather(batch, r0 + 1, c0, self.fill)
               + fr * fc * _gather(batch, r0 + 1, c0 + 1, self.fill))
        return out.astype(out_dtype)


def _check_batch(batch):
    batch = np.asarray(batch)
    if batch.ndim != 4:
        raise ValueError(f"batch: expected images of shape (n, H, W, C), got shape {batch.shape}")
    if batch.dtype.kind not in "fiub":
        raise TypeError(f"batch: expected numeric images, got dtype {batch.dtype}")
    return batch


def _gather(batch, rows, cols, fill):
    """out[s, i, j] = batch[s, rows[s,i,j], cols[s,i,j]], or ``fill`` where that lies outside the image."""
    n, H, W, C = batch.shape
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    index = np.where(inside, rows * W + cols, 0).reshape(n, H * W)
    out = batch.reshape(n, H * W, C)[np.arange(n)[:, None], index].reshape(n, H, W, C)
    return np.where(inside[..., None], out, np.asarray(fill, out.dtype))


def flow(x, y, batch_size=32, augmenter=None, seed=0, shuffle=True):
    """Endless augmented mini-batches ``(x_batch, y_batch)``, reshuffled every epoch.

    For loops of your own; to train a model, pass the Augmenter to ``fit(..., augment=...)``.
    Each epoch is a pass over (x, y) in ``batch_size`` pieces (the last may be
    smaller); transforms are drawn from a generator seeded with ``seed``.
    ``augmenter=None`` yields the batches unchanged.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError("x: expected at least one sample")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if augmenter is not None:
        _check_batch(x[:1])
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx] if augmenter is None else augmenter(x[idx], rng)
            yield xb, y[idx]
