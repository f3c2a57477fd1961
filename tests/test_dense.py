import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 3, 4), (33, 65, 17), (128, 784, 500)]


@pytest.mark.parametrize("M,K,N", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_dense_forward_backward(M, K, N, bias, activation, dtype, backend, rng):
    x, W, dy = (rng.standard_normal(s).astype(dtype) for s in [(M, K), (K, N), (M, N)])
    b = rng.standard_normal(N).astype(dtype) if bias else None
    bx, bW, bb, bdy = to_backend(backend, x, W, b, dy)
    z = backend.empty((M, N), dtype)
    y = ops.dense_forward(bx, bW, bb, activation=activation, preact=z, backend=backend)
    assert_close(y, R(ref.dense_forward, x, W, b, activation), dtype)
    dx, dW, db = ops.dense_backward(bx, bW, bdy, activation=activation, preact=z, y=y, has_bias=bias, backend=backend)
    rdx, rdW, rdb = R(ref.dense_backward, x, W, dy, activation, b=b, has_bias=bias)
    assert_close(dx, rdx, dtype)
    assert_close(dW, rdW, dtype)
    if bias:
        assert_close(db, rdb, dtype)
    else:
        assert db is None


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softplus", "swish", "leaky_relu"])
def test_dense_activation_gradients_match_central_differences(activation, rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dy = rng.standard_normal((3, 5))
    loss = lambda: float((ops.dense_forward(x, W, b, activation=activation, alpha=0.1) * dy).sum())
    z = np.empty((3, 5))
    y = ops.dense_forward(x, W, b, activation=activation, alpha=0.1, preact=z)
    dx, dW, db = ops.dense_backward(x, W, dy, activation=activation, alpha=0.1, preact=z, y=y)
    for analytic, param in [(dx, x), (dW, W), (db, b)]:
        np.testing.assert_allclose(analytic, numerical_grad(loss, param), rtol=1e-6, atol=1e-8)


def test_dense_backward_in_place_dz(rng):
    x, W, dy = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    z = np.empty((6, 3))
    y = ops.dense_forward(x, W, activation="tanh", preact=z)
    expected = ref.dense_backward(x, W, dy.copy(), "tanh")
    work = dy.copy()
    dx, dW, db = ops.dense_backward(x, W, work, activation="tanh", preact=z, y=y, dz=work)
    np.testing.assert_allclose(work, dy * (1 - y**2))
    for got, want in zip((dx, dW, db), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


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
        fastnn._C.dense_forward(x, W, None, np.empty((5, 3)), None)
    with pytest.raises(ValueError, match="z: output array is read-only"):
        y = np.empty((5, 3))
        y.flags.writeable = False
        fastnn._C.dense_forward(np.ascontiguousarray(x), W, None, y, None)


@pytest.mark.parametrize(
    "x_shape,W_shape,b_shape,match",
    [
        ((4,), (4, 3), (3,), "x: expected a 2-D array"),
        ((2, 4, 1), (4, 3), (3,), "x: expected a 2-D array"),
        ((2, 4), (5, 3), (3,), r"W: expected shape \(4, any\), got \(5, 3\)"),
        ((2, 4), (4, 3), (4,), r"b: expected shape \(3,\)"),
        ((0, 4), (4, 3), (3,), "x: expected a non-empty array"),
    ],
)
def test_dense_bad_shapes(x_shape, W_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        ops.dense_forward(np.ones(x_shape), np.ones(W_shape), np.ones(b_shape))


def test_dense_activation_needs_its_buffers():
    x, W = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="a: needed for activation 'relu', got None"):
        fastnn._C.dense_forward(x, W, None, np.empty((2, 4)), None, "relu")
    with pytest.raises(ValueError, match="z: needed for activation 'tanh', got None"):
        fastnn._C.dense_backward(x, W, np.ones((2, 4)), np.empty((2, 4)), None, None, "tanh", 0.0, None, np.empty((3, 4)), None)
    with pytest.raises(ValueError, match="activation: unknown activation 'gelu'"):
        ops.dense_forward(x, W, activation="gelu")


def test_dense_bad_dtypes():
    with pytest.raises(TypeError, match="W: expected dtype float64 like x, got float32"):
        ops.dense_forward(np.ones((2, 4)), np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.dense_forward(np.ones((2, 4), np.int64), np.ones((4, 3), np.int64))
    with pytest.raises(TypeError, match="x: expected an array, got list"):
        ops.dense_forward([[1.0, 2.0]], np.ones((2, 3)))
    with pytest.raises(TypeError, match="b: expected a numpy.ndarray, got builtins.list"):
        ops.dense_forward(np.ones((2, 2)), np.ones((2, 3)), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="out: expected dtype float64 like x, got float32"):
        ops.dense_forward(np.ones((2, 2)), np.ones((2, 3)), out=np.empty((2, 3), np.float32))
