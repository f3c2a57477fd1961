"""Conv2D at the shapes the CPU's narrow kernels take (C_in and C_out <= 16, csrc/cpu/conv2d_narrow.cpp) and at
the boundaries where dispatch switches to im2col + GEMM; every backend runs the same cases against the reference."""
import numpy as np
import pytest

from fastnn import backend as fbackend, ops, reference as ref
from conftest import R, assert_close, one_thread, to_backend, to_numpy

# (N, H, W, C_in, KH, KW, C_out, stride, padding, dilation)
CONFIGS = [
    (3, 28, 28, 1, 3, 3, 10, 1, "valid", 1),  # the lecture CNN's first layer
    (3, 13, 13, 10, 3, 3, 5, 1, "valid", 1),  # and its second
    (2, 9, 11, 1, 3, 3, 1, 1, "same", 1),  # one output channel: 4 lanes, 3 of them padding
    (2, 9, 7, 2, 3, 3, 3, 2, "same", 1),  # stride 2: dx by scatter
    (2, 10, 9, 3, 5, 3, 7, 1, "same", 1),  # non-square kernel, odd sizes, dx by correlation with padding
    (2, 8, 8, 4, 3, 3, 8, (2, 1), (1, 2), 1),  # explicit padding, mixed strides
    (2, 11, 10, 4, 3, 2, 9, 1, "same", (2, 1)),  # dilation
    (2, 9, 9, 2, 3, 3, 6, 1, "valid", (1, 2)),  # dilation along the width
    (2, 7, 9, 3, 3, 3, 12, 3, "same", (2, 2)),
    (1, 5, 5, 16, 3, 3, 16, 1, "same", 1),  # both at the boundary: narrow
    (2, 6, 6, 16, 3, 3, 17, 1, "same", 1),  # C_out past it: im2col + GEMM
    (2, 6, 6, 17, 3, 3, 16, 1, "same", 1),  # C_in past it: im2col + GEMM
    (2, 4, 4, 3, 3, 3, 2, 1, 3, 1),  # padding wider than the kernel's reach: dy rows past the image
    (5, 3, 4, 2, 3, 4, 4, 1, "valid", 1),  # kernel = image: one pixel per image
]
IDS = [f"{c[0]}x{c[1]}x{c[2]}x{c[3]}-k{c[4]}x{c[5]}-o{c[6]}-s{c[7]}-p{c[8]}-d{c[9]}" for c in CONFIGS]


def make(rng, dtype, N, H, W, C, KH, KW, CO):
    return (rng.standard_normal((N, H, W, C)).astype(dtype), rng.standard_normal((KH, KW, C, CO)).astype(dtype),
            rng.standard_normal(CO).astype(dtype))


def check(backend, dtype, rng, x, Wt, b, geo, workspace=None):
    bx, bW, bb = to_backend(backend, x, Wt, b)
    y = ops.conv2d_forward(bx, bW, bb, workspace=workspace, backend=backend, **geo)
    assert_close(y, R(ref.conv2d_forward, x, Wt, b, **geo), dtype)
    assert_close(ops.conv2d_forward(bx, bW, None, workspace=workspace, backend=backend, **geo),
                 R(ref.conv2d_forward, x, Wt, None, **geo), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = ops.conv2d_backward(bx, bW, to_backend(backend, dy), workspace=workspace, backend=backend, **geo)
    for g, want in zip(got, R(ref.conv2d_backward, x, Wt, dy, **geo)):
        assert_close(g, want, dtype)
    # Without dx and db (a first layer without bias): dW alone must not change.
    _, dW, db = ops.conv2d_backward(bx, bW, to_backend(backend, dy), need_dx=False, has_bias=False,
                                    workspace=workspace, backend=backend, **geo)
    assert db is None
    assert_close(dW, R(ref.conv2d_backward, x, Wt, dy, **geo)[1], dtype)


@pytest.mark.parametrize("N,H,W,C,KH,KW,CO,stride,padding,dilation", CONFIGS, ids=IDS)
def test_narrow_shapes_match_reference(N, H, W, C, KH, KW, CO, stride, padding, dilation, dtype, backend, rng):
    check(backend, dtype, rng, *make(rng, dtype, N, H, W, C, KH, KW, CO),
          dict(stride=stride, padding=padding, dilation=dilation))


@pytest.mark.parametrize("C_in", [1, 2, 3, 4])
@pytest.mark.parametrize("C_out", [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16])
def test_every_lane_width(C_in, C_out, dtype, backend, rng):
    """Each C_out is its own compiled kernel (4, 8 or 16 lanes); each C_in the dx pass's."""
    check(backend, dtype, rng, *make(rng, dtype, 2, 7, 6, C_in, 3, 3, C_out), dict(padding="same"))


@pytest.mark.parametrize("stride", [1, 2])
def test_narrow_with_a_workspace_too_small_for_it(stride, dtype, rng):
    """The least workspace the op accepts holds no padded image: the CPU falls back to im2col + GEMM."""
    x, Wt, b = make(rng, dtype, 3, 9, 8, 2, 3, 3, 4)
    K = 3 * 3 * 2
    least = ops.conv2d_workspace_size(x.shape, Wt.shape, padding="same", dtype=dtype, max_bytes=1)
    assert least == K + 4 + K * 4
    check(fbackend.get("cpu"), dtype, rng, x, Wt, b, dict(stride=stride, padding="same"),
          workspace=np.full(least, np.nan, dtype))


def test_narrow_is_deterministic_and_thread_count_independent_in_value(rng):
    """Images are split between threads and dW summed per thread in a fixed order: two runs are bit-identical,
    and one thread agrees with two to rounding."""
    x, Wt, b = make(rng, np.float64, 7, 12, 11, 3, 3, 3, 6)
    geo = dict(padding="same")
    dy = rng.standard_normal(ops.conv2d_output_shape(x.shape, Wt.shape, **geo))
    runs = [ops.conv2d_backward(x, Wt, dy, **geo) for _ in range(2)]
    for a, c in zip(*runs):
        assert np.array_equal(a, c)
    with one_thread():
        single = ops.conv2d_backward(x, Wt, dy, **geo)
        y1 = ops.conv2d_forward(x, Wt, b, **geo)
    assert np.array_equal(y1, ops.conv2d_forward(x, Wt, b, **geo))  # forward: no sums across threads
    for a, c in zip(single, runs[0]):
        assert_close(a, c, np.float64)


def test_narrow_writes_every_output_element(rng):
    """Outputs and workspace full of NaN beforehand: every element of y, dx, dW and db is written."""
    x, Wt, b = make(rng, np.float32, 3, 9, 9, 2, 3, 3, 5)
    geo = dict(stride=1, padding="same")
    ws = np.full(ops.conv2d_workspace_size(x.shape, Wt.shape, **geo), np.nan, np.float32)
    y = ops.conv2d_forward(x, Wt, b, out=np.full((3, 9, 9, 5), np.nan, np.float32), workspace=ws, **geo)
    assert np.isfinite(y).all()
    dy = rng.standard_normal(y.shape).astype(np.float32)
    outs = dict(dx=np.full(x.shape, np.nan, np.float32), dW=np.full(Wt.shape, np.nan, np.float32),
                db=np.full(5, np.nan, np.float32))
    for g in ops.conv2d_backward(x, Wt, dy, workspace=ws, **geo, **outs):
        assert np.isfinite(to_numpy(g)).all()
