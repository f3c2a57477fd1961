import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, numerical_grad, to_backend

PADDINGS = [((0, 0), (0, 0)), ((1, 1), (1, 1)), ((2, 0), (1, 3)), ((0, 5), (4, 0))]


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 4, 7), (2, 17, 9, 33)])
@pytest.mark.parametrize("padding", PADDINGS)
def test_zero_padding2d_matches_reference(shape, padding, dtype, backend, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = ops.zero_padding2d_forward(to_backend(backend, x), padding, backend=backend)
    assert_close(y, ref.zero_padding2d_forward(x, padding), dtype)
    dy = rng.standard_normal(ref.zero_padding2d_forward(x, padding).shape).astype(dtype)
    assert_close(ops.zero_padding2d_backward(to_backend(backend, dy), padding, backend=backend),
                 ref.zero_padding2d_backward(dy, padding), dtype)


def test_zero_padding2d_gradient_is_numerical_gradient(rng):
    x = rng.standard_normal((2, 3, 2, 2))
    w = rng.standard_normal((2, 6, 3, 2))
    padding = ((1, 2), (0, 1))
    f = lambda: (ops.zero_padding2d_forward(x, padding) * w).sum()
    np.testing.assert_allclose(ops.zero_padding2d_backward(w, padding), numerical_grad(f, x), rtol=1e-7, atol=1e-9)


def test_zero_padding2d_bad_input():
    with pytest.raises(ValueError, match="x: expected a 4-D array"):
        ops.zero_padding2d_forward(np.ones((2, 3, 3)), ((1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"padding: expected sizes in \[0, 2\*\*24\)"):
        ops.zero_padding2d_forward(np.ones((1, 2, 2, 1)), ((-1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"out: expected shape \(1, 4, 4, 1\)"):
        ops.zero_padding2d_forward(np.ones((1, 2, 2, 1)), ((1, 1), (1, 1)), out=np.ones((1, 3, 4, 1)))
