import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, to_backend, to_numpy


@pytest.mark.parametrize("kind", ref.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1,), (3, 5), (7, 9, 11), (300, 301)])
def test_activation_forward_backward(kind, shape, dtype, backend, rng):
    # Values straddle 0 and include large magnitudes where naive formulas overflow.
    z = (rng.standard_normal(shape) * 4).astype(dtype)
    z.reshape(-1)[:2] = [80.0, -80.0][: z.size]
    da = rng.standard_normal(shape).astype(dtype)
    bz, bda = to_backend(backend, z, da)
    a = ops.activation_forward(kind, bz, alpha=0.2, backend=backend)
    assert_close(a, R(ref.activation_forward, kind, z, alpha=0.2), dtype)
    dz = ops.activation_backward(kind, bz, a, bda, alpha=0.2, backend=backend)
    assert_close(dz, R(ref.activation_backward, kind, z, R(ref.activation_forward, kind, z, 0.2), da, alpha=0.2), dtype)


@pytest.mark.parametrize("kind", ref.ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(kind, rng):
    z = rng.standard_normal(50) * 3
    z = z[np.abs(z) > 1e-3]  # keep away from relu's kink
    eps = 1e-6
    numeric = (ops.activation_forward(kind, z + eps, alpha=0.1) - ops.activation_forward(kind, z - eps, alpha=0.1)) / (2 * eps)
    a = ops.activation_forward(kind, z, alpha=0.1)
    analytic = ops.activation_backward(kind, z, a, np.ones_like(z), alpha=0.1)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_activation_in_place_backward(rng):
    z = rng.standard_normal(100)
    a = ops.activation_forward("tanh", z)
    da = rng.standard_normal(100)
    expected = da * (1 - a**2)
    out = ops.activation_backward("tanh", z, a, da, out=da)
    assert out is da
    assert_close(da, expected)


def test_relu_propagates_nan(backend):
    """max(z, 0) of NaN is NaN, as in numpy, in the activation and in dense's fused epilogue."""
    z = to_backend(backend, np.array([np.nan, -1.0, 2.0]))
    np.testing.assert_array_equal(to_numpy(ops.activation_forward("relu", z, backend=backend)), [np.nan, 0, 2])
    x, W = to_backend(backend, np.array([[np.nan, 1.0]]), np.ones((2, 2)))
    assert np.isnan(to_numpy(ops.dense_forward(x, W, activation="relu", backend=backend))).all()


def test_activation_bad_input():
    z = np.ones(4)
    with pytest.raises(ValueError, match="kind: unknown activation 'gelu'"):
        ops.activation_forward("gelu", z)
    with pytest.raises(TypeError, match="out: expected dtype float64 like z, got float32"):
        ops.activation_forward("relu", z, out=np.empty(4, np.float32))
    with pytest.raises(ValueError, match=r"out: expected shape \(4,\) like z, got \(5,\)"):
        ops.activation_forward("relu", z, out=np.empty(5))
    with pytest.raises(ValueError, match=r"da: expected shape \(4,\) like z"):
        ops.activation_backward("relu", z, z, np.ones(3))


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "softplus", "swish"])
def test_exponential_activations_are_accurate_element_by_element(kind, dtype, backend):
    """The CPU's vectorized exp/expm1/log1p hold a few ulp over the whole range, tiny inputs included."""
    z = np.concatenate([np.linspace(-120, 120, 4001), np.geomspace(1e-12, 1, 200), -np.geomspace(1e-12, 1, 200)])
    z = z.astype(dtype)
    got = to_numpy(ops.activation_forward(kind, to_backend(backend, z), backend=backend)).astype(np.float64)
    want = R(ref.activation_forward, kind, z)
    normal = np.abs(want) > np.finfo(dtype).tiny * 1e3  # below that the result may flush to zero
    rel = np.abs(got - want)[normal] / np.abs(want)[normal]
    assert rel.max() < (2e-6 if dtype == np.float32 else 5e-15), rel.max()
    assert np.all(np.abs(got - want)[~normal] <= np.finfo(dtype).tiny * 1e3)
