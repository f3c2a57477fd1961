// Fused optimizer update on the GPU: ONE launch per call, a grid-stride loop
// over the flat parameter range calling optimizer_step<K> from
// common/optimizer_math.h, the rule the CPU loop uses. The kernel is
// instantiated per optimizer (as csrc/cpu/optimizer.cpp), so each body is
// branch-free and touches only the state arrays its optimizer keeps. The
// weights' moving average, one element-wise launch. And the max-norm
// projection, with column norms summed in a fixed order.
#include "../ops/optimizer.h"

#include <cmath>

#include "common.cuh"

namespace fastnn {

using cuda::kStripColumns;
using cuda::kStripRows;

template <Optimizer K, class T>
__global__ void optimizer_update_kernel(StepParams<T> p, T* __restrict__ w, const T* __restrict__ g,
                                        T* __restrict__ s1, T* __restrict__ s2, int64_t n) {
  constexpr int states = optimizer_state_count(K);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    // Registers in, registers out: state arrays an optimizer does not keep
    // are neither read nor written (they may be null).
    T wi = w[i], a = states >= 1 ? s1[i] : T(0), b = states >= 2 ? s2[i] : T(0);
    optimizer_step<K>(p, wi, g[i], a, b);
    w[i] = wi;
    if constexpr (states >= 1) s1[i] = a;
    if constexpr (states >= 2) s2[i] = b;
  }
}

template <Optimizer K, class T>
static void update(Cuda dev, const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n) {
  launch(optimizer_update_kernel<K, T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), p, w, g, s1, s2,
         n);
}

template <class T>
void optimizer_update(Cuda dev, Optimizer kind, const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n) {
  dispatch_optimizer(kind, [&](auto k) { update<decltype(k)::value>(dev, p, w, g, s1, s2, n); });
  FASTNN_CHECK_LAUNCH("optimizer_update");
}

template <class T>
__global__ void ema_update_kernel(T* __restrict__ average, const T* __restrict__ w, T decay, T one_minus_decay,
                                  int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    average[i] = ema_step(average[i], w[i], decay, one_minus_decay);
}

template <class T>
void ema_update(Cuda dev, T* average, const T* w, double decay, int64_t n) {
  launch(ema_update_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), average, w, T(decay),
         T(1 - decay), n);
  FASTNN_CHECK_LAUNCH("ema_update");
}

// One block per 32-column strip (common.cuh) holds every row of its columns,
// so it can sum each column's squares (in double, as the CPU) in a fixed
// order, then scale the same column: one kernel, no workspace.
template <class T>
__global__ void max_norm_project_kernel(T* w, int64_t rows, int64_t cols, T max_norm) {
  __shared__ double partial[kStripRows][kStripColumns];
  const int64_t c = int64_t(blockIdx.x) * kStripColumns + threadIdx.x;
  double sq = 0;
  if (c < cols)
    for (int64_t r = threadIdx.y; r < rows; r += kStripRows) sq += double(w[r * cols + c]) * double(w[r * cols + c]);
  const double norm = sqrt(cuda::strip_column_sum(sq, partial));
  if (c >= cols || !(norm > double(max_norm))) return;  // within the norm: scaled by 1, left alone
  const T scale = T(double(max_norm) / norm);
  for (int64_t r = threadIdx.y; r < rows; r += kStripRows) w[r * cols + c] *= scale;
}

template <class T>
void max_norm_project(Cuda dev, T* w, int64_t rows, int64_t cols, T max_norm) {
  launch(max_norm_project_kernel<T>, cuda::strip_grid(rows, cols, true), cuda::strip_block(), 0, cuda::stream_of(dev),
         w, rows, cols, max_norm);
  FASTNN_CHECK_LAUNCH("max_norm_project");
}

template void optimizer_update<float>(Cuda, Optimizer, const StepParams<float>&, float*, const float*, float*, float*,
                                      int64_t);
template void optimizer_update<double>(Cuda, Optimizer, const StepParams<double>&, double*, const double*, double*,
                                       double*, int64_t);
template void ema_update<float>(Cuda, float*, const float*, double, int64_t);
template void ema_update<double>(Cuda, double*, const double*, double, int64_t);
template void max_norm_project<float>(Cuda, float*, int64_t, int64_t, float);
template void max_norm_project<double>(Cuda, double*, int64_t, int64_t, double);

}  // namespace fastnn
