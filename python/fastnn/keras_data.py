"""Keras' ``keras.datasets.mnist.load_data()`` for fastnn: ``fastnn.datasets.mnist.load_data()``.

fastnn downloads nothing. ``load_data`` reads MNIST from where it already is
on this machine, in this order:

1. ``$FASTNN_MNIST``: Keras' ``mnist.npz`` file, or a directory holding the
   four IDX files (what ``fastnn.datasets.mnist(path)`` reads);
2. ``path`` itself, if it exists (a ``.npz`` file or an IDX directory);
3. Keras' cache, ``$KERAS_HOME/datasets/<path>`` (``~/.keras/datasets/mnist.npz``
   by default), so a machine where Keras once downloaded MNIST needs nothing more.

Where none of these exists, or when ``FASTNN_EXAMPLES_SMALL=1`` is set (the
examples' and CI's switch for a quick run), it returns a stand-in and warns:
scikit-learn's 8x8 digits (1,797 images, shipped inside scikit-learn) scaled
up to 28x28 the way MNIST centres its 20x20 digits (each pixel repeated 3x3,
a 2-pixel border), split 1,347 / 450. The arrays have MNIST's types and
shapes, so a Keras program runs unchanged.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

SMALL_ENV = "FASTNN_EXAMPLES_SMALL"
MNIST_ENV = "FASTNN_MNIST"


def mnist_load_data(path="mnist.npz"):
    """MNIST as Keras returns it: ``(x_train, y_train), (x_test, y_test)``, uint8 images
    of shape (n, 28, 28) with values 0-255 and uint8 labels 0-9.

    Differs from Keras on purpose: nothing is downloaded; see this module's
    docstring for where the data are looked for and the small stand-in used otherwise.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file name or path, got {type(path).__name__}")
    if os.environ.get(SMALL_ENV, "") not in ("", "0"):
        warnings.warn(f"mnist.load_data: {SMALL_ENV} is set: using scikit-learn's 8x8 digits scaled up to 28x28 "
                      f"(1,347 training, 450 test images) instead of MNIST", stacklevel=2)
        return digits_as_mnist()
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    candidates = [os.environ.get(MNIST_ENV) or None, os.fspath(path),
                  os.path.join(keras_home, "datasets", os.fspath(path))]
    for candidate in filter(None, candidates):
        if os.path.isdir(candidate):
            return _from_idx(candidate)
        if os.path.isfile(candidate):
            return _from_npz(candidate)
    warnings.warn(f"mnist.load_data: no MNIST found (looked for ${MNIST_ENV}, {os.fspath(path)!r} and "
                  f"{candidates[2]!r}); using scikit-learn's 8x8 digits scaled up to 28x28 (1,347 training, "
                  f"450 test images) instead. fastnn downloads nothing: put Keras' mnist.npz there, or set "
                  f"{MNIST_ENV} to it or to a directory with the four IDX files", stacklevel=2)
    return digits_as_mnist()


def _from_npz(path):
    with np.load(path) as f:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
        if missing:
            raise ValueError(f"{path}: not Keras' mnist.npz (no {', '.join(missing)})")
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _from_idx(directory):
    from .datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist(directory)
    as_uint8 = lambda x: np.rint(x[..., 0] * 255).astype(np.uint8)  # noqa: E731 (undo mnist()'s / 255)
    return (as_uint8(x_train), y_train.astype(np.uint8)), (as_uint8(x_test), y_test.astype(np.uint8))


def digits_as_mnist(seed=0):
    """scikit-learn's 8x8 digits in MNIST's form: uint8 (n, 28, 28) images, uint8 labels, split 3:1 by ``seed``."""
    from .datasets import digits

    (x_train, y_train), (x_test, y_test) = digits(seed=seed, flatten=False)

    def images(x):  # [0, 1] 8x8 -> 0-255, each pixel 3x3, in a 2-pixel border: a 24x24 digit in 28x28, as MNIST's
        big = np.repeat(np.repeat(x[..., 0], 3, axis=1), 3, axis=2)
        return np.pad(np.rint(big * 255), ((0, 0), (2, 2), (2, 2))).astype(np.uint8)

    return (images(x_train), y_train.astype(np.uint8)), (images(x_test), y_test.astype(np.uint8))
