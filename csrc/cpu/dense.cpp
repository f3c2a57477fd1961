// Dense layer on the CPU: the two products of the backward pass and the one
// of the forward pass are OpenBLAS GEMMs; the bias and the activation ride
// in a single pass over the (cache-resident) output beside each GEMM, so a
// layer costs its GEMMs plus one sweep.
#include "../ops/dense.h"

#include <algorithm>

#include "blas.h"
#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {

using cpu::for_column_blocks;

// Rows [r0, r1) of the forward epilogue: z += b, a = f(z).
template <Activation F, class T>
FASTNN_SIMD_CLONES void bias_activation_rows(const T* __restrict__ b, T* __restrict__ z, T* __restrict__ a, T alpha,
                                             int64_t r0, int64_t r1, int64_t N) {
  for (int64_t i = r0; i < r1; ++i) {
    T* zr = z + i * N;
    if (b)
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) zr[j] += b[j];
    if (a) {
      T* ar = a + i * N;
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) ar[j] = activate<F>(zr[j], alpha);
    }
  }
}

template <class T>
void dense_forward(Cpu, const T* x, const T* W, const T* b, T* z, T* a, Activation f, T alpha, int64_t M, int64_t K,
                   int64_t N) {
  cpu::gemm(false, false, M, N, K, T(1), x, K, W, N, T(0), z, N);
  if (!b && !a) return;
  dispatch_activation(f, [&](auto k) {
    cpu::for_ranges(M, M * N, [&](int64_t r0, int64_t r1) { bias_activation_rows<k.value>(b, z, a, alpha, r0, r1, N); });
  });
}

// Columns [lo, hi) of db = column sums of dy.
template <class T>
FASTNN_SIMD_CLONES void column_sums(const T* __restrict__ dy, T* __restrict__ db, int64_t M, int64_t N, int64_t lo,
                                    int64_t hi) {
  std::fill(db + lo, db + hi, T(0));
  for (int64_t i = 0; i < M; ++i) {
    const T* row = dy + i * N;
#pragma omp simd
    for (int64_t j = lo; j < hi; ++j) db[j] += row[j];
  }
}

template <class T>
void bias_grad(Cpu, const T* dy, T* db, int64_t M, int64_t N) {
  for_column_blocks(M, N, [&](int64_t lo, int64_t hi) { column_sums(dy, db, M, N, lo, hi); });
}

// Columns [lo, hi) of dz = dy * f'(z) and db = column sums of dz, in one pass.
template <Activation F, class T>
FASTNN_SIMD_CLONES void activation_grad_columns(const T* dy, T* dz, const T* __restrict__ z, const T* __restrict__ a,
                                                T alpha, T* __restrict__ db, int64_t M, int64_t N, int64_t lo,
                                                int64_t hi) {
  if (db) std::fill(db + lo, db + hi, T(0));
  for (int64_t i = 0; i < M; ++i) {
    const int64_t r = i * N;
#pragma omp simd
    for (int64_t j = lo; j < hi; ++j) dz[r + j] = activate_backprop<F>(dy[r + j], z[r + j], a[r + j], alpha);
    if (db)
#pragma omp simd
      for (int64_t j = lo; j < hi; ++j) db[j] += dz[r + j];
  }
}

template <class T>
void dense_backward(Cpu, const T* x, const T* W, const T* dy, T* dz, const T* z, const T* a, Activation f, T alpha,
                    T* dx, T* dW, T* db, int64_t M, int64_t K, int64_t N) {
  if (f == Activation::Linear) {
    dz = const_cast<T*>(dy);  // read-only from here on
    if (db) bias_grad(Cpu{}, dy, db, M, N);
  } else {
    dispatch_activation(f, [&](auto k) {
      for_column_blocks(M, N, [&](int64_t lo, int64_t hi) {
        activation_grad_columns<k.value>(dy, dz, z, a, alpha, db, M, N, lo, hi);
      });
    });
  }
  // dW and dx cost the same (2 M K N flops) and are independent: with two
  // threads each computes one whole product, which beats splitting both.
#ifdef _OPENMP
  if (dx && omp_get_max_threads() == 2 && !omp_in_parallel() && M * K * N >= cpu::kGemmParallelMin) {
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
      cpu::gemm(true, false, K, N, M, T(1), x, K, dz, N, T(0), dW, N);
#pragma omp section
      cpu::gemm(false, true, M, K, N, T(1), dz, N, W, N, T(0), dx, K);
    }
    return;
  }
#endif
  cpu::gemm(true, false, K, N, M, T(1), x, K, dz, N, T(0), dW, N);
  if (dx) cpu::gemm(false, true, M, K, N, T(1), dz, N, W, N, T(0), dx, K);
}

#define INSTANTIATE(T)                                                                                              \
  template void dense_forward<T>(Cpu, const T*, const T*, const T*, T*, T*, Activation, T, int64_t, int64_t,       \
                                 int64_t);                                                                          \
  template void dense_backward<T>(Cpu, const T*, const T*, const T*, T*, const T*, const T*, Activation, T, T*, T*, \
                                  T*, int64_t, int64_t, int64_t);                                                   \
  template void bias_grad<T>(Cpu, const T*, T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
