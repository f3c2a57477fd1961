// Row-major GEMM on the CPU through OpenBLAS (scipy-openblas32, whose
// symbols carry a scipy_ prefix). fastnn never hand-writes a CPU GEMM.
#pragma once
#include <cblas.h>

#include <cstdint>

namespace fastnn::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C, all row-major with leading
// dimensions lda/ldb/ldc; op(X) = X^T when trans_x.
inline void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
                    (blasint)ldc);
}

inline void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                 int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
                    (blasint)ldc);
}

}  // namespace fastnn::cpu
