"""Data-parallel training on several processes or machines (Keras 3: ``keras.distribution``).

``DataParallel`` runs over MPI (mpi4py; the ``fastnn[mpi]`` extra installs it
with Open MPI's library and ``mpiexec``), and over NCCL for models on the
GPU. Choose it for every ``fit``/``evaluate``/``predict`` with
``set_strategy(DataParallel())``, or for one ``fit`` with
``fit(..., strategy=DataParallel())``. mpi4py is imported only when a
``DataParallel`` is made. ``rank()``, ``world_size()`` and ``is_chief()``
answer from the launcher's environment before that.
"""
from __future__ import annotations

from . import launch
from .strategy import DataParallel

_strategy = None


def set_strategy(strategy):
    """Make ``strategy`` (a ``DataParallel``, or None for one process) the default of ``fit``,
    ``evaluate`` and ``predict``. Returns None."""
    global _strategy
    if strategy is not None and not isinstance(strategy, DataParallel):
        raise TypeError(f"strategy: expected a fastnn.distribute.DataParallel or None, got {type(strategy).__name__}")
    _strategy = strategy


def get_strategy():
    """The strategy set by ``set_strategy`` (None if none)."""
    return _strategy


def rank():
    """This process's rank: the strategy's, else the launcher's (``mpiexec``, ``srun``), else 0."""
    return _strategy.rank if _strategy is not None else launch.detect().rank


def world_size():
    """Number of processes training together: the strategy's, else the launcher's, else 1."""
    return _strategy.world_size if _strategy is not None else launch.detect().size


def is_chief():
    """True on rank 0, the process that prints progress and writes checkpoints and logs."""
    return rank() == 0


__all__ = ["DataParallel", "set_strategy", "get_strategy", "rank", "world_size", "is_chief"]
