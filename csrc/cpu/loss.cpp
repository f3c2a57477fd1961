// Element-wise losses on the CPU: one row per iteration, row sums
// accumulated in double so float32 losses over wide rows stay exact.
#include "../ops/loss.h"

#include "../common/loss_math.h"
#include "parallel.h"

namespace fastnn {

using cpu::kParallelMin;

template <class T>
void pointwise_loss_forward(Cpu, PointwiseLoss kind, T param, const T* pred, const T* target, T* loss, int64_t M,
                            int64_t F) {
  const double divisor = pointwise_loss_is_mean(kind) ? double(F) : 1.0;
  dispatch_pointwise_loss(kind, [&](auto k) {
    constexpr PointwiseLoss K = decltype(k)::value;
#pragma omp parallel for if (M * F > kParallelMin)
    for (int64_t i = 0; i < M; ++i) {
      double s = 0;
      for (int64_t j = i * F; j < (i + 1) * F; ++j) s += double(pointwise_loss<K>(pred[j], target[j], param));
      loss[i] = T(s / divisor);
    }
  });
}

template <class T>
void pointwise_loss_backward(Cpu, PointwiseLoss kind, T param, const T* pred, const T* target, T* dpred, T scale,
                             int64_t M, int64_t F) {
  const T k = pointwise_loss_is_mean(kind) ? scale / T(F) : scale;
  dispatch_pointwise_loss(kind, [&](auto kk) {
    constexpr PointwiseLoss K = decltype(kk)::value;
#pragma omp parallel for simd if (M * F > kParallelMin)
    for (int64_t j = 0; j < M * F; ++j) dpred[j] = k * pointwise_loss_grad<K>(pred[j], target[j], param);
  });
}

template <class T>
void categorical_hinge_forward(Cpu, const T* pred, const T* target, T* loss, int64_t M, int64_t F) {
#pragma omp parallel for if (M * F > kParallelMin)
  for (int64_t i = 0; i < M; ++i) loss[i] = categorical_hinge_row_loss(pred + i * F, target + i * F, F);
}

template <class T>
void categorical_hinge_backward(Cpu, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F) {
#pragma omp parallel for if (M * F > kParallelMin)
  for (int64_t i = 0; i < M; ++i) categorical_hinge_row_grad(pred + i * F, target + i * F, F, scale, dpred + i * F);
}

#define INSTANTIATE(T)                                                                       \
  template void pointwise_loss_forward<T>(Cpu, PointwiseLoss, T, const T*, const T*, T*, int64_t, int64_t);  \
  template void pointwise_loss_backward<T>(Cpu, PointwiseLoss, T, const T*, const T*, T*, T, int64_t, int64_t); \
  template void categorical_hinge_forward<T>(Cpu, const T*, const T*, T*, int64_t, int64_t);               \
  template void categorical_hinge_backward<T>(Cpu, const T*, const T*, T*, T, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
