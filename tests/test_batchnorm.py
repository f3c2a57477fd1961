import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from fastnn.ops.batchnorm import batchnorm_stats
from conftest import R, assert_close, numerical_grad, one_thread, to_backend, to_numpy

# (N, C) and (N, H, W, C). C <= 64 runs as spans of whole rows (C = 3: 16 rows
# per span), C = 300 and 700 as tiles of 64 channels with a partial last one;
# the larger shapes run on several threads over several row blocks, with a
# leftover span.
SHAPES = [(7, 3), (64, 300), (3, 700), (1, 9, 9, 8), (4, 7, 7, 16), (16, 30, 30, 3), (8, 12, 12, 64), (2, 5, 6, 300)]


def make_inputs(shape, dtype, rng, loc=0.5, scale=2.0):
    C = shape[-1]
    x = (rng.standard_normal(shape) * scale + loc).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, C).astype(dtype)
    beta = rng.standard_normal(C).astype(dtype)
    running_mean = rng.standard_normal(C).astype(dtype)
    running_var = rng.uniform(0.5, 2.0, C).astype(dtype)
    return x, gamma, beta, running_mean, running_var


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_training_forward_backward(shape, dtype, backend, rng):
    x, gamma, beta, rmean, rvar = make_inputs(shape, dtype, rng)
    dy = rng.standard_normal(shape).astype(dtype)
    # Copies: the running statistics are updated in place (and asarray does not copy on the CPU).
    bx, bgamma, bbeta, brmean, brvar, bdy = to_backend(backend, x, gamma, beta, rmean.copy(), rvar.copy(), dy)
    y, mean, inv_std = ops.batchnorm_forward(bx, bgamma, bbeta, brmean, brvar, training=True, momentum=0.9, eps=1e-3,
                                             backend=backend)
    ry, rm, rinv, new_rmean, new_rvar = R(ref.batchnorm_forward, x, gamma, beta, rmean, rvar, True, momentum=0.9,
                                          eps=1e-3)
    assert_close(y, ry, dtype)
    assert_close(mean, rm, np.float64, rtol=1e-12 if dtype == np.float64 else 1e-10)
    assert_close(inv_std, rinv, np.float64, rtol=1e-12 if dtype == np.float64 else 1e-10)
    # Running statistics were updated in place, Keras's way (biased variance).
    assert_close(brmean, new_rmean, dtype)
    assert_close(brvar, new_rvar, dtype)

    dx, dgamma, dbeta = ops.batchnorm_backward(bx, bgamma, bdy, mean, inv_std, backend=backend)
    rdx, rdgamma, rdbeta = R(ref.batchnorm_backward, x, gamma, dy, rm, rinv)
    assert_close(dx, rdx, dtype)
    assert_close(dgamma, rdgamma, dtype)
    assert_close(dbeta, rdbeta, dtype)


@pytest.mark.parametrize("shape", [(5, 3), (64, 300), (2, 6, 6, 16)])
def test_batchnorm_inference_uses_running_stats(shape, dtype, backend, rng):
    x, gamma, beta, rmean, rvar = make_inputs(shape, dtype, rng)
    bx, bgamma, bbeta, brmean, brvar = to_backend(backend, x, gamma, beta, rmean, rvar)
    y, mean, inv_std = ops.batchnorm_forward(bx, bgamma, bbeta, brmean, brvar, training=False, backend=backend)
    assert mean is None and inv_std is None
    assert_close(y, R(ref.batchnorm_forward, x, gamma, beta, rmean, rvar, False)[0], dtype)
    np.testing.assert_array_equal(to_numpy(brmean), rmean)  # untouched
    np.testing.assert_array_equal(to_numpy(brvar), rvar)


def test_batchnorm_momentum_edges(rng):
    x, gamma, beta, rmean, rvar = make_inputs((6, 4), np.float64, rng)
    _, rm, _, _, _ = ref.batchnorm_forward(x, gamma, beta, rmean, rvar, True)
    keep_mean, keep_var = rmean.copy(), rvar.copy()
    ops.batchnorm_forward(x, gamma, beta, keep_mean, keep_var, training=True, momentum=1.0)
    np.testing.assert_array_equal(keep_mean, rmean)
    np.testing.assert_array_equal(keep_var, rvar)
    ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, momentum=0.0)
    assert_close(rmean, rm)
    assert_close(rvar, x.var(axis=0))  # biased


def test_batchnorm_gradients_are_numerical_gradients(rng):
    x, gamma, beta, rmean, rvar = make_inputs((2, 3, 3, 4), np.float64, rng)
    w = rng.standard_normal(x.shape)

    def loss():
        y, _, _ = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, eps=1e-3)
        return (w * y).sum()

    _, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, eps=1e-3)
    dx, dgamma, dbeta = ops.batchnorm_backward(x, gamma, w, mean, inv_std)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numerical_grad(loss, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, numerical_grad(loss, beta), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dt,loc", [(np.float32, 1e4), (np.float64, 1e8)])
def test_batchnorm_large_mean(dt, loc, backend, rng):
    # loc +- 1: sum(x^2)/M - mean^2 would cancel every digit of the variance (in
    # float64 accumulation for loc = 1e8), and a float32 mean of 1e4 is only
    # good to 5e-4, so normalizing needs it in two parts. At 1e8 in float64,
    # half an ulp of the mean (7e-9) bounds any agreement to about 1e-8.
    rtol = 1e-5 if dt == np.float32 else 1e-7
    shape = (32, 8, 8, 16)
    x = (loc + rng.standard_normal(shape)).astype(dt)
    gamma, beta = np.ones(16, dt), np.zeros(16, dt)
    rmean, rvar = np.zeros(16, dt), np.ones(16, dt)
    dy = rng.standard_normal(shape).astype(dt)
    bx, bgamma, bbeta, brmean, brvar, bdy = to_backend(backend, x, gamma, beta, rmean.copy(), rvar.copy(), dy)
    y, mean, inv_std = ops.batchnorm_forward(bx, bgamma, bbeta, brmean, brvar, training=True, backend=backend)
    ry, rm, rinv, _, _ = R(ref.batchnorm_forward, x, gamma, beta, rmean, rvar, True)
    assert_close(inv_std, rinv, np.float64, rtol=1e-7)
    assert_close(y, ry, dt, rtol=rtol)
    yn = to_numpy(y).reshape(-1, 16).astype(np.float64)
    np.testing.assert_allclose(yn.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(yn.var(axis=0), 1 / (1 + 1e-3 * rinv**2), rtol=1e-5)
    dx, dgamma, dbeta = ops.batchnorm_backward(bx, bgamma, bdy, mean, inv_std, backend=backend)
    rdx, rdgamma, rdbeta = R(ref.batchnorm_backward, x, gamma, dy, rm, rinv)
    assert_close(dx, rdx, dt, rtol=rtol)
    assert_close(dgamma, rdgamma, dt, rtol=rtol)


def test_batchnorm_is_bit_identical_across_runs_and_thread_counts(dtype, rng):
    x, gamma, beta, rmean, rvar = make_inputs((16, 20, 20, 24), dtype, rng)
    dy = rng.standard_normal(x.shape).astype(dtype)

    def run():
        rm, rv = rmean.copy(), rvar.copy()
        y, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rm, rv, training=True)
        return (y, mean, inv_std, rm, rv, *ops.batchnorm_backward(x, gamma, dy, mean, inv_std))

    first, second = run(), run()
    with one_thread():
        single = run()
    for a, b, c in zip(first, second, single):
        assert a.tobytes() == b.tobytes() == c.tobytes()


# Every backend sums per-channel partials in a fixed order (the CUDA kernels: fixed
# slabs of rows, a fixed tree in each block, slabs added in order; no atomics), so
# two runs give identical bits. The runs' workspaces start with different garbage:
# a partial read before it is written would show. On CUDA, C = 1, 5, 24 pack
# several rows per warp (lanes idle for C = 24), C = 33 leaves a one-channel strip,
# and (5000, 1), (16, 30, 30, 3), (8, 12, 12, 64) sum several slabs (a partial last
# span for (5000, 1)).
@pytest.mark.parametrize("shape", [(5000, 1), (16, 30, 30, 3), (3, 9, 9, 5), (9, 7, 7, 24), (50, 33), (8, 12, 12, 64)])
def test_batchnorm_is_bit_identical_across_runs(shape, dtype, backend, rng):
    x, gamma, beta, rmean, rvar = make_inputs(shape, dtype, rng)
    dy = rng.standard_normal(shape).astype(dtype)
    bx, bgamma, bbeta, bdy = to_backend(backend, x, gamma, beta, dy)
    M, C = x.size // shape[-1], shape[-1]
    size = backend.kernels.batchnorm_workspace_size(M, C)

    def run(garbage):
        brmean, brvar = to_backend(backend, rmean.copy(), rvar.copy())
        workspace = backend.xp.full(size, garbage)
        y, mean, inv_std = ops.batchnorm_forward(bx, bgamma, bbeta, brmean, brvar, training=True, momentum=0.9,
                                                 workspace=workspace, backend=backend)
        workspace.fill(garbage)
        grads = ops.batchnorm_backward(bx, bgamma, bdy, mean, inv_std, workspace=workspace, backend=backend)
        return [to_numpy(a) for a in (y, mean, inv_std, brmean, brvar, *grads)]

    first, second = run(np.nan), run(-1e300)
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()
    # ... and right.
    ry, rm, rinv, new_rmean, new_rvar = R(ref.batchnorm_forward, x, gamma, beta, rmean, rvar, True, momentum=0.9)
    for actual, expected in zip(first, (ry, rm, rinv, new_rmean, new_rvar, *R(ref.batchnorm_backward, x, gamma, dy, rm,
                                                                                rinv))):
        assert_close(actual, expected, rtol=1e-5 if dtype == np.float32 else 1e-10)


def test_batchnorm_in_place_and_reused_buffers(rng):
    x, gamma, beta, rmean, rvar = make_inputs((4, 5, 5, 8), np.float64, rng)
    dy = rng.standard_normal(x.shape)
    ry, rm, rinv, _, _ = ref.batchnorm_forward(x, gamma, beta, rmean, rvar, True)
    rdx = ref.batchnorm_backward(x, gamma, dy, rm, rinv)[0]
    workspace = np.empty(fastnn._C.batchnorm_workspace_size(100, 8))
    mean, inv_std = np.empty(8), np.empty(8)
    xin = x.copy()
    y, m, s = ops.batchnorm_forward(xin, gamma, beta, rmean, rvar, training=True, out=xin, save_mean=mean,
                                    save_inv_std=inv_std, workspace=workspace)
    assert y is xin and m is mean and s is inv_std
    assert_close(y, ry)
    dx, _, _ = ops.batchnorm_backward(x, gamma, dy, mean, inv_std, dx=dy, workspace=workspace)
    assert dx is dy
    assert_close(dx, rdx)


def test_batchnorm_single_row_normalizes_to_beta(rng):
    x, gamma, beta, rmean, rvar = make_inputs((1, 5), np.float64, rng)
    y, mean, inv_std = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True)
    assert_close(y, beta[None, :])
    np.testing.assert_array_equal(mean, x[0])
    assert_close(inv_std, np.full(5, 1 / np.sqrt(1e-3)))


def test_batchnorm_non_contiguous_inputs_are_copied(rng):
    x, gamma, beta, rmean, rvar = make_inputs((6, 10), np.float64, rng)
    xs = x[:, ::2]
    g, b, rm, rv = gamma[:5], beta[:5], rmean[:5].copy(), rvar[:5].copy()
    y, _, _ = ops.batchnorm_forward(xs, g, b, rm, rv, training=True)
    assert_close(y, ref.batchnorm_forward(xs, g, b, rmean[:5], rvar[:5], True)[0])


def test_batchnorm_bad_input():
    x = np.ones((4, 3))
    g, b, rm, rv = (np.ones(3) for _ in range(4))
    with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\), got \(4,\)"):
        ops.batchnorm_forward(x, np.ones(4), b, rm, rv, training=True)
    with pytest.raises(ValueError, match=r"running_var: expected shape \(3,\), got \(2,\)"):
        ops.batchnorm_forward(x, g, b, rm, np.ones(2), training=False)
    with pytest.raises(ValueError, match=r"x: expected a 2-D \(N, C\) or 4-D \(N, H, W, C\) array, got 3-D"):
        ops.batchnorm_forward(np.ones((2, 4, 3)), g, b, rm, rv, training=True)
    with pytest.raises(ValueError, match=r"x: expected a 2-D \(N, C\) or 4-D \(N, H, W, C\) array, got 1-D"):
        ops.batchnorm_forward(np.ones(3), g, b, rm, rv, training=True)
    with pytest.raises(ValueError, match="x: expected a non-empty array"):
        ops.batchnorm_forward(np.ones((0, 3)), g, b, rm, rv, training=True)
    with pytest.raises(ValueError, match="eps: expected eps > 0, got 0"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=True, eps=0.0)
    with pytest.raises(ValueError, match="eps: expected eps > 0, got -1e-05"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=False, eps=-1e-5)
    with pytest.raises(ValueError, match="momentum: expected 0 <= momentum <= 1, got 1.5"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=True, momentum=1.5)
    with pytest.raises(ValueError, match="momentum: expected 0 <= momentum <= 1, got -0.1"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=True, momentum=-0.1)
    with pytest.raises(TypeError, match="running_mean: expected dtype float64 like x, got float32"):
        ops.batchnorm_forward(x, g, b, np.ones(3, np.float32), rv, training=True)
    with pytest.raises(TypeError, match="save_mean: expected float64, got float32"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=True, save_mean=np.empty(3, np.float32))
    with pytest.raises(ValueError, match=r"workspace: expected shape \(6,\), got \(5,\)"):
        ops.batchnorm_forward(x, g, b, rm, rv, training=True, workspace=np.empty(5))
    with pytest.raises(ValueError, match="running_mean: expected a C-contiguous array"):
        ops.batchnorm_forward(x, g, b, np.ones(6)[::2], rv, training=True)
    frozen = np.ones(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="running_var: output array is read-only"):
        ops.batchnorm_forward(x, g, b, rm, frozen, training=True)
    ops.batchnorm_forward(x, g, b, rm, frozen, training=False)  # inference only reads them

    _, mean, inv_std = ops.batchnorm_forward(x, g, b, rm, rv, training=True)
    with pytest.raises(ValueError, match=r"dy: expected shape \(4, 3\) like x, got \(4, 2\)"):
        ops.batchnorm_backward(x, g, np.ones((4, 2)), mean, inv_std)
    with pytest.raises(ValueError, match=r"save_inv_std: expected shape \(3,\), got \(2,\)"):
        ops.batchnorm_backward(x, g, x, mean, inv_std[:2])
    with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\), got \(2,\)"):
        ops.batchnorm_backward(x, np.ones(2), x, mean, inv_std)
    with pytest.raises(TypeError, match="dy: expected dtype float64 like x, got float32"):
        ops.batchnorm_backward(x, g, x.astype(np.float32), mean, inv_std)


# Frozen batch norm (inference mode during training): dx = dy * gamma / sqrt(moving_variance + eps).
@pytest.mark.parametrize("shape", [(7, 3), (64, 300), (3, 700), (1, 9, 9, 8), (16, 30, 30, 3), (50, 33)])
def test_batchnorm_inference_backward(shape, dtype, backend, rng):
    _, gamma, _, _, rvar = make_inputs(shape, dtype, rng)
    dy = rng.standard_normal(shape).astype(dtype)
    bdy, bgamma, brvar = to_backend(backend, dy, gamma, rvar)
    dx = ops.batchnorm_inference_backward(bdy, bgamma, brvar, eps=1e-3, backend=backend)
    assert_close(dx, R(ref.batchnorm_inference_backward, dy, gamma, rvar, 1e-3), dtype)
    np.testing.assert_array_equal(to_numpy(bdy), dy)  # dy only read
    # In place: out=dy.
    out = ops.batchnorm_inference_backward(bdy, bgamma, brvar, eps=1e-3, out=bdy, backend=backend)
    assert out is bdy
    assert to_numpy(out).tobytes() == to_numpy(dx).tobytes()


def test_batchnorm_inference_gradient_is_numerical_gradient(rng):
    """dx of the inference-mode forward (running statistics fixed), against central differences."""
    x, gamma, beta, rmean, rvar = make_inputs((2, 3, 3, 4), np.float64, rng)
    w = rng.standard_normal(x.shape)

    def loss():
        y, _, _ = ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=False, eps=1e-3)
        return (w * y).sum()

    dx = ops.batchnorm_inference_backward(w, gamma, rvar, eps=1e-3)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-7, atol=1e-9)


def test_batchnorm_inference_backward_bad_input(backend):
    dy, g, v = to_backend(backend, np.ones((4, 3)), np.ones(3), np.ones(3))
    call = lambda *a, **k: ops.batchnorm_inference_backward(*a, **{"eps": 1e-3, "backend": backend, **k})
    with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\), got \(2,\)"):
        call(dy, g[:2], v)
    with pytest.raises(ValueError, match=r"moving_variance: expected shape \(3,\), got \(4,\)"):
        call(dy, g, backend.xp.ones(4))
    with pytest.raises(TypeError, match="moving_variance: expected dtype float64 like dy, got float32"):
        call(dy, g, v.astype(np.float32))
    with pytest.raises(ValueError, match=r"dy: expected a 2-D \(N, C\) or 4-D \(N, H, W, C\) array, got 3-D"):
        call(backend.xp.ones((2, 4, 3)), g, v)
    with pytest.raises(ValueError, match="dy: expected a non-empty array"):
        call(backend.xp.ones((0, 3)), g, v)
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 3\) like dy, got \(4, 2\)"):
        call(dy, g, v, out=backend.xp.empty((4, 2)))
    with pytest.raises(ValueError, match="eps: expected eps > 0, got 0"):
        call(dy, g, v, eps=0.0)
    with pytest.raises(ValueError, match="out: must not overlap gamma"):
        call(backend.xp.ones((1, 3)), g, v, out=g.reshape(1, 3))


# Synchronized batch norm: a batch cut into parts (as processes hold it), each part's
# sums added up, gives the whole batch's statistics, output and gradients.
@pytest.mark.parametrize("shape", [(7, 3), (64, 300), (4, 7, 7, 16), (16, 30, 30, 3), (2, 5, 6, 300)])
def test_batchnorm_split_passes_equal_the_whole_batch(shape, dtype, backend, rng):
    x, gamma, beta, rmean, _ = make_inputs(shape, dtype, rng, loc=30.0)
    dy = rng.standard_normal(shape).astype(dtype)
    eps, C, N = 1e-3, shape[-1], shape[0]
    rows = x.size // C
    cuts = [0, N // 3, N // 3 + 1 if N > 2 else N, N] if N > 2 else [0, N]
    parts = [(lo, hi) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]
    shift = rmean.astype(np.float64)  # the moving mean: the same on every process
    bshift, bgamma, bbeta = to_backend(backend, shift, gamma, beta)
    sums = sum(to_numpy(ops.batchnorm_sums(to_backend(backend, x[lo:hi]), bshift, backend=backend))
               for lo, hi in parts)
    assert_close(sums, sum(ref.batchnorm_sums(x[lo:hi], shift) for lo, hi in parts), np.float64, rtol=1e-12)
    mean, var, inv_std = batchnorm_stats(sums, shift, rows, eps)
    _, ref_mean, ref_inv_std, _, ref_var = ref.batchnorm_forward(x.astype(np.float64), gamma, beta, rmean,
                                                                np.ones(C), True, momentum=0.0, eps=eps)
    assert_close(mean, ref_mean, np.float64, rtol=1e-12)
    assert_close(var, ref_var, np.float64, rtol=1e-10)
    bmean, binv = to_backend(backend, mean, inv_std)
    y = np.concatenate([to_numpy(ops.batchnorm_apply(to_backend(backend, x[lo:hi]), bgamma, bbeta, bmean, binv,
                                                     backend=backend)) for lo, hi in parts])
    y_whole, _, _ = ops.batchnorm_forward(to_backend(backend, x), bgamma, bbeta, *to_backend(backend, rmean.copy(),
                                          np.ones(C, dtype)), training=True, eps=eps, backend=backend)
    assert_close(y, to_numpy(y_whole), dtype)
    assert_close(y, ref.batchnorm_apply(x.astype(np.float64), gamma, beta, ref_mean, ref_inv_std), dtype)
    grad_sums = [to_numpy(ops.batchnorm_grad_sums(*to_backend(backend, x[lo:hi], dy[lo:hi]), bmean, backend=backend))
                 for lo, hi in parts]
    total = sum(grad_sums)
    assert_close(total, ref.batchnorm_grad_sums(x.astype(np.float64), dy.astype(np.float64), mean), np.float64,
                 rtol=1e-10)
    btotal = to_backend(backend, total)
    dx = np.concatenate([to_numpy(ops.batchnorm_grad_apply(to_backend(backend, x[lo:hi]), bgamma,
                                                           to_backend(backend, dy[lo:hi]), bmean, binv, btotal, rows,
                                                           backend=backend)) for lo, hi in parts])
    ref_dx, ref_dgamma, ref_dbeta = ref.batchnorm_backward(x.astype(np.float64), gamma, dy.astype(np.float64),
                                                          ref_mean, ref_inv_std)
    assert_close(dx, ref_dx, dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-5  # sums of dy in float64, of float32 dy
    assert_close(total[:C], ref_dbeta, rtol=tol)
    assert_close(total[C:] * inv_std, ref_dgamma, rtol=tol)
    assert_close(dx, ref.batchnorm_grad_apply(x.astype(np.float64), gamma, dy.astype(np.float64), mean, inv_std,
                                              total, rows), dtype)


def test_batchnorm_split_passes_bad_input(rng):
    x = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"shift: expected shape \(3,\)"):
        ops.batchnorm_sums(x, np.zeros(4))
    with pytest.raises(TypeError, match="shift: expected float64"):
        ops.batchnorm_sums(x, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="count: expected at least the 4 rows of x, got 3"):
        ops.batchnorm_grad_apply(x, np.ones(3), x, np.zeros(3), np.ones(3), np.zeros(6), 3)
    with pytest.raises(ValueError, match=r"sums: expected shape \(6,\)"):
        ops.batchnorm_grad_sums(x, x, np.zeros(3), sums=np.zeros(5))
