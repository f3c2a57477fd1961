// Dense layer on the CPU: every product is one OpenBLAS GEMM; the bias is
// broadcast into y first so the GEMM adds onto it (beta = 1) in one pass.
#include "../ops/dense.h"

#include <algorithm>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"

namespace fastnn {

template <class T>
void dense_forward(Cpu, const T* x, const T* W, const T* b, T* y, int64_t M, int64_t K, int64_t N) {
  if (b) {
#pragma omp parallel for if (M * N > (1 << 16))
    for (int64_t i = 0; i < M; ++i) std::copy(b, b + N, y + i * N);
  }
  cpu::gemm(false, false, M, N, K, T(1), x, K, W, N, b ? T(1) : T(0), y, N);
}

template <class T>
void bias_grad(Cpu, const T* dy, T* db, int64_t M, int64_t N) {
  // Row by row so the inner loop runs over contiguous memory and vectorizes;
  // columns are split across threads, so the sum order is fixed.
#pragma omp parallel if (M * N > (1 << 16))
  {
#ifdef _OPENMP
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
#else
    const int nt = 1, id = 0;
#endif
    const int64_t chunk = (N + nt - 1) / nt, lo = std::min<int64_t>(N, id * chunk), hi = std::min(N, lo + chunk);
    std::fill(db + lo, db + hi, T(0));
    for (int64_t i = 0; i < M; ++i) {
      const T* row = dy + i * N;
      for (int64_t j = lo; j < hi; ++j) db[j] += row[j];
    }
  }
}

template <class T>
void dense_backward(Cpu, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, int64_t M, int64_t K,
                    int64_t N) {
  cpu::gemm(true, false, K, N, M, T(1), x, K, dy, N, T(0), dW, N);
  if (db) bias_grad(Cpu{}, dy, db, M, N);
  if (dx) cpu::gemm(false, true, M, K, N, T(1), dy, N, W, N, T(0), dx, K);
}

#define INSTANTIATE(T)                                                                              \
  template void dense_forward<T>(Cpu, const T*, const T*, const T*, T*, int64_t, int64_t, int64_t); \
  template void dense_backward<T>(Cpu, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t,  \
                                  int64_t);                                                         \
  template void bias_grad<T>(Cpu, const T*, T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
