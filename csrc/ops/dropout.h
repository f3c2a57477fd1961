// Inverted dropout with a counter-based mask (see common/dropout_math.h for
// the exact keying): out = in * keep / (1 - p), keep a pure function of
// (seed, step, element index). Forward (in = x) and backward (in = dy) are
// the same map, so backward regenerates the mask instead of storing it.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// out[i] = in[i] * (keep(i) ? 1 / (1 - p) : 0) for 0 <= p < 1 (a dropped inf or
// nan gives nan, as x * mask does); out may alias in.
template <class T>
void dropout_apply(Cpu, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step);
template <class T>
void dropout_apply(Cuda, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step);

// mask[i] = keep(i) ? 1 : 0.
void dropout_mask(Cpu, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step);
void dropout_mask(Cuda, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step);

}  // namespace fastnn
