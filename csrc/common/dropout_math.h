// Dropout's keep mask: a pure function of (seed, step, element index), so the
// CPU loops and the CUDA kernels draw the identical mask, and the backward
// pass regenerates it instead of storing it. The keying (philox_stream), exactly:
//
//   g       = index / 4                   (one Philox call serves 4 elements)
//   key     = (seed mod 2^32, seed / 2^32)
//   counter = (g mod 2^32, g / 2^32, step mod 2^32, step / 2^32)
//   bits    = philox4x32_10(counter, key)[index mod 4]
//   keep    = (bits >> 8) >= threshold,   threshold = ceil(p * 2^24)
//
// that is, keep iff u >= p for u = (bits >> 8) * 2^-24, uniform on [0, 1) in
// steps of 2^-24, decided by an integer compare so every device agrees.
// Kept units are scaled by 1 / (1 - p) (inverted dropout).
#pragma once
#include <cmath>
#include <cstdint>

#include "philox.h"

namespace fastnn {

// ceil(p * 2^24) for 0 <= p < 1, in [0, 2^24]; p * 2^24 is exact in double.
FASTNN_HD inline uint32_t dropout_threshold(double p) {
  return uint32_t(ceil(p * 16777216.0));
}

FASTNN_HD inline bool dropout_keep(uint32_t bits, uint32_t threshold) {
  return (bits >> 8) >= threshold;
}

}  // namespace fastnn
