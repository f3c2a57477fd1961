// Softmax and fused softmax + cross-entropy on the CPU, one row per loop
// iteration. Every row subtracts its max before exp (log-sum-exp), so inputs
// of any magnitude neither overflow nor lose the loss to cancellation.
#include "../ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace fastnn {

constexpr int64_t kParallelMin = 1 << 14;

// y = exp(x - max) / sum; returns log(sum exp(x - max)), the row's
// log-sum-exp minus its max. The sum is kept in double: a confident row's
// loss is log(1 + tiny) and would otherwise round away in float32.
template <class T>
static double softmax_row(const T* x, T* y, T mx, int64_t C) {
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += (y[c] = std::exp(x[c] - mx));
  const T inv = T(1.0 / sum);
  for (int64_t c = 0; c < C; ++c) y[c] *= inv;
  return std::log(sum);
}

template <class T>
static T row_max(const T* x, int64_t C) {
  return *std::max_element(x, x + C);
}

template <class T>
void softmax_forward(Cpu, const T* x, T* y, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > kParallelMin)
  for (int64_t i = 0; i < M; ++i) softmax_row(x + i * C, y + i * C, row_max(x + i * C, C), C);
}

template <class T>
void softmax_backward(Cpu, const T* y, const T* dy, T* dx, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    const T *yr = y + i * C, *dyr = dy + i * C;
    T dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += dyr[c] * yr[c];
    T* dxr = dx + i * C;
    for (int64_t c = 0; c < C; ++c) dxr[c] = yr[c] * (dyr[c] - dot);
  }
}

template <class T, class Label>
void softmax_cross_entropy_forward(Cpu, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C) {
#pragma omp parallel for if (M * C > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    // loss = sum_c t_c (lse - z_c) with lse = mx + log_sum; z_c - mx is exact.
    const T* z = logits + i * C;
    const T mx = row_max(z, C);
    const double log_sum = softmax_row(z, probs + i * C, mx, C);
    if constexpr (std::is_integral_v<Label>) {
      loss[i] = T(log_sum - double(z[target[i]] - mx));
    } else {
      const T* t = target + i * C;
      double tz = 0, tsum = 0;
      for (int64_t c = 0; c < C; ++c) tz += double(t[c]) * double(z[c] - mx), tsum += t[c];
      loss[i] = T(tsum * log_sum - tz);
    }
  }
}

template <class T, class Label>
void softmax_cross_entropy_backward(Cpu, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C) {
#pragma omp parallel for if (M * C > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    const T* p = probs + i * C;
    T* d = dlogits + i * C;
    if constexpr (std::is_integral_v<Label>) {
      for (int64_t c = 0; c < C; ++c) d[c] = scale * p[c];
      d[target[i]] -= scale;
    } else {
      const T* t = target + i * C;
      T tsum = 0;
      for (int64_t c = 0; c < C; ++c) tsum += t[c];
      for (int64_t c = 0; c < C; ++c) d[c] = scale * (tsum * p[c] - t[c]);
    }
  }
}

#define INSTANTIATE_XENT(T, L)                                                                                   \
  template void softmax_cross_entropy_forward<T, L>(Cpu, const T*, const L*, T*, T*, int64_t, int64_t);         \
  template void softmax_cross_entropy_backward<T, L>(Cpu, const T*, const L*, T*, T, int64_t, int64_t);
#define INSTANTIATE(T)                                                                \
  template void softmax_forward<T>(Cpu, const T*, T*, int64_t, int64_t);             \
  template void softmax_backward<T>(Cpu, const T*, const T*, T*, int64_t, int64_t);  \
  INSTANTIATE_XENT(T, T)                                                              \
  INSTANTIATE_XENT(T, int32_t)                                                        \
  INSTANTIATE_XENT(T, int64_t)
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
