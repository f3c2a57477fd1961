import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend, to_numpy

# (N, H, W, C, pool_size, strides, padding)
CONFIGS = [
    (2, 6, 6, 3, 2, None, "valid"),
    (2, 7, 7, 3, 2, None, "same"),  # odd size: the last window is half padding
    (1, 7, 5, 2, (3, 2), (2, 1), "same"),  # batch 1, non-square, overlapping windows
    (2, 9, 8, 4, 3, 2, "valid"),
    (3, 5, 5, 1, 3, 1, "same"),  # every window overlaps the padding at the border
    (2, 5, 6, 3, 4, 3, "same"),
    (2, 4, 4, 3, 1, None, "valid"),
    (1, 1, 1, 2, 2, None, "same"),
    (2, 6, 7, 5, (2, 3), (3, 2), "valid"),  # strides larger than the window: cells no window sees
    # 2x2, stride 2, every window inside the image: the CPU's one-pass path
    (3, 26, 26, 10, 2, None, "valid"),  # the lecture CNN's first pool
    (2, 11, 11, 5, 2, None, "valid"),  # odd: the last row and column are in no window
    (2, 8, 6, 17, 2, 2, "same"),  # even sizes: 'same' pads nothing
    # C > 16: the channel count known only at run time (vectors and a tail)
    (2, 9, 7, 17, 2, None, "valid"),  # odd height and width
    (2, 6, 5, 32, 2, None, "valid"),  # odd width: the last column in no window
    (2, 7, 4, 33, 2, None, "valid"),  # odd height: the last row in no window
    (2, 5, 5, 64, 2, None, "valid"),
    (2, 5, 8, 1, 2, None, "same"),  # odd height with 'same': the last window half padding (general path)
    (2, 6, 6, 4, (2, 3), (2, 3), "valid"),  # disjoint but not 2x2: the general disjoint rows
]
IDS = [f"{c[0]}x{c[1]}x{c[2]}x{c[3]}-k{c[4]}-s{c[5]}-{c[6]}" for c in CONFIGS]


@pytest.mark.parametrize("N,H,W,C,pool,strides,padding", CONFIGS, ids=IDS)
def test_max_pool(N, H, W, C, pool, strides, padding, dtype, backend, rng):
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    geo = dict(strides=strides, padding=padding)
    y, argmax = ops.max_pool2d_forward(to_backend(backend, x), pool, backend=backend, **geo)
    ry, rarg = ref.max_pool2d_forward(x, pool, **geo)
    assert tuple(y.shape) == ops.pool2d_output_shape(x.shape, pool, **geo) == ry.shape
    assert np.array_equal(to_numpy(y), ry)  # a max is exact
    assert to_numpy(argmax).dtype == np.int32 and np.array_equal(to_numpy(argmax), rarg)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = ops.max_pool2d_backward(to_backend(backend, dy), argmax, x.shape, pool, backend=backend, **geo)
    assert_close(dx, R(ref.max_pool2d_backward, dy, rarg, x.shape), dtype)
    y2, none = ops.max_pool2d_forward(to_backend(backend, x), pool, need_argmax=False, backend=backend, **geo)
    assert none is None and np.array_equal(to_numpy(y2), ry)


@pytest.mark.parametrize("N,H,W,C,pool,strides,padding", CONFIGS, ids=IDS)
def test_avg_pool(N, H, W, C, pool, strides, padding, dtype, backend, rng):
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    geo = dict(strides=strides, padding=padding)
    y = ops.avg_pool2d_forward(to_backend(backend, x), pool, backend=backend, **geo)
    assert_close(y, R(ref.avg_pool2d_forward, x, pool, **geo), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = ops.avg_pool2d_backward(to_backend(backend, dy), x.shape, pool, backend=backend, **geo)
    assert_close(dx, R(ref.avg_pool2d_backward, dy, x.shape, pool, **geo), dtype)


def test_avg_pool_same_padding_does_not_count_the_padding(dtype, backend):
    x = np.ones((1, 3, 3, 1), dtype)
    y = ops.avg_pool2d_forward(to_backend(backend, x), 2, padding="same", backend=backend)
    assert np.array_equal(to_numpy(y), np.ones((1, 2, 2, 1), dtype))  # not 1/2 or 1/4 at the border
    dx = ops.avg_pool2d_backward(to_backend(backend, np.ones((1, 2, 2, 1), dtype)), x.shape, 2, padding="same",
                                 backend=backend)
    assert_close(dx[0, :, :, 0], np.array([[1 / 4, 1 / 4, 1 / 2], [1 / 4, 1 / 4, 1 / 2], [1 / 2, 1 / 2, 1]]), dtype)


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 1, 1, 4), (3, 16, 16, 33)])
def test_global_avg_pool(shape, dtype, backend, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = ops.global_avg_pool2d_forward(to_backend(backend, x), backend=backend)
    assert_close(y, R(ref.global_avg_pool2d_forward, x), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = ops.global_avg_pool2d_backward(to_backend(backend, dy), shape, backend=backend)
    assert_close(dx, R(ref.global_avg_pool2d_backward, dy, shape), dtype)


@pytest.mark.parametrize("C", [1, 17, 33])
def test_max_pool_ties_go_to_the_first_cell_in_row_major_order(C, dtype, backend):
    x = np.array([[1, 5, 3, 3],
                  [5, 2, 3, 3],
                  [0, 0, 7, 1],
                  [0, 0, 1, 7]], dtype).reshape(1, 4, 4, 1).repeat(C, axis=3)
    y, argmax = ops.max_pool2d_forward(to_backend(backend, x), 2, backend=backend)
    for c in range(C):
        assert np.array_equal(to_numpy(y)[0, :, :, c], [[5, 3], [0, 7]])
        assert np.array_equal(to_numpy(argmax)[0, :, :, c], [[1, 2], [8, 10]])  # positions ih * 4 + iw
    dx = ops.max_pool2d_backward(to_backend(backend, np.ones((1, 2, 2, C), dtype)), argmax, x.shape, 2,
                                 backend=backend)
    expected = np.zeros((4, 4, C), dtype)
    expected[0, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1
    assert np.array_equal(to_numpy(dx)[0], expected)


@pytest.mark.parametrize("C", [10, 17, 32, 33, 64])
def test_max_pool_2x2_many_ties_and_stale_output(C, dtype, backend, rng):
    """Values from {0, 1, 2}: most windows hold ties, each channel its own.
    dx starts as NaN: every cell, those in no window (odd H and W) too, is written."""
    x = rng.integers(0, 3, (2, 7, 9, C)).astype(dtype)
    y, argmax = ops.max_pool2d_forward(to_backend(backend, x), 2, backend=backend)
    ry, rarg = ref.max_pool2d_forward(x, 2)
    assert np.array_equal(to_numpy(y), ry) and np.array_equal(to_numpy(argmax), rarg)
    dy = rng.standard_normal(y.shape).astype(dtype)
    stale = to_backend(backend, np.full(x.shape, np.nan, dtype))
    dx = ops.max_pool2d_backward(to_backend(backend, dy), argmax, x.shape, 2, out=stale, backend=backend)
    assert np.array_equal(to_numpy(dx), ref.max_pool2d_backward(dy, rarg, x.shape))  # routing is exact


def test_max_pool_overlapping_windows_sum_their_gradients(backend):
    # A 3x3 window with stride 1 over a single peak: all 4 windows pick it.
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 2, 0] = 1
    y, argmax = ops.max_pool2d_forward(to_backend(backend, x), 3, strides=1, backend=backend)
    dx = ops.max_pool2d_backward(to_backend(backend, np.full((1, 2, 2, 1), 2.0)), argmax, x.shape, 3, strides=1,
                                 backend=backend)
    assert to_numpy(dx)[0, 1, 2, 0] == 8 and to_numpy(dx).sum() == 8


def test_pool_backward_is_bit_identical_across_runs(backend, rng):
    """Max and average pooling gradients with overlapping windows (each dx
    cell gathers several windows' dy) repeat bit for bit, into outputs
    holding stale NaNs: no atomics, every dx element written."""
    x = rng.standard_normal((3, 11, 9, 5)).astype(np.float32)
    x[:, 4:6, 3:5, :] = 1.5  # ties: the first cell in row-major window order takes the gradient
    geo = dict(pool_size=3, strides=(2, 1), padding="same")
    bx = to_backend(backend, x)
    y, argmax = ops.max_pool2d_forward(bx, backend=backend, **geo)
    dy = to_backend(backend, rng.standard_normal(y.shape).astype(np.float32))
    runs = []
    for _ in range(2):
        stale = [to_backend(backend, np.full(x.shape, np.nan, np.float32)) for _ in range(2)]
        runs.append((to_numpy(ops.max_pool2d_backward(dy, argmax, x.shape, out=stale[0], backend=backend, **geo)),
                     to_numpy(ops.avg_pool2d_backward(dy, x.shape, out=stale[1], backend=backend, **geo))))
    for first, second in zip(*runs):
        assert np.isfinite(first).all() and np.array_equal(first, second)
    assert_close(runs[0][0], R(ref.max_pool2d_backward, to_numpy(dy), to_numpy(argmax), x.shape), np.float32)
    assert_close(runs[0][1], R(ref.avg_pool2d_backward, to_numpy(dy), x.shape, **geo), np.float32)


def test_max_pool_padding_never_wins(backend):
    x = -np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3, 1)  # all negative: a zero pad would win
    y, _ = ops.max_pool2d_forward(to_backend(backend, x), 2, padding="same", backend=backend)
    assert np.array_equal(to_numpy(y)[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_pool_numerical_gradients(rng):
    # Distinct, well separated values: an eps step never changes a window's max.
    x = rng.permutation(5 * 7 * 2).reshape(1, 5, 7, 2) * 0.1 + rng.uniform(0, 0.01, (1, 5, 7, 2))
    geo = dict(pool_size=(3, 2), strides=(2, 1), padding="same")
    g = rng.standard_normal(ops.pool2d_output_shape(x.shape, **geo))

    _, argmax = ops.max_pool2d_forward(x, **geo)
    dx = ops.max_pool2d_backward(g, argmax, x.shape, **geo)
    assert_close(dx, numerical_grad(lambda: float((ops.max_pool2d_forward(x, **geo)[0] * g).sum()), x), rtol=1e-7)

    dx = ops.avg_pool2d_backward(g, x.shape, **geo)
    assert_close(dx, numerical_grad(lambda: float((ops.avg_pool2d_forward(x, **geo) * g).sum()), x), rtol=1e-7)

    g2 = rng.standard_normal((1, 2))
    dx = ops.global_avg_pool2d_backward(g2, x.shape)
    assert_close(dx, numerical_grad(lambda: float((ops.global_avg_pool2d_forward(x) * g2).sum()), x), rtol=1e-7)


@pytest.mark.parametrize(
    "shape,kwargs,error,match",
    [
        ((1, 4, 4, 2), dict(pool_size=5), ValueError,
         r"pool_size: the window spans 5x5 input cells, more than the 4x4"),
        ((1, 4, 4, 2), dict(pool_size=0), ValueError, "pool_size: expected a positive int or a pair of them, got 0"),
        ((1, 4, 4, 2), dict(pool_size=(2, -1)), ValueError, "pool_size: expected a positive int"),
        ((1, 4, 4, 2), dict(strides=0), ValueError, "strides: expected a positive int"),
        ((1, 4, 4, 2), dict(strides=-1), ValueError, "strides: expected a positive int"),
        ((1, 4, 4, 2), dict(strides="2"), TypeError, "strides: expected a positive int"),
        ((1, 4, 4, 2), dict(padding="full"), ValueError, "padding: expected 'valid' or 'same', got 'full'"),
        ((1, 4, 4, 2), dict(padding=1), TypeError, "padding: expected 'valid' or 'same', got 1"),
        ((1, 4, 4, 2), dict(strides=2**64), ValueError, r"strides: .* \(at most 2\*\*31 - 1\)"),
        ((4, 4, 2), {}, ValueError, "x: expected a 4-D array, got 3-D"),
        ((0, 4, 4, 2), {}, ValueError, "x: expected positive sizes"),
    ],
)
def test_pool_bad_arguments(shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.max_pool2d_forward(np.ones(shape), **kwargs)
    with pytest.raises(error, match=match):
        ops.avg_pool2d_forward(np.ones(shape), **kwargs)
    with pytest.raises(error, match=match.replace("x:", "x_shape:")):
        ops.avg_pool2d_backward(np.ones((1, 2, 2, 2)), shape, **kwargs)


def test_pool_bad_arrays():
    x = np.ones((2, 4, 4, 3))
    y, argmax = ops.max_pool2d_forward(x)
    with pytest.raises(TypeError, match="argmax: expected int32, got int64"):
        ops.max_pool2d_backward(np.ones(y.shape), argmax.astype(np.int64), x.shape)
    with pytest.raises(ValueError, match=r"argmax: expected shape \(2, 2, 2, 3\)"):
        ops.max_pool2d_forward(x, argmax=np.empty((2, 2, 2, 2), np.int32))
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 2, 2, 3\)"):
        ops.max_pool2d_backward(np.ones((2, 2, 2, 2)), argmax, x.shape)
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 2, 2, 3\)"):
        ops.avg_pool2d_backward(np.ones((2, 3, 3, 3)), x.shape)
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.avg_pool2d_forward(x.astype(np.int64))
    with pytest.raises(ValueError, match="x: expected a 4-D array, got 2-D"):
        ops.global_avg_pool2d_forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 3\)"):
        ops.global_avg_pool2d_backward(np.ones((2, 4)), x.shape)
    with pytest.raises(ValueError, match="x_shape: expected positive sizes"):
        ops.global_avg_pool2d_backward(np.ones((2, 3)), (2, 0, 4, 3))


@pytest.mark.parametrize("C", [3, 33])
def test_max_pool_propagates_nan_like_numpy(C, backend, rng):
    x = np.arange(2 * 4 * 4 * C, dtype=np.float64).reshape(2, 4, 4, C)
    x[0, 1, 1, 0] = np.nan  # not the first cell of its window
    x[1, 0, 0, 2] = np.nan  # the first cell
    x[1, 3, 2, C - 1] = x[1, 2, 3, C - 1] = np.nan  # two in one window, the last channel
    y, arg = ops.max_pool2d_forward(to_backend(backend, x), 2, backend=backend)
    ry, rarg = ref.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(to_numpy(y), ry)  # NaN where numpy.max gives NaN
    np.testing.assert_array_equal(to_numpy(arg), rarg)
    assert np.isnan(to_numpy(y)[0, 0, 0, 0]) and np.isnan(to_numpy(y)[1, 0, 0, 2])
    assert to_numpy(arg)[1, 1, 1, C - 1] == 2 * 4 + 3  # the first NaN in row-major order
    dy = rng.standard_normal(y.shape)
    dx = ops.max_pool2d_backward(to_backend(backend, dy), arg, x.shape, 2, backend=backend)
    np.testing.assert_array_equal(to_numpy(dx), ref.max_pool2d_backward(dy, rarg, x.shape))
