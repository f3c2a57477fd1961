"""Element-wise activations and their gradients."""
from ._util import output, prepare, real, renames, shape_of, text

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "swish")
LEAKY_RELU_ALPHA = 0.01  # default slope of leaky_relu for z < 0


@renames({"a": "out"})
def activation_forward(kind, z, *, alpha=LEAKY_RELU_ALPHA, out=None, backend=None):
    """Return ``a = f(z)`` for the activation named ``kind`` (see ``ACTIVATIONS``).

    ``alpha`` is leaky_relu's slope for negative inputs.
    """
    text("kind", kind), real("alpha", alpha)
    be, z = prepare(backend, z)
    a = output(be, out, shape_of(z, "z"), z)
    be.kernels.activation_forward(kind, z, a, alpha)
    return a


@renames({"dz": "out"})
def activation_backward(kind, z, a, da, *, alpha=LEAKY_RELU_ALPHA, out=None, backend=None):
    """Return ``dz = da * f'(z)``, given the forward input ``z`` and output ``a``.

    ``out`` may be ``da`` itself (in-place backward).
    """
    text("kind", kind), real("alpha", alpha)
    be, z, a, da = prepare(backend, z, a, da)
    dz = output(be, out, shape_of(z, "z"), z)
    be.kernels.activation_backward(kind, z, a, da, dz, alpha)
    return dz
