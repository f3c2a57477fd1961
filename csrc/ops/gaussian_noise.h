// Additive Gaussian noise keyed by (seed, step, element index) (see
// common/gaussian_noise_math.h for the exact keying): y = x + stddev * z.
// The gradient passes through unchanged, so there is no backward kernel.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// y[i] = x[i] + stddev * z(seed, step, i) for stddev >= 0; y may alias x.
template <class T>
void gaussian_noise_add(Cpu, const T* x, T* y, int64_t n, double stddev, uint64_t seed, uint64_t step);
template <class T>
void gaussian_noise_add(Cuda, const T* x, T* y, int64_t n, double stddev, uint64_t seed, uint64_t step);

}  // namespace fastnn
