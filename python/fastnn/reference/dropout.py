"""Inverted dropout and the Philox4x32-10 generator that draws its mask.

Philox4x32-10 (Salmon et al., SC 2011; Random123) maps a counter of four
32-bit words and a key of two to four random 32-bit words in 10 rounds. Each
round multiplies two counter words by constants into 64-bit products and
mixes their halves with the other words and the key; the key is bumped by
two Weyl constants between rounds. Here it runs on whole arrays of counters
at once, with the 32x32 -> 64-bit products in uint64.
"""
import numpy as np

_MUL = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_WEYL = (0x9E3779B9, 0xBB67AE85)
_LO32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """Philox4x32-10 of ``counter = (c0, c1, c2, c3)`` under ``key = (k0, k1)``.

    Words are ints or arrays (broadcast together); returns 4 uint32 arrays.
    """
    c = [np.asarray(w, dtype=np.uint64) & _LO32 for w in counter]
    k0, k1 = (int(w) & 0xFFFFFFFF for w in key)
    for _ in range(10):
        p0, p1 = _MUL[0] * c[0], _MUL[1] * c[2]  # < 2^64: exact in uint64
        hi0, lo0 = p0 >> np.uint64(32), p0 & _LO32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _LO32
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        k0, k1 = (k0 + _WEYL[0]) & 0xFFFFFFFF, (k1 + _WEYL[1]) & 0xFFFFFFFF
    return [w.astype(np.uint32) for w in c]


def philox_stream(n, seed, step, first=0):
    """The random words of elements first .. first+n-1 of the stream (seed, step), element i:

    philox4x32_10((i//4 low, i//4 high, step low, step high), (seed low, seed high))[i % 4].
    """
    g = np.arange(first // 4, (first + n + 3) // 4, dtype=np.uint64)
    counter = (g & _LO32, g >> np.uint64(32), step & 0xFFFFFFFF, step >> 32)
    words = philox4x32_10(counter, (seed & 0xFFFFFFFF, seed >> 32))
    skip = first % 4
    return np.stack(words, axis=1).reshape(-1)[skip:skip + n]  # element 4g + j <- word j of call g


def dropout_mask(shape, p, seed, step, first=0):
    """Keep mask (uint8, 1 = kept) of an array of ``shape``: element i of the flat
    array is kept iff u = (bits >> 8) / 2^24 >= p for the word ``bits`` of
    element first + i of ``philox_stream``, decided as (bits >> 8) >= ceil(p 2^24).
    """
    bits = philox_stream(int(np.prod(shape, dtype=np.int64)), seed, step, first)
    threshold = np.uint32(np.ceil(p * 2.0**24))
    return ((bits >> np.uint32(8)) >= threshold).astype(np.uint8).reshape(shape)


def dropout_forward(x, p, seed, step, training=True, first=0):
    """Inverted dropout: keep each unit with probability 1 - p and divide it by 1 - p,
    so the expected output equals x; the identity at inference."""
    if not training:
        return x.copy()
    mask = dropout_mask(x.shape, p, seed, step, first)
    return (x * mask / (1 - p)).astype(x.dtype)


def dropout_backward(dy, p, seed, step, first=0):
    """dy/dx of dropout is the same mask and scale: dx = dy * keep / (1 - p)."""
    return dropout_forward(dy, p, seed, step, first=first)
