// Activations on the CPU: a parallel loop over activate()/activate_backprop()
// from common/activation_math.h, the math the CUDA kernels share.
#include "../ops/activation.h"

#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {

// One loop per activation K (a template parameter), with plain pointer
// arguments, so the compiler sees straight-line code it can vectorize; each
// thread runs one range through the best SIMD clone for the CPU.
template <Activation K, class T>
FASTNN_SIMD_CLONES_AVX512 void forward_range(T alpha, const T* __restrict__ z, T* __restrict__ a, int64_t lo, int64_t hi) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) a[i] = activate<K>(z[i], alpha);
}

template <Activation K, class T>
FASTNN_SIMD_CLONES_AVX512 void backward_range(T alpha, const T* __restrict__ z, const T* __restrict__ a, const T* da, T* dz,
                                       int64_t lo, int64_t hi) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) dz[i] = activate_backprop<K>(da[i], z[i], a[i], alpha);
}

template <class T>
void activation_forward(Cpu, Activation kind, T alpha, const T* z, T* a, int64_t n) {
  dispatch_activation(kind, [&](auto k) {
    cpu::for_ranges(n, n, [&](int64_t lo, int64_t hi) { forward_range<k.value>(alpha, z, a, lo, hi); });
  });
}

template <class T>
void activation_backward(Cpu, Activation kind, T alpha, const T* z, const T* a, const T* da, T* dz, int64_t n) {
  dispatch_activation(kind, [&](auto k) {
    cpu::for_ranges(n, n, [&](int64_t lo, int64_t hi) { backward_range<k.value>(alpha, z, a, da, dz, lo, hi); });
  });
}

template void activation_forward<float>(Cpu, Activation, float, const float*, float*, int64_t);
template void activation_forward<double>(Cpu, Activation, double, const double*, double*, int64_t);
template void activation_backward<float>(Cpu, Activation, float, const float*, const float*, const float*, float*,
                                         int64_t);
template void activation_backward<double>(Cpu, Activation, double, const double*, const double*, const double*,
                                          double*, int64_t);

}  // namespace fastnn
