// Rescaling (Keras' preprocessing layer): out[i] = in[i] * scale + offset over
// n elements; out may alias in. The backward pass is the same map with offset 0.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void rescaling_apply(Cpu, const T* in, T* out, int64_t n, T scale, T offset);
template <class T>
void rescaling_apply(Cuda, const T* in, T* out, int64_t n, T scale, T offset);

}  // namespace fastnn
