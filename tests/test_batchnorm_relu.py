"""Batch normalization with a fused ReLU (relu=True): y = max(BN(x), 0), and its backward with
the mask recomputed from x."""
import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, one_thread, to_backend, to_numpy
from test_batchnorm import make_inputs

# C in {1, 3, 8, 32, 65, 130}, (N, C) and (N, H, W, C): on the CPU C <= 64 runs as spans of
# whole rows, C > 64 as tiles of 64 channels (130: two full tiles and a partial one); on CUDA
# C < 32 packs several rows per warp, C = 65 and 130 leave a partial strip. (20000, 1),
# (8, 20, 20, 8) and (600, 130) run on several threads over several row blocks.
SHAPES = [(50, 1), (20000, 1), (3, 4, 4, 1), (7, 3), (4, 5, 5, 3), (33, 8), (2, 6, 6, 8), (8, 20, 20, 8),
          (64, 32), (2, 7, 7, 32), (40, 65), (3, 4, 4, 65), (600, 130), (2, 3, 5, 130)]


def forward(backend, arrays, training, relu, **kw):
    """ops.batchnorm_forward on copies of the running statistics; returns numpy arrays (y, mean, inv_std,
    running_mean, running_var)."""
    x, gamma, beta, rmean, rvar = arrays
    # Copies: the running statistics are updated in place (and asarray does not copy on the CPU).
    bx, bgamma, bbeta, brmean, brvar = to_backend(backend, x, gamma, beta, rmean.copy(), rvar.copy())
    y, mean, inv_std = ops.batchnorm_forward(bx, bgamma, bbeta, brmean, brvar, training=training, relu=relu,
                                             momentum=0.9, backend=backend, **kw)
    return tuple(None if a is None else to_numpy(a) for a in (y, mean, inv_std, brmean, brvar))


def backward(backend, x, gamma, beta, dy, mean, inv_std, relu):
    bx, bgamma, bbeta, bdy, bmean, binv = to_backend(backend, x, gamma, beta, dy, mean, inv_std)
    return [to_numpy(a) for a in ops.batchnorm_backward(bx, bgamma, bdy, bmean, binv, beta=bbeta, relu=relu,
                                                        backend=backend)]


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_relu_training(shape, dtype, backend, rng):
    x, gamma, beta, rmean, rvar = make_inputs(shape, dtype, rng)
    dy = rng.standard_normal(shape).astype(dtype)
    y, mean, inv_std, new_rmean, new_rvar = forward(backend, (x, gamma, beta, rmean, rvar), True, True)
    ry, rm, rinv, ref_rmean, ref_rvar = R(ref.batchnorm_forward, x, gamma, beta, rmean, rvar, True, momentum=0.9,
                                          relu=True)
    assert_close(y, ry, dtype)
    assert (y > 0).any() and (y == 0).any()  # both sides of the kink
    assert_close(new_rmean, ref_rmean, dtype)
    assert_close(new_rvar, ref_rvar, dtype)
    # The ReLU changes nothing else: the statistics and running statistics are bit for bit
    # those without it, and y is the unfused y clamped.
    plain = forward(backend, (x, gamma, beta, rmean, rvar), True, False)
    assert y.tobytes() == np.maximum(plain[0], 0).tobytes()
    for fused, unfused in zip((mean, inv_std, new_rmean, new_rvar), plain[1:]):
        assert fused.tobytes() == unfused.tobytes()

    dx, dgamma, dbeta = backward(backend, x, gamma, beta, dy, mean, inv_std, True)
    rdx, rdgamma, rdbeta = R(ref.batchnorm_backward, x, gamma, dy, rm, rinv, beta=beta, relu=True)
    # The reference's float64 z may fall on the other side of 0 than the kernel's (float32) z
    # for a value at the kink; the forward's own y > 0 is the kernel's mask.
    if ((ry > 0) != (y > 0)).any():
        rdx, rdgamma, rdbeta = R(ref.batchnorm_backward, x, gamma, dy * (y > 0), rm, rinv)
    assert_close(dx, rdx, dtype)
    assert_close(dgamma, rdgamma, dtype)
    assert_close(dbeta, rdbeta, dtype)


@pytest.mark.parametrize("shape", [(7, 3), (2, 6, 6, 8), (40, 65), (2, 3, 5, 130)])
def test_batchnorm_relu_inference(shape, dtype, backend, rng):
    arrays = make_inputs(shape, dtype, rng)
    y, mean, inv_std, rmean, rvar = forward(backend, arrays, False, True)
    assert mean is None and inv_std is None
    assert_close(y, R(ref.batchnorm_forward, *arrays, False, relu=True)[0], dtype)
    assert (y > 0).any() and (y == 0).any()
    assert y.tobytes() == np.maximum(forward(backend, arrays, False, False)[0], 0).tobytes()
    assert rmean.tobytes() == arrays[3].tobytes() and rvar.tobytes() == arrays[4].tobytes()  # untouched


def kink_inputs(shape, dtype, backend, rng):
    """Inputs whose normalized values z sit at 0, within a few ulps either side, in a third of
    the rows: x takes values v_c (1 + k eps) (k = -8..8, 1 <= |v_c| <= 2) there, and beta_c puts
    v_c at z = 0 with the kernel's own statistics (which do not depend on beta). The steps of
    k are wider than the rounding of beta, so both sides of the kink are taken."""
    x, gamma, beta, rmean, rvar = make_inputs(shape, dtype, rng)
    rows, C = x.reshape(-1, shape[-1]), shape[-1]
    v = (rng.choice([-1.0, 1.0], C) * rng.uniform(1.0, 2.0, C)).astype(dtype)
    at_kink = rng.random(rows.shape[0]) < 1 / 3
    k = rng.integers(-8, 9, (int(at_kink.sum()), C))
    rows[at_kink] = (v * (1 + k * np.finfo(dtype).eps)).astype(dtype)
    _, mean, inv_std, _, _ = forward(backend, (x, gamma, beta, rmean, rvar), True, False)
    beta = (-gamma * (v - mean) * inv_std).astype(dtype)
    return x, gamma, beta, rmean, rvar, at_kink


# The backward's z > 0 must be the forward's y > 0 bit for bit: masked with the forward's own
# output, the unfused backward must give exactly the fused one. (A mask computed any other way,
# z in float64 for one, differs from the forward's in tens to hundreds of elements here.)
@pytest.mark.parametrize("shape", [(600, 1), (300, 3), (20, 6, 6, 8), (200, 65), (4, 5, 5, 130)])
def test_batchnorm_relu_mask_is_the_forwards(shape, dtype, backend, rng):
    x, gamma, beta, rmean, rvar, at_kink = kink_inputs(shape, dtype, backend, rng)
    dy = rng.standard_normal(shape).astype(dtype)
    y, mean, inv_std, _, _ = forward(backend, (x, gamma, beta, rmean, rvar), True, True)
    kink_y = y.reshape(-1, shape[-1])[at_kink]
    assert (kink_y == 0).mean() > 0.2 and (kink_y > 0).mean() > 0.2  # the test straddles the kink
    fused = backward(backend, x, gamma, beta, dy, mean, inv_std, True)
    masked = backward(backend, x, gamma, beta, np.where(y > 0, dy, 0).astype(dtype), mean, inv_std, False)
    for a, b in zip(fused, masked):
        assert a.tobytes() == b.tobytes()
    expected = R(ref.batchnorm_backward, x, gamma, dy * (y > 0), mean, inv_std)
    for actual, want in zip(fused, expected):
        assert_close(actual, want, dtype)


def test_batchnorm_relu_gradients_are_numerical_gradients(rng):
    """relu(BN(x)) composed through ops, in float64, against central differences on x, gamma, beta."""
    x, gamma, beta, rmean, rvar = make_inputs((3, 3, 3, 4), np.float64, rng)
    w = rng.standard_normal(x.shape)
    _, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True)
    z = gamma * (x - mean) * inv_std + beta
    assert np.abs(z).min() > 1e-3 and 0.2 < (z > 0).mean() < 0.8  # away from the kink, both sides of it

    def loss():
        y, _, _ = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, relu=True)
        return (w * y).sum()

    y, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, relu=True)
    dx, dgamma, dbeta = ops.batchnorm_backward(x, gamma, w, mean, inv_std, beta=beta, relu=True)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numerical_grad(loss, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, numerical_grad(loss, beta), rtol=1e-6, atol=1e-8)


def test_batchnorm_relu_dx_may_be_dy(dtype, backend, rng):
    x, gamma, beta, rmean, rvar = make_inputs((4, 6, 6, 8), dtype, rng)
    dy = rng.standard_normal(x.shape).astype(dtype)
    _, mean, inv_std, _, _ = forward(backend, (x, gamma, beta, rmean, rvar), True, True)
    expected = backward(backend, x, gamma, beta, dy, mean, inv_std, True)
    bx, bgamma, bbeta, bdy, bmean, binv = to_backend(backend, x, gamma, beta, dy, mean, inv_std)
    dx, dgamma, dbeta = ops.batchnorm_backward(bx, bgamma, bdy, bmean, binv, beta=bbeta, relu=True, dx=bdy,
                                               backend=backend)
    assert dx is bdy
    for a, b in zip((dx, dgamma, dbeta), expected):
        assert to_numpy(a).tobytes() == b.tobytes()


def test_batchnorm_relu_is_bit_identical_across_thread_counts(dtype, rng):
    x, gamma, beta, rmean, rvar = make_inputs((16, 20, 20, 24), dtype, rng)
    dy = rng.standard_normal(x.shape).astype(dtype)

    def run():
        y, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean.copy(), rvar.copy(), training=True, relu=True)
        return (y, mean, inv_std, *ops.batchnorm_backward(x, gamma, dy, mean, inv_std, beta=beta, relu=True))

    first = run()
    with one_thread():
        single = run()
    for a, b in zip(first, single):
        assert a.tobytes() == b.tobytes()


def test_batchnorm_relu_needs_beta(backend, rng):
    x, gamma, beta, rmean, rvar = to_backend(backend, *make_inputs((6, 4), np.float64, rng))
    _, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, relu=True, backend=backend)
    with pytest.raises(ValueError, match=r"^beta: required with relu=True"):
        ops.batchnorm_backward(x, gamma, x, mean, inv_std, relu=True, backend=backend)
    dx, dgamma, dbeta = (backend.xp.empty_like(a) for a in (x, gamma, gamma))
    workspace = backend.xp.empty(backend.kernels.batchnorm_workspace_size(6, 4))
    with pytest.raises(ValueError, match=r"^beta: required with relu=True"):  # the kernel checks it too
        backend.kernels.batchnorm_backward(x, gamma, x, mean, inv_std, dx, dgamma, dbeta, workspace, None, True)
    with pytest.raises(ValueError, match=r"^beta: expected shape \(4,\), got \(3,\)"):
        ops.batchnorm_backward(x, gamma, x, mean, inv_std, beta=beta[:3], relu=True, backend=backend)
    with pytest.raises(TypeError, match="^beta: expected dtype float64 like x, got float32"):
        ops.batchnorm_backward(x, gamma, x, mean, inv_std, beta=beta.astype(np.float32), relu=True,
                               backend=backend)
    with pytest.raises(TypeError, match="^relu: "):
        ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, relu="yes", backend=backend)
