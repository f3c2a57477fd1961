// Multiclass hinge loss on the GPU: one thread per row over the shared row
// math (rows are short: C is the number of classes).
#include "common.cuh"
#include "../common/hinge_math.h"
#include "../ops/hinge.h"

namespace fastnn {

template <class T, class Label>
__global__ void hinge_forward_kernel(const T* __restrict__ scores, const Label* __restrict__ target,
                                     T* __restrict__ loss, int64_t M, int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t y = target[i];
    // An index outside [0, C) (unchecked on the GPU) yields NaN, never a stray read.
    loss[i] = y >= 0 && y < C ? hinge_row_loss(scores + i * C, y, C) : T(NAN);
  }
}

template <class T, class Label>
__global__ void hinge_backward_kernel(const T* __restrict__ scores, const Label* __restrict__ target,
                                      T* __restrict__ dscores, T scale, int64_t M, int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t y = target[i];
    if (y >= 0 && y < C) {
      hinge_row_grad(scores + i * C, y, C, scale, dscores + i * C);
    } else {
      for (int64_t j = 0; j < C; ++j) dscores[i * C + j] = T(NAN);
    }
  }
}

template <class T, class Label>
void hinge_forward(Cuda dev, const T* scores, const Label* target, T* loss, int64_t M, int64_t C) {
  launch(hinge_forward_kernel<T, Label>, cuda::blocks_for(M), cuda::kThreads, 0, cuda::stream_of(dev), scores, target,
         loss, M, C);
  FASTNN_CHECK_LAUNCH("hinge_forward");
}

template <class T, class Label>
void hinge_backward(Cuda dev, const T* scores, const Label* target, T* dscores, T scale, int64_t M, int64_t C) {
  launch(hinge_backward_kernel<T, Label>, cuda::blocks_for(M), cuda::kThreads, 0, cuda::stream_of(dev), scores,
         target, dscores, scale, M, C);
  FASTNN_CHECK_LAUNCH("hinge_backward");
}

FASTNN_INSTANTIATE_HINGE(Cuda)

}  // namespace fastnn
