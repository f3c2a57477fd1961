// SpatialDropout2D on channels-last (N, H, W, C) arrays viewed as (N, HW, C):
// out = in * keep(n, c) / (1 - p), keep a pure function of (seed, step,
// n * C + c) (common/spatial_dropout_math.h). Forward (in = x) and backward
// (in = dy) are the same map; out may alias in.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void spatial_dropout_apply(Cpu, const T* in, T* out, int64_t N, int64_t HW, int64_t C, double p, uint64_t seed,
                           uint64_t step);
template <class T>
void spatial_dropout_apply(Cuda, const T* in, T* out, int64_t N, int64_t HW, int64_t C, double p, uint64_t seed,
                           uint64_t step);

}  // namespace fastnn
