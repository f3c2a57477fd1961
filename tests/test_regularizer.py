"""Activity regularization: the penalty (l1 sum|y| + l2 sum y^2) / batch and its gradient added into dy."""
import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import R, assert_close, one_thread, to_backend, to_numpy

# Ranks 1 to 4; 70001 and (64, 40, 40) run on several threads and several blocks
# (CPU) / slabs (CUDA), with a partial last one.
SHAPES = [(1,), (7,), (70001,), (5, 3), (64, 40, 40), (2, 5, 6, 3)]
FACTORS = {"l1": {"l1": 0.01}, "l2": {"l2": 0.02}, "elastic": {"l1": 0.003, "l2": 0.05}, "none": {}}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("factors", FACTORS)
def test_activity_regularizer_matches_reference(shape, factors, dtype, backend, rng):
    kw = FACTORS[factors]
    y = rng.standard_normal(shape).astype(dtype)
    y.reshape(-1)[0] = 0  # sign(0) = 0
    dy = rng.standard_normal(shape).astype(dtype)
    by, bdy = to_backend(backend, y, dy.copy())
    penalty = ops.activity_regularizer_penalty(by, backend=backend, **kw)
    assert type(penalty) is float
    expected = R(ref.activity_regularizer_penalty, y, **kw)
    assert penalty == pytest.approx(expected, rel=1e-12, abs=0)  # float64 sums of the exact T values
    assert ops.activity_regularizer_backward(by, bdy, backend=backend, **kw) is bdy
    assert_close(bdy, R(ref.activity_regularizer_backward, y, dy, **kw), dtype)
    np.testing.assert_array_equal(to_numpy(by), y)  # y only read


def test_activity_regularizer_gradient_is_numerical_gradient(rng):
    y = rng.standard_normal((4, 3, 5))
    y[np.abs(y) < 1e-3] = 0.5  # central differences need |y| > eps for the L1 kink
    kw = {"l1": 0.03, "l2": 0.2}
    dy = ops.activity_regularizer_backward(y, np.zeros_like(y), **kw)
    num = np.zeros_like(y)
    for i in range(y.size):
        up, down = y.copy(), y.copy()
        up.flat[i] += 1e-6
        down.flat[i] -= 1e-6
        num.flat[i] = (ops.activity_regularizer_penalty(up, **kw) - ops.activity_regularizer_penalty(down, **kw)) / 2e-6
    np.testing.assert_allclose(dy, num, rtol=1e-6, atol=1e-9)


def test_activity_regularizer_nan_propagates(dtype, backend):
    y = np.array([[1.0, np.nan, -2.0], [0.0, 3.0, np.inf]], dtype)
    dy = np.ones_like(y)
    by, bdy = to_backend(backend, y, dy.copy())
    for kw in ({"l1": 0.1}, {"l2": 0.1}, {"l1": 0.1, "l2": 0.1}):
        bdy[...] = 1
        ops.activity_regularizer_backward(by, bdy, backend=backend, **kw)
        with np.errstate(invalid="ignore"):  # 0 * inf in the reference, on purpose
            expected = R(ref.activity_regularizer_backward, y, dy, **kw)
        np.testing.assert_array_equal(np.isnan(to_numpy(bdy)), np.isnan(expected))
        finite = np.isfinite(expected)
        assert_close(to_numpy(bdy)[finite], expected[finite], dtype)
        assert np.isnan(ops.activity_regularizer_penalty(by, backend=backend, **kw))


def test_activity_regularizer_penalty_is_bit_identical_across_runs_and_thread_counts(dtype, rng):
    y = rng.standard_normal((64, 50, 50)).astype(dtype)
    size = fastnn._C.activity_regularizer_workspace_size(y.size)
    run = lambda garbage: ops.activity_regularizer_penalty(y, l1=0.01, l2=0.02, workspace=np.full(size, garbage))
    first, second = run(np.nan), run(-1e300)
    with one_thread():
        single = run(np.nan)
    assert first == second == single


def test_activity_regularizer_penalty_is_bit_identical_across_runs(dtype, backend, rng):
    y = to_backend(backend, rng.standard_normal((300, 1001)).astype(dtype))
    size = backend.kernels.activity_regularizer_workspace_size(300 * 1001)
    results = [ops.activity_regularizer_penalty(y, l1=0.01, l2=0.02, workspace=backend.xp.full(size, garbage),
                                                backend=backend) for garbage in (np.nan, -1e300)]
    assert results[0] == results[1]


def test_activity_regularizer_non_contiguous_y_is_copied(rng):
    y = rng.standard_normal((6, 10))
    ys = y[:, ::2]
    dy = np.zeros((6, 5))
    ops.activity_regularizer_backward(ys, dy, l2=0.5)
    assert_close(dy, ref.activity_regularizer_backward(ys, np.zeros((6, 5)), l2=0.5))
    assert ops.activity_regularizer_penalty(ys, l1=0.5) == pytest.approx(ref.activity_regularizer_penalty(ys, l1=0.5))


def test_activity_regularizer_bad_input(backend):
    y, dy = to_backend(backend, np.ones((4, 3)), np.zeros((4, 3)))
    xp = backend.xp
    back = lambda *a, **k: ops.activity_regularizer_backward(*a, backend=backend, **k)
    penalty = lambda *a, **k: ops.activity_regularizer_penalty(*a, backend=backend, **k)
    with pytest.raises(ValueError, match=r"dy: expected shape \(4, 3\) like y, got \(4, 2\)"):
        back(y, xp.zeros((4, 2)), l1=0.1)
    with pytest.raises(TypeError, match="dy: expected dtype float64 like y, got float32"):
        back(y, dy.astype(np.float32), l1=0.1)
    with pytest.raises(ValueError, match="dy: must not overlap y"):
        back(y, y, l1=0.1)
    with pytest.raises(ValueError, match="dy: expected a C-contiguous array of the backend"):
        back(y, xp.zeros((4, 6))[:, ::2], l1=0.1)
    for fn, args in ((back, (dy,)), (penalty, ())):
        with pytest.raises(ValueError, match="y: expected an array with a batch axis, got a scalar"):
            fn(xp.ones(()), *([xp.zeros(())] if args else []), l1=0.1)
        with pytest.raises(ValueError, match="y: expected a non-empty array"):
            fn(xp.ones((0, 3)), *([xp.zeros((0, 3))] if args else []), l1=0.1)
        with pytest.raises(TypeError, match="y: expected float32 or float64, got int64"):
            fn(xp.ones((4, 3), np.int64), *args, l1=0.1)
        for name, value in (("l1", -0.1), ("l2", float("nan")), ("l1", float("inf"))):
            with pytest.raises(ValueError, match=f"{name}: expected a finite value >= 0"):
                fn(y, *args, **{name: value})
    with pytest.raises(TypeError, match="workspace: expected float64, got float32"):
        penalty(y, l1=0.1, workspace=xp.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"workspace: expected shape \(3,\), got \(2,\)"):
        penalty(y, l1=0.1, workspace=xp.zeros(2))
    np.testing.assert_array_equal(to_numpy(dy), np.zeros((4, 3)))  # no failed call wrote
