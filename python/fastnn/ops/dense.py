"""Dense (fully connected) layer: ``y = f(x @ W + b)`` with an element-wise activation f."""
from .activation import LEAKY_RELU_ALPHA
from ._util import flag, output, prepare, real, renames, shape_of, text


@renames(lambda a: {"z": "out"} if a["activation"] == "linear" else {"z": "preact", "a": "out"})
def dense_forward(x, W, b=None, *, activation="linear", alpha=LEAKY_RELU_ALPHA, out=None, preact=None,
                  backend=None):
    """Return ``y = activation(x @ W + b)``.

    The GEMM is followed by one fused pass that adds the bias and applies the
    activation.

    Args:
        x: inputs, shape (M, K).
        W: weights, shape (K, N).
        b: bias, shape (N,), or None.
        activation: name of an element-wise activation (``fastnn.ops.ACTIVATIONS``).
        alpha: leaky_relu's negative slope.
        out: optional (M, N) array for ``y``.
        preact: optional (M, N) array for the pre-activation ``z = x @ W + b``,
            which ``dense_backward`` needs for a non-linear activation. Ignored
            (``y`` is ``z``) for ``'linear'``.
        backend: backend name or object; by default the one owning ``x``.
    """
    text("activation", activation), real("alpha", alpha)
    be, x, W, b = prepare(backend, x, W, b)
    M = shape_of(x, "x", 2)[0]
    N = shape_of(W, "W", 2)[1]
    if activation == "linear":
        z = output(be, out, (M, N), x)
        be.kernels.dense_forward(x, W, b, z, None, "linear", alpha)
        return z
    z = output(be, preact, (M, N), x)
    y = output(be, out, (M, N), x)
    be.kernels.dense_forward(x, W, b, z, y, activation, alpha)
    return y


def dense_backward(x, W, dy, *, activation="linear", preact=None, y=None, alpha=LEAKY_RELU_ALPHA, need_dx=True,
                   has_bias=True, dz=None, dx=None, dW=None, db=None, backend=None):
    """Gradients of ``dense_forward``: returns ``(dx, dW, db)``.

    ``dy`` is dL/dy. For a non-linear activation, ``preact`` (z) and ``y`` from
    the forward pass are needed; dL/dz = dy * f'(z) is written to ``dz`` (pass
    ``dz=dy`` to overwrite dy and save memory). Then ``dW = x^T dz``,
    ``db = dz`` summed over rows (None if not ``has_bias``) and ``dx = dz W^T``
    (None if not ``need_dx``: a first layer needs none). Output arrays may be
    passed for reuse.
    """
    text("activation", activation), real("alpha", alpha)
    need_dx, has_bias = flag("need_dx", need_dx), flag("has_bias", has_bias)
    be, x, W, dy = prepare(backend, x, W, dy)
    M, K = shape_of(x, "x", 2)
    N = shape_of(W, "W", 2)[1]
    if activation != "linear":
        preact, y = prepare(be, preact, y)[1:]
        dz = output(be, dz, (M, N), x)
    dx = output(be, dx, (M, K), x) if need_dx else None
    dW = output(be, dW, (K, N), x)
    db = output(be, db, (N,), x) if has_bias else None
    be.kernels.dense_backward(x, W, dy, dz, preact, y, activation, alpha, dx, dW, db)
    return dx, dW, db


@renames({"db": "out"})
def bias_grad(dy, *, out=None, backend=None):
    """Return the bias gradient: ``dy`` (M, N) summed over its rows."""
    be, dy = prepare(backend, dy)
    N = shape_of(dy, "dy", 2)[1]
    db = output(be, out, (N,), dy)
    be.kernels.bias_grad(dy, db)
    return db
