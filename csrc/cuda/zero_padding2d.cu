// ZeroPadding2D on the GPU: one thread per output element in a grid-stride
// loop, reading its source through the shared index maps
// (common/zero_padding2d_math.h); consecutive threads touch consecutive
// channels, so reads and writes coalesce.
#include "../ops/zero_padding2d.h"

#include "common.cuh"

namespace fastnn {

template <class T>
__global__ void zero_padding2d_forward_kernel(Padding2d p, const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t s = zero_padding2d_source(p, o);
    y[o] = s < 0 ? T(0) : x[s];
  }
}

template <class T>
__global__ void zero_padding2d_backward_kernel(Padding2d p, const T* __restrict__ dy, T* __restrict__ dx, int64_t n) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x)
    dx[o] = dy[zero_padding2d_grad_source(p, o)];
}

template <class T>
void zero_padding2d_forward(Cuda dev, const Padding2d& p, const T* x, T* y) {
  const int64_t n = p.N * p.out_h() * p.out_w() * p.C;
  if (n == 0) return;
  launch(zero_padding2d_forward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), p, x, y, n);
  FASTNN_CHECK_LAUNCH("zero_padding2d_forward");
}

template <class T>
void zero_padding2d_backward(Cuda dev, const Padding2d& p, const T* dy, T* dx) {
  const int64_t n = p.N * p.H * p.W * p.C;
  if (n == 0) return;
  launch(zero_padding2d_backward_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), p, dy, dx,
         n);
  FASTNN_CHECK_LAUNCH("zero_padding2d_backward");
}

template void zero_padding2d_forward<float>(Cuda, const Padding2d&, const float*, float*);
template void zero_padding2d_forward<double>(Cuda, const Padding2d&, const double*, double*);
template void zero_padding2d_backward<float>(Cuda, const Padding2d&, const float*, float*);
template void zero_padding2d_backward<double>(Cuda, const Padding2d&, const double*, double*);

}  // namespace fastnn
