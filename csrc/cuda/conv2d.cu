// Conv2D on the GPU: im2col (im2col.cu) + our device GEMM (gemm.cuh) over
// chunks of the batch, as Caffe's conv_layer.cu. The math is the CPU's full
// im2col path (conv2d.cpp; its row-shift variant is not ported); the cutting
// differs:
//   - one chunk at a time, as many whole images as the workspace holds: the
//     GPU runs one large GEMM faster than many small ones, and a chunk of
//     whole images lets col2im write dx instead of adding into a cleared dx;
//   - chunks smaller than an image (a tiny workspace) are runs of
//     column-matrix rows; dx is then cleared once and col2im adds into it.
// Backward: db is one column reduction over all of dy (bias_grad, fixed
// order); dW = sum over chunks of col^T dy, the first GEMM overwriting and
// the rest adding (beta = 1) in chunk order; dx: dcol = dy W^T into the
// column buffer, then col2im (a gather). No atomics anywhere, so two runs
// give identical bits.
// The forward's activation rides in the bias epilogue (one kernel after each
// chunk's GEMM, which the linear conv with a bias runs anyway).
#include "../ops/conv2d.h"

#include <algorithm>

#include "../ops/dense.h"
#include "../ops/im2col.h"
#include "common.cuh"
#include "gemm.cuh"

namespace fastnn {
namespace {

// Column-matrix rows per chunk for a workspace of `elems` elements: as many
// as fit, cut down to whole images when at least one image fits.
int64_t chunk_rows(const Window2d& g, int64_t elems) {
  const int64_t P = g.out_pixels(), rows = std::min(g.N * P, elems / g.patch());
  return rows >= P ? rows / P * P : rows;
}

template <class T>
__global__ void zero_kernel(T* __restrict__ p, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = T(0);
}

// y = f(y + b) in place over an (M, N) block (b may be null): the forward
// epilogue. Flat over the elements, not column strips: conv outputs are often
// a few channels wide.
template <Activation F, class T>
__global__ void bias_activation_in_place(const T* __restrict__ b, T* __restrict__ y, T alpha, int64_t M, int64_t N) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x, column_step = stride % N;
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, j = i % N;  // j: i's column, kept without a division
  for (; i < M * N; i += stride) {
    y[i] = activate<F>(b ? y[i] + b[j] : y[i], alpha);
    j += column_step;
    if (j >= N) j -= N;
  }
}

// The GEMM y = col W of M rows, then its epilogue: the bias and a non-linear
// f in one kernel (a linear f leaves it to dense_forward's).
template <class T>
void gemm_epilogue(const Cuda& dev, const T* col, const T* W, const T* b, T* y, Activation f, T alpha, int64_t M,
                   int64_t K, int64_t N) {
  if (f == Activation::Linear)
    return dense_forward(dev, col, W, b, y, static_cast<T*>(nullptr), Activation::Linear, T(0), M, K, N);
  gemm(dev, false, false, M, N, K, T(1), col, K, W, N, T(0), y, N);
  dispatch_activation(f, [&](auto k) {
    launch(bias_activation_in_place<decltype(k)::value, T>, cuda::blocks_for(M * N), cuda::kThreads, 0,
           cuda::stream_of(dev), b, y, alpha, M, N);
  });
  FASTNN_CHECK_LAUNCH("conv2d_forward epilogue");
}

}  // namespace

int64_t conv2d_workspace_elems(Cuda, const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t max_bytes) {
  if (conv2d_is_pointwise(g)) return 0;
  return std::max(conv2d_min_workspace_elems(Cuda{}, g, C_out), chunk_rows(g, max_bytes / elem_bytes) * g.patch());
}

template <class T>
void conv2d_forward(Cuda dev, const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out,
                    T* workspace, int64_t workspace_elems, Activation f, T alpha) {
  const int64_t K = g.patch(), total = g.N * g.out_pixels();
  // The 1x1 case and each chunk are a dense layer on the column matrix:
  // GEMM, then the epilogue.
  if (conv2d_is_pointwise(g)) return gemm_epilogue(dev, x, W, b, y, f, alpha, total, g.C, C_out);
  const int64_t rows = chunk_rows(g, workspace_elems);
  for (int64_t r0 = 0; r0 < total; r0 += rows) {
    const int64_t r1 = std::min(total, r0 + rows);
    im2col(dev, x, workspace, g, r0, r1);
    gemm_epilogue(dev, workspace, W, b, y + r0 * C_out, f, alpha, r1 - r0, K, C_out);
  }
}

template <class T>
void conv2d_backward(Cuda dev, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                     int64_t C_out, T* workspace, int64_t workspace_elems) {
  const int64_t K = g.patch(), P = g.out_pixels(), total = g.N * P;
  if (conv2d_is_pointwise(g))
    return dense_backward(dev, x, W, dy, static_cast<T*>(nullptr), static_cast<const T*>(nullptr),
                          static_cast<const T*>(nullptr), Activation::Linear, T(0), dx, dW, db, total, g.C, C_out);
  if (db) bias_grad(dev, dy, db, total, C_out);
  const int64_t rows = chunk_rows(g, workspace_elems);
  const bool whole_images = rows % P == 0;
  if (dx && !whole_images) {
    const int64_t n = g.N * g.H * g.W * g.C;
    launch(zero_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), dx, n);
    FASTNN_CHECK_LAUNCH("conv2d_backward (clear dx)");
  }
  T* col = workspace;
  for (int64_t r0 = 0; r0 < total; r0 += rows) {
    const int64_t r1 = std::min(total, r0 + rows);
    const T* dy_chunk = dy + r0 * C_out;
    im2col(dev, x, col, g, r0, r1);
    gemm(dev, true, false, K, C_out, r1 - r0, T(1), col, K, dy_chunk, C_out, r0 == 0 ? T(0) : T(1), dW, C_out);
    if (!dx) continue;
    gemm(dev, false, true, r1 - r0, K, C_out, T(1), dy_chunk, C_out, W, C_out, T(0), col, K);
    col2im(dev, col, dx, g, r0, r1, !whole_images);
  }
}

#define INSTANTIATE(T)                                                                                             \
  template void conv2d_forward<T>(Cuda, const T*, const T*, const T*, T*, const Window2d&, int64_t, T*, int64_t, \
                                  Activation, T);                                                                \
  template void conv2d_backward<T>(Cuda, const T*, const T*, const T*, T*, T*, T*, const Window2d&, int64_t, T*,  \
                                   int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
