"""The nvcc-built module fastnn._cuda: it imports (with or without a GPU), and
its GEMM backend switch works. The cuBLAS path is checked without a GPU
against a stand-in libcublas whose gemm runs on the host; tests that need a
GPU skip cleanly without one."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _native
from conftest import assert_close

cuda = _native._cuda
pytestmark = pytest.mark.skipif(cuda is None, reason="fastnn._cuda was not built (no nvcc)")


def test_module_imports_and_reports():
    assert cuda.emulated is False
    assert cuda.device_count() >= 0  # 0 without a driver: no GPU, not an error
    assert cuda.runtime_version() > 0
    assert cuda.gemm_backend() in ("tiled", "cublas")


def test_gemm_backend_switch_without_cublas():
    if cuda.gemm_backend() == "cublas":
        pytest.skip("a cuBLAS handle was already set in this process")
    with pytest.raises(ValueError, match="name: 'cublas' needs a cuBLAS handle first"):
        cuda.set_gemm_backend("cublas")
    with pytest.raises(ValueError, match="name: unknown GEMM backend 'fast'"):
        cuda.set_gemm_backend("fast")
    with pytest.raises(ValueError, match="handle: expected a cuBLAS handle"):
        cuda.set_cublas(0)
    cuda.set_gemm_backend("tiled")
    assert cuda.gemm_backend() == "tiled"


# A libcublas stand-in: the four functions fastnn looks up, with a
# column-major reference gemm on host memory, recording the stream it was given.
FAKE_CUBLAS = r"""
#include <stdint.h>
void* fake_stream;
int cublasSetStream_v2(void* handle, void* stream) { (void)handle; fake_stream = stream; return 0; }
int cublasSetPointerMode_v2(void* handle, int mode) { (void)handle; return mode == 0 ? 0 : 7; }
#define GEMM(NAME, T)                                                                              \
  int NAME(void* h, int ta, int tb, int m, int n, int k, const T* alpha, const T* A, int lda,      \
           const T* B, int ldb, const T* beta, T* C, int ldc) {                                   \
    (void)h;                                                                                       \
    /* cuBLAS's own checks: CUBLAS_STATUS_INVALID_VALUE (7) */                                     \
    if (lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m || lda < 1 || ldb < 1 || ldc < 1) return 7; \
    for (int j = 0; j < n; ++j)                                                                    \
      for (int i = 0; i < m; ++i) {                                                                \
        double s = 0;                                                                              \
        for (int p = 0; p < k; ++p)                                                                \
          s += (double)(ta ? A[p + i * lda] : A[i + p * lda]) * (tb ? B[j + p * ldb] : B[p + j * ldb]); \
        C[i + j * ldc] = *alpha * s + (*beta == 0 ? 0 : *beta * C[i + j * ldc]);                   \
      }                                                                                            \
    return 0;                                                                                      \
  }
GEMM(cublasSgemm_v2, float)
GEMM(cublasDgemm_v2, double)
"""

# Run in a subprocess: the stand-in's handle must never reach real GEMMs.
FAKE_CUBLAS_SCRIPT = r"""
import ctypes, itertools, sys
import numpy as np
from fastnn import _native
cuda = _native._cuda
lib = ctypes.CDLL(sys.argv[1])  # found again by its soname, libcublas.so.12

class DeviceArray:  # host memory dressed as a GPU array
    def __init__(self, a, stream):
        self.a = a
        self.__cuda_array_interface__ = {"shape": a.shape, "typestr": a.dtype.str, "data": (a.ctypes.data, False),
                                         "strides": None, "version": 3, "stream": stream}

assert cuda.gemm_backend() == "tiled"
cuda.set_cublas(0xC0FFEE)
assert cuda.gemm_backend() == "cublas"  # the default once a handle is set
rng = np.random.default_rng(0)
for dtype, (ta, tb), (M, N, K) in itertools.product([np.float32, np.float64], itertools.product([0, 1], repeat=2),
                                                     [(3, 5, 4), (1, 7, 2), (6, 1, 3), (4, 3, 0)]):
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    c = rng.standard_normal((M, N)).astype(dtype)
    want = 0.5 * ((a.T if ta else a).astype(float) @ (b.T if tb else b).astype(float)) - 2.0 * c
    cuda.gemm(DeviceArray(a, 1234), DeviceArray(b, 1234), DeviceArray(c, 1234), bool(ta), bool(tb), 0.5, -2.0)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
    assert ctypes.c_void_p.in_dll(lib, "fake_stream").value == 1234
cuda.set_gemm_backend("tiled")
assert cuda.gemm_backend() == "tiled"
cuda.set_gemm_backend("cublas")
print("ok")
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found")
def test_cublas_path_row_major_swap_with_a_stand_in_library(tmp_path):
    source = tmp_path / "fake_cublas.c"
    source.write_text(FAKE_CUBLAS)
    library = tmp_path / "libcublas.so.12"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-Wl,-soname,libcublas.so.12", str(source), "-o", str(library)],
                   check=True)
    result = subprocess.run([sys.executable, "-c", FAKE_CUBLAS_SCRIPT, str(library)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(fastnn.__file__))})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.fixture
def cupy():
    if cuda.device_count() == 0:
        pytest.skip("no GPU visible")
    return pytest.importorskip("cupy")


@pytest.mark.parametrize("name", ["tiled", "cublas"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False), (True, True)])
def test_gpu_gemm_backends_match_numpy(name, trans_a, trans_b, dtype, cupy, rng):
    before = cuda.gemm_backend()
    if name == "cublas":
        cuda.set_cublas(cupy.cuda.device.get_cublas_handle())
    try:
        cuda.set_gemm_backend(name)
        for M, N, K in [(1, 1, 1), (7, 65, 63), (130, 66, 129), (256, 512, 300)]:
            a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
            b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
            c = rng.standard_normal((M, N)).astype(dtype)
            want = 1.5 * ((a.T if trans_a else a).astype(float) @ (b.T if trans_b else b).astype(float)) + 0.25 * c
            dc = cupy.asarray(c)
            cuda.gemm(cupy.asarray(a), cupy.asarray(b), dc, trans_a, trans_b, 1.5, 0.25)
            assert_close(dc, want, dtype)
    finally:
        cuda.set_gemm_backend(before)


def test_gpu_bias_gradient_is_bit_identical_across_runs(cupy, rng):
    dy = cupy.asarray(rng.standard_normal((4096, 300)).astype(np.float32))
    db = [cupy.empty(300, np.float32) for _ in range(2)]
    for out in db:
        cuda.bias_grad(dy, out)
    assert db[0].get().tobytes() == db[1].get().tobytes()


def test_gpu_out_of_range_class_index_gives_nan_not_a_wild_read(cupy):
    logits = cupy.zeros((3, 4))
    probs, loss = cupy.empty((3, 4)), cupy.empty(3)
    target = cupy.asarray(np.array([0, 7, 1]))
    cuda.softmax_cross_entropy_forward(logits, target, probs, loss)
    assert np.isnan(loss.get()).tolist() == [False, True, False]
    d = cupy.empty((3, 4))
    cuda.softmax_cross_entropy_backward(probs, target, d, 1.0)
    assert np.isnan(d.get()).any(axis=1).tolist() == [False, True, False]
