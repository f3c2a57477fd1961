"""Exact arguments at the ops boundary: flags take only True/False, argmax is validated, size
arithmetic cannot overflow, and every error names the argument as the caller passed it."""
import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close

HOST_BACKENDS = ["cpu", "cuda-emu"]


def _bn_args(rng, dtype=np.float64):
    x = rng.standard_normal((8, 3)).astype(dtype)
    return x, np.ones(3, dtype), np.zeros(3, dtype), np.zeros(3, dtype), np.ones(3, dtype)


@pytest.mark.parametrize("bad", ["False", "True", 0, 1, None, 1.0, [False]])
def test_flags_take_only_true_or_false(rng, bad):
    x, W, dy = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    img, K = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((3, 3, 2, 4))
    calls = {
        "training": [lambda: ops.batchnorm_forward(*_bn_args(rng), training=bad),
                     lambda: ops.dropout_forward(x, 0.5, seed=1, step=1, training=bad)],
        "need_dx": [lambda: ops.dense_backward(x, W, dy, need_dx=bad),
                    lambda: ops.conv2d_backward(img, K, rng.standard_normal((2, 3, 3, 4)), need_dx=bad)],
        "has_bias": [lambda: ops.dense_backward(x, W, dy, has_bias=bad),
                     lambda: ops.conv2d_backward(img, K, rng.standard_normal((2, 3, 3, 4)), has_bias=bad)],
        "need_argmax": [lambda: ops.max_pool2d_forward(img, need_argmax=bad)],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(TypeError, match=f"^{name}: expected True or False, got "):
                fn()


def test_training_false_string_does_not_update_running_statistics(rng):
    x, gamma, beta, mean, var = _bn_args(rng)
    with pytest.raises(TypeError, match="training"):
        ops.batchnorm_forward(x, gamma, beta, mean, var, training="False")
    assert (mean == 0).all() and (var == 1).all()
    y, _, _ = ops.batchnorm_forward(x, gamma, beta, mean, var, training=np.bool_(False))  # numpy bools are flags
    assert_close(y, ref.batchnorm_forward(x, gamma, beta, mean, var, False)[0])
    assert (mean == 0).all() and (var == 1).all()


@pytest.mark.parametrize("C", [3, 33])  # the CPU's 2x2 kernels for C <= 16 and for wider C verify argmax
@pytest.mark.parametrize("backend_name", HOST_BACKENDS)
def test_max_pool_backward_validates_argmax(rng, backend_name, C):
    from fastnn import backend as fbackend
    if backend_name not in fbackend.available():
        pytest.skip(f"backend {backend_name!r} is not available here")
    x = rng.standard_normal((2, 4, 4, C))
    y, argmax = ops.max_pool2d_forward(x, backend=backend_name)
    dy = rng.standard_normal(y.shape)
    good = ops.max_pool2d_backward(dy, argmax, x.shape, backend=backend_name)
    assert_close(good, ref.max_pool2d_backward(dy, argmax, x.shape))
    with pytest.raises(TypeError, match="^argmax: expected int32, got int64"):
        ops.max_pool2d_backward(dy, argmax.astype(np.int64), x.shape, backend=backend_name)
    wrongs = [((0, 0, 0, C - 1), v) for v in sorted(set(range(16)) - {0, 1, 4, 5})]  # every cell outside window (0, 0)
    wrongs += [((1, 1, 0, C - 1), v) for v in (-1, 16, 2**31 - 1, -2**31)]  # outside the image
    for index, value in wrongs:
        wrong = argmax.copy()
        wrong[index] = value
        flat = np.ravel_multi_index(index, argmax.shape)
        with pytest.raises(ValueError, match=f"^argmax: value {value} at flat index {flat} is not a position"):
            ops.max_pool2d_backward(dy, wrong, x.shape, backend=backend_name)


@pytest.mark.parametrize("call, name", [
    (lambda: ops.conv2d_workspace_size((2**32, 2**20, 2**20, 3), (3, 3, 3, 8)), "x_shape"),
    (lambda: ops.conv2d_workspace_size((2, 8, 8, 3), (2**20, 2**20, 2**10, 8)), "W_shape"),
    (lambda: ops.conv2d_output_shape((1, 2**20, 2**20, 2**8), (1, 1, 2**8, 1), padding=2**31 - 1), "W_shape"),
    (lambda: ops.pool2d_output_shape((2**32, 2**20, 2**20, 3)), "x_shape"),
    (lambda: ops.pool2d_output_shape((1, 4, 4, 2**16), pool_size=2**31 - 1, padding="same"), "pool_size"),
    (lambda: ops.avg_pool2d_backward(np.ones((1, 1, 1, 1)), (2**40, 2**10, 2**10, 1), 2**10), "x_shape"),
    (lambda: ops.dropout_mask((2**30, 2**30), 0.5, 1, 1), "shape"),
])
def test_sizes_that_overflow_are_value_errors(call, name):
    with pytest.raises(ValueError, match=f"^{name}: "):
        call()


def test_workspace_sizes_are_never_negative(rng):
    for _ in range(200):
        n, h, w, c = (int(v) for v in 2 ** rng.integers(0, 13, 4))
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        try:
            size = ops.conv2d_workspace_size((n, h, w, c), (kh, kw, c, int(2 ** rng.integers(0, 12))),
                                             padding="same", max_bytes=int(2 ** rng.integers(10, 40)))
        except ValueError as e:
            assert str(e).startswith(("x_shape:", "W_shape:", "W:")), e
        else:
            assert size >= 0


@pytest.mark.parametrize("call, message", [
    (lambda x: ops.softmax_forward(x, out=np.empty((2, 2))), r"^out: expected shape \(4, 5\) like x"),
    (lambda x: ops.softmax_backward(x, x, out=[1.0]), "^out: expected a numpy.ndarray"),
    (lambda x: ops.activation_forward("relu", x, out=x.astype(np.float32)), "^out: expected dtype float64"),
    (lambda x: ops.dense_forward(x, np.ones((5, 2)), activation="relu", preact=np.empty(3)), "^preact: expected shape"),
    (lambda x: ops.dense_forward(x, np.ones((5, 2)), activation="relu", out=np.empty(3)), "^out: expected shape"),
    (lambda x: ops.bias_grad(x, out=np.empty(4)), r"^out: expected shape \(5,\)"),
    (lambda x: ops.hinge_backward(x, np.zeros(4, np.int64), out=x),
     "^out: must not overlap scores, which the kernel reads while writing out"),
    (lambda x: ops.activation_forward(1, x), "^kind: expected a str, got 1"),
    (lambda x: ops.activation_forward("leaky_relu", x, alpha="0.1"), "^alpha: expected a number, got str"),
    (lambda x: ops.dense_forward(x, np.ones((5, 2)), alpha=None), "^alpha: expected a number, got NoneType"),
    (lambda x: ops.hinge_backward(x, np.zeros(4, np.int64), scale="a"), "^scale: expected a number, got str"),
    (lambda x: ops.mse_backward(x, x, scale=np.inf), "^scale: expected a number finite"),
    (lambda x: ops.mse_backward(x.astype(np.float32), x.astype(np.float32), scale=1e300), "^scale: .*float32"),
    (lambda x: ops.batchnorm_forward(*_bn_args(np.random.default_rng(0)), training=True, momentum="0.9"),
     "^momentum: expected a number"),
    (lambda x: ops.dropout_forward(x, "0.5", seed=1, step=1), "^p: expected a number, got str"),
    (lambda x: ops.optimizer_update("sgd", x.reshape(-1), x.reshape(-1).copy(), lr="0.1"), "^lr: expected a number"),
    (lambda x: ops.optimizer_update("sgd", x.reshape(-1), x.reshape(-1).copy(), lr=0.1, step=1.5),
     "^step: expected the 1-based step number"),
    (lambda x: ops.max_norm_project(x, None), "^max_norm: expected a number"),
    (lambda x: ops.max_norm_project(np.zeros((3, 0)), 1.0), "^w: expected a non-empty array"),
    (lambda x: ops.conv2d_workspace_size((1, 4, 4, 1), (3, 3, 1, 1), dtype="nonsense"), "^dtype: expected float32"),
    (lambda x: ops.conv2d_workspace_size((1, 4, 4, 1), (3, 3, 1, 1), max_bytes="big"), "^max_bytes: expected"),
    (lambda x: ops.conv2d_output_shape(None, (3, 3, 1, 1)), "^x_shape: expected a tuple of ints, got None"),
    (lambda x: ops.global_avg_pool2d_backward(x[:2, :2], 0), "^x_shape: expected a tuple of ints, got 0"),
    (lambda x: ops.max_pool2d_backward(x, x, None), "^x_shape: expected a tuple of ints"),
    (lambda x: ops.dropout_mask((2.0, 5), 0.5, 1, 1), r"^shape: expected a tuple of ints, got \(2.0, 5\)"),
])
def test_errors_name_the_argument_the_caller_passed(rng, call, message):
    x = rng.standard_normal((4, 5))
    with pytest.raises((TypeError, ValueError), match=message):
        call(x)
