import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, numerical_grad, one_thread, to_backend


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 4, 7), (4, 33, 31, 16), (2, 3, 3, 1001)])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
def test_spatial_dropout_matches_reference(shape, p, dtype, backend, rng):
    x = rng.standard_normal(shape).astype(dtype)
    bx = to_backend(backend, x)
    y = ops.spatial_dropout_forward(bx, p, seed=11, step=5, backend=backend)
    assert_close(y, ref.spatial_dropout_forward(x, p, 11, 5), dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    assert_close(ops.spatial_dropout_backward(to_backend(backend, dy), p, seed=11, step=5, backend=backend),
                 ref.spatial_dropout_backward(dy, p, 11, 5), dtype)


def test_spatial_dropout_drops_whole_channels_and_keeps_the_rate(rng):
    x = np.ones((64, 6, 5, 32))
    y = ops.spatial_dropout_forward(x, 0.25, seed=3, step=1)
    per_channel = y.reshape(64, 30, 32)
    assert (per_channel == per_channel[:, :1, :]).all()  # one value per (sample, channel)
    assert abs((per_channel[:, 0, :] == 0).mean() - 0.25) < 0.03
    assert not np.array_equal(y, ops.spatial_dropout_forward(x, 0.25, seed=3, step=2))  # a new mask per step
    with one_thread():
        np.testing.assert_array_equal(ops.spatial_dropout_forward(x, 0.25, seed=3, step=1), y)


def test_spatial_dropout_gradient_is_numerical_gradient(rng):
    x = rng.standard_normal((2, 3, 2, 4))
    w = rng.standard_normal(x.shape)
    f = lambda: (ops.spatial_dropout_forward(x, 0.5, seed=1, step=2) * w).sum()
    np.testing.assert_allclose(ops.spatial_dropout_backward(w, 0.5, seed=1, step=2), numerical_grad(f, x),
                               rtol=1e-7, atol=1e-9)


def test_spatial_dropout_in_place_and_bad_input(rng):
    x = rng.standard_normal((2, 3, 3, 4))
    expected = ref.spatial_dropout_forward(x, 0.5, 7, 1)
    ops.spatial_dropout_forward(x, 0.5, seed=7, step=1, out=x)
    np.testing.assert_allclose(x, expected, rtol=1e-15)
    with pytest.raises(ValueError, match="x: expected a 4-D array"):
        ops.spatial_dropout_forward(np.ones((2, 3)), 0.5, seed=0, step=0)
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1"):
        ops.spatial_dropout_forward(np.ones((1, 2, 2, 1)), 1.0, seed=0, step=0)
