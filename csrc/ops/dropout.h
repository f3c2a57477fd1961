// Inverted dropout with a counter-based mask (see common/dropout_math.h for
// the exact keying): out = in * keep / (1 - p), keep a pure function of
// (seed, step, element index). Forward (in = x) and backward (in = dy) are
// the same map, so backward regenerates the mask instead of storing it.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// Element i of the arrays is element first + i of the stream (first: the
// array's position in a larger one, e.g. a rank's slice of a global batch).
// out[i] = in[i] * (keep(first + i) ? 1 / (1 - p) : 0) for 0 <= p < 1 (a dropped inf or
// nan gives nan, as x * mask does); out may alias in.
template <class T>
void dropout_apply(Cpu, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first);
template <class T>
void dropout_apply(Cuda, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first);

// mask[i] = keep(first + i) ? 1 : 0.
void dropout_mask(Cpu, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first);
void dropout_mask(Cuda, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first);

}  // namespace fastnn
