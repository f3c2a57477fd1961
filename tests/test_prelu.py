import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend, to_numpy


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 7, 9, 4), (300, 37)])
def test_prelu_forward_backward(shape, dtype, backend, rng):
    x, dy = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    alpha = rng.uniform(0, 0.5, shape[-1]).astype(dtype)
    bx, ba, bdy = to_backend(backend, x, alpha, dy)
    assert_close(ops.prelu_forward(bx, ba, backend=backend), R(ref.prelu_forward, x, alpha), dtype)
    dx, dalpha = ops.prelu_backward(bx, ba, bdy, backend=backend)
    rdx, rdalpha = R(ref.prelu_backward, x, alpha, dy)
    assert_close(dx, rdx, dtype)
    assert_close(dalpha, rdalpha, dtype)


def test_prelu_gradients_match_central_differences(rng):
    x = rng.standard_normal((6, 3))
    x[np.abs(x) < 1e-3] = 0.5
    alpha, dy = rng.uniform(0, 0.5, 3), rng.standard_normal((6, 3))
    loss = lambda: float((ops.prelu_forward(x, alpha) * dy).sum())
    dx, dalpha = ops.prelu_backward(x, alpha, dy)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dalpha, numerical_grad(loss, alpha), rtol=1e-7, atol=1e-9)


def test_prelu_slope_gradient_is_bit_identical_across_runs(backend, rng):
    x, dy = rng.standard_normal((4000, 17)).astype(np.float32), rng.standard_normal((4000, 17)).astype(np.float32)
    a = np.full(17, 0.1, np.float32)
    runs = [np.asarray(ops.prelu_backward(*to_backend(backend, x, a, dy), backend=backend)[1]) for _ in range(2)]
    assert runs[0].tobytes() == runs[1].tobytes()


def test_prelu_slope_gradient_counts_nan_inputs(backend):
    """x = NaN is not > 0, so it feeds the slope's gradient on every backend (the GPU's skipped it)."""
    x, a, dy = to_backend(backend, np.array([[np.nan], [-2.0]]), np.array([0.1]), np.ones((2, 1)))
    assert np.isnan(to_numpy(ops.prelu_backward(x, a, dy, backend=backend)[1])).all()


def test_prelu_bad_input():
    with pytest.raises(ValueError, match=r"alpha: expected shape \(3,\)"):
        ops.prelu_forward(np.ones((2, 3)), np.ones(2))
    with pytest.raises(TypeError, match="alpha: expected dtype float64 like x"):
        ops.prelu_forward(np.ones((2, 3)), np.ones(3, np.float32))
