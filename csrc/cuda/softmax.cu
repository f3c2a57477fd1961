// Softmax and fused softmax + cross-entropy on the GPU, one warp per row
// (common.cuh): lanes stride over the row's columns, and the row max and
// sums are combined with warp shuffles. The math follows csrc/cpu/softmax.cpp
// step for step: the max is subtracted before exp (log-sum-exp), and the
// exp sum is kept in double, since a confident row's loss is log(1 + tiny).
#include "../ops/softmax.h"

#include <cmath>
#include <type_traits>

#include "common.cuh"

namespace fastnn {

using cuda::kWarp;

template <class T>
__device__ T row_max(const T* x, int64_t C, int lane) {
  T mx = x[0];
  for (int64_t c = lane; c < C; c += kWarp) mx = x[c] > mx ? x[c] : mx;
  return cuda::warp_max(mx);
}

// y = exp(x - mx) / sum; returns log(sum), the row's log-sum-exp minus mx.
// Each lane rescales the entries it wrote itself: no barrier needed.
template <class T>
__device__ double softmax_row(const T* x, T* y, T mx, int64_t C, int lane) {
  double sum = 0;
  for (int64_t c = lane; c < C; c += kWarp) {
    const T e = exp(x[c] - mx);
    y[c] = e;
    sum += e;
  }
  sum = cuda::warp_sum(sum);
  const T inv = T(1.0 / sum);
  for (int64_t c = lane; c < C; c += kWarp) y[c] *= inv;
  return log(sum);
}

template <class T>
__global__ void softmax_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t M, int64_t C) {
  cuda::for_each_row(M, [&](int64_t row, int lane) {
    const T* xr = x + row * C;
    softmax_row(xr, y + row * C, row_max(xr, C, lane), C, lane);
  });
}

template <class T>
__global__ void softmax_backward_kernel(const T* __restrict__ y, const T* dy, T* dx, int64_t M, int64_t C) {
  cuda::for_each_row(M, [&](int64_t row, int lane) {
    const T *yr = y + row * C, *dyr = dy + row * C;
    T dot = 0;
    for (int64_t c = lane; c < C; c += kWarp) dot += dyr[c] * yr[c];
    dot = cuda::warp_sum(dot);
    // Every lane has read its dy entries before writing dx (dx may be dy).
    T* dxr = dx + row * C;
    for (int64_t c = lane; c < C; c += kWarp) dxr[c] = yr[c] * (dyr[c] - dot);
  });
}

// The bindings check class indices where they can read them (host memory);
// on the GPU an index outside [0, C) makes the row's loss (and gradient) NaN
// instead of reading outside the row.
template <class Label>
__device__ __forceinline__ bool valid_class(Label t, int64_t C) {
  return t >= 0 && int64_t(t) < C;
}

template <class T, class Label>
__global__ void softmax_cross_entropy_forward_kernel(const T* __restrict__ logits, const Label* __restrict__ target,
                                                     T* __restrict__ probs, T* __restrict__ loss, int64_t M,
                                                     int64_t C) {
  cuda::for_each_row(M, [&](int64_t row, int lane) {
    // loss = sum_c t_c (lse - z_c) with lse = mx + log_sum; z_c - mx is exact.
    const T* z = logits + row * C;
    const T mx = row_max(z, C, lane);
    const double log_sum = softmax_row(z, probs + row * C, mx, C, lane);
    if constexpr (std::is_integral_v<Label>) {
      if (lane == 0) {
        const Label t = target[row];
        loss[row] = valid_class(t, C) ? T(log_sum - double(z[t] - mx)) : T(nan(""));
      }
    } else {
      const T* t = target + row * C;
      double tz = 0, tsum = 0;
      for (int64_t c = lane; c < C; c += kWarp) {
        tz += double(t[c]) * double(z[c] - mx);
        tsum += t[c];
      }
      tz = cuda::warp_sum(tz);
      tsum = cuda::warp_sum(tsum);
      if (lane == 0) loss[row] = T(tsum * log_sum - tz);
    }
  });
}

template <class T, class Label>
__global__ void softmax_cross_entropy_backward_kernel(const T* __restrict__ probs, const Label* __restrict__ target,
                                                      T* __restrict__ dlogits, T scale, int64_t M, int64_t C) {
  cuda::for_each_row(M, [&](int64_t row, int lane) {
    const T* p = probs + row * C;
    T* d = dlogits + row * C;
    if constexpr (std::is_integral_v<Label>) {
      const Label t = target[row];
      const T poison = valid_class(t, C) ? T(0) : T(nan(""));
      for (int64_t c = lane; c < C; c += kWarp) {
        T v = scale * p[c];
        if (c == int64_t(t)) v -= scale;
        d[c] = v + poison;
      }
    } else {
      const T* t = target + row * C;
      T tsum = 0;
      for (int64_t c = lane; c < C; c += kWarp) tsum += t[c];
      tsum = cuda::warp_sum(tsum);
      for (int64_t c = lane; c < C; c += kWarp) d[c] = scale * (tsum * p[c] - t[c]);
    }
  });
}

template <class T>
void softmax_forward(Cuda dev, const T* x, T* y, int64_t M, int64_t C) {
  cuda::launch_rows("softmax_forward", dev, M, softmax_forward_kernel<T>, x, y, M, C);
}

template <class T>
void softmax_backward(Cuda dev, const T* y, const T* dy, T* dx, int64_t M, int64_t C) {
  cuda::launch_rows("softmax_backward", dev, M, softmax_backward_kernel<T>, y, dy, dx, M, C);
}

template <class T, class Label>
void softmax_cross_entropy_forward(Cuda dev, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C) {
  cuda::launch_rows("softmax_cross_entropy_forward", dev, M, softmax_cross_entropy_forward_kernel<T, Label>, logits,
              target, probs, loss, M, C);
}

template <class T, class Label>
void softmax_cross_entropy_backward(Cuda dev, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C) {
  cuda::launch_rows("softmax_cross_entropy_backward", dev, M, softmax_cross_entropy_backward_kernel<T, Label>, probs,
              target, dlogits, scale, M, C);
}

#define INSTANTIATE_XENT(T, L)                                                                                   \
  template void softmax_cross_entropy_forward<T, L>(Cuda, const T*, const L*, T*, T*, int64_t, int64_t);        \
  template void softmax_cross_entropy_backward<T, L>(Cuda, const T*, const L*, T*, T, int64_t, int64_t);
#define INSTANTIATE(T)                                                                 \
  template void softmax_forward<T>(Cuda, const T*, T*, int64_t, int64_t);             \
  template void softmax_backward<T>(Cuda, const T*, const T*, T*, int64_t, int64_t);  \
  INSTANTIATE_XENT(T, T)                                                               \
  INSTANTIATE_XENT(T, int32_t)                                                         \
  INSTANTIATE_XENT(T, int64_t)
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
