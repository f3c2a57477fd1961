import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, numerical_grad, to_backend


@pytest.mark.parametrize("shape", [(1,), (3, 5), (4, 28, 28, 3), (70000,)])
@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (1 / 127.5, -1.0), (-2.5, 3.0)])
def test_rescaling_matches_reference(shape, scale, offset, dtype, backend, rng):
    x = (rng.random(shape) * 255).astype(dtype)
    assert_close(ops.rescaling_forward(to_backend(backend, x), scale, offset, backend=backend),
                 ref.rescaling_forward(x.astype(np.float64), scale, offset), dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    assert_close(ops.rescaling_backward(to_backend(backend, dy), scale, backend=backend),
                 ref.rescaling_backward(dy.astype(np.float64), scale), dtype)


def test_rescaling_gradient_is_numerical_gradient_and_in_place(rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    f = lambda: (ops.rescaling_forward(x, 0.3, 2.0) * w).sum()
    np.testing.assert_allclose(ops.rescaling_backward(w, 0.3), numerical_grad(f, x), rtol=1e-7)
    y = x.copy()
    ops.rescaling_forward(y, 0.3, 2.0, out=y)
    np.testing.assert_allclose(y, x * 0.3 + 2.0, rtol=1e-15)


def test_rescaling_bad_input():
    with pytest.raises(ValueError, match="scale: expected a finite number, got nan"):
        ops.rescaling_forward(np.ones(3), float("nan"))
    with pytest.raises(TypeError, match="out: expected dtype float64 like x"):
        ops.rescaling_forward(np.ones(3), 2.0, out=np.ones(3, np.float32))
