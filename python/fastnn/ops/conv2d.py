"""2-D convolution, channels last (NHWC) with Keras's kernel layout.

``x`` is (N, H, W, C_in), the kernel ``W`` is (KH, KW, C_in, C_out), the bias
``b`` is (C_out,) and ``y`` is (N, OH, OW, C_out). ``stride`` and
``dilation`` are an int or a pair (rows, columns); ``padding`` is ``'valid'``,
``'same'`` (TensorFlow's rule: ``OH = ceil(H / stride)``, the odd padding row
or column goes at the bottom or right) or explicit zero padding on both sides,
an int or a pair.

The kernels compute im2col + GEMM on pieces of the column matrix held in a
workspace array; see :func:`conv2d_workspace_size`.
"""
import numpy as np

from .activation import LEAKY_RELU_ALPHA
from ._util import flag, integer, output, prepare, real, renames, shape_arg, shape_of, text
from .. import backend as _backend

MAX_WORKSPACE_BYTES = 64 << 20


def conv2d_output_shape(x_shape, W_shape, *, stride=1, padding="valid", dilation=1, backend=None):
    """Return ``(N, OH, OW, C_out)``, the shape of ``conv2d_forward(x, W, ...)``.

    Raises ValueError if the (dilated) kernel does not fit the padded input.
    """
    be = _backend.get(backend) if backend is not None else _backend.CPU
    return be.kernels.conv2d_output_shape(shape_arg("x_shape", x_shape), shape_arg("W_shape", W_shape), stride,
                                          padding, dilation)


def conv2d_workspace_size(x_shape, W_shape, *, stride=1, padding="valid", dilation=1, dtype=np.float32,
                          max_bytes=MAX_WORKSPACE_BYTES, backend=None):
    """Number of elements (of ``dtype``) of the workspace for these conv2d arguments.

    One workspace serves both the forward and the backward pass. Its size is
    at most ``max_bytes`` (64 MiB by default) however large the batch: the
    im2col matrix is built and consumed a piece at a time, each thread
    reusing its own slice. (The only exception is a kernel so large that the
    least workspace exceeds ``max_bytes``; then the size is that.) It is 0 for
    a 1x1, stride-1, unpadded conv, which needs no im2col. The kernels accept
    any workspace of at least the least size: one im2col row plus a bias row,
    K + C_out elements (K = KH*KW*C_in), and on the CPU also the transposed
    kernel, K * C_out more. A smaller one than this function's means smaller
    pieces or fewer threads. The size depends on the thread
    count at the time of the call. On the GPU backends the workspace holds
    one chunk of the column matrix instead: the whole batch's if it fits,
    else as many whole images as fit.
    """
    be = _backend.get(backend) if backend is not None else _backend.CPU
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    max_bytes = integer("max_bytes", max_bytes, lo=1, hi=2**62, expected="a positive int")
    return be.kernels.conv2d_workspace_size(shape_arg("x_shape", x_shape), shape_arg("W_shape", W_shape), stride,
                                            padding, dilation, dtype, max_bytes)


def _geometry(be, x, W, stride, padding, dilation):
    """The output shape; any error names the arrays x and W."""
    return be.kernels.conv2d_output_shape(shape_of(x, "x"), shape_of(W, "W"), stride, padding, dilation, "x", "W")


def _workspace(be, workspace, x, W, stride, padding, dilation):
    """``workspace``, or a new one of the preferred size (None for a non-float x: the kernel names that error)."""
    if workspace is not None or x.dtype not in (np.float32, np.float64):
        return workspace
    n = be.kernels.conv2d_workspace_size(x.shape, W.shape, stride, padding, dilation, x.dtype, MAX_WORKSPACE_BYTES)
    return be.empty((n,), x.dtype)


@renames({"y": "out"})
def conv2d_forward(x, W, b=None, *, stride=1, padding="valid", dilation=1, activation=None,
                   alpha=LEAKY_RELU_ALPHA, out=None, workspace=None, backend=None):
    """Return ``y = activation(conv2d(x, W) + b)``.

    The activation is applied as the kernels write ``y`` (no pass of its
    own), so the pre-activation is not kept: the backward of a non-linear
    activation then needs an activation whose derivative follows from ``y``
    alone (``relu``, ``sigmoid``, ``tanh``; ``leaky_relu`` with ``alpha >= 0``),
    passed to ``activation_backward`` as both ``z`` and ``a``.

    Args:
        x: inputs, shape (N, H, W, C_in).
        W: kernel, shape (KH, KW, C_in, C_out).
        b: bias, shape (C_out,), or None.
        stride, padding, dilation: see the module docstring.
        activation: None or ``'linear'`` (the convolution itself), or the name
            of an element-wise activation (``fastnn.ops.ACTIVATIONS``).
        alpha: leaky_relu's negative slope.
        out: optional (N, OH, OW, C_out) array to write ``y`` into.
        workspace: optional 1-D array of x's dtype, reused across calls
            (:func:`conv2d_workspace_size` elements; at most 64 MiB); allocated
            here when not given.
        backend: backend name or object; by default the one owning ``x``.
    """
    activation = "linear" if activation is None else text("activation", activation)
    real("alpha", alpha)
    be, x, W, b = prepare(backend, x, W, b)
    y = output(be, out, _geometry(be, x, W, stride, padding, dilation), x)
    workspace = _workspace(be, workspace, x, W, stride, padding, dilation)
    be.kernels.conv2d_forward(x, W, b, y, stride, padding, dilation, workspace, activation, alpha)
    return y


def conv2d_backward(x, W, dy, *, stride=1, padding="valid", dilation=1, need_dx=True, has_bias=True, dx=None,
                    dW=None, db=None, workspace=None, backend=None):
    """Gradients of conv2d: returns ``(dx, dW, db)`` given ``dy = dL/dy``.

    ``dW = col(x)^T dy`` (col: the im2col matrix), ``db = dy`` summed over
    batch and pixels, ``dx = col2im(dy W^T)``. ``dx`` is None when ``need_dx``
    is False (the first layer needs none), ``db`` is None when ``has_bias`` is
    False. Output arrays and the workspace may be passed for reuse, as in
    :func:`conv2d_forward`.
    """
    need_dx, has_bias = flag("need_dx", need_dx), flag("has_bias", has_bias)
    be, x, W, dy = prepare(backend, x, W, dy)
    C_out = _geometry(be, x, W, stride, padding, dilation)[3]
    dx = output(be, dx, x.shape, x) if need_dx else None
    dW = output(be, dW, W.shape, x)
    db = output(be, db, (C_out,), x) if has_bias else None
    workspace = _workspace(be, workspace, x, W, stride, padding, dilation)
    be.kernels.conv2d_backward(x, W, dy, dx, dW, db, stride, padding, dilation, workspace)
    return dx, dW, db
