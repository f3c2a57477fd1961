import os
import subprocess
import sys

import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, one_thread, to_backend, to_numpy

# (N, H, W, C_in, KH, KW, C_out, stride, padding, dilation)
CONFIGS = [
    (2, 7, 7, 3, 3, 3, 4, 1, "valid", 1),
    (2, 8, 8, 3, 3, 3, 5, 2, "same", 1),
    (1, 9, 7, 2, 3, 2, 4, (2, 1), "same", 1),  # batch 1, odd sizes, non-square kernel
    (3, 11, 10, 4, 3, 3, 2, 1, "same", 2),  # dilation 2
    (2, 9, 9, 3, 5, 3, 6, 2, (1, 2), 1),  # explicit padding
    (2, 7, 9, 3, 3, 2, 4, 3, "same", (2, 1)),
    (2, 6, 5, 5, 1, 1, 3, 1, "valid", 1),  # 1x1: no im2col
    (2, 6, 5, 5, 1, 1, 3, 2, "same", 1),  # 1x1 strided: im2col
    (2, 5, 5, 3, 2, 2, 4, 2, "valid", 1),  # even kernel, stride = kernel
    (1, 4, 4, 2, 4, 4, 3, 1, "valid", 1),  # kernel = image: one output pixel
    (5, 13, 13, 3, 3, 3, 8, 1, "same", 1),
    (2, 4, 4, 3, 3, 3, 2, 1, 3, 1),  # padding wider than the kernel reach: border pixels see only zeros
    # Vertical stride 1 and at least 128 output pixels per image: the row-shift scheme.
    (2, 12, 12, 3, 3, 3, 4, 1, "same", 1),
    (2, 16, 23, 2, 3, 2, 5, (1, 2), (2, 1), (2, 1)),
    (1, 20, 21, 3, 5, 3, 4, 1, "valid", 1),
]
IDS = [f"{c[0]}x{c[1]}x{c[2]}x{c[3]}-k{c[4]}x{c[5]}-o{c[6]}-s{c[7]}-p{c[8]}-d{c[9]}" for c in CONFIGS]


def make(rng, dtype, N, H, W, C, KH, KW, CO):
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    Wt = rng.standard_normal((KH, KW, C, CO)).astype(dtype)
    b = rng.standard_normal(CO).astype(dtype)
    return x, Wt, b


@pytest.mark.parametrize("N,H,W,C,KH,KW,CO,stride,padding,dilation", CONFIGS, ids=IDS)
def test_conv2d_forward_backward(N, H, W, C, KH, KW, CO, stride, padding, dilation, dtype, backend, rng):
    x, Wt, b = make(rng, dtype, N, H, W, C, KH, KW, CO)
    geo = dict(stride=stride, padding=padding, dilation=dilation)
    bx, bW, bb = to_backend(backend, x, Wt, b)
    y = ops.conv2d_forward(bx, bW, bb, backend=backend, **geo)
    assert tuple(y.shape) == ops.conv2d_output_shape(x.shape, Wt.shape, **geo)
    assert_close(y, R(ref.conv2d_forward, x, Wt, b, **geo), dtype)
    assert_close(ops.conv2d_forward(bx, bW, None, backend=backend, **geo), R(ref.conv2d_forward, x, Wt, None, **geo),
                 dtype)

    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dW, db = ops.conv2d_backward(bx, bW, to_backend(backend, dy), backend=backend, **geo)
    rdx, rdW, rdb = R(ref.conv2d_backward, x, Wt, dy, **geo)
    assert_close(dx, rdx, dtype)
    assert_close(dW, rdW, dtype)
    assert_close(db, rdb, dtype)


def test_conv2d_output_shape_matches_keras_rules():
    # 'same': ceil(in / stride); 'valid': floor((in - extent) / stride) + 1.
    assert ops.conv2d_output_shape((2, 7, 8, 3), (3, 3, 3, 5), stride=2, padding="same") == (2, 4, 4, 5)
    assert ops.conv2d_output_shape((2, 7, 8, 3), (3, 2, 3, 5), stride=(2, 3), padding="valid") == (2, 3, 3, 5)
    assert ops.conv2d_output_shape((1, 10, 10, 1), (3, 3, 1, 1), dilation=2) == (1, 6, 6, 1)
    assert ops.conv2d_output_shape((1, 10, 10, 1), (3, 3, 1, 1), padding=(1, 0)) == (1, 10, 8, 1)
    assert ops.conv2d_output_shape((1, 10, 10, 1), (3, 3, 1, 1), padding="SAME", stride=3) == (1, 4, 4, 1)


def test_same_padding_puts_the_odd_row_at_the_bottom(dtype, backend):
    # 4x4 input, 2x2 kernel, stride 1, 'same': one row/column of padding, all of it after the image.
    x = np.arange(16, dtype=dtype).reshape(1, 4, 4, 1)
    W = np.ones((2, 2, 1, 1), dtype)
    y = to_numpy(ops.conv2d_forward(to_backend(backend, x), to_backend(backend, W), padding="same", backend=backend))
    img = x[0, :, :, 0]
    expected = np.pad(img, ((0, 1), (0, 1)))
    expected = expected[:-1, :-1] + expected[1:, :-1] + expected[:-1, 1:] + expected[1:, 1:]
    assert_close(y[0, :, :, 0], expected, dtype)


def check_forward_backward(backend, dtype, rng, x, Wt, b, geo, workspace=None):
    """y, dx, dW and db of x (numpy) on ``backend`` against the reference."""
    bx, bW, bb = to_backend(backend, x, Wt, b)
    y = ops.conv2d_forward(bx, bW, bb, workspace=workspace, backend=backend, **geo)
    assert_close(y, R(ref.conv2d_forward, x, Wt, b, **geo), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    grads = ops.conv2d_backward(bx, bW, to_backend(backend, dy), workspace=workspace, backend=backend, **geo)
    for got, want in zip(grads, R(ref.conv2d_backward, x, Wt, dy, **geo)):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("stride", [1, 2], ids=["row-shift", "im2col"])
def test_conv2d_wide_layers_match_reference(stride, dtype, backend, rng):
    """32->64 channels, 3x3: the CPU cuts each GEMM into blocks of 162 (row
    shift) or 54 (full im2col) rows for OpenBLAS's small-matrix kernels, so
    dW and the bias sum over blocks, and dx over blocks and kernel rows."""
    geo = dict(stride=stride, padding="same", dilation=1)
    check_forward_backward(backend, dtype, rng, *make(rng, dtype, 2, 20, 20, 32, 3, 3, 64), geo)


@pytest.mark.parametrize("workspace_rows", [1, 3, 40, None])
def test_conv2d_small_workspaces_split_the_batch(workspace_rows, dtype, backend, rng):
    """A workspace of a few im2col rows forces many pieces: images cut in parts
    (dx accumulated piece by piece) and several images per piece; the result
    must not change."""
    N, H, W, C, KH, KW, CO = 9, 9, 8, 3, 3, 2, 5
    geo = dict(stride=(2, 1), padding="same", dilation=1)
    x, Wt, b = make(rng, dtype, N, H, W, C, KH, KW, CO)
    K = KH * KW * C
    if workspace_rows is None:  # the bound as a parameter: pieces of 2 whole images (2 x 40 rows)
        max_bytes = (2 * 100 * K + 2 * K * CO) * x.itemsize
        size = ops.conv2d_workspace_size(x.shape, Wt.shape, dtype=dtype, max_bytes=max_bytes, **geo)
        assert size * x.itemsize <= max_bytes
    else:
        # Pieces of workspace_rows rows on one thread, or fewer on more; the CPU also keeps W^T.
        size = workspace_rows * K + CO + (K * CO if backend.name == "cpu" else 0)
    ws = to_backend(backend, np.full(size, np.nan, dtype))  # stale workspace contents must not leak
    check_forward_backward(backend, dtype, rng, x, Wt, b, geo, workspace=ws)


@pytest.mark.parametrize("dilation", [1, 2])
def test_conv2d_row_shift_in_pieces(dilation, dtype, backend, rng):
    """Vertical stride 1 on 40-pixel-wide rows: a workspace of a few image rows
    per thread makes the row-shift scheme cut each image into pieces whose
    extended rows overlap, so dx is accumulated piece by piece."""
    N, H, W, C, KH, KW, CO = 3, 20, 40, 2, 3, 3, 4
    geo = dict(stride=1, padding="same", dilation=dilation)
    x, Wt, b = make(rng, dtype, N, H, W, C, KH, KW, CO)
    K, extra_rows = KH * KW * C, (KH - 1) * dilation
    piece = (4 + extra_rows) * W * KW * C  # 4 output rows (160 pixels) and the rows the kernel reaches below
    ws = to_backend(backend, np.full(2 * piece + 2 * CO + K * CO + CO + K * CO, np.nan, dtype))
    check_forward_backward(backend, dtype, rng, x, Wt, b, geo, workspace=ws)


def test_conv2d_workspace_is_bounded(backend):
    size = lambda *args, **kwargs: ops.conv2d_workspace_size(*args, **kwargs, backend=backend)
    big = size((100_000, 28, 28, 32), (3, 3, 32, 64), padding="same", dtype=np.float32)
    assert 0 < big * 4 <= 64 << 20
    assert size((100_000, 56, 56, 64), (3, 3, 64, 64), dtype=np.float64) * 8 <= 64 << 20
    small = size((100_000, 28, 28, 32), (3, 3, 32, 64), dtype=np.float32, max_bytes=100_000)
    assert 3 * 3 * 32 <= small and small * 4 <= 100_000
    # One im2col row (and a bias-gradient row; on the CPU also W^T) is the least any workspace holds.
    assert size((1, 8, 8, 1000), (3, 3, 1000, 2), max_bytes=1) == 9000 + 2 + (9000 * 2 if backend.name == "cpu" else 0)
    assert size((8, 8, 8, 10), (1, 1, 10, 4)) == 0  # 1x1: x is the im2col matrix
    if backend.name != "cpu":  # the GPU's chunk: the whole column matrix if it fits, else whole images
        K, P = 3 * 3 * 3, 8 * 8
        assert size((4, 8, 8, 3), (3, 3, 3, 4), padding="same") == 4 * P * K
        assert size((4, 8, 8, 3), (3, 3, 3, 4), padding="same", max_bytes=(3 * P + 5) * K * 4) == 3 * P * K


def test_conv2d_is_deterministic_and_reuses_outputs(backend, rng):
    x, Wt, b = make(rng, np.float32, 6, 10, 10, 4, 3, 3, 6)
    geo = dict(stride=2, padding="same")
    bx, bW, bb = to_backend(backend, x, Wt, b)
    ws = backend.empty((ops.conv2d_workspace_size(x.shape, Wt.shape, **geo),), np.float32)
    y = ops.conv2d_forward(bx, bW, bb, workspace=ws, backend=backend, **geo)
    y2 = backend.empty(y.shape, np.float32)
    assert ops.conv2d_forward(bx, bW, bb, out=y2, workspace=ws, backend=backend, **geo) is y2
    assert np.array_equal(to_numpy(y), to_numpy(y2))
    dy = to_backend(backend, rng.standard_normal(y.shape).astype(np.float32))
    first = ops.conv2d_backward(bx, bW, dy, workspace=ws, backend=backend, **geo)
    outs = dict(dx=backend.empty(x.shape, np.float32), dW=backend.empty(Wt.shape, np.float32),
                db=backend.empty(b.shape, np.float32))
    second = ops.conv2d_backward(bx, bW, dy, workspace=ws, backend=backend, **geo, **outs)
    assert second[0] is outs["dx"] and second[1] is outs["dW"] and second[2] is outs["db"]
    for a, c in zip(first, second):
        assert np.array_equal(to_numpy(a), to_numpy(c))


@pytest.mark.parametrize("workspace_rows", [7, 2 * 40, None])  # parts of images, 2 whole images, the preferred size
def test_conv2d_backward_is_bit_identical_across_runs(workspace_rows, backend, rng):
    """dW (summed over the workspace's pieces), db and dx (col2im, gathered
    from overlapping windows) repeat bit for bit, even into outputs and a
    workspace holding stale NaNs: no atomics, no order that depends on
    scheduling, every output element written."""
    N, H, W, C, KH, KW, CO = 5, 9, 8, 3, 3, 3, 6
    geo = dict(stride=(2, 1), padding="same", dilation=1)  # 5 x 8 = 40 output pixels per image
    x, Wt, _ = make(rng, np.float32, N, H, W, C, KH, KW, CO)
    dy = rng.standard_normal(ops.conv2d_output_shape(x.shape, Wt.shape, **geo)).astype(np.float32)
    K = KH * KW * C
    size = (workspace_rows * K + CO if workspace_rows else
            ops.conv2d_workspace_size(x.shape, Wt.shape, **geo, backend=backend))
    bx, bW, bdy = to_backend(backend, x, Wt, dy)
    runs = []
    for _ in range(2):
        ws = to_backend(backend, np.full(size, np.nan, np.float32))
        outs = {k: to_backend(backend, np.full(a.shape, np.nan, np.float32)) for k, a in
                (("dx", x), ("dW", Wt), ("db", np.empty(CO)))}
        runs.append([to_numpy(g) for g in
                     ops.conv2d_backward(bx, bW, bdy, workspace=ws, backend=backend, **geo, **outs)])
    for first, second in zip(*runs):
        assert np.isfinite(first).all() and np.array_equal(first, second)
    for got, want in zip(runs[0], R(ref.conv2d_backward, x, Wt, dy, **geo)):
        assert_close(got, want, np.float32)


@pytest.mark.parametrize("stride", [1, 2])  # row shift and full im2col
def test_conv2d_with_one_thread(stride, rng):
    """One thread runs the pieces inline with OpenBLAS free to thread its GEMMs;
    the workspace size and plan follow the thread count."""
    x, Wt, b = make(rng, np.float64, 4, 12, 12, 3, 3, 3, 5)
    geo = dict(stride=stride, padding="same")
    dy = rng.standard_normal(ops.conv2d_output_shape(x.shape, Wt.shape, **geo))
    with one_thread():
        y = ops.conv2d_forward(x, Wt, b, **geo)
        grads = ops.conv2d_backward(x, Wt, dy, **geo)
    assert_close(y, ref.conv2d_forward(x, Wt, b, **geo))
    for g, r in zip(grads, ref.conv2d_backward(x, Wt, dy, **geo)):
        assert_close(g, r)


def test_conv2d_when_openmp_runs_fewer_threads_than_asked():
    """Nested in another parallel region, or under OMP_THREAD_LIMIT, OpenMP
    runs fewer threads than fastnn asks for: every piece must still be done."""
    code = """
import numpy as np
from fastnn import ops, reference as ref
rng = np.random.default_rng(0)
x, W = rng.standard_normal((6, 12, 12, 3)), rng.standard_normal((3, 3, 3, 4))
for stride in (1, 2):  # row shift and full im2col
    geo = dict(stride=stride, padding="same")
    dy = rng.standard_normal(ops.conv2d_output_shape(x.shape, W.shape, **geo))
    assert np.allclose(ops.conv2d_forward(x, W, **geo), ref.conv2d_forward(x, W, **geo))
    for got, want in zip(ops.conv2d_backward(x, W, dy, **geo), ref.conv2d_backward(x, W, dy, **geo)):
        assert np.allclose(got, want)
"""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OMP_THREAD_LIMIT": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def test_conv2d_backward_without_dx_and_bias(backend, rng):
    x, Wt, _ = make(rng, np.float64, 2, 6, 6, 2, 3, 3, 3)
    dy = rng.standard_normal((2, 6, 6, 3))
    dx, dW, db = ops.conv2d_backward(*to_backend(backend, x, Wt, dy), padding="same", need_dx=False, has_bias=False,
                                     backend=backend)
    assert dx is None and db is None
    assert_close(dW, ref.conv2d_backward(x, Wt, dy, padding="same")[1], np.float64)


@pytest.mark.parametrize("shape,geo", [
    # Stride 2, 'same' padding, a 3x2 kernel, C_in != C_out, batch 1 (full im2col).
    ((1, 7, 6, 2, 3, 2, 3), dict(stride=2, padding="same")),
    # Vertical stride 1 over 72 output pixels, dilation 2 (row shift).
    ((1, 9, 8, 2, 3, 2, 3), dict(stride=1, padding="same", dilation=(2, 1))),
])
def test_conv2d_numerical_gradient(shape, geo, rng):
    """dx, dW and db against central differences of L = sum(y * g)."""
    x, Wt, b = make(rng, np.float64, *shape)
    g = rng.standard_normal(ops.conv2d_output_shape(x.shape, Wt.shape, **geo))

    def loss():
        return float((ops.conv2d_forward(x, Wt, b, **geo) * g).sum())

    dx, dW, db = ops.conv2d_backward(x, Wt, g, **geo)
    assert_close(dx, numerical_grad(loss, x), rtol=1e-7)
    assert_close(dW, numerical_grad(loss, Wt), rtol=1e-7)
    assert_close(db, numerical_grad(loss, b), rtol=1e-7)


def test_conv2d_accepts_non_contiguous_inputs(rng):
    x = rng.standard_normal((2, 6, 6, 6))[..., ::2]
    Wt = rng.standard_normal((3, 3, 3, 4))
    assert_close(ops.conv2d_forward(x, Wt, padding="same"), ref.conv2d_forward(x, Wt, padding="same"))


X, K = (2, 6, 6, 3), (3, 3, 3, 4)


@pytest.mark.parametrize(
    "x_shape,W_shape,kwargs,error,match",
    [
        ((1, 4, 4, 2), (5, 5, 2, 3), {}, ValueError, r"W: the window spans 5x5 input cells, more than the 4x4"),
        ((1, 4, 4, 2), (5, 3, 2, 3), dict(padding=(0, 0)), ValueError, "W: the window spans 5x3"),
        ((1, 4, 4, 2), (3, 3, 2, 3), dict(dilation=2), ValueError, "W: the window spans 5x5"),
        (X, K, dict(stride=0), ValueError, "stride: expected a positive int or a pair of them, got 0"),
        (X, K, dict(stride=-2), ValueError, "stride: expected a positive int"),
        (X, K, dict(stride=(1, 0)), ValueError, r"stride: expected a positive int .*got \(1, 0\)"),
        (X, K, dict(stride=1.5), TypeError, "stride: expected a positive int"),
        (X, K, dict(stride=(1, 2, 3)), TypeError, "stride: expected"),
        (X, K, dict(dilation=0), ValueError, "dilation: expected a positive int"),
        # Sizes past 2**31 - 1 would overflow the window arithmetic (a 2**62 dilation read the wrong tap).
        (X, K, dict(dilation=2**62, padding="same"), ValueError, r"dilation: .* \(at most 2\*\*31 - 1\)"),
        (X, K, dict(padding=2**63 - 1), ValueError, r"padding: .* \(at most 2\*\*31 - 1\)"),
        (X, K, dict(stride=2**70), ValueError, r"stride: .* \(at most 2\*\*31 - 1\)"),
        (X, K, dict(padding="full"), ValueError, "padding: expected 'valid', 'same', an int >= 0 or a pair"),
        (X, K, dict(padding=-1), ValueError, "padding: expected"),
        (X, K, dict(padding=None), TypeError, "padding: expected"),
        (X, (3, 3, 4, 4), {}, ValueError, r"W: expected 3 input channels \(the C_in of x"),
        ((0, 6, 6, 3), K, {}, ValueError, r"x: expected positive sizes, got shape \(0, 6, 6, 3\)"),
        (X, (3, 0, 3, 4), {}, ValueError, "W: expected positive sizes"),
        ((6, 6, 3), K, {}, ValueError, "x: expected a 4-D array, got 3-D"),
        (X, (9, 4), {}, ValueError, "W: expected a 4-D array, got 2-D"),
    ],
)
def test_conv2d_bad_arguments(x_shape, W_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.conv2d_forward(np.ones(x_shape), np.ones(W_shape), **kwargs)
    with pytest.raises(error, match=match):
        ops.conv2d_backward(np.ones(x_shape), np.ones(W_shape), np.ones((1, 1, 1, 1)), **kwargs)


def test_conv2d_shape_helpers_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"x_shape: expected positive sizes, got shape \(2, -3, 4, 3\)"):
        ops.conv2d_output_shape((2, -3, 4, 3), (3, 3, 3, 4))
    with pytest.raises(ValueError, match="W_shape: expected positive sizes"):
        ops.conv2d_workspace_size((2, 3, 4, 3), (3, -3, 3, 4))
    with pytest.raises(TypeError, match="dtype: expected float32 or float64, got int32"):
        ops.conv2d_workspace_size((2, 6, 6, 3), (3, 3, 3, 4), dtype=np.int32)
    with pytest.raises(ValueError, match="max_bytes: expected a positive int"):
        ops.conv2d_workspace_size((2, 6, 6, 3), (3, 3, 3, 4), max_bytes=0)


def test_conv2d_bad_arrays():
    x, W = np.ones(X), np.ones(K)
    with pytest.raises(ValueError, match=r"b: expected shape \(4,\)"):
        ops.conv2d_forward(x, W, np.ones(3))
    with pytest.raises(TypeError, match="W: expected dtype float64 like x, got float32"):
        ops.conv2d_forward(x, W.astype(np.float32))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.conv2d_forward(x.astype(np.int64), W.astype(np.int64))
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 6, 6, 4\)"):
        ops.conv2d_forward(x, W, padding="same", out=np.empty((2, 4, 4, 4)))
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 4, 4, 4\)"):
        ops.conv2d_backward(x, W, np.ones((2, 6, 6, 4)))
    with pytest.raises(ValueError, match="workspace: expected at least 139 elements"):  # 27 + 4 + W^T's 27 * 4
        ops.conv2d_forward(x, W, workspace=np.empty(138))
    with pytest.raises(TypeError, match="workspace: expected dtype float64 like x, got float32"):
        ops.conv2d_forward(x, W, workspace=np.empty(100, np.float32))
    with pytest.raises(ValueError, match=r"dW: expected shape \(3, 3, 3, 4\)"):
        ops.conv2d_backward(x, W, np.ones((2, 4, 4, 4)), dW=np.empty((3, 3, 4, 3)))
