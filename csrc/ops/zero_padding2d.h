// ZeroPadding2D on channels-last arrays: forward pads x (N, H, W, C) with
// zero rows/columns into y (N, H + top + bottom, W + left + right, C);
// backward crops dy back to dx (N, H, W, C).
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/zero_padding2d_math.h"

namespace fastnn {

template <class T>
void zero_padding2d_forward(Cpu, const Padding2d& p, const T* x, T* y);
template <class T>
void zero_padding2d_forward(Cuda, const Padding2d& p, const T* x, T* y);
template <class T>
void zero_padding2d_backward(Cpu, const Padding2d& p, const T* dy, T* dx);
template <class T>
void zero_padding2d_backward(Cuda, const Padding2d& p, const T* dy, T* dx);

}  // namespace fastnn
