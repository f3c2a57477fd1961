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

}  // namespace fastnn
