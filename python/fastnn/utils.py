"""Utilities under Keras' names (``keras.utils``): ``to_categorical``, ``set_random_seed``, ``PyDataset``;
and ``load_torch_state_dict``, PyTorch weights into a fastnn model."""
from .data import PyDataset, Sequence
from .datasets import to_categorical
from .models.torch_weights import load_torch_state_dict
from .seeds import set_random_seed

__all__ = ["PyDataset", "Sequence", "load_torch_state_dict", "set_random_seed", "to_categorical"]
