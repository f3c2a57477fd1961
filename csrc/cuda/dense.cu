// Dense layer on the GPU: the products are GEMMs (gemm.cuh), and the bias
// and activation ride in one extra pass beside each GEMM, as on the CPU:
//   forward   z = x W (GEMM), then ONE epilogue kernel: z += b, a = f(z);
//   backward  ONE prologue kernel: dz = dy * f'(z, a) and db = column sums
//             of dz, then dW = x^T dz and dx = dz W^T (GEMMs).
// Both passes run on column strips (common.cuh): a block owns 32 columns,
// so the bias is loaded once per thread and db is summed without atomics,
// in a fixed order: two runs give identical bits.
#include "../ops/dense.h"

#include "common.cuh"
#include "gemm.cuh"

namespace fastnn {

using cuda::kStripColumns;
using cuda::kStripRows;

// z += b (if b), a = f(z) (if a), over the rows this block's row index
// strides through.
template <Activation F, class T>
__global__ void bias_activation_kernel(const T* __restrict__ b, T* __restrict__ z, T* __restrict__ a, T alpha,
                                       int64_t M, int64_t N) {
  const int64_t j = int64_t(blockIdx.x) * kStripColumns + threadIdx.x;
  if (j >= N) return;
  const T bias = b ? b[j] : T(0);
  for (int64_t i = int64_t(blockIdx.y) * kStripRows + threadIdx.y; i < M; i += int64_t(gridDim.y) * kStripRows) {
    T v = z[i * N + j];
    if (b) {
      v += bias;
      z[i * N + j] = v;
    }
    if (a) a[i * N + j] = activate<F>(v, alpha);
  }
}

// g = dy * f'(z, a), written to dz (may alias dy), and, if db, the column
// sums of g. For F == Linear, g = dy is only summed (z, a, dz unused): the
// bias gradient alone. With db the grid has one block row, so each column's
// sum is one thread-ordered walk per thread plus a fixed tree.
template <Activation F, class T>
__global__ void activation_grad_kernel(const T* dy, T* dz, const T* __restrict__ z, const T* __restrict__ a, T alpha,
                                       T* __restrict__ db, int64_t M, int64_t N) {
  __shared__ T partial[kStripRows][kStripColumns];
  const int64_t j = int64_t(blockIdx.x) * kStripColumns + threadIdx.x;
  T sum = 0;
  if (j < N) {
    for (int64_t i = int64_t(blockIdx.y) * kStripRows + threadIdx.y; i < M; i += int64_t(gridDim.y) * kStripRows) {
      T g = dy[i * N + j];
      if constexpr (F != Activation::Linear) {
        g = activate_backprop<F>(g, z[i * N + j], a[i * N + j], alpha);
        dz[i * N + j] = g;
      }
      sum += g;
    }
  }
  if (db == nullptr) return;  // the same for the whole block: no thread is left at the barrier
  sum = cuda::strip_column_sum(sum, partial);
  if (threadIdx.y == 0 && j < N) db[j] = sum;
}

template <class T>
void dense_forward(Cuda dev, const T* x, const T* W, const T* b, T* z, T* a, Activation f, T alpha, int64_t M,
                   int64_t K, int64_t N) {
  gemm(dev, false, false, M, N, K, T(1), x, K, W, N, T(0), z, N);
  if (!b && !a) return;
  dispatch_activation(f, [&](auto k) {
    launch(bias_activation_kernel<k.value, T>, cuda::strip_grid(M, N, false), cuda::strip_block(), 0,
           cuda::stream_of(dev), b, z, a, alpha, M, N);
  });
  FASTNN_CHECK_LAUNCH("dense_forward epilogue");
}

template <class T>
void bias_grad(Cuda dev, const T* dy, T* db, int64_t M, int64_t N) {
  launch(activation_grad_kernel<Activation::Linear, T>, cuda::strip_grid(M, N, true), cuda::strip_block(), 0,
         cuda::stream_of(dev), dy, nullptr, nullptr, nullptr, T(0), db, M, N);
  FASTNN_CHECK_LAUNCH("bias_grad");
}

template <class T>
void dense_backward(Cuda dev, const T* x, const T* W, const T* dy, T* dz, const T* z, const T* a, Activation f,
                    T alpha, T* dx, T* dW, T* db, int64_t M, int64_t K, int64_t N) {
  if (f == Activation::Linear) {
    dz = const_cast<T*>(dy);  // read-only from here on
    if (db) bias_grad(dev, dy, db, M, N);
  } else {
    dispatch_activation(f, [&](auto k) {
      launch(activation_grad_kernel<k.value, T>, cuda::strip_grid(M, N, db != nullptr), cuda::strip_block(), 0,
             cuda::stream_of(dev), dy, dz, z, a, alpha, db, M, N);
    });
    FASTNN_CHECK_LAUNCH("dense_backward prologue");
  }
  gemm(dev, true, false, K, N, M, T(1), x, K, dz, N, T(0), dW, N);
  if (dx) gemm(dev, false, true, M, K, N, T(1), dz, N, W, N, T(0), dx, K);
}

#define INSTANTIATE(T)                                                                                               \
  template void dense_forward<T>(Cuda, const T*, const T*, const T*, T*, T*, Activation, T, int64_t, int64_t,       \
                                 int64_t);                                                                           \
  template void dense_backward<T>(Cuda, const T*, const T*, const T*, T*, const T*, const T*, Activation, T, T*, T*, \
                                  T*, int64_t, int64_t, int64_t);                                                    \
  template void bias_grad<T>(Cuda, const T*, T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
