// Softmax and fused softmax + cross-entropy on the CPU, one row per loop
// iteration. Every row subtracts its max before exp (log-sum-exp), so inputs
// of any magnitude neither overflow nor lose the loss to cancellation.
#include "../ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace fastnn {

constexpr int64_t kParallelMin = 1 << 14;

// y = exp(x - max) / sum; returns log(sum exp(x)) of the row.
template <class T>
static T softmax_row(const T* x, T* y, int64_t C) {
  const T mx = *std::max_element(x, x + C);
  T sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += (y[c] = std::exp(x[c] - mx));
  const T inv = T(1) / sum;
  for (int64_t c = 0; c < C; ++c) y[c] *= inv;
  return mx + std::log(sum);
}

template <class T>
void softmax_forward(Cpu, const T* x, T* y, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > kParallelMin)
  for (int64_t i = 0; i < M; ++i) softmax_row(x + i * C, y + i * C, C);
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
    const T* z = logits + i * C;
    const T lse = softmax_row(z, probs + i * C, C);
    if constexpr (std::is_integral_v<Label>) {
      loss[i] = lse - z[target[i]];
    } else {
      const T* t = target + i * C;
      T tz = 0, tsum = 0;
      for (int64_t c = 0; c < C; ++c) tz += t[c] * z[c], tsum += t[c];
      loss[i] = tsum * lse - tz;
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
