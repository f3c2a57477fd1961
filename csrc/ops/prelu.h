// Parametric ReLU with one learnable slope per channel (last axis):
// y = x for x > 0, alpha[c] x otherwise; x: (M, C) rows.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void prelu_forward(Cpu, const T* x, const T* alpha, T* y, int64_t M, int64_t C);
template <class T>
void prelu_forward(Cuda, const T* x, const T* alpha, T* y, int64_t M, int64_t C);

// dx = dy * (x > 0 ? 1 : alpha[c]) (dx may alias dy), dalpha[c] = sum over rows of dy * min(x, 0).
template <class T>
void prelu_backward(Cpu, const T* x, const T* alpha, const T* dy, T* dx, T* dalpha, int64_t M, int64_t C);
template <class T>
void prelu_backward(Cuda, const T* x, const T* alpha, const T* dy, T* dx, T* dalpha, int64_t M, int64_t C);

}  // namespace fastnn
