// Row-major GEMM on the CPU through OpenBLAS (scipy-openblas32, whose
// symbols carry a scipy_ prefix). General GEMMs are OpenBLAS's; only the few-channel convolutions
// (conv2d_narrow.cpp) have a micro-kernel of their own, for shapes OpenBLAS handles badly.
//
// Threading: fastnn keeps ONE thread pool, OpenMP's. OpenBLAS is set to a
// single thread at import, and a large GEMM is split here into one block of
// rows (or columns) per OpenMP thread, each a single-threaded OpenBLAS call.
// Two pools (OpenMP's and OpenBLAS's own) would each spin-wait for work
// while the other runs, which on a 2-core machine made a training step 10x
// slower.
#pragma once
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdint>

namespace fastnn::cpu {

inline void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M,
                    (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

inline void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                      const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M,
                    (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

// OpenBLAS runs a GEMM of at most this many multiply-adds through its
// "small matrix" kernels where it has them (AVX-512 cores), which read A and
// B in place instead of first packing them into aligned panels. On the
// narrow GEMMs of a convolution (64 columns, K = 96 or 288) that packing costs
// the general path 10-20% (measured: 190-210 against 230-250 GFLOP/s per
// core on Zen 5); where there are no small kernels, blocks of this size run
// within a few percent of one large call.
constexpr int64_t kSmallGemmMacs = 100 * 100 * 100;

// Calls body(r0, r) for blocks [r0, r0 + r) of [0, rows) that keep a GEMM of
// r x n x k under kSmallGemmMacs, or once for all rows when even 16 rows
// would exceed it (wide GEMMs gain nothing from being cut).
template <class F>
void for_small_gemm_blocks(int64_t rows, int64_t n, int64_t k, F&& body) {
  const int64_t fit = kSmallGemmMacs / std::max<int64_t>(1, n * k);
  const int64_t block = fit >= 16 ? fit : rows;
  for (int64_t r0 = 0; r0 < rows; r0 += block) body(r0, std::min(block, rows - r0));
}

// Below this many multiply-adds a GEMM runs on the calling thread.
constexpr int64_t kGemmParallelMin = int64_t(1) << 20;

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major with leading dimensions
// lda/ldb/ldc; op(X) = X^T when trans_x. Inside an OpenMP parallel region it
// runs on the calling thread.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
#ifdef _OPENMP
  if (M * N * K >= kGemmParallelMin && !omp_in_parallel() && omp_get_max_threads() > 1) {
    // Split the longer output side so each thread gets a well-shaped block.
    const bool split_rows = M >= N;
#pragma omp parallel
    {
      const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num(), len = split_rows ? M : N;
      // Block edges on multiples of 16 keep each thread's columns/rows aligned for the BLAS kernels.
      const int64_t step = ((len + nt - 1) / nt + 15) & ~int64_t(15);
      const int64_t lo = std::min(len, id * step), hi = std::min(len, lo + step);
      if (hi > lo) {
        if (split_rows)
          blas_gemm(trans_a, trans_b, hi - lo, N, K, alpha, trans_a ? A + lo : A + lo * lda, lda, B, ldb, beta,
                    C + lo * ldc, ldc);
        else
          blas_gemm(trans_a, trans_b, M, hi - lo, K, alpha, A, lda, trans_b ? B + lo * ldb : B + lo, ldb, beta,
                    C + lo, ldc);
      }
    }
    return;
  }
#endif
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace fastnn::cpu
