"""Layers: each a forward and a backward pass over ``fastnn.ops``, one file per family."""
from .activation import ACTIVATIONS, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .base import Layer, ParamSpec, registry
from .symbolic import Input, InputLayer, KerasTensor
from .batchnorm import BatchNormalization
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .gaussian_noise import GaussianNoise
from .merge import Add, Average, Concatenate, Maximum, Merge, Multiply, Subtract
from .padding import ZeroPadding2D
from .pool import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from .rescaling import Rescaling
from .reshape import Flatten, Identity, Reshape
from .spatial_dropout import SpatialDropout2D

__all__ = [
    "ACTIVATIONS", "Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D",
    "Dense", "Dropout", "Flatten", "GaussianNoise", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Identity", "Input",
    "InputLayer", "KerasTensor", "Layer", "LeakyReLU", "MaxPooling2D", "Maximum", "Merge", "Multiply", "PReLU",
    "ParamSpec", "ReLU", "Rescaling", "Reshape", "Softmax", "SpatialDropout2D", "Subtract", "ZeroPadding2D", "registry",
]
