"""Additive Gaussian noise from the Philox stream, by the Box-Muller transform."""
import numpy as np

from .dropout import philox_stream

NOISE_KEY = 0x6E6F6973 << 32  # "nois": the noise's stream differs from dropout's for the same seed


def gaussian_noise(x, stddev, seed, step):
    """x + stddev * z, z standard normal: elements 2k and 2k + 1 of the flat array take the
    Box-Muller pair of words a = bits[2k], b = bits[2k + 1] of the stream (seed xor NOISE_KEY, step):

        u = (a + 1/2) / 2^32,  angle = 2 pi b / 2^32,
        z[2k] = sqrt(-2 ln u) cos(angle),  z[2k + 1] = sqrt(-2 ln u) sin(angle),

    in x's dtype.
    """
    n = x.size
    bits = philox_stream(n + n % 2, seed ^ NOISE_KEY, step)
    t = x.dtype.type
    a, b = bits[0::2].astype(t), bits[1::2].astype(t)
    u = (a + t(0.5)) * t(2.0**-32)
    angle = b * t(2 * np.pi * 2.0**-32)
    r = np.sqrt(t(-2) * np.log(u))
    z = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1).reshape(-1)[:n]
    return (x + t(stddev) * z.reshape(x.shape)).astype(x.dtype)
