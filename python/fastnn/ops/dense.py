"""Dense (fully connected) layer: ``y = x @ W + b``."""
from ._util import output, prepare, shape_of


def dense_forward(x, W, b=None, *, out=None, backend=None):
    """Return ``y = x @ W + b``.

    Args:
        x: inputs, shape (M, K).
        W: weights, shape (K, N).
        b: bias, shape (N,), or None.
        out: optional (M, N) array to write ``y`` into.
        backend: backend name or object; by default the one owning ``x``.
    """
    be, x, W, b = prepare(backend, x, W, b)
    M = shape_of(x, "x", 2)[0]
    N = shape_of(W, "W", 2)[1]
    y = output(be, out, (M, N), x)
    be.kernels.dense_forward(x, W, b, y)
    return y


def dense_backward(x, W, dy, *, need_dx=True, has_bias=True, dx=None, dW=None, db=None, backend=None):
    """Gradients of a dense layer: returns ``(dx, dW, db)``.

    ``dW = x^T dy``, ``db = dy`` summed over rows, ``dx = dy W^T``. ``dx`` is
    None when ``need_dx`` is False (the first layer needs none), ``db`` is
    None when ``has_bias`` is False. Output arrays may be passed for reuse.
    """
    be, x, W, dy = prepare(backend, x, W, dy)
    M, K = shape_of(x, "x", 2)
    N = shape_of(W, "W", 2)[1]
    dx = output(be, dx, (M, K), x) if need_dx else None
    dW = output(be, dW, (K, N), x)
    db = output(be, db, (N,), x) if has_bias else None
    be.kernels.dense_backward(x, W, dy, dx, dW, db)
    return dx, dW, db


def bias_grad(dy, *, out=None, backend=None):
    """Return the bias gradient: ``dy`` (M, N) summed over its rows."""
    be, dy = prepare(backend, dy)
    N = shape_of(dy, "dy", 2)[1]
    db = output(be, out, (N,), dy)
    be.kernels.bias_grad(dy, db)
    return db
