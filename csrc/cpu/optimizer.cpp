// Fused optimizer updates on the CPU. The loop is instantiated per optimizer
// so each body is branch-free and vectorizes; it streams w, g and the state
// once, so it runs at memory bandwidth. The weights' moving average is one
// such pass too.
#include "../ops/optimizer.h"

#include <cmath>
#include <vector>

#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {

// One thread's share [lo, hi) of the range, compiled for AVX2 as well as
// baseline x86-64 (simd_clones.h): Adam's sqrt and division make the loop
// compute-bound with SSE2 alone.
template <Optimizer K, class T>
FASTNN_SIMD_CLONES_AVX512 void update_range(const StepParams<T>& p, T* __restrict__ w, const T* __restrict__ g,
                                     T* __restrict__ s1, T* __restrict__ s2, int64_t lo, int64_t hi) {
  constexpr int states = optimizer_state_count(K);
  if constexpr (states == 2) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) optimizer_step<K>(p, w[i], g[i], s1[i], s2[i]);
  } else {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) {
      T unused = 0;
      optimizer_step<K>(p, w[i], g[i], states == 1 ? s1[i] : unused, unused);
    }
  }
}

template <Optimizer K, class T>
static void update_loop(const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n) {
  cpu::for_ranges(n, n, [&](int64_t lo, int64_t hi) { update_range<K>(p, w, g, s1, s2, lo, hi); });
}

template <class T>
void optimizer_update(Cpu, Optimizer kind, const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n) {
  dispatch_optimizer(kind, [&](auto k) { update_loop<decltype(k)::value>(p, w, g, s1, s2, n); });
}

template <class T>
FASTNN_SIMD_CLONES void ema_range(T* __restrict__ average, const T* __restrict__ w, T decay, T one_minus_decay,
                                  int64_t lo, int64_t hi) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) average[i] = ema_step(average[i], w[i], decay, one_minus_decay);
}

template <class T>
void ema_update(Cpu, T* average, const T* w, double decay, int64_t n) {
  const T d = T(decay), rest = T(1 - decay);
  cpu::for_ranges(n, n, [&](int64_t lo, int64_t hi) { ema_range(average, w, d, rest, lo, hi); });
}

template <class T>
void max_norm_project(Cpu, T* w, int64_t rows, int64_t cols, T max_norm) {
  std::vector<double> sq(cols, 0.0);  // one small vector per call, not per element
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) sq[c] += double(w[r * cols + c]) * double(w[r * cols + c]);
  std::vector<T> scale(cols);
  for (int64_t c = 0; c < cols; ++c) {
    const double norm = std::sqrt(sq[c]);
    scale[c] = norm > double(max_norm) ? T(double(max_norm) / norm) : T(1);
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) w[r * cols + c] *= scale[c];
}

template void optimizer_update<float>(Cpu, Optimizer, const StepParams<float>&, float*, const float*, float*, float*,
                                      int64_t);
template void optimizer_update<double>(Cpu, Optimizer, const StepParams<double>&, double*, const double*, double*,
                                       double*, int64_t);
template void ema_update<float>(Cpu, float*, const float*, double, int64_t);
template void ema_update<double>(Cpu, double*, const double*, double, int64_t);
template void max_norm_project<float>(Cpu, float*, int64_t, int64_t, float);
template void max_norm_project<double>(Cpu, double*, int64_t, int64_t, double);

}  // namespace fastnn
