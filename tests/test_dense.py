import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import R, assert_close, to_backend

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 3, 4), (33, 65, 17), (128, 784, 500)]


@pytest.mark.parametrize("M,K,N", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_dense_forward_backward(M, K, N, bias, dtype, backend, rng):
    x, W, dy = (rng.standard_normal(s).astype(dtype) for s in [(M, K), (K, N), (M, N)])
    b = rng.standard_normal(N).astype(dtype) if bias else None
    bx, bW, bb, bdy = to_backend(backend, x, W, b, dy)
    assert_close(ops.dense_forward(bx, bW, bb, backend=backend), R(ref.dense_forward, x, W, b), dtype)
    dx, dW, db = ops.dense_backward(bx, bW, bdy, has_bias=bias, backend=backend)
    rdx, rdW, rdb = R(ref.dense_backward, x, W, dy, has_bias=bias)
    assert_close(dx, rdx, dtype)
    assert_close(dW, rdW, dtype)
    if bias:
        assert_close(db, rdb, dtype)
    else:
        assert db is None


def test_dense_backward_without_dx_and_with_outputs(dtype, backend, rng):
    x, W, dy = (rng.standard_normal(s).astype(dtype) for s in [(6, 4), (4, 3), (6, 3)])
    bx, bW, bdy = to_backend(backend, x, W, dy)
    dW_out, db_out = backend.zeros((4, 3), dtype), backend.zeros((3,), dtype)
    dx, dW, db = ops.dense_backward(bx, bW, bdy, need_dx=False, dW=dW_out, db=db_out, backend=backend)
    assert dx is None and dW is dW_out and db is db_out
    assert_close(dW_out, x.T @ dy, dtype)
    assert_close(db_out, dy.sum(0), dtype)


def test_bias_grad(dtype, backend, rng):
    dy = rng.standard_normal((300, 257)).astype(dtype)
    assert_close(ops.bias_grad(to_backend(backend, dy), backend=backend), R(ref.bias_grad, dy), dtype)


def test_non_contiguous_inputs_are_copied(rng):
    x = rng.standard_normal((8, 5))
    W = rng.standard_normal((3, 5)).T  # a transposed view
    assert_close(ops.dense_forward(x, W, None), x @ W)
    xs = rng.standard_normal((8, 10))[:, ::2]  # strided slice
    assert_close(ops.dense_forward(xs, W), xs @ W)


def test_raw_binding_rejects_non_contiguous(rng):
    x = rng.standard_normal((5, 8))[:, ::2]
    W = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="x: expected a C-contiguous array"):
        fastnn._C.dense_forward(x, W, None, np.empty((5, 3)))
    with pytest.raises(ValueError, match="y: output array is read-only"):
        y = np.empty((5, 3))
        y.flags.writeable = False
        fastnn._C.dense_forward(np.ascontiguousarray(x), W, None, y)


@pytest.mark.parametrize(
    "x_shape,W_shape,b_shape,match",
    [
        ((4,), (4, 3), (3,), "x: expected a 2-D array"),
        ((2, 4, 1), (4, 3), (3,), "x: expected a 2-D array"),
        ((2, 4), (5, 3), (3,), r"W: expected shape \(4, 3\), got \(5, 3\)"),
        ((2, 4), (4, 3), (4,), r"b: expected shape \(3,\)"),
        ((0, 4), (4, 3), (3,), "x: expected a non-empty array"),
    ],
)
def test_dense_bad_shapes(x_shape, W_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        ops.dense_forward(np.ones(x_shape), np.ones(W_shape), np.ones(b_shape))


def test_dense_bad_dtypes():
    with pytest.raises(TypeError, match="W: expected dtype float64 like x, got float32"):
        ops.dense_forward(np.ones((2, 4)), np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.dense_forward(np.ones((2, 4), np.int64), np.ones((4, 3), np.int64))
    with pytest.raises(TypeError, match="x: expected an array, got list"):
        ops.dense_forward([[1.0, 2.0]], np.ones((2, 3)))
    with pytest.raises(TypeError, match="b: expected a numpy.ndarray, got builtins.list"):
        ops.dense_forward(np.ones((2, 2)), np.ones((2, 3)), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="y: expected dtype float64 like x, got float32"):
        ops.dense_forward(np.ones((2, 2)), np.ones((2, 3)), out=np.empty((2, 3), np.float32))
