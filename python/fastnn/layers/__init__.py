"""Layers: each a forward and a backward pass over ``fastnn.ops``, one file per family."""
from .activation import ACTIVATIONS, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .base import Input, InputSpec, Layer, ParamSpec, registry
from .batchnorm import BatchNormalization
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .gaussian_noise import GaussianNoise
from .pool import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from .reshape import Flatten

__all__ = [
    "ACTIVATIONS", "Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
    "GaussianNoise", "GlobalAveragePooling2D", "Input", "InputSpec", "Layer", "LeakyReLU", "MaxPooling2D", "PReLU", "ParamSpec", "ReLU",
    "Softmax", "registry",
]
