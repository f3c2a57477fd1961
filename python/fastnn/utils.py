"""Utilities under Keras' names (``keras.utils``): ``to_categorical``, ``set_random_seed``, ``PyDataset``;
``load_torch_state_dict`` (PyTorch weights into a fastnn model), ``plot_filters`` and ``plot_feature_maps``."""
from .data import PyDataset, Sequence
from .datasets import to_categorical
from .models.torch_weights import load_torch_state_dict
from .plotting import plot_feature_maps, plot_filters
from .seeds import set_random_seed

__all__ = ["PyDataset", "Sequence", "load_torch_state_dict", "plot_feature_maps", "plot_filters", "set_random_seed", "to_categorical"]
