// Element-wise activations on the GPU: a grid-stride loop per activation,
// the per-element math from common/activation_math.h shared with the CPU.
#include "common.cuh"
#include "../ops/activation.h"

namespace fastnn {

template <Activation K, class T>
__global__ void activation_forward_kernel(T alpha, const T* __restrict__ z, T* __restrict__ a, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a[i] = activate<K>(z[i], alpha);
}

template <Activation K, class T>
__global__ void activation_backward_kernel(T alpha, const T* __restrict__ z, const T* __restrict__ a, const T* da,
                                           T* dz, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dz[i] = activate_backprop<K>(da[i], z[i], a[i], alpha);
}

template <class T>
void activation_forward(Cuda dev, Activation kind, T alpha, const T* z, T* a, int64_t n) {
  dispatch_activation(kind, [&](auto k) {
    launch(activation_forward_kernel<k.value, T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), alpha,
           z, a, n);
  });
  FASTNN_CHECK_LAUNCH("activation_forward");
}

template <class T>
void activation_backward(Cuda dev, Activation kind, T alpha, const T* z, const T* a, const T* da, T* dz, int64_t n) {
  dispatch_activation(kind, [&](auto k) {
    launch(activation_backward_kernel<k.value, T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev),
           alpha, z, a, da, dz, n);
  });
  FASTNN_CHECK_LAUNCH("activation_backward");
}

template void activation_forward<float>(Cuda, Activation, float, const float*, float*, int64_t);
template void activation_forward<double>(Cuda, Activation, double, const double*, double*, int64_t);
template void activation_backward<float>(Cuda, Activation, float, const float*, const float*, const float*, float*,
                                         int64_t);
template void activation_backward<double>(Cuda, Activation, double, const double*, const double*, const double*,
                                          double*, int64_t);

}  // namespace fastnn
