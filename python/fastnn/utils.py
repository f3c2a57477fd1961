"""Utilities under Keras' names (``keras.utils``): ``to_categorical``, ``set_random_seed``, ``PyDataset``."""
from .data import PyDataset, Sequence
from .datasets import to_categorical
from .seeds import set_random_seed

__all__ = ["PyDataset", "Sequence", "set_random_seed", "to_categorical"]
