"""Layers: each a forward and a backward pass over ``fastnn.ops``, one file per family."""
from .activation import ACTIVATIONS, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .base import Layer, ParamSpec, registry
from .symbolic import Input, InputLayer, KerasTensor
from .batchnorm import BatchNormalization
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .gaussian_noise import GaussianNoise
from .padding import ZeroPadding2D
from .pool import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from .rescaling import Rescaling
from .reshape import Flatten, Identity, Reshape
from .spatial_dropout import SpatialDropout2D

__all__ = [
    "ACTIVATIONS", "Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
    "GaussianNoise", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Identity", "Input", "InputLayer", "KerasTensor", "Layer",
    "LeakyReLU", "MaxPooling2D", "PReLU", "ParamSpec", "ReLU", "Rescaling", "Reshape", "Softmax", "SpatialDropout2D",
    "ZeroPadding2D", "registry",
]
