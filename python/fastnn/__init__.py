"""fastnn: neural-network training with C++/CUDA kernels behind a small Keras-like API."""
from . import backend, ops
from ._native import _C
from . import (
    activations, augment, callbacks, constraints, data, datasets, distribute, initializers, layers, losses, metrics,
    models, optimizers, regularizers, schedules, tune, utils, wrappers,
)
from .callbacks import History
from .layers import (
    Input, Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GaussianNoise,
    GlobalAveragePooling2D, LeakyReLU, MaxPooling2D, PReLU, ReLU, Softmax,
)
from .models import Ensemble, Model, Sequential, load_model
from .optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from .seeds import set_random_seed

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Set the number of threads fastnn computes with (its OpenMP loops and the OpenBLAS calls inside them).

    In a process created by ``fork()`` fastnn stays on one thread (OpenMP's threads do not
    survive a fork); ``n > 1`` there warns. ``spawn``/``forkserver`` children are not limited.
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n: expected an int, got {type(n).__name__}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads fastnn computes with."""
    return _C.get_num_threads()
