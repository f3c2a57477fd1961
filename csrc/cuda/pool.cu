// Pooling on the GPU, NHWC, the CPU's rules (pool.cpp) one thread per
// element: consecutive threads take consecutive channels of a pixel, so a
// warp reads and writes contiguous runs.
//   forward    one thread per output element walks its window's cells inside
//              the image in row-major order (max: a later cell wins only if
//              strictly greater, so ties keep the first, as on the CPU);
//   backward   a gather: one thread per dx element walks the windows holding
//              its cell in row-major order and sums their share of dy. Every
//              dx element has one writer and a fixed order: no atomics, so
//              two runs give identical bits.
//   global     average: a column-strip reduction per image (common.cuh),
//              fixed order, no atomics.
#include "../common/pool_math.h"
#include "../ops/pool.h"

#include <algorithm>

#include "common.cuh"

namespace fastnn {
namespace {

using cuda::kStripColumns;
using cuda::kStripRows;

// Element e of an NHWC tensor of `rows` x `cols` pixels per image and C
// channels: image n, pixel (row, col), channel c.
struct NhwcIndex {
  int64_t n, row, col, c;
};

__device__ __forceinline__ NhwcIndex nhwc_index(int64_t e, int64_t rows, int64_t cols, int64_t C) {
  const int64_t pixel = e / C;
  return {pixel / (rows * cols), pixel / cols % rows, pixel % cols, e % C};
}

// Grid-stride loop over n elements: calls body(e) for this thread's.
template <class Body>
__device__ __forceinline__ void for_each_element(int64_t n, Body&& body) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x)
    body(e);
}

// The window of output pixel (oh, ow): its taps inside the image and the
// input cell of tap (0, 0).
struct PoolWindow {
  Range kh, kw;
  int64_t ih0, iw0;

  __device__ __forceinline__ PoolWindow(const Window2d& g, int64_t oh, int64_t ow)
      : kh(taps_inside(oh, g.sh, g.pad_top, g.KH, g.H)),
        kw(taps_inside(ow, g.sw, g.pad_left, g.KW, g.W)),
        ih0(oh * g.sh - g.pad_top),
        iw0(ow * g.sw - g.pad_left) {}

  // Cells inside the image ('same' padding is not counted): at least one.
  __device__ __forceinline__ int64_t cells() const { return (kh.hi - kh.lo) * (kw.hi - kw.lo); }
};

template <class T>
__global__ void max_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ argmax,
                                        const Window2d g) {
  for_each_element(g.N * g.OH * g.OW * g.C, [&](int64_t e) {
    const NhwcIndex o = nhwc_index(e, g.OH, g.OW, g.C);
    const PoolWindow w(g, o.row, o.col);
    const T* image = x + o.n * g.H * g.W * g.C + o.c;
    int64_t best_pos = (w.ih0 + w.kh.lo) * g.W + w.iw0 + w.kw.lo;
    T best = image[best_pos * g.C];
    for (int64_t i = w.kh.lo; i < w.kh.hi; ++i)
      for (int64_t j = w.kw.lo; j < w.kw.hi; ++j) {
        const int64_t pos = (w.ih0 + i) * g.W + w.iw0 + j;
        const T v = image[pos * g.C];
        if (pool_takes(v, best)) best = v, best_pos = pos;
      }
    y[e] = best;
    if (argmax) argmax[e] = int32_t(best_pos);
  });
}

// Calls f(p, oh, ow) for the output pixels p = oh * OW + ow (within the
// image) of the windows holding input cell (ih, iw), in row-major order.
template <class F>
__device__ __forceinline__ void for_windows_containing(const Window2d& g, int64_t ih, int64_t iw, F&& f) {
  const Range oh = windows_containing(ih, g.sh, g.pad_top, g.KH, g.OH);
  const Range ow = windows_containing(iw, g.sw, g.pad_left, g.KW, g.OW);
  for (int64_t i = oh.lo; i < oh.hi; ++i)
    for (int64_t j = ow.lo; j < ow.hi; ++j) f(i * g.OW + j, i, j);
}

template <class T>
__global__ void max_pool_backward_kernel(const T* __restrict__ dy, const int32_t* __restrict__ argmax,
                                         T* __restrict__ dx, const Window2d g) {
  for_each_element(g.N * g.H * g.W * g.C, [&](int64_t e) {
    const NhwcIndex in = nhwc_index(e, g.H, g.W, g.C);
    const int64_t image = in.n * g.OH * g.OW * g.C + in.c;
    const int32_t pos = int32_t(in.row * g.W + in.col);
    T sum = 0;
    for_windows_containing(g, in.row, in.col, [&](int64_t p, int64_t, int64_t) {
      if (argmax[image + p * g.C] == pos) sum += dy[image + p * g.C];
    });
    dx[e] = sum;
  });
}

template <class T>
__global__ void avg_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, const Window2d g) {
  for_each_element(g.N * g.OH * g.OW * g.C, [&](int64_t e) {
    const NhwcIndex o = nhwc_index(e, g.OH, g.OW, g.C);
    const PoolWindow w(g, o.row, o.col);
    const T* image = x + o.n * g.H * g.W * g.C + o.c;
    T sum = 0;
    for (int64_t i = w.kh.lo; i < w.kh.hi; ++i)
      for (int64_t j = w.kw.lo; j < w.kw.hi; ++j) sum += image[((w.ih0 + i) * g.W + w.iw0 + j) * g.C];
    y[e] = sum * (T(1) / T(w.cells()));
  });
}

template <class T>
__global__ void avg_pool_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, const Window2d g) {
  for_each_element(g.N * g.H * g.W * g.C, [&](int64_t e) {
    const NhwcIndex in = nhwc_index(e, g.H, g.W, g.C);
    const T* dy_image = dy + in.n * g.OH * g.OW * g.C + in.c;
    T sum = 0;
    for_windows_containing(g, in.row, in.col, [&](int64_t p, int64_t oh, int64_t ow) {
      sum += dy_image[p * g.C] * (T(1) / T(PoolWindow(g, oh, ow).cells()));
    });
    dx[e] = sum;
  });
}

// Block (strip, image slot): channels of strip blockIdx.x of images
// blockIdx.y, blockIdx.y + gridDim.y, ... Thread (x, y) sums pixels y, y + 8,
// ... of its channel in order; strip_column_sum adds the 8 partial sums in a
// fixed tree.
template <class T>
__global__ void global_avg_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t N, int64_t HW,
                                               int64_t C) {
  __shared__ T partial[kStripRows][kStripColumns];
  const int64_t c = int64_t(blockIdx.x) * kStripColumns + threadIdx.x;
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {  // the same n for the whole block: barriers are safe
    T sum = 0;
    if (c < C)
      for (int64_t p = threadIdx.y; p < HW; p += kStripRows) sum += x[(n * HW + p) * C + c];
    sum = cuda::strip_column_sum(sum, partial);
    if (threadIdx.y == 0 && c < C) y[n * C + c] = sum * (T(1) / T(HW));
    __syncthreads();  // every thread has read the total before the next image overwrites partial
  }
}

template <class T>
__global__ void global_avg_pool_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, int64_t N, int64_t HW,
                                                int64_t C) {
  const T scale = T(1) / T(HW);
  for_each_element(N * HW * C, [&](int64_t e) { dx[e] = dy[e / (HW * C) * C + e % C] * scale; });
}

}  // namespace

template <class T>
void max_pool2d_forward(Cuda dev, const T* x, T* y, int32_t* argmax, const Window2d& g) {
  const int64_t n = g.N * g.OH * g.OW * g.C;
  launch(max_pool_forward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), x, y, argmax, g);
  FASTNN_CHECK_LAUNCH("max_pool2d_forward");
}

template <class T>
bool max_pool2d_backward(Cuda dev, const T* dy, const int32_t* argmax, T* dx, const Window2d& g) {
  const int64_t n = g.N * g.H * g.W * g.C;
  launch(max_pool_backward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), dy, argmax, dx,
         g);
  FASTNN_CHECK_LAUNCH("max_pool2d_backward");
  return false;
}

template <class T>
void avg_pool2d_forward(Cuda dev, const T* x, T* y, const Window2d& g) {
  const int64_t n = g.N * g.OH * g.OW * g.C;
  launch(avg_pool_forward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), x, y, g);
  FASTNN_CHECK_LAUNCH("avg_pool2d_forward");
}

template <class T>
void avg_pool2d_backward(Cuda dev, const T* dy, T* dx, const Window2d& g) {
  const int64_t n = g.N * g.H * g.W * g.C;
  launch(avg_pool_backward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), dy, dx, g);
  FASTNN_CHECK_LAUNCH("avg_pool2d_backward");
}

template <class T>
void global_avg_pool2d_forward(Cuda dev, const T* x, T* y, int64_t N, int64_t HW, int64_t C) {
  const dim3 grid(cuda::strip_grid(1, C, true).x, unsigned(std::min<int64_t>(N, 65535)));
  launch(global_avg_pool_forward_kernel<T>, grid, cuda::strip_block(), 0, cuda::stream_of(dev), x, y, N, HW, C);
  FASTNN_CHECK_LAUNCH("global_avg_pool2d_forward");
}

template <class T>
void global_avg_pool2d_backward(Cuda dev, const T* dy, T* dx, int64_t N, int64_t HW, int64_t C) {
  const int64_t n = N * HW * C;
  launch(global_avg_pool_backward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), dy, dx,
         N, HW, C);
  FASTNN_CHECK_LAUNCH("global_avg_pool2d_backward");
}

#define INSTANTIATE(T)                                                                       \
  template void max_pool2d_forward<T>(Cuda, const T*, T*, int32_t*, const Window2d&);        \
  template bool max_pool2d_backward<T>(Cuda, const T*, const int32_t*, T*, const Window2d&); \
  template void avg_pool2d_forward<T>(Cuda, const T*, T*, const Window2d&);                  \
  template void avg_pool2d_backward<T>(Cuda, const T*, T*, const Window2d&);                 \
  template void global_avg_pool2d_forward<T>(Cuda, const T*, T*, int64_t, int64_t, int64_t); \
  template void global_avg_pool2d_backward<T>(Cuda, const T*, T*, int64_t, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
