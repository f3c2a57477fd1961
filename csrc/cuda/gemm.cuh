// Row-major GEMM on the GPU: C[M,N] = alpha * op(A) op(B) + beta * C with
// op(X) = X^T when trans_x, leading dimensions lda/ldb/ldc (as cpu::gemm).
// Declarations only, in plain C++: the bindings (compiled by g++) call them.
//
// Two implementations, chosen per process:
//   tiled   fastnn's own shared-memory kernel (csrc/cuda/gemm.cu); the only
//           one in emulation.
//   cublas  cuBLAS, through the handle cupy created (set_cublas_handle). The
//           library is found at run time in the process (cupy loaded it), so
//           fastnn neither links nor ships cuBLAS.
// The default is cublas once a handle was set, tiled before.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void gemm(Cuda, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

enum class GemmBackend { Tiled, Cublas };

// Stores cupy's cuBLAS handle (cupy.cuda.device.get_cublas_handle()) and
// looks up the cuBLAS functions in the already loaded library. Throws
// ValueError for a null handle, when no cuBLAS is loaded, or in emulation.
void set_cublas_handle(void* handle);

// Throws ValueError for Cublas without a handle.
void set_gemm_backend(GemmBackend backend);

GemmBackend gemm_backend();

}  // namespace fastnn
