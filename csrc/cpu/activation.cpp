// Activations on the CPU: a parallel loop over activate()/activate_grad()
// from common/activation_math.h, the math the CUDA kernels share.
#include "../ops/activation.h"


namespace fastnn {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// One loop per activation K (a template parameter), with plain pointer
// arguments, so the compiler sees straight-line code it can vectorize.
template <Activation K, class T>
static void forward_loop(T alpha, const T* __restrict__ z, T* __restrict__ a, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) a[i] = activate<K>(z[i], alpha);
}

template <Activation K, class T>
static void backward_loop(T alpha, const T* __restrict__ z, const T* __restrict__ a, const T* da, T* dz, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) dz[i] = da[i] * activate_grad<K>(z[i], a[i], alpha);
}

template <class T>
void activation_forward(Cpu, Activation kind, T alpha, const T* z, T* a, int64_t n) {
  dispatch_activation(kind, [&](auto k) { forward_loop<k.value>(alpha, z, a, n); });
}

template <class T>
void activation_backward(Cpu, Activation kind, T alpha, const T* z, const T* a, const T* da, T* dz, int64_t n) {
  dispatch_activation(kind, [&](auto k) { backward_loop<k.value>(alpha, z, a, da, dz, n); });
}

template void activation_forward<float>(Cpu, Activation, float, const float*, float*, int64_t);
template void activation_forward<double>(Cpu, Activation, double, const double*, double*, int64_t);
template void activation_backward<float>(Cpu, Activation, float, const float*, const float*, const float*, float*,
                                         int64_t);
template void activation_backward<double>(Cpu, Activation, double, const double*, const double*, const double*,
                                          double*, int64_t);

}  // namespace fastnn
