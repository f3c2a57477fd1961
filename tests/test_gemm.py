"""The CUDA GEMM's tiled kernel, run by the emulator (fastnn._cuda_emu), against
numpy: sizes that are not multiples of its 64 x 64 tile or its K panel, all
four transpose combinations, alpha/beta other than 1/0, and both load paths
(16-byte vector loads, element loads). Plus the determinism of the bias
gradient reduction."""
import itertools

import numpy as np
import pytest

from fastnn import _native, ops
from conftest import assert_close

emu = _native._cuda_emu
pytestmark = pytest.mark.skipif(emu is None, reason="fastnn._cuda_emu was not built")

# 1, 7, 63, 65, 130 straddle the 64-wide tile and the 16/8-deep K panel;
# 64 and 128 make leading dimensions multiples of 4 floats (vector loads).
SIZES = [1, 7, 63, 64, 65, 130]
TRANSPOSES = list(itertools.product([False, True], repeat=2))


def operands(rng, M, N, K, trans_a, trans_b, dtype):
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    c = rng.standard_normal((M, N)).astype(dtype)
    return a, b, c


def expected(a, b, c, trans_a, trans_b, alpha, beta):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return alpha * ((a64.T if trans_a else a64) @ (b64.T if trans_b else b64)) + beta * c.astype(np.float64)


def test_tiled_is_the_only_backend_in_emulation():
    assert emu.gemm_backend() == "tiled"
    emu.set_gemm_backend("tiled")
    with pytest.raises(ValueError, match="name: cuBLAS is not available in emulation"):
        emu.set_gemm_backend("cublas")
    with pytest.raises(ValueError, match="handle: cuBLAS is not available in emulation"):
        emu.set_cublas(12345)
    with pytest.raises(ValueError, match="name: unknown GEMM backend 'cutlass'"):
        emu.set_gemm_backend("cutlass")
    assert emu.gemm_backend() == "tiled"


@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("M", SIZES)
def test_tiled_gemm_partial_tiles(M, trans_a, trans_b, dtype, rng):
    for N, K in itertools.product(SIZES, SIZES):
        a, b, c = operands(rng, M, N, K, trans_a, trans_b, dtype)
        want = expected(a, b, c, trans_a, trans_b, 0.75, -0.5)
        emu.gemm(a, b, c, trans_a, trans_b, 0.75, -0.5)
        assert_close(c, want, dtype)


@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_tiled_gemm_beta_zero_ignores_c(trans_a, trans_b, dtype, rng):
    a, b, _ = operands(rng, 70, 33, 20, trans_a, trans_b, dtype)
    c = np.full((70, 33), np.nan, dtype)  # BLAS semantics: beta = 0 never reads c
    emu.gemm(a, b, c, trans_a, trans_b, 2.0, 0.0)
    assert_close(c, expected(a, b, np.zeros_like(c), trans_a, trans_b, 2.0, 0.0), dtype)


def test_tiled_gemm_empty_k_scales_c(dtype, rng):
    a, b, c = operands(rng, 5, 6, 0, False, False, dtype)
    want = 3.0 * c.astype(np.float64)
    emu.gemm(a, b, c, False, False, 1.0, 3.0)
    assert_close(c, want, dtype)


@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_tiled_gemm_misaligned_operands_use_element_loads(trans_a, trans_b, dtype, rng):
    # Leading dimensions allow vector loads, but the arrays start one element
    # past a 16-byte boundary: the kernel must fall back to element loads.
    def shifted(shape):
        buf = np.empty(int(np.prod(shape)) + 1, dtype)
        x = buf[1:].reshape(shape)
        x[...] = rng.standard_normal(shape)
        assert x.ctypes.data % 16 != 0
        return x

    M, N, K = 68, 72, 40
    a = shifted((K, M) if trans_a else (M, K))
    b = shifted((N, K) if trans_b else (K, N))
    c = shifted((M, N))
    want = expected(a, b, c, trans_a, trans_b, 1.0, 1.0)
    emu.gemm(a, b, c, trans_a, trans_b, 1.0, 1.0)
    assert_close(c, want, dtype)


def test_gemm_hook_checks_its_arguments():
    a, b, c = np.ones((3, 4)), np.ones((4, 5)), np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"b: expected shape \(4, any\), got \(5, 4\)"):
        emu.gemm(a, b.T.copy(), c)
    with pytest.raises(ValueError, match=r"b: expected shape \(any, 4\), got \(4, 5\)"):
        emu.gemm(a, b, c, trans_b=True)
    with pytest.raises(ValueError, match=r"c: expected shape \(3, 5\), got \(4, 5\)"):
        emu.gemm(a, b, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="a: expected a 2-D array"):
        emu.gemm(np.ones(3), b, c)
    with pytest.raises(TypeError, match="c: expected dtype float64 like a, got float32"):
        emu.gemm(a, b, c.astype(np.float32))
    with pytest.raises(ValueError, match="c: output array is read-only"):
        c.flags.writeable = False
        emu.gemm(a, b, c)


@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_bias_gradient_is_bit_identical_across_runs(activation, dtype, rng):
    # Column sums in a fixed order (no atomics): repeated runs agree to the bit.
    M, K, N = 300, 9, 70
    x, W, dy = (rng.standard_normal(s).astype(dtype) for s in [(M, K), (K, N), (M, N)])
    z = np.empty((M, N), dtype)
    y = ops.dense_forward(x, W, activation=activation, preact=z, backend="cuda-emu")
    runs = [ops.dense_backward(x, W, dy, activation=activation, preact=z, y=y, backend="cuda-emu")[2]
            for _ in range(2)]
    assert runs[0].tobytes() == runs[1].tobytes()
    sums = [ops.bias_grad(dy, backend="cuda-emu") for _ in range(2)]
    assert sums[0].tobytes() == sums[1].tobytes()
    assert_close(sums[0], dy.astype(np.float64).sum(0), dtype)
