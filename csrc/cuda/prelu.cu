// PReLU on the GPU: an element-wise kernel for y and dx, and one block per
// channel for the slope gradient, reduced by a fixed tree (deterministic).
#include "common.cuh"
#include "../common/activation_math.h"
#include "../ops/prelu.h"

namespace fastnn {

template <class T>
__global__ void prelu_forward_kernel(const T* __restrict__ x, const T* __restrict__ alpha, T* __restrict__ y,
                                     int64_t n, int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = activate<Activation::LeakyRelu>(x[i], alpha[i % C]);
}

template <class T>
__global__ void prelu_dx_kernel(const T* __restrict__ x, const T* __restrict__ alpha, const T* dy, T* dx, int64_t n,
                                int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = activate_backprop<Activation::LeakyRelu>(dy[i], x[i], x[i], alpha[i % C]);
}

// Block c sums dy * min(x, 0) down column c: each thread strides over rows,
// then a shared-memory tree halves the partial sums in a fixed order.
template <class T>
__global__ void prelu_dalpha_kernel(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dalpha,
                                    int64_t M, int64_t C) {
  __shared__ double partial[cuda::kThreads];
  const int64_t c = blockIdx.x;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    const T xv = x[i * C + c];
    if (!(xv > T(0))) sum += double(dy[i * C + c]) * double(xv);  // a NaN x counts, as on the CPU
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) dalpha[c] = T(partial[0]);
}

template <class T>
void prelu_forward(Cuda dev, const T* x, const T* alpha, T* y, int64_t M, int64_t C) {
  launch(prelu_forward_kernel<T>, cuda::blocks_for(M * C), cuda::kThreads, 0, cuda::stream_of(dev), x, alpha, y,
         M * C, C);
  FASTNN_CHECK_LAUNCH("prelu_forward");
}

template <class T>
void prelu_backward(Cuda dev, const T* x, const T* alpha, const T* dy, T* dx, T* dalpha, int64_t M, int64_t C) {
  // dalpha first: dx may overwrite dy.
  launch(prelu_dalpha_kernel<T>, unsigned(C), cuda::kThreads, 0, cuda::stream_of(dev), x, dy, dalpha, M, C);
  FASTNN_CHECK_LAUNCH("prelu_backward (dalpha)");
  launch(prelu_dx_kernel<T>, cuda::blocks_for(M * C), cuda::kThreads, 0, cuda::stream_of(dev), x, alpha, dy, dx,
         M * C, C);
  FASTNN_CHECK_LAUNCH("prelu_backward (dx)");
}

template void prelu_forward<float>(Cuda, const float*, const float*, float*, int64_t, int64_t);
template void prelu_forward<double>(Cuda, const double*, const double*, double*, int64_t, int64_t);
template void prelu_backward<float>(Cuda, const float*, const float*, const float*, float*, float*, int64_t, int64_t);
template void prelu_backward<double>(Cuda, const double*, const double*, const double*, double*, double*, int64_t,
                                     int64_t);

}  // namespace fastnn
