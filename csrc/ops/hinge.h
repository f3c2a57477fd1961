// Multiclass SVM (hinge) loss on (M, C) scores against class indices
// (common/hinge_math.h). Forward writes the per-sample loss; backward the
// gradient of scale * sum(loss).
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T, class Label>
void hinge_forward(Cpu, const T* scores, const Label* target, T* loss, int64_t M, int64_t C);
template <class T, class Label>
void hinge_forward(Cuda, const T* scores, const Label* target, T* loss, int64_t M, int64_t C);
template <class T, class Label>
void hinge_backward(Cpu, const T* scores, const Label* target, T* dscores, T scale, int64_t M, int64_t C);
template <class T, class Label>
void hinge_backward(Cuda, const T* scores, const Label* target, T* dscores, T scale, int64_t M, int64_t C);

// The explicit instantiations each backend's definitions provide.
#define FASTNN_INSTANTIATE_HINGE_TYPES(Dev, T, L)                                            \
  template void hinge_forward<T, L>(Dev, const T*, const L*, T*, int64_t, int64_t);          \
  template void hinge_backward<T, L>(Dev, const T*, const L*, T*, T, int64_t, int64_t);
#define FASTNN_INSTANTIATE_HINGE(Dev)                    \
  FASTNN_INSTANTIATE_HINGE_TYPES(Dev, float, int32_t)  \
  FASTNN_INSTANTIATE_HINGE_TYPES(Dev, float, int64_t)  \
  FASTNN_INSTANTIATE_HINGE_TYPES(Dev, double, int32_t) \
  FASTNN_INSTANTIATE_HINGE_TYPES(Dev, double, int64_t)

}  // namespace fastnn
