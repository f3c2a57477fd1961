"""Weight initializers.

Each is a callable ``init(shape, fan_in, fan_out, rng, dtype) -> numpy array``.
Glorot (Xavier) keeps the variance of activations and gradients equal across
layers for tanh/sigmoid units; He doubles it for ReLU units, which zero half
their inputs.
"""
import numpy as np

from ._checks import number


class Initializer:
    """Base class: subclasses implement ``sample``."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        return np.asarray(self.sample(shape, fan_in, fan_out, rng), dtype=dtype)

    def sample(self, shape, fan_in, fan_out, rng):
        """Float64 values of ``shape`` for a weight with these fans, drawn from the numpy Generator ``rng``."""
        raise NotImplementedError

    def get_config(self):
        """``{'class_name': ..., **constructor arguments}``: what ``get`` rebuilds this initializer from."""
        return {"class_name": type(self).__name__, **self.__dict__}


class Zeros(Initializer):
    """All zeros (the default for biases)."""

    def sample(self, shape, fan_in, fan_out, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones (batch norm's gamma and moving variance)."""

    def sample(self, shape, fan_in, fan_out, rng):
        return np.ones(shape)


class Constant(Initializer):
    """Every value ``value``."""

    def __init__(self, value=0.0):
        self.value = number("value", value)

    def sample(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    """Small Gaussian weights: N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = number("mean", mean), number("stddev", stddev, lo=0)

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    """Small uniform weights in [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = number("minval", minval)
        self.maxval = number("maxval", maxval, lo=self.minval)

    def sample(self, shape, fan_in, fan_out, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class GlorotUniform(Initializer):
    """Xavier uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""

    def sample(self, shape, fan_in, fan_out, rng):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)


class GlorotNormal(Initializer):
    """Xavier normal: N(0, 2 / (fan_in + fan_out)), truncated at 2 standard deviations like Keras."""

    def sample(self, shape, fan_in, fan_out, rng):
        return _truncated_normal(rng, np.sqrt(2.0 / (fan_in + fan_out)), shape)


class HeUniform(Initializer):
    """He uniform: U(-l, l) with l = sqrt(6 / fan_in)."""

    def sample(self, shape, fan_in, fan_out, rng):
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, shape)


class HeNormal(Initializer):
    """He normal: N(0, 2 / fan_in), truncated at 2 standard deviations like Keras."""

    def sample(self, shape, fan_in, fan_out, rng):
        return _truncated_normal(rng, np.sqrt(2.0 / fan_in), shape)


def _truncated_normal(rng, std, shape):
    # Keras divides by 0.8796... so the truncated distribution keeps variance std^2.
    std = std / 0.87962566103423978
    x = rng.normal(0.0, std, shape)
    bad = np.abs(x) > 2 * std
    while bad.any():
        x[bad] = rng.normal(0.0, std, int(bad.sum()))
        bad = np.abs(x) > 2 * std
    return x


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
}


def get(init):
    """An initializer from a name (``'he_normal'``), a config dict or an instance."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, dict):
        cfg = dict(init)
        classes = {c.__name__: c for c in _BY_NAME.values()}
        name = cfg.pop("class_name", None)
        if name not in classes:
            raise ValueError(f"initializer: unknown class_name {name!r}; known: {', '.join(sorted(classes))}")
        return classes[name](**cfg)
    if isinstance(init, str) and init in _BY_NAME:
        return _BY_NAME[init]()
    raise ValueError(f"initializer: expected one of {', '.join(sorted(_BY_NAME))} or an Initializer, got {init!r}")
