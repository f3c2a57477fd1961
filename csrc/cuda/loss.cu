// Element-wise losses on the GPU. Forward: one warp per
// row (common.cuh), the row sum accumulated in double as on the CPU, so
// float32 losses over wide rows stay exact. Backward: element-wise
// grid-stride loops; the categorical hinge runs one thread per row. The
// per-element terms come from common/loss_math.h.
#include "../ops/loss.h"

#include "../common/loss_math.h"
#include "common.cuh"

namespace fastnn {

using cuda::kWarp;

template <PointwiseLoss K, class T>
__global__ void pointwise_loss_forward_kernel(T param, const T* __restrict__ pred, const T* __restrict__ target,
                                              T* __restrict__ loss, int64_t M, int64_t F, double divisor) {
  cuda::for_each_row(M, [&](int64_t row, int lane) {
    double s = 0;
    for (int64_t j = row * F + lane; j < (row + 1) * F; j += kWarp)
      s += double(pointwise_loss<K>(pred[j], target[j], param));
    s = cuda::warp_sum(s);
    if (lane == 0) loss[row] = T(s / divisor);
  });
}

template <PointwiseLoss K, class T>
__global__ void pointwise_loss_backward_kernel(T param, const T* __restrict__ pred, const T* __restrict__ target,
                                               T* __restrict__ dpred, T k, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dpred[i] = k * pointwise_loss_grad<K>(pred[i], target[i], param);
}

template <class T>
__global__ void categorical_hinge_forward_kernel(const T* __restrict__ pred, const T* __restrict__ target,
                                                 T* __restrict__ loss, int64_t M, int64_t F) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M; i += int64_t(gridDim.x) * blockDim.x)
    loss[i] = categorical_hinge_row_loss(pred + i * F, target + i * F, F);
}

template <class T>
__global__ void categorical_hinge_backward_kernel(const T* __restrict__ pred, const T* __restrict__ target,
                                                  T* __restrict__ dpred, T scale, int64_t M, int64_t F) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M; i += int64_t(gridDim.x) * blockDim.x)
    categorical_hinge_row_grad(pred + i * F, target + i * F, F, scale, dpred + i * F);
}

template <class T>
void pointwise_loss_forward(Cuda dev, PointwiseLoss kind, T param, const T* pred, const T* target, T* loss, int64_t M,
                            int64_t F) {
  const double divisor = pointwise_loss_is_mean(kind) ? double(F) : 1.0;
  dispatch_pointwise_loss(kind, [&](auto k) {
    cuda::launch_rows("pointwise_loss_forward", dev, M, pointwise_loss_forward_kernel<decltype(k)::value, T>, param,
                      pred, target, loss, M, F, divisor);
  });
}

template <class T>
void pointwise_loss_backward(Cuda dev, PointwiseLoss kind, T param, const T* pred, const T* target, T* dpred, T scale,
                             int64_t M, int64_t F) {
  const int64_t n = M * F;
  const T k = pointwise_loss_is_mean(kind) ? scale / T(F) : scale;
  dispatch_pointwise_loss(kind, [&](auto kk) {
    launch(pointwise_loss_backward_kernel<decltype(kk)::value, T>, cuda::blocks_for(n), cuda::kThreads, 0,
           cuda::stream_of(dev), param, pred, target, dpred, k, n);
  });
  FASTNN_CHECK_LAUNCH("pointwise_loss_backward");
}

template <class T>
void categorical_hinge_forward(Cuda dev, const T* pred, const T* target, T* loss, int64_t M, int64_t F) {
  launch(categorical_hinge_forward_kernel<T>, cuda::blocks_for(M), cuda::kThreads, 0, cuda::stream_of(dev), pred,
         target, loss, M, F);
  FASTNN_CHECK_LAUNCH("categorical_hinge_forward");
}

template <class T>
void categorical_hinge_backward(Cuda dev, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F) {
  launch(categorical_hinge_backward_kernel<T>, cuda::blocks_for(M), cuda::kThreads, 0, cuda::stream_of(dev), pred,
         target, dpred, scale, M, F);
  FASTNN_CHECK_LAUNCH("categorical_hinge_backward");
}

#define INSTANTIATE(T)                                                                        \
  template void pointwise_loss_forward<T>(Cuda, PointwiseLoss, T, const T*, const T*, T*, int64_t, int64_t);   \
  template void pointwise_loss_backward<T>(Cuda, PointwiseLoss, T, const T*, const T*, T*, T, int64_t, int64_t); \
  template void categorical_hinge_forward<T>(Cuda, const T*, const T*, T*, int64_t, int64_t);                \
  template void categorical_hinge_backward<T>(Cuda, const T*, const T*, T*, T, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
