"""fastnn: neural-network training with C++/CUDA kernels behind a small Keras-like API."""
from . import backend, ops
from ._native import _C

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Set the number of threads for both OpenBLAS and fastnn's OpenMP loops."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n: expected an int, got {type(n).__name__}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads fastnn (and its OpenBLAS) compute with."""
    return _C.get_num_threads()

from . import callbacks, constraints, datasets, initializers, layers, losses, optimizers, regularizers, schedules  # noqa: E402
from .layers import Activation, Dense, Flatten  # noqa: E402
from .models import Ensemble, History, Sequential, load_model  # noqa: E402
from .optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop  # noqa: E402
