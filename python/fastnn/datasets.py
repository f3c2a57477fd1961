"""Datasets and data preparation.

* ``digits()``: scikit-learn's bundled 8x8 handwritten digits (1,797 images,
  shipped inside scikit-learn, no download); needs ``pip install fastnn[datasets]``.
* ``mnist(path)``, ``fashion_mnist(path)``: the 28x28 MNIST and Fashion-MNIST
  sets from the four IDX files (raw or ``.gz``) in a directory of yours;
  ``mnist.load_data()`` is Keras' form (``fastnn.keras_data``: a local copy, or
  a small stand-in from the 8x8 digits, with a warning);
  ``read_idx`` parses one IDX file; ``load('mnist:DIR')`` picks a set by name.
* ``to_categorical``: class indices to one-hot rows.
* ``train_test_split``: a seeded, stratified split.
* ``Standardizer`` (and ``MeanImageSubtractor``): normalization fitted on
  training data, applied unchanged to test data.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from .training.data import stratified_mask


def digits(test_fraction=0.25, seed=0, flatten=True):
    """The 8x8 digits data, scaled to [0, 1]: returns ``(x_train, y_train), (x_test, y_test)``.

    Images are (n, 64) when ``flatten`` else (n, 8, 8, 1); labels are ints 0-9.
    The split is stratified and fixed by ``seed``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn, which ships the data: pip install 'fastnn[datasets]'") from None
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    if not flatten:
        x = x.reshape(-1, 8, 8, 1)
    return train_test_split(x, data.target.astype(np.int64), test_fraction, seed)


# -- IDX files (the format of MNIST and Fashion-MNIST) -----------------------------

# IDX type code -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, bottom of the page).
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

_SOURCES = {
    "MNIST": "https://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "Fashion-MNIST": "https://github.com/zalando-research/fashion-mnist (files under data/fashion/)",
}


def read_idx(path):
    """Read one IDX file (raw, or gzip-compressed: detected from its first bytes) into a numpy array.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each
    dimension as a big-endian uint32; the data follow, big-endian, row-major.
    Raises ValueError naming the file if the header is wrong or the data are
    truncated or followed by extra bytes.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex()} does not start with 0000)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02x}, expected one of "
                         f"{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header} for {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise ValueError(f"{path}: IDX data {what}: shape {shape} of {dtype.name} needs {expected} bytes, "
                         f"found {found}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(directory, name):
    """The path of ``name`` or ``name.gz`` in ``directory``, or None."""
    for candidate in (name, name + ".gz"):
        p = os.path.join(directory, candidate)
        if os.path.isfile(p):
            return p
    return None


def _load_idx_set(path, dataset, flatten):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a directory path, got {type(path).__name__}")
    directory = os.fspath(path)
    found = [_find_idx(directory, name) for name in _MNIST_FILES]
    missing = [name for name, p in zip(_MNIST_FILES, found) if p is None]
    if missing:
        raise FileNotFoundError(
            f"{dataset}: missing {', '.join(missing)} in {os.path.abspath(directory)}. Put the four files "
            f"{', '.join(_MNIST_FILES)} (raw, or gzip-compressed with a .gz suffix) in that directory; "
            f"get them from {_SOURCES[dataset]}")
    x_train, y_train, x_test, y_test = (read_idx(p) for p in found)
    for images, labels, img_path, lbl_path in ((x_train, y_train, found[0], found[1]),
                                               (x_test, y_test, found[2], found[3])):
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{img_path}: expected uint8 images of shape (n, rows, cols), "
                             f"got {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"{lbl_path}: expected uint8 labels of shape (n,), got {labels.dtype} of shape {labels.shape}")
        if len(labels) != len(images):
            raise ValueError(f"{lbl_path}: {len(labels)} labels for {len(images)} images in {img_path}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{lbl_path}: labels must lie in 0-9, found {labels.max()}")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{found[2]}: test images are {x_test.shape[1:]}, training images {x_train.shape[1:]}")

    def images(x):
        x = x.astype(np.float32) / np.float32(255)
        return x.reshape(len(x), -1) if flatten else x[..., None]

    return (images(x_train), y_train.astype(np.int64)), (images(x_test), y_test.astype(np.int64))


def mnist(path, flatten=False):
    """MNIST handwritten digits from the four IDX files in directory ``path``.

    The files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` may each be raw or
    gzip-compressed (``.gz`` suffix). Returns ``(x_train, y_train), (x_test, y_test)``:
    float32 images in [0, 1] of shape (n, 28, 28, 1), or (n, 784) with
    ``flatten=True``, and int64 labels 0-9. A missing file raises
    FileNotFoundError naming the files and where to get them; a corrupt one, ValueError.
    """
    return _load_idx_set(path, "MNIST", flatten)


def fashion_mnist(path, flatten=False):
    """Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes) from its IDX files in ``path``.

    Same file names, layout and return values as ``mnist``.
    """
    return _load_idx_set(path, "Fashion-MNIST", flatten)


def load(name, flatten=False, seed=0):
    """A dataset by name, as ``(x_train, y_train), (x_test, y_test)`` with images in [0, 1]:
    ``'digits'`` (8x8, split by ``seed``), ``'mnist:DIR'`` or ``'fashion-mnist:DIR'`` (28x28,
    IDX files in DIR). Images are (n, H, W, 1), or (n, H*W) with ``flatten=True``."""
    if not isinstance(name, str):
        raise TypeError(f"dataset: expected a name such as 'digits' or 'mnist:DIR', got {type(name).__name__}")
    kind, _, directory = name.partition(":")
    loaders = {"mnist": mnist, "fashion-mnist": fashion_mnist, "fashion_mnist": fashion_mnist}
    if kind == "digits" and not directory:
        return digits(seed=seed, flatten=flatten)
    if kind in loaders and directory:
        return loaders[kind](directory, flatten=flatten)
    raise ValueError(f"dataset: expected 'digits', 'mnist:DIR' or 'fashion-mnist:DIR', got {name!r}")


# -- splitting and encoding ------------------------------------------------------

def train_test_split(x, y, test_fraction=0.25, seed=0):
    """Split (x, y) into train and test parts at random.

    Class labels (integers, or one-hot rows) are split per class, keeping each
    class's proportion (stratified); other targets (regression values) are
    split as one pool.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x, y: expected the same number of samples, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    test = stratified_mask(y, test_fraction, rng)
    train_idx, test_idx = rng.permutation(np.flatnonzero(~test)), rng.permutation(np.flatnonzero(test))
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels: ``to_categorical([0, 2], 3) -> [[1,0,0],[0,0,1]]``.

    As in Keras, labels of shape ``s`` give shape ``s + (num_classes,)``, a
    trailing axis of size 1 (a column of labels) dropped first.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError("y: expected integer class labels")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if num_classes is None:
        if y.size == 0:
            raise ValueError("num_classes: needed for empty labels (there is no largest label to count from)")
        num_classes = int(y.max()) + 1
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y: labels must lie in [0, {num_classes}), got {y.min()} to {y.max()}")
    return np.eye(num_classes, dtype=dtype)[y]


# -- normalization -----------------------------------------------------------------

class Standardizer:
    """Normalization fitted on training data (``fit``) and applied to any data (``transform``).

    Args:
        mode: what is subtracted and what it is divided by, all statistics
            taken over the training samples:

            * ``'per_feature'`` (default): each feature (pixel) minus its mean,
              divided by its standard deviation.
            * ``'per_channel'``: for images (n, H, W, C), each channel minus its
              mean over all pixels, divided by its standard deviation.
            * ``'global'``: the mean image subtracted, then divided by one
              standard deviation over all values (keeps pixels' relative scales).
            * ``'mean_image'``: the mean image subtracted, nothing divided.
        eps: standard deviations below ``eps`` (constant features, such as
            always-blank border pixels) are replaced by 1, so they are centered
            but never blown up on test data.
        per_feature: older spelling: True is ``mode='per_feature'``, False is
            ``mode='global'``.
    """

    MODES = ("per_feature", "per_channel", "global", "mean_image")

    def __init__(self, mode="per_feature", eps=1e-7, per_feature=None):
        if per_feature is not None:
            mode = "per_feature" if per_feature else "global"
        if mode not in self.MODES:
            raise ValueError(f"mode: expected one of {', '.join(self.MODES)}, got {mode!r}")
        self.mode, self.eps = mode, eps
        self.mean = self.std = None

    def fit(self, x):
        """Compute the statistics of the training data ``x`` (samples on the first axis); returns self."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(f"x: expected a non-empty batch of samples (n, ...), got shape {x.shape}")
        if self.mode == "per_channel":
            if x.ndim != 4:
                raise ValueError(f"x: mode='per_channel' expects images (n, H, W, C), got shape {x.shape}")
            axes = (0, 1, 2)
            self.mean, std = x.mean(axis=axes), x.std(axis=axes)
        else:
            self.mean = x.mean(axis=0)
            std = {"per_feature": lambda: x.std(axis=0),
                   "global": lambda: np.full_like(self.mean, (x - self.mean).std()),
                   "mean_image": lambda: np.ones_like(self.mean)}[self.mode]()
        self.std = np.where(std < self.eps, 1.0, std)
        self._sample_shape = x.shape[1:]
        return self

    def transform(self, x):
        """``(x - mean) / std`` with the fitted statistics; float inputs keep their dtype, others become float32."""
        if self.mean is None:
            raise RuntimeError("transform: call fit(x_train) first")
        x = np.asarray(x)
        if x.shape[1:] != self._sample_shape:
            raise ValueError(f"x: expected samples of shape {self._sample_shape} (as fitted), got {x.shape[1:]}")
        return ((x - self.mean) / self.std).astype(x.dtype if x.dtype.kind == "f" else np.float32)

    def fit_transform(self, x):
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        """Undo ``transform``: ``x * std + mean``."""
        if self.mean is None:
            raise RuntimeError("inverse_transform: call fit(x_train) first")
        x = np.asarray(x)
        return (x * self.std + self.mean).astype(x.dtype if x.dtype.kind == "f" else np.float32)


class MeanImageSubtractor(Standardizer):
    """Mean-image subtraction: ``x - mean(x_train, axis=0)``, fitted on training data.

    The same as ``Standardizer(mode='mean_image')``.
    """

    def __init__(self):
        super().__init__(mode="mean_image")


# Keras' spelling, ``keras.datasets.mnist.load_data()``, beside fastnn's ``mnist(path)``.
from .keras_data import mnist_load_data as _mnist_load_data  # noqa: E402  (it needs nothing above)

mnist.load_data = _mnist_load_data
