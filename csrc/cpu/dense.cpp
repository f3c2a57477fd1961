// Dense layer on the CPU: the two products of the backward pass and the one
// of the forward pass are OpenBLAS GEMMs; the bias and the activation ride
// in a single pass over the (cache-resident) output beside each GEMM, so a
// layer costs its GEMMs plus one sweep.
#include "../ops/dense.h"

#include <algorithm>

#include "blas.h"
#include "parallel.h"

namespace fastnn {

using cpu::for_column_blocks;
using cpu::kParallelMin;

template <Activation F, class T>
static void bias_activation_epilogue(const T* __restrict__ b, T* __restrict__ z, T* __restrict__ a, T alpha,
                                     int64_t M, int64_t N) {
#pragma omp parallel for if (M * N > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
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
  if (b || a) dispatch_activation(f, [&](auto k) { bias_activation_epilogue<k.value>(b, z, a, alpha, M, N); });
}

template <class T>
void bias_grad(Cpu, const T* dy, T* db, int64_t M, int64_t N) {
  for_column_blocks(M, N, [&](int64_t lo, int64_t hi) {
    std::fill(db + lo, db + hi, T(0));
    for (int64_t i = 0; i < M; ++i) {
      const T* row = dy + i * N;
#pragma omp simd
      for (int64_t j = lo; j < hi; ++j) db[j] += row[j];
    }
  });
}

// dz = dy * f'(z) and db = column sums of dz, in one pass.
template <Activation F, class T>
static void activation_grad_prologue(const T* dy, T* dz, const T* __restrict__ z, const T* __restrict__ a, T alpha,
                                     T* __restrict__ db, int64_t M, int64_t N) {
  for_column_blocks(M, N, [&](int64_t lo, int64_t hi) {
    if (db) std::fill(db + lo, db + hi, T(0));
    for (int64_t i = 0; i < M; ++i) {
      const int64_t r = i * N;
#pragma omp simd
      for (int64_t j = lo; j < hi; ++j) dz[r + j] = dy[r + j] * activate_grad<F>(z[r + j], a[r + j], alpha);
      if (db)
#pragma omp simd
        for (int64_t j = lo; j < hi; ++j) db[j] += dz[r + j];
    }
  });
}

template <class T>
void dense_backward(Cpu, const T* x, const T* W, const T* dy, T* dz, const T* z, const T* a, Activation f, T alpha,
                    T* dx, T* dW, T* db, int64_t M, int64_t K, int64_t N) {
  if (f == Activation::Linear) {
    dz = const_cast<T*>(dy);  // read-only from here on
    if (db) bias_grad(Cpu{}, dy, db, M, N);
  } else {
    dispatch_activation(f, [&](auto k) { activation_grad_prologue<k.value>(dy, dz, z, a, alpha, db, M, N); });
  }
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
